#pragma once
// An index of EngineConfig::ike_secrets by identity. find_psk scans every secret; a mediation
// server holds one per pseudonym (thousands), and every IKE_AUTH looks the PSK up three times.
// The index gives the same answer as find_psk (same ranking, same tie-break: the earliest
// secret wins) from the few secrets that name the local or the remote identity, plus the
// wildcards (secrets without ids). Built by IkeEngine::reload; it refers to the engine's
// configuration and lives as long as it.

#include <map>
#include <utility>
#include <vector>

#include "ike/sa/connection.hpp"

namespace ikeme::ike {

class SecretIndex {
 public:
  SecretIndex() = default;
  explicit SecretIndex(const std::vector<SharedSecret>& secrets);
  const SharedSecret* find(const Identity& local, const Identity& remote) const;

 private:
  const std::vector<SharedSecret>* secrets_ = nullptr;
  std::map<std::pair<IdType, Bytes>, std::vector<size_t>> by_id_;  // secret indices, ascending
  std::vector<size_t> wildcards_;                                  // secrets without ids
};

}  // namespace ikeme::ike

#pragma once
// The mediator's pseudonym directory: who may register (and with which
// credential), and who may ask to reach whom. Plain data: load_directory()
// (config/directory_file.hpp) reads it from YAML; tests build it by hand. Default deny: a pseudonym
// reaches only what its may_connect lists.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/sa/identity.hpp"

namespace ikeme::config {

enum class CredentialKind { Psk, Pubkey };

struct DirectoryEntry {
  std::string pseudonym;  // the IKE identity in its canonical text form (Identity::to_string)
  ike::Identity identity;
  CredentialKind credential = CredentialKind::Psk;
  Bytes psk;                             // CredentialKind::Psk
  std::vector<std::string> may_connect;  // pseudonyms or group names
};

class Directory {
 public:
  Directory() = default;
  Directory(std::vector<DirectoryEntry> entries,
            std::map<std::string, std::vector<std::string>> groups);

  const DirectoryEntry* find(const std::string& pseudonym) const;
  bool contains(const std::string& pseudonym) const { return find(pseudonym) != nullptr; }
  // Whether `from` may ask the server to reach `to` (directly listed, or through a group).
  bool may_connect(const std::string& from, const std::string& to) const;
  const std::vector<DirectoryEntry>& entries() const { return entries_; }
  const std::map<std::string, std::vector<std::string>>& groups() const { return groups_; }

 private:
  std::vector<DirectoryEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::vector<std::string>> groups_;
  // from -> every pseudonym it may reach, groups expanded once at construction.
  std::map<std::string, std::set<std::string>> allowed_;
};

}  // namespace ikeme::config

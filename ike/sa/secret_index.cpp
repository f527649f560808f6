#include "ike/sa/secret_index.hpp"

#include <algorithm>

#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {

SecretIndex::SecretIndex(const std::vector<SharedSecret>& secrets) : secrets_(&secrets) {
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].ids.empty()) wildcards_.push_back(i);
    for (const Identity& id : secrets[i].ids) {
      if (id.is_any()) continue;
      auto& list = by_id_[{id.type(), id.data()}];
      if (list.empty() || list.back() != i) list.push_back(i);
    }
  }
}

const SharedSecret* SecretIndex::find(const Identity& local, const Identity& remote) const {
  if (!secrets_) return nullptr;
  std::vector<size_t> candidates = wildcards_;
  for (const Identity* id : {&local, &remote}) {
    if (id->is_any()) continue;
    if (auto it = by_id_.find({id->type(), id->data()}); it != by_id_.end())
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  // The candidates in configuration order through find_psk: every other secret ranks -1.
  std::vector<SharedSecret> subset;
  subset.reserve(candidates.size());
  for (size_t i : candidates) subset.push_back((*secrets_)[i]);
  const SharedSecret* best = find_psk(subset, local, remote);
  if (!best) return nullptr;
  return &(*secrets_)[candidates[static_cast<size_t>(best - subset.data())]];
}

const SharedSecret* IkeSa::find_secret(const Identity& local, const Identity& remote) const {
  if (ctx_.secrets) return ctx_.secrets->find(local, remote);
  return find_psk(ctx_.config->ike_secrets, local, remote);
}

}  // namespace ikeme::ike

#include "ike/sa/connection.hpp"

namespace ikeme::ike {

Result<std::unique_ptr<crypto::KeyExchange>, crypto::CryptoError> make_fresh_key_exchange(
    const KeyExchangeFactory& factory, DhGroup group, crypto::Rng& rng) {
  return factory ? factory(group, rng) : crypto::KeyExchange::create(group, rng);
}

const SharedSecret* find_psk(const std::vector<SharedSecret>& secrets, const Identity& local,
                             const Identity& remote) {
  // strongSwan's ranking: a secret naming both identities beats one naming only the peer, which
  // beats one naming only us, which beats one naming nobody.
  const SharedSecret* best = nullptr;
  int best_rank = -1;
  for (const SharedSecret& s : secrets) {
    bool has_local = false, has_remote = false;
    for (const Identity& id : s.ids) {
      if (!id.is_any() && id.matches(local)) has_local = true;
      if (!id.is_any() && id.matches(remote)) has_remote = true;
    }
    int rank = s.ids.empty()             ? 0
               : has_local && has_remote ? 3
               : has_remote              ? 2
               : has_local               ? 1
                                         : -1;
    if (rank > best_rank) {
      best = &s;
      best_rank = rank;
    }
  }
  return best_rank >= 0 ? best : nullptr;
}

}  // namespace ikeme::ike

#include "ike/sa/key_exchange_pool.hpp"

namespace ikeme::ike {

Result<std::shared_ptr<crypto::KeyExchange>, crypto::CryptoError> KeyExchangePool::get(
    DhGroup group, crypto::Rng& rng, Timestamp now, const KeyExchangeFactory& factory) {
  Entry& e = entries_[group];
  if (!e.ke || now - e.created >= lifetime_ || now < e.created || e.uses >= max_uses_) {
    auto fresh = make_fresh_key_exchange(factory, group, rng);
    if (!fresh) return Unexpected{fresh.error()};
    e.ke = std::move(fresh.value());  // the old one is wiped when its last SA lets go of it
    e.created = now;
    e.uses = 0;
    ++generated_;
  }
  ++e.uses;
  return e.ke;
}

}  // namespace ikeme::ike

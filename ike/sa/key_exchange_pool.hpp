#pragma once
// Bounded reuse of ephemeral Diffie-Hellman private values (RFC 7296 §2.12: "an implementation
// MAY reuse a Diffie-Hellman private value for a limited time"). With mbedTLS 2.28 a fresh X25519
// key costs about 0.4 ms, as much as the shared secret; a mediation server that accepts thousands
// of registrations per second halves its key-exchange work by reusing one private value per
// group for a short lifetime (and a bounded number of SAs). Off unless configured
// (EngineConfig::ke_reuse_lifetime). The nonces stay fresh per SA, so the SA keys differ anyway.

#include <map>
#include <memory>

#include "ike/codec/constants.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/key_exchange.hpp"
#include "ike/sa/connection.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::ike {

class KeyExchangePool {
 public:
  KeyExchangePool(Duration lifetime, unsigned max_uses)
      : lifetime_(lifetime), max_uses_(max_uses) {}

  // The current private value for `group`, or a fresh one when it is older than the lifetime or
  // was used max_uses times (made by `factory`, see EngineConfig::key_exchange_factory).
  Result<std::shared_ptr<crypto::KeyExchange>, crypto::CryptoError> get(
      DhGroup group, crypto::Rng& rng, Timestamp now, const KeyExchangeFactory& factory = {});
  uint64_t generated() const { return generated_; }

 private:
  struct Entry {
    std::shared_ptr<crypto::KeyExchange> ke;
    Timestamp created{0};
    unsigned uses = 0;
  };
  Duration lifetime_;
  unsigned max_uses_;
  std::map<DhGroup, Entry> entries_;
  uint64_t generated_ = 0;
};

}  // namespace ikeme::ike

#pragma once
// Internal to ike/crypto: the group families behind KeyExchange::create*, and helpers they share.
// Exactly one of `rng` (generate a private key) and `private_key` (load one, tests only) is used.

#include <memory>
#include <string>

#include "ike/crypto/key_exchange.hpp"

namespace ikeme::ike::crypto::detail {

bool is_ec_group(DhGroup group);
bool is_modp_group(DhGroup group);

Result<std::unique_ptr<KeyExchange>, CryptoError> make_ec_key_exchange(DhGroup group, Rng* rng,
                                                                       ByteView private_key);
Result<std::unique_ptr<KeyExchange>, CryptoError> make_modp_key_exchange(DhGroup group, Rng* rng,
                                                                         ByteView private_key);

// "CURVE_25519: <why>"
inline Unexpected<CryptoError> group_error(DhGroup group, const std::string& why) {
  return Unexpected{CryptoError{name(group) + ": " + why}};
}
// "(mbedTLS -0x4c80: ECP - Invalid private or public key)"
std::string mbedtls_reason(int rc);

}  // namespace ikeme::ike::crypto::detail

#include "ike/crypto/key_exchange.hpp"

#include <mbedtls/error.h>

#include <cstdio>

#include "ike/crypto/key_exchange_groups.hpp"

namespace ikeme::ike::crypto {

namespace detail {
std::string mbedtls_reason(int rc) {
  char text[128];
  mbedtls_strerror(rc, text, sizeof text);
  char head[32];
  std::snprintf(head, sizeof head, "mbedTLS -0x%04x: ", static_cast<unsigned>(-rc));
  return std::string("(") + head + text + ")";
}
}  // namespace detail

KeyExchange::~KeyExchange() = default;

bool KeyExchange::is_supported(DhGroup group) {
  return detail::is_ec_group(group) || detail::is_modp_group(group);
}

Result<std::unique_ptr<KeyExchange>, CryptoError> KeyExchange::create(DhGroup group, Rng& rng) {
  if (detail::is_ec_group(group)) return detail::make_ec_key_exchange(group, &rng, {});
  if (detail::is_modp_group(group)) return detail::make_modp_key_exchange(group, &rng, {});
  return detail::group_error(group, "key exchange group is not supported");
}

Result<std::unique_ptr<KeyExchange>, CryptoError> KeyExchange::create_with_private(
    DhGroup group, ByteView private_key) {
  if (detail::is_ec_group(group)) return detail::make_ec_key_exchange(group, nullptr, private_key);
  if (detail::is_modp_group(group))
    return detail::make_modp_key_exchange(group, nullptr, private_key);
  return detail::group_error(group, "key exchange group is not supported");
}

}  // namespace ikeme::ike::crypto

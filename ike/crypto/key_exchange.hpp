#pragma once
// Ephemeral Diffie-Hellman for the KE payload (RFC 7296 §1.2, §3.4), through mbedTLS:
//   CURVE_25519 (31)        RFC 8031: 32-byte little-endian u-coordinate (RFC 7748)
//   ECP_256 (19), ECP_384 (20)  RFC 5903: public value x | y (no 0x04 prefix); shared secret x
//   MODP_2048 (14), MODP_3072 (15)  RFC 3526: big-endian, left-padded to the modulus length
//
// Received public values are checked before use: exact length for the group, ECP points on the
// curve, 1 < y < p-1 for MODP (enough for these safe primes, RFC 6989 §2.2), and an all-zero
// X25519 result (a low-order peer point) is refused (RFC 7748 §6.1, RFC 8031 §2.3).
//
// Each object owns its private key and wipes it on destruction. Not copyable or movable, and not
// thread-safe (its side-channel blinding state changes with every use): a shared secret computed
// on another thread uses a duplicate().

#include <memory>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/random.hpp"
#include "ike/crypto/sk_cipher.hpp"  // CryptoError

namespace ikeme::ike::crypto {

class KeyExchange {
 public:
  KeyExchange() = default;
  virtual ~KeyExchange();
  KeyExchange(const KeyExchange&) = delete;
  KeyExchange& operator=(const KeyExchange&) = delete;

  virtual DhGroup group() const = 0;
  // The Key Exchange Data of this side's KE payload.
  virtual const Bytes& public_value() const = 0;
  // g^ir from the peer's Key Exchange Data, in the form RFC 7296 §2.14 feeds to the PRF.
  virtual Result<Bytes, CryptoError> shared_secret(ByteView peer_public) = 0;
  // An independent object with the same private and public value and blinding of its own,
  // seeded from `rng`; cheap (no scalar multiplication or exponentiation).
  virtual Result<std::unique_ptr<KeyExchange>, CryptoError> duplicate(Rng& rng) const = 0;

  static bool is_supported(DhGroup group);

  // A fresh private key drawn from `rng` (used only during this call).
  static Result<std::unique_ptr<KeyExchange>, CryptoError> create(DhGroup group, Rng& rng);

  // FOR TESTS AND KNOWN-ANSWER VECTORS ONLY: a fixed private key. X25519: the 32-byte scalar as in
  // RFC 7748 (clamped here); ECP: the big-endian scalar, 0 < d < n, of the field's length;
  // MODP: the big-endian exponent, 1 < x < p-1.
  static Result<std::unique_ptr<KeyExchange>, CryptoError> create_with_private(
      DhGroup group, ByteView private_key);
};

}  // namespace ikeme::ike::crypto

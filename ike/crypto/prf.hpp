#pragma once
// The IKEv2 pseudorandom function (RFC 7296 §2.13, RFC 4868) and prf+, over mbedTLS HMAC:
// PRF_HMAC_SHA2_256/384/512, and PRF_HMAC_SHA1 for interoperability with old peers.
// A Prf is a small value (copyable); it holds no key.

#include <cstddef>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/sk_cipher.hpp"  // CryptoError

namespace ikeme::ike::crypto {

class Prf {
 public:
  static Result<Prf, CryptoError> make(PrfId id);

  PrfId id() const { return id_; }
  // Output length in bytes; also the key length of SK_d, SK_pi and SK_pr (RFC 7296 §2.14).
  size_t size() const { return size_; }

  // prf(K, S) = HMAC(K, S). (Only an allocation failure inside mbedTLS can make HMAC fail; the
  // process then aborts rather than return a wrong value.)
  Bytes operator()(ByteView key, ByteView data) const;

  // prf+(K, S) = T1 | T2 | ... truncated to `length`, where T1 = prf(K, S | 0x01) and
  // Tn = prf(K, Tn-1 | S | n). Refuses a length that needs more than 255 iterations.
  Result<Bytes, CryptoError> plus(ByteView key, ByteView seed, size_t length) const;

 private:
  Prf(PrfId id, size_t size) : id_(id), size_(size) {}
  PrfId id_;
  size_t size_;
};

}  // namespace ikeme::ike::crypto

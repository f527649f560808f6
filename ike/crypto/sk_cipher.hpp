#pragma once
// Protection of the SK and SKF payloads (RFC 7296 §3.14, RFC 7383 §2.5) for one direction of an
// IKE SA: AES-CBC with HMAC-SHA2 (RFC 4868), AES-GCM with a 16-byte ICV (RFC 5282) and
// ChaCha20-Poly1305 (RFC 7634), all through mbedTLS.
//
// The protected body of an SK payload is IV | ciphertext | ICV. The plaintext inside is the
// payload chain, then padding, then a Pad Length byte.

#include <cstdint>
#include <memory>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike::crypto {

struct CryptoError {
  std::string detail;
};

struct SkAlgorithm {
  EncrId encr = EncrId::AES_CBC;
  uint16_t key_bits = 128;                     // AES: 128, 192 or 256; ChaCha20: 256
  IntegId integ = IntegId::HMAC_SHA2_256_128;  // NONE for AEAD
};

class SkCipher {
 public:
  virtual ~SkCipher() = default;
  virtual size_t iv_size() const = 0;
  virtual size_t icv_size() const = 0;

  // Length of IV | ciphertext | ICV for a plaintext of `plaintext_size` bytes (padding included).
  virtual size_t sealed_size(size_t plaintext_size) const = 0;

  // `message` is the whole IKE message as received, `body_offset` where the protected body
  // (the IV) starts; it runs to the end of the message. Verifies the ICV first, then decrypts
  // and removes the padding. Returns the inner payload chain's bytes.
  virtual Result<Bytes, CryptoError> open(ByteView message, size_t body_offset) const = 0;

  // `prefix` is the message up to the protected body (IKE header, earlier payloads and the SK
  // header), with every length field already final. `iv` has iv_size() bytes (fresh per message).
  // Returns IV | ciphertext | ICV to append to the prefix.
  virtual Result<Bytes, CryptoError> seal(ByteView prefix, ByteView plaintext,
                                          ByteView iv) const = 0;
};

// Key sizes the algorithm needs: the encryption key (including the 4-byte salt of the AEADs) and
// the integrity key (0 for AEADs).
struct SkKeySizes {
  size_t encr = 0;
  size_t integ = 0;
};
Result<SkKeySizes, CryptoError> sk_key_sizes(const SkAlgorithm& alg);

Result<std::unique_ptr<SkCipher>, CryptoError> make_sk_cipher(const SkAlgorithm& alg,
                                                              ByteView encr_key,
                                                              ByteView integ_key);

}  // namespace ikeme::ike::crypto

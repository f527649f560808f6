#pragma once
// A salted AEAD key as IKE (RFC 5282, RFC 7634 §3) and ESP (RFC 4106, RFC 7634 §2) use it: the
// key material is the cipher key followed by a 4-byte salt, the 12-byte nonce is the salt and an
// 8-byte explicit IV, the tag is 16 bytes. AES-GCM or ChaCha20-Poly1305 through mbedTLS; shared by
// the SK payload cipher (sk_cipher.cpp) and the userspace ESP data plane (esp_sa.cpp).

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#include <cstddef>
#include <cstdint>

#include "ike/codec/bytes.hpp"

namespace ikeme::ike::crypto {

class AeadKey {
 public:
  static constexpr size_t kIvSize = 8, kTagSize = 16, kSaltSize = 4;

  // `key_and_salt`: 16/24/32 + 4 bytes (AES-GCM) or 32 + 4 (ChaCha20-Poly1305).
  AeadKey(bool chacha, ByteView key_and_salt);
  ~AeadKey();
  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;

  // Encrypts `size` bytes from `in` to `out` (they may be the same buffer) and writes the tag.
  bool seal(const uint8_t* iv, const uint8_t* aad, size_t aad_size, const uint8_t* in, uint8_t* out,
            size_t size, uint8_t* tag) const;
  // Verifies `tag` and decrypts `size` bytes from `in` to `out` (may be the same); false if the
  // tag is wrong.
  bool open(const uint8_t* iv, const uint8_t* aad, size_t aad_size, const uint8_t* tag,
            const uint8_t* in, uint8_t* out, size_t size) const;

 private:
  void nonce(const uint8_t* iv, uint8_t out[12]) const;

  bool chacha_;
  uint8_t salt_[kSaltSize];
  // Each call restarts the AEAD with its own nonce, so the contexts carry no state between calls.
  mutable mbedtls_gcm_context gcm_;
  mutable mbedtls_chachapoly_context chacha_ctx_;
};

}  // namespace ikeme::ike::crypto

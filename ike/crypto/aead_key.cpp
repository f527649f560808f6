#include "ike/crypto/aead_key.hpp"

#include <mbedtls/platform_util.h>

#include <cstring>

namespace ikeme::ike::crypto {

AeadKey::AeadKey(bool chacha, ByteView key_and_salt) : chacha_(chacha) {
  const size_t key_size = key_and_salt.size() - kSaltSize;
  std::memcpy(salt_, key_and_salt.data() + key_size, kSaltSize);
  if (chacha_) {
    mbedtls_chachapoly_init(&chacha_ctx_);
    mbedtls_chachapoly_setkey(&chacha_ctx_, key_and_salt.data());
  } else {
    mbedtls_gcm_init(&gcm_);
    mbedtls_gcm_setkey(&gcm_, MBEDTLS_CIPHER_ID_AES, key_and_salt.data(),
                       static_cast<unsigned>(key_size * 8));
  }
}

AeadKey::~AeadKey() {
  if (chacha_)
    mbedtls_chachapoly_free(&chacha_ctx_);
  else
    mbedtls_gcm_free(&gcm_);
  mbedtls_platform_zeroize(salt_, sizeof salt_);
}

void AeadKey::nonce(const uint8_t* iv, uint8_t out[12]) const {
  std::memcpy(out, salt_, kSaltSize);
  std::memcpy(out + kSaltSize, iv, kIvSize);
}

bool AeadKey::seal(const uint8_t* iv, const uint8_t* aad, size_t aad_size, const uint8_t* in,
                   uint8_t* out, size_t size, uint8_t* tag) const {
  uint8_t n[12];
  nonce(iv, n);
  return (chacha_ ? mbedtls_chachapoly_encrypt_and_tag(&chacha_ctx_, size, n, aad, aad_size, in,
                                                       out, tag)
                  : mbedtls_gcm_crypt_and_tag(&gcm_, MBEDTLS_GCM_ENCRYPT, size, n, sizeof n, aad,
                                              aad_size, in, out, kTagSize, tag)) == 0;
}

bool AeadKey::open(const uint8_t* iv, const uint8_t* aad, size_t aad_size, const uint8_t* tag,
                   const uint8_t* in, uint8_t* out, size_t size) const {
  uint8_t n[12];
  nonce(iv, n);
  return (chacha_
              ? mbedtls_chachapoly_auth_decrypt(&chacha_ctx_, size, n, aad, aad_size, tag, in, out)
              : mbedtls_gcm_auth_decrypt(&gcm_, size, n, sizeof n, aad, aad_size, tag, kTagSize, in,
                                         out)) == 0;
}

}  // namespace ikeme::ike::crypto

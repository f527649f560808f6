#include "ike/crypto/sk_cipher.hpp"

#include <mbedtls/aes.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
// mbedTLS 2.28 ships constant_time.h without a C++ linkage guard.
extern "C" {
#include <mbedtls/constant_time.h>
}

#include <algorithm>

#include "ike/crypto/aead_key.hpp"

namespace ikeme::ike::crypto {
namespace {

Unexpected<CryptoError> fail(std::string detail) {
  return Unexpected{CryptoError{std::move(detail)}};
}

// Removes "padding | Pad Length" from a decrypted body.
Result<Bytes, CryptoError> strip_padding(Bytes plain) {
  if (plain.empty()) return fail("decrypted SK body is empty");
  size_t pad = plain.back();
  if (pad + 1 > plain.size())
    return fail("pad length " + std::to_string(pad) + " exceeds the body");
  plain.resize(plain.size() - pad - 1);
  return plain;
}

struct HmacSpec {
  mbedtls_md_type_t md;
  size_t key_size;
  size_t icv_size;
};

Result<HmacSpec, CryptoError> hmac_spec(IntegId integ) {
  switch (integ) {
    case IntegId::HMAC_SHA2_256_128:
      return HmacSpec{MBEDTLS_MD_SHA256, 32, 16};
    case IntegId::HMAC_SHA2_384_192:
      return HmacSpec{MBEDTLS_MD_SHA384, 48, 24};
    case IntegId::HMAC_SHA2_512_256:
      return HmacSpec{MBEDTLS_MD_SHA512, 64, 32};
    default:
      return fail("integrity algorithm " +
                  transform_id_name(TransformType::INTEG, static_cast<uint16_t>(integ)) +
                  " is not supported");
  }
}

// AES-CBC for confidentiality, truncated HMAC-SHA2 over the whole message for integrity.
class CbcHmacCipher final : public SkCipher {
 public:
  CbcHmacCipher(HmacSpec spec, ByteView encr_key, ByteView integ_key)
      : spec_(spec), integ_key_(integ_key.begin(), integ_key.end()) {
    mbedtls_aes_init(&enc_);
    mbedtls_aes_init(&dec_);
    unsigned bits = static_cast<unsigned>(encr_key.size() * 8);
    mbedtls_aes_setkey_enc(&enc_, encr_key.data(), bits);
    mbedtls_aes_setkey_dec(&dec_, encr_key.data(), bits);
  }
  ~CbcHmacCipher() override {
    mbedtls_aes_free(&enc_);
    mbedtls_aes_free(&dec_);
    mbedtls_platform_zeroize(integ_key_.data(), integ_key_.size());
  }
  CbcHmacCipher(const CbcHmacCipher&) = delete;
  CbcHmacCipher& operator=(const CbcHmacCipher&) = delete;

  size_t iv_size() const override { return 16; }
  size_t icv_size() const override { return spec_.icv_size; }
  size_t sealed_size(size_t n) const override { return 16 + (n / 16 + 1) * 16 + spec_.icv_size; }

  Result<Bytes, CryptoError> open(ByteView message, size_t body_offset) const override {
    if (body_offset > message.size()) return fail("SK body offset beyond the message");
    size_t body = message.size() - body_offset;
    if (body < 16 + 16 + spec_.icv_size || (body - 16 - spec_.icv_size) % 16 != 0)
      return fail("SK body of " + std::to_string(body) + " bytes does not fit AES-CBC");
    Bytes icv = mac(message.first(message.size() - spec_.icv_size));
    if (mbedtls_ct_memcmp(icv.data(), message.data() + message.size() - spec_.icv_size,
                          spec_.icv_size) != 0)
      return fail("integrity check failed (wrong SK_a key or tampered message)");
    unsigned char iv[16];
    std::copy_n(message.data() + body_offset, 16, iv);
    size_t ct_size = body - 16 - spec_.icv_size;
    Bytes plain(ct_size);
    if (mbedtls_aes_crypt_cbc(&dec_, MBEDTLS_AES_DECRYPT, ct_size, iv,
                              message.data() + body_offset + 16, plain.data()) != 0)
      return fail("AES-CBC decryption failed");
    return strip_padding(std::move(plain));
  }

  Result<Bytes, CryptoError> seal(ByteView prefix, ByteView plaintext, ByteView iv) const override {
    if (iv.size() != 16) return fail("AES-CBC needs a 16-byte IV");
    size_t padded = (plaintext.size() / 16 + 1) * 16;
    Bytes plain(plaintext.begin(), plaintext.end());
    plain.resize(padded, 0);
    plain.back() = static_cast<uint8_t>(padded - plaintext.size() - 1);
    Bytes out(iv.begin(), iv.end());
    out.resize(16 + padded);
    unsigned char ivc[16];
    std::copy_n(iv.data(), 16, ivc);
    if (mbedtls_aes_crypt_cbc(&enc_, MBEDTLS_AES_ENCRYPT, padded, ivc, plain.data(),
                              out.data() + 16) != 0)
      return fail("AES-CBC encryption failed");
    Bytes signed_part(prefix.begin(), prefix.end());
    signed_part.insert(signed_part.end(), out.begin(), out.end());
    Bytes icv = mac(signed_part);
    out.insert(out.end(), icv.begin(), icv.end());
    return out;
  }

 private:
  Bytes mac(ByteView data) const {
    Bytes full(mbedtls_md_get_size(mbedtls_md_info_from_type(spec_.md)));
    mbedtls_md_hmac(mbedtls_md_info_from_type(spec_.md), integ_key_.data(), integ_key_.size(),
                    data.data(), data.size(), full.data());
    full.resize(spec_.icv_size);
    return full;
  }

  HmacSpec spec_;
  Bytes integ_key_;
  // mbedTLS contexts are used, not changed, by a call (CBC keeps its chaining state in the IV
  // buffer we pass): mutable so that open/seal can stay const.
  mutable mbedtls_aes_context enc_;
  mutable mbedtls_aes_context dec_;
};

// AES-GCM-16 (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): 8-byte explicit IV, 4-byte salt from
// the key material, 16-byte tag; the associated data is everything before the IV.
class AeadCipher final : public SkCipher {
 public:
  AeadCipher(bool chacha, ByteView key_and_salt) : key_(chacha, key_and_salt) {}

  size_t iv_size() const override { return 8; }
  size_t icv_size() const override { return 16; }
  size_t sealed_size(size_t n) const override { return 8 + n + 1 + 16; }

  Result<Bytes, CryptoError> open(ByteView message, size_t body_offset) const override {
    if (body_offset > message.size() || message.size() - body_offset < 8 + 1 + 16)
      return fail("SK body too short for an AEAD");
    ByteView aad = message.first(body_offset);
    const uint8_t* iv = message.data() + body_offset;
    const uint8_t* ct = iv + 8;
    size_t ct_size = message.size() - body_offset - 8 - 16;
    const uint8_t* tag = message.data() + message.size() - 16;
    Bytes plain(ct_size);
    if (!key_.open(iv, aad.data(), aad.size(), tag, ct, plain.data(), ct_size))
      return fail("AEAD authentication failed (wrong SK_e key or tampered message)");
    return strip_padding(std::move(plain));
  }

  Result<Bytes, CryptoError> seal(ByteView prefix, ByteView plaintext, ByteView iv) const override {
    if (iv.size() != 8) return fail("AEAD needs an 8-byte IV");
    Bytes plain(plaintext.begin(), plaintext.end());
    plain.push_back(0);  // Pad Length 0: AEADs need no block alignment
    Bytes out(iv.begin(), iv.end());
    out.resize(8 + plain.size() + 16);
    unsigned char* ct = out.data() + 8;
    if (!key_.seal(iv.data(), prefix.data(), prefix.size(), plain.data(), ct, plain.size(),
                   ct + plain.size()))
      return fail("AEAD encryption failed");
    return out;
  }

 private:
  AeadKey key_;
};

}  // namespace

Result<SkKeySizes, CryptoError> sk_key_sizes(const SkAlgorithm& alg) {
  switch (alg.encr) {
    case EncrId::AES_CBC: {
      if (alg.key_bits != 128 && alg.key_bits != 192 && alg.key_bits != 256)
        return fail("AES-CBC key length " + std::to_string(alg.key_bits));
      auto spec = hmac_spec(alg.integ);
      if (!spec) return Unexpected{spec.error()};
      return SkKeySizes{alg.key_bits / 8u, spec->key_size};
    }
    case EncrId::AES_GCM_16:
      if (alg.key_bits != 128 && alg.key_bits != 192 && alg.key_bits != 256)
        return fail("AES-GCM key length " + std::to_string(alg.key_bits));
      if (alg.integ != IntegId::NONE) return fail("AES-GCM takes no integrity algorithm");
      return SkKeySizes{alg.key_bits / 8u + 4, 0};
    case EncrId::CHACHA20_POLY1305:
      if (alg.integ != IntegId::NONE) return fail("ChaCha20-Poly1305 takes no integrity algorithm");
      return SkKeySizes{32 + 4, 0};
    default:
      return fail("encryption algorithm " +
                  transform_id_name(TransformType::ENCR, static_cast<uint16_t>(alg.encr)) +
                  " is not supported");
  }
}

Result<std::unique_ptr<SkCipher>, CryptoError> make_sk_cipher(const SkAlgorithm& alg,
                                                              ByteView encr_key,
                                                              ByteView integ_key) {
  auto sizes = sk_key_sizes(alg);
  if (!sizes) return Unexpected{sizes.error()};
  if (encr_key.size() != sizes->encr || integ_key.size() != sizes->integ)
    return fail("key sizes " + std::to_string(encr_key.size()) + "/" +
                std::to_string(integ_key.size()) + " do not fit the algorithm (expected " +
                std::to_string(sizes->encr) + "/" + std::to_string(sizes->integ) + ")");
  std::unique_ptr<SkCipher> c;
  if (alg.encr == EncrId::AES_CBC)
    c = std::make_unique<CbcHmacCipher>(*hmac_spec(alg.integ), encr_key, integ_key);
  else
    c = std::make_unique<AeadCipher>(alg.encr == EncrId::CHACHA20_POLY1305, encr_key);
  return c;
}

}  // namespace ikeme::ike::crypto

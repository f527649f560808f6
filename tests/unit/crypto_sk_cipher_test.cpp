// SK payload protection: every supported algorithm seals and opens a message, and any change to
// the header, the IV, the ciphertext or the ICV is refused.

#include <catch2/catch.hpp>

#include "ike/codec/message.hpp"
#include "ike/crypto/protected_payload.hpp"
#include "ike/crypto/sk_cipher.hpp"

#include <mbedtls/gcm.h>

using namespace ikeme;
using namespace ikeme::ike;

namespace {

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Builds an INFORMATIONAL request whose SK payload protects a Delete and a notify.
Bytes sealed_message(const crypto::SkCipher& cipher, std::vector<Payload> inner) {
  PayloadType first = PayloadType::NONE;
  auto plain = encode_payload_chain(inner, first);
  REQUIRE(plain.ok());
  Message m;
  m.header.spi_i = 0x1122334455667788;
  m.header.spi_r = 0x99aabbccddeeff00;
  m.header.exchange = ExchangeType::INFORMATIONAL;
  m.header.flags = kFlagInitiator;
  m.header.message_id = 7;
  // Encode with a placeholder body of the final size, then replace it with the sealed body.
  m.payloads.push_back(Payload{PayloadType::SK, false,
                               EncryptedPayload{first, Bytes(cipher.sealed_size(plain->size()))}});
  auto wire = encode_message(m);
  REQUIRE(wire.ok());
  size_t body_offset = wire->size() - cipher.sealed_size(plain->size());
  auto body = cipher.seal(ByteView(*wire).first(body_offset), *plain, pattern(cipher.iv_size(), 9));
  REQUIRE(body.ok());
  REQUIRE(body->size() == cipher.sealed_size(plain->size()));
  std::copy(body->begin(), body->end(), wire->begin() + static_cast<long>(body_offset));
  return *wire;
}

}  // namespace

TEST_CASE("SK seal and open round trip for every algorithm; tampering is refused", "[crypto]") {
  struct Case {
    crypto::SkAlgorithm alg;
    const char* name;
  };
  const Case cases[] = {
      {{EncrId::AES_CBC, 128, IntegId::HMAC_SHA2_256_128}, "aes128-sha256"},
      {{EncrId::AES_CBC, 256, IntegId::HMAC_SHA2_384_192}, "aes256-sha384"},
      {{EncrId::AES_CBC, 256, IntegId::HMAC_SHA2_512_256}, "aes256-sha512"},
      {{EncrId::AES_GCM_16, 128, IntegId::NONE}, "aes128gcm16"},
      {{EncrId::AES_GCM_16, 256, IntegId::NONE}, "aes256gcm16"},
      {{EncrId::CHACHA20_POLY1305, 256, IntegId::NONE}, "chacha20poly1305"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto sizes = crypto::sk_key_sizes(c.alg);
    REQUIRE(sizes.ok());
    auto cipher = crypto::make_sk_cipher(c.alg, pattern(sizes->encr, 1), pattern(sizes->integ, 2));
    REQUIRE(cipher.ok());
    std::vector<Payload> inner{
        Payload{PayloadType::DELETE, false, DeletePayload{ProtocolId::ESP, 4, {{1, 2, 3, 4}}}},
        make_notify(NotifyType::ME_CONNECTID, {0xf1, 0xdd, 0x03, 0xae})};
    Bytes wire = sealed_message(**cipher, inner);

    auto parsed = parse_message(wire);
    REQUIRE(parsed.ok());
    auto opened = crypto::open_sk(*parsed, wire, **cipher);
    REQUIRE(opened.ok());
    CHECK(*opened == inner);

    // Flip a bit in the header (authenticated data), the IV, the ciphertext and the ICV.
    for (size_t at : {size_t{20}, wire.size() - (*cipher)->sealed_size(0) - 4, wire.size() - 20,
                      wire.size() - 1}) {
      Bytes bad = wire;
      bad[at] ^= 0x01;
      auto reparsed = parse_message(bad);
      if (!reparsed) continue;  // the flip broke the framing itself: also refused
      CHECK_FALSE(crypto::open_sk(*reparsed, bad, **cipher).ok());
    }
    // The other direction's keys do not open it either.
    auto other = crypto::make_sk_cipher(c.alg, pattern(sizes->encr, 3), pattern(sizes->integ, 4));
    REQUIRE(other.ok());
    CHECK_FALSE(crypto::open_sk(*parsed, wire, **other).ok());
  }
}

TEST_CASE("SK cipher construction checks algorithms and key sizes", "[crypto]") {
  CHECK_FALSE(crypto::make_sk_cipher({EncrId::AES_CBC, 128, IntegId::HMAC_SHA2_256_128}, Bytes(15),
                                     Bytes(32))
                  .ok());
  CHECK_FALSE(crypto::make_sk_cipher({EncrId::AES_CBC, 128, IntegId::HMAC_SHA2_256_128}, Bytes(16),
                                     Bytes(31))
                  .ok());
  CHECK_FALSE(crypto::make_sk_cipher({EncrId::AES_GCM_16, 128, IntegId::NONE}, Bytes(16), {}).ok());
  auto des = crypto::make_sk_cipher({EncrId::TRIPLE_DES, 192, IntegId::HMAC_SHA1_96}, Bytes(24),
                                    Bytes(20));
  REQUIRE_FALSE(des.ok());
  CHECK(des.error().detail == "encryption algorithm TRIPLE_DES is not supported");
  auto gcm_integ = crypto::sk_key_sizes({EncrId::AES_GCM_16, 256, IntegId::HMAC_SHA2_256_128});
  REQUIRE_FALSE(gcm_integ.ok());
  auto sizes = crypto::sk_key_sizes({EncrId::AES_GCM_16, 256, IntegId::NONE});
  REQUIRE(sizes.ok());
  CHECK(sizes->encr == 36);  // key + 4-byte salt (RFC 5282)
  CHECK(sizes->integ == 0);
}

TEST_CASE("a Pad Length beyond the plaintext is refused even with a valid tag", "[crypto]") {
  // Encrypt "01 02 c8" with AES-GCM directly, so that the authenticated plaintext claims 200
  // bytes of padding; open() must refuse it instead of reading before the buffer.
  Bytes key = pattern(16, 1), salt = pattern(4, 17), iv = pattern(8, 5), prefix(32, 0xab);
  Bytes plain{0x01, 0x02, 0xc8}, body(iv);
  body.resize(8 + plain.size() + 16);
  unsigned char nonce[12];
  std::copy(salt.begin(), salt.end(), nonce);
  std::copy(iv.begin(), iv.end(), nonce + 4);
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  REQUIRE(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key.data(), 128) == 0);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, plain.size(), nonce, 12,
                                    prefix.data(), prefix.size(), plain.data(), body.data() + 8, 16,
                                    body.data() + 8 + plain.size()) == 0);
  mbedtls_gcm_free(&gcm);

  Bytes key_and_salt = key;
  key_and_salt.insert(key_and_salt.end(), salt.begin(), salt.end());
  auto cipher = crypto::make_sk_cipher({EncrId::AES_GCM_16, 128, IntegId::NONE}, key_and_salt, {});
  REQUIRE(cipher.ok());
  Bytes message = prefix;
  message.insert(message.end(), body.begin(), body.end());
  auto opened = (*cipher)->open(message, prefix.size());
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().detail == "pad length 200 exceeds the body");
  // The same construction with a sane Pad Length opens.
  body[8 + 2] ^= 0xc8;  // plaintext byte becomes 0x00 (GCM is a stream: XOR carries through)
  message = prefix;
  message.insert(message.end(), body.begin(), body.end());
  CHECK_FALSE((*cipher)->open(message, prefix.size()).ok());  // but the tag no longer matches
}

// RFC 7296 key derivation (§2.14, §2.17, §2.18) and AUTH (§2.15), each checked against the
// formula written out with Prf and prf+ directly.

#include <catch2/catch.hpp>

#include <string>

#include "ike/crypto/key_derivation.hpp"
#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/prf.hpp"
#include "ike/crypto/random.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::ike::crypto;

namespace {

Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes slice(const Bytes& b, size_t& pos, size_t n) {
  REQUIRE(pos + n <= b.size());
  Bytes out(b.begin() + static_cast<long>(pos), b.begin() + static_cast<long>(pos + n));
  pos += n;
  return out;
}

Prf make_prf(PrfId id) {
  auto prf = Prf::make(id);
  REQUIRE(prf.ok());
  return *prf;
}

const Bytes kNi = Bytes(32, 0x11);
const Bytes kNr = Bytes(24, 0x22);
const Bytes kSharedSecret = Bytes(256, 0x33);
const uint64_t kSpiI = 0x0102030405060708;
const uint64_t kSpiR = 0x1112131415161718;
const Bytes kSpis = {1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

}  // namespace

TEST_CASE("derive_ike_sa_keys equals SKEYSEED and prf+ written out", "[crypto]") {
  struct Case {
    PrfId prf;
    SkAlgorithm alg;
  };
  for (const Case& c :
       {Case{PrfId::HMAC_SHA2_256, {EncrId::AES_CBC, 128, IntegId::HMAC_SHA2_256_128}},
        Case{PrfId::HMAC_SHA2_384, {EncrId::AES_CBC, 256, IntegId::HMAC_SHA2_384_192}},
        Case{PrfId::HMAC_SHA2_512, {EncrId::AES_GCM_16, 256, IntegId::NONE}},
        Case{PrfId::HMAC_SHA2_256, {EncrId::CHACHA20_POLY1305, 256, IntegId::NONE}}}) {
    Prf prf = make_prf(c.prf);
    auto sizes = sk_key_sizes(c.alg);
    REQUIRE(sizes.ok());
    auto keys = derive_ike_sa_keys(prf, kNi, kNr, kSharedSecret, kSpiI, kSpiR, *sizes);
    REQUIRE(keys.ok());

    CHECK(keys->sk_d.size() == prf.size());
    CHECK(keys->sk_pi.size() == prf.size());
    CHECK(keys->sk_pr.size() == prf.size());
    CHECK(keys->sk_ai.size() == sizes->integ);
    CHECK(keys->sk_ar.size() == sizes->integ);
    CHECK(keys->sk_ei.size() == sizes->encr);
    CHECK(keys->sk_er.size() == sizes->encr);

    // SKEYSEED = prf(Ni | Nr, g^ir)
    Bytes skeyseed = prf(cat({kNi, kNr}), kSharedSecret);
    // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi |
    // SPIr)
    size_t total = 3 * prf.size() + 2 * sizes->integ + 2 * sizes->encr;
    auto stream = prf.plus(skeyseed, cat({kNi, kNr, kSpis}), total);
    REQUIRE(stream.ok());
    size_t pos = 0;
    CHECK(keys->sk_d == slice(*stream, pos, prf.size()));
    CHECK(keys->sk_ai == slice(*stream, pos, sizes->integ));
    CHECK(keys->sk_ar == slice(*stream, pos, sizes->integ));
    CHECK(keys->sk_ei == slice(*stream, pos, sizes->encr));
    CHECK(keys->sk_er == slice(*stream, pos, sizes->encr));
    CHECK(keys->sk_pi == slice(*stream, pos, prf.size()));
    CHECK(keys->sk_pr == slice(*stream, pos, prf.size()));
    CHECK(pos == total);

    // The keys drive SkCipher directly.
    CHECK(make_sk_cipher(c.alg, keys->sk_ei, keys->sk_ai).ok());
    CHECK(make_sk_cipher(c.alg, keys->sk_er, keys->sk_ar).ok());

    // SPIs enter in network byte order: swapping them changes every key.
    auto swapped = derive_ike_sa_keys(prf, kNi, kNr, kSharedSecret, kSpiR, kSpiI, *sizes);
    REQUIRE(swapped.ok());
    CHECK(swapped->sk_d != keys->sk_d);

    keys->wipe();
    CHECK(keys->sk_d.empty());
    CHECK(keys->sk_pr.empty());
  }
}

TEST_CASE("derive_ike_sa_keys with both sides' DH results gives the same keys", "[crypto]") {
  DeterministicRng rng(7);
  auto a = KeyExchange::create(DhGroup::CURVE_25519, rng);
  auto b = KeyExchange::create(DhGroup::CURVE_25519, rng);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto sa = (*a)->shared_secret((*b)->public_value());
  auto sb = (*b)->shared_secret((*a)->public_value());
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  Prf prf = make_prf(PrfId::HMAC_SHA2_256);
  SkKeySizes sizes{16, 32};
  auto ka = derive_ike_sa_keys(prf, kNi, kNr, *sa, kSpiI, kSpiR, sizes);
  auto kb = derive_ike_sa_keys(prf, kNi, kNr, *sb, kSpiI, kSpiR, sizes);
  REQUIRE(ka.ok());
  REQUIRE(kb.ok());
  CHECK(ka->sk_d == kb->sk_d);
  CHECK(ka->sk_er == kb->sk_er);
}

TEST_CASE("derive_ike_sa_keys refuses key material beyond prf+'s 255 iterations", "[crypto]") {
  Prf prf = make_prf(PrfId::HMAC_SHA1);  // 20-byte output: 255 * 20 = 5100 bytes at most
  auto keys = derive_ike_sa_keys(prf, kNi, kNr, kSharedSecret, kSpiI, kSpiR, SkKeySizes{4000, 0});
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.error().detail.find("IKE SA keys") != std::string::npos);
}

TEST_CASE("derive_rekeyed_ike_sa_keys: SKEYSEED with the old PRF, keys with the new", "[crypto]") {
  Prf old_prf = make_prf(PrfId::HMAC_SHA2_256);
  Prf new_prf = make_prf(PrfId::HMAC_SHA2_512);
  const Bytes old_sk_d(32, 0x44);
  SkKeySizes sizes{36, 0};  // AES-256-GCM
  auto keys = derive_rekeyed_ike_sa_keys(old_prf, old_sk_d, new_prf, kNi, kNr, kSharedSecret, kSpiI,
                                         kSpiR, sizes);
  REQUIRE(keys.ok());

  // SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr)
  Bytes skeyseed = old_prf(old_sk_d, cat({kSharedSecret, kNi, kNr}));
  auto stream = new_prf.plus(skeyseed, cat({kNi, kNr, kSpis}), 3 * 64 + 2 * 36);
  REQUIRE(stream.ok());
  size_t pos = 0;
  CHECK(keys->sk_d == slice(*stream, pos, 64));
  CHECK(keys->sk_ai.empty());
  CHECK(keys->sk_ar.empty());
  CHECK(keys->sk_ei == slice(*stream, pos, 36));
  CHECK(keys->sk_er == slice(*stream, pos, 36));
  CHECK(keys->sk_pi == slice(*stream, pos, 64));
  CHECK(keys->sk_pr == slice(*stream, pos, 64));

  // A rekey without a fresh key exchange is refused (RFC 7296 §2.18).
  CHECK_FALSE(
      derive_rekeyed_ike_sa_keys(old_prf, old_sk_d, new_prf, kNi, kNr, {}, kSpiI, kSpiR, sizes)
          .ok());
}

TEST_CASE("derive_child_sa_keys: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr)", "[crypto]") {
  Prf prf = make_prf(PrfId::HMAC_SHA2_256);
  const Bytes sk_d(32, 0x55);
  SkKeySizes sizes{16, 32};  // AES-128-CBC with HMAC-SHA2-256-128

  auto plain = derive_child_sa_keys(prf, sk_d, {}, kNi, kNr, sizes);
  REQUIRE(plain.ok());
  auto keymat = prf.plus(sk_d, cat({kNi, kNr}), 2 * 16 + 2 * 32);
  REQUIRE(keymat.ok());
  size_t pos = 0;
  CHECK(plain->encr_i == slice(*keymat, pos, 16));
  CHECK(plain->integ_i == slice(*keymat, pos, 32));
  CHECK(plain->encr_r == slice(*keymat, pos, 16));
  CHECK(plain->integ_r == slice(*keymat, pos, 32));

  auto pfs = derive_child_sa_keys(prf, sk_d, kSharedSecret, kNi, kNr, sizes);
  REQUIRE(pfs.ok());
  auto keymat_pfs = prf.plus(sk_d, cat({kSharedSecret, kNi, kNr}), 2 * 16 + 2 * 32);
  REQUIRE(keymat_pfs.ok());
  pos = 0;
  CHECK(pfs->encr_i == slice(*keymat_pfs, pos, 16));
  CHECK(pfs->integ_i == slice(*keymat_pfs, pos, 32));
  CHECK(pfs->encr_r == slice(*keymat_pfs, pos, 16));
  CHECK(pfs->integ_r == slice(*keymat_pfs, pos, 32));
  CHECK(pfs->encr_i != plain->encr_i);

  // AEAD: no integrity keys, the salt is part of the encryption key.
  auto gcm = derive_child_sa_keys(prf, sk_d, {}, kNi, kNr, SkKeySizes{20, 0});
  REQUIRE(gcm.ok());
  CHECK(gcm->encr_i.size() == 20);
  CHECK(gcm->integ_i.empty());
  pos = 0;  // prf+ output is a prefix-stable stream: the same as the first 40 bytes above
  CHECK(gcm->encr_i == slice(*keymat, pos, 20));
  CHECK(gcm->encr_r == slice(*keymat, pos, 20));
  gcm->wipe();
  CHECK(gcm->encr_i.empty());
}

TEST_CASE("psk_auth and signed_octets follow RFC 7296 section 2.15", "[crypto]") {
  Prf prf = make_prf(PrfId::HMAC_SHA2_256);
  const Bytes message1 = Bytes(300, 0x66);  // the IKE_SA_INIT request as sent
  const Bytes sk_pi(32, 0x77);
  // ID payload body: ID_FQDN (2), 3 reserved bytes, "alice.example"
  Bytes id_body = {2, 0, 0, 0};
  const std::string fqdn = "alice.example";
  id_body.insert(id_body.end(), fqdn.begin(), fqdn.end());

  Bytes octets = signed_octets(message1, kNr, prf, sk_pi, id_body);
  // InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
  Bytes expected_octets = cat({message1, kNr, prf(sk_pi, id_body)});
  CHECK(octets == expected_octets);
  CHECK(octets.size() == 300 + kNr.size() + 32);

  const std::string secret_text = "correct horse battery staple";
  const Bytes secret(secret_text.begin(), secret_text.end());
  const std::string pad_text = "Key Pad for IKEv2";  // 17 octets, no terminating NUL
  const Bytes pad(pad_text.begin(), pad_text.end());
  REQUIRE(pad.size() == 17);
  Bytes expected_auth = prf(prf(secret, pad), octets);
  CHECK(psk_auth(prf, secret, octets) == expected_auth);
  CHECK(psk_auth(prf, secret, octets).size() == 32);
  CHECK(psk_auth(prf, Bytes{'x'}, octets) != expected_auth);
}

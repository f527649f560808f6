// The signature layer of certificate authentication (ike/crypto/signature.hpp): keys in every
// usual file format, AUTH payloads for RSA_SIG, ECDSA_SHA*_P* and DIGITAL_SIGNATURE (RFC 7427),
// the exact AlgorithmIdentifier bytes, strict PKCS#1 v1.5 verification, the hash policy, the
// scheme choice from SIGNATURE_HASH_ALGORITHMS, signatures made by OpenSSL and by strongSwan.

#include <catch2/catch.hpp>

#include <mbedtls/md.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <list>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ike/crypto/random.hpp"
#include "ike/crypto/signature.hpp"
#include "peer/ctl/capture.hpp"
#include "peer/ctl/datagram_decoder.hpp"
#include "peer/ctl/ike_keys.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::ike::crypto;

namespace {

const std::string kKeys = std::string(IKEME_TEST_DATA_DIR) + "/signature/";
const std::string kVectors = std::string(IKEME_TEST_DATA_DIR) + "/strongswan-p2p/";
constexpr std::string_view kPassphrase = "ikeme-test";

constexpr HashAlgorithm kSha2[] = {HashAlgorithm::SHA2_256, HashAlgorithm::SHA2_384,
                                   HashAlgorithm::SHA2_512};
constexpr HashAlgorithm kAllHashes[] = {HashAlgorithm::SHA1, HashAlgorithm::SHA2_256,
                                        HashAlgorithm::SHA2_384, HashAlgorithm::SHA2_512};

constexpr SignatureAlgorithm PKCS1 = SignatureAlgorithm::RSA_PKCS1_V15;
constexpr SignatureAlgorithm PSS = SignatureAlgorithm::RSA_PSS;
constexpr SignatureAlgorithm ECDSA = SignatureAlgorithm::ECDSA;
constexpr HashAlgorithm SHA1 = HashAlgorithm::SHA1;
constexpr HashAlgorithm SHA256 = HashAlgorithm::SHA2_256;
constexpr HashAlgorithm SHA384 = HashAlgorithm::SHA2_384;
constexpr HashAlgorithm SHA512 = HashAlgorithm::SHA2_512;

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    if (c == ' ' || c == '\n') continue;
    int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

Bytes ascii(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

PrivateKey private_key(const std::string& file, std::string_view passphrase = {}) {
  auto key = PrivateKey::load(read_file(kKeys + file), passphrase);
  INFO(file << ": " << (key ? "" : key.error().detail));
  REQUIRE(key.ok());
  return std::move(key).value();
}

PublicKey public_key(const std::string& file) {
  auto key = PublicKey::load(read_file(kKeys + file));
  INFO(file << ": " << (key ? "" : key.error().detail));
  REQUIRE(key.ok());
  return std::move(key).value();
}

PublicKey public_of(const PrivateKey& key) {
  auto pub = key.public_key();
  REQUIRE(pub.ok());
  return std::move(pub).value();
}

// Keys made once per run and reproducible: RSA 1024 (small where size does not matter) or EC.
const PrivateKey& generated(KeyType type, uint64_t seed = 0) {
  // A list: references handed out stay valid as keys are added.
  static std::list<std::pair<std::pair<KeyType, uint64_t>, PrivateKey>> cache;
  for (auto& [id, key] : cache)
    if (id == std::pair{type, seed}) return key;
  DeterministicRng rng(static_cast<uint64_t>(type) << 32 | seed);
  auto key = PrivateKey::generate(type, 1024, rng);
  REQUIRE(key.ok());
  cache.emplace_back(std::pair{type, seed}, std::move(key).value());
  return cache.back().second;
}

const PrivateKey& alice() {  // RSA 3072 of the strongSwan run: big enough for PSS with SHA-512
  static PrivateKey key = private_key("strongswan/aliceKey.pem");
  return key;
}

Bytes octets(uint64_t seed, size_t n = 300) {
  DeterministicRng rng(seed);
  return rng.bytes(n);
}

std::string error_of(const Result<AuthScheme, CryptoError>& r) {
  return r ? std::string("(verified)") : r.error().detail;
}

// A DIGITAL_SIGNATURE AUTH payload from parts.
AuthPayload digital_signature(ByteView algorithm_identifier, ByteView signature) {
  AuthPayload a{AuthMethod::DIGITAL_SIGNATURE, {static_cast<uint8_t>(algorithm_identifier.size())}};
  a.data.insert(a.data.end(), algorithm_identifier.begin(), algorithm_identifier.end());
  a.data.insert(a.data.end(), signature.begin(), signature.end());
  return a;
}

// The signature part of a DIGITAL_SIGNATURE AUTH payload.
Bytes signature_of(const AuthPayload& a) {
  REQUIRE(a.method == AuthMethod::DIGITAL_SIGNATURE);
  REQUIRE(!a.data.empty());
  return Bytes(a.data.begin() + 1 + a.data[0], a.data.end());
}

Bytes sha(mbedtls_md_type_t md, ByteView data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
  Bytes out(mbedtls_md_get_size(info));
  REQUIRE(mbedtls_md(info, data.data(), data.size(), out.data()) == 0);
  return out;
}

// RSA private operation on a hand-made encoded message: how a forger's "signature" with a
// non-standard encoding is produced.
Bytes raw_rsa_sign(const PrivateKey& key, ByteView em) {
  mbedtls_rsa_context* rsa = mbedtls_pk_rsa(key.native());
  REQUIRE(em.size() == mbedtls_rsa_get_len(rsa));
  Bytes sig(em.size());
  DeterministicRng rng(uint64_t{99});
  REQUIRE(mbedtls_rsa_private(rsa, rng_callback, &rng, em.data(), sig.data()) == 0);
  return sig;
}

// 0x00 0x01 FF..FF 0x00 | t, with the FF run filling the modulus size k.
Bytes emsa_pkcs1(size_t k, ByteView t) {
  Bytes em{0x00, 0x01};
  em.insert(em.end(), k - 3 - t.size(), 0xff);
  em.push_back(0x00);
  em.insert(em.end(), t.begin(), t.end());
  return em;
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<AuthScheme> {
  static std::string convert(const AuthScheme& s) { return describe(s); }
};
template <>
struct StringMaker<SignatureScheme> {
  static std::string convert(SignatureScheme s) { return name(s); }
};
}  // namespace Catch

// ---------------------------------------------------------------------------------------------
// AlgorithmIdentifiers

TEST_CASE("DIGITAL_SIGNATURE sends the AlgorithmIdentifiers of RFC 7427 Appendix A byte for byte",
          "[crypto][signature]") {
  struct Vector {
    SignatureScheme scheme;
    const char* der;
  };
  const Vector vectors[] = {
      // A.1: PKCS#1 v1.5, parameters NULL
      {{PKCS1, SHA1}, "300d06092a864886f70d0101050500"},
      {{PKCS1, SHA256}, "300d06092a864886f70d01010b0500"},
      {{PKCS1, SHA384}, "300d06092a864886f70d01010c0500"},
      {{PKCS1, SHA512}, "300d06092a864886f70d01010d0500"},
      // A.3: ECDSA, parameters absent
      {{ECDSA, SHA1}, "300906072a8648ce3d0401"},
      {{ECDSA, SHA256}, "300a06082a8648ce3d040302"},
      {{ECDSA, SHA384}, "300a06082a8648ce3d040303"},
      {{ECDSA, SHA512}, "300a06082a8648ce3d040304"},
      // A.4.1: RSASSA-PSS with every parameter at its default (SHA-1, MGF1-SHA-1, salt 20)
      {{PSS, SHA1}, "300d06092a864886f70d01010a3000"},
      // A.4.3: RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32, in DER: the default trailerField
      // omitted and the lengths corrected (the RFC erratum; what strongSwan sends and expects).
      {{PSS, SHA256},
       "304106092a864886f70d01010a3034"
       "a00f300d06096086480165030402010500"
       "a11c301a06092a864886f70d010108300d06096086480165030402010500"
       "a203020120"},
      // The same construction for SHA-384 (salt 48) and SHA-512 (salt 64).
      {{PSS, SHA384},
       "304106092a864886f70d01010a3034"
       "a00f300d06096086480165030402020500"
       "a11c301a06092a864886f70d010108300d06096086480165030402020500"
       "a203020130"},
      {{PSS, SHA512},
       "304106092a864886f70d01010a3034"
       "a00f300d06096086480165030402030500"
       "a11c301a06092a864886f70d010108300d06096086480165030402030500"
       "a203020140"},
  };
  for (const auto& v : vectors) {
    INFO(name(v.scheme));
    CHECK(to_hex(encode_algorithm_identifier(v.scheme)) == to_hex(hex(v.der)));
    auto parsed = parse_algorithm_identifier(hex(v.der));
    REQUIRE(parsed.ok());
    CHECK(parsed->scheme == v.scheme);
    CHECK(parsed->pss_salt_length == (v.scheme.algorithm == PSS ? hash_size(v.scheme.hash) : 0));
  }
}

TEST_CASE("AlgorithmIdentifier variants other implementations send are understood",
          "[crypto][signature]") {
  struct Vector {
    const char* what;
    const char* der;
    SignatureScheme scheme;
    size_t salt;
  };
  const Vector vectors[] = {
      // RFC 7427 A.4.3 as printed: DER-invalid explicit trailerField 1, length 0x46.
      {"A.4.3 as printed",
       "304606092a864886f70d01010a3039"
       "a00f300d06096086480165030402010500"
       "a11c301a06092a864886f70d010108300d06096086480165030402010500"
       "a203020120a303020101",
       {PSS, SHA256},
       32},
      // RFC 7427 A.4.2: the SHA-1 defaults written out explicitly.
      {"A.4.2 default parameters written out",
       "303e06092a864886f70d01010a3031"
       "a00b300906052b0e03021a0500"
       "a118301606092a864886f70d010108300906052b0e03021a0500"
       "a203020114a303020101",
       {PSS, SHA1},
       20},
      // Hash AlgorithmIdentifiers without the NULL (RFC 4055 §2.1: accept both), other salt.
      {"PSS hash parameters absent, salt 20",
       "303d06092a864886f70d01010a3030"
       "a00d300b0609608648016503040201"
       "a11a301806092a864886f70d010108300b0609608648016503040201"
       "a203020114",
       {PSS, SHA256},
       20},
      // PKCS#1 v1.5 with absent instead of NULL parameters (RFC 4055 §5: accept both).
      {"sha256WithRSAEncryption without NULL", "300b06092a864886f70d01010b", {PKCS1, SHA256}, 0},
  };
  for (const auto& v : vectors) {
    INFO(v.what);
    auto parsed = parse_algorithm_identifier(hex(v.der));
    INFO((parsed ? "" : parsed.error().detail));
    REQUIRE(parsed.ok());
    CHECK(parsed->scheme == v.scheme);
    CHECK(parsed->pss_salt_length == v.salt);
  }
}

TEST_CASE("unknown and malformed AlgorithmIdentifiers are refused with a reason",
          "[crypto][signature]") {
  struct Vector {
    const char* what;
    const char* der;
    const char* reason;
  };
  const Vector vectors[] = {
      // RFC 7427 A.2 lists DSA too; IKEv2 DSS is not supported here.
      {"dsa-with-sha1", "300906072a8648ce380403",
       "unsupported signature algorithm (OID 1.2.840.10040.4.3)"},
      {"dsa-with-sha256", "300d06096086480165030403020500",
       "unsupported signature algorithm (OID 2.16.840.1.101.3.4.3.2)"},
      {"Ed25519 (RFC 8420)", "300506032b6570", "(OID 1.3.101.112)"},
      {"sha224WithRSAEncryption", "300d06092a864886f70d01010e0500", "(OID 1.2.840.113549.1.1.14)"},
      {"md5WithRSAEncryption", "300d06092a864886f70d0101040500", "(OID 1.2.840.113549.1.1.4)"},
      {"ecdsa-with-SHA256 with NULL parameters", "300c06082a8648ce3d0403020500",
       "parameters (must be absent)"},
      {"sha256WithRSAEncryption with an INTEGER parameter", "300e06092a864886f70d01010b020100",
       "non-NULL parameters"},
      {"trailing byte", "300d06092a864886f70d01010b050000", "trailing data"},
      {"truncated", "300d06092a864886f70d01010b05", "malformed AlgorithmIdentifier"},
      {"not a SEQUENCE", "0609608648016503040201", "malformed AlgorithmIdentifier"},
      {"RFC 7427 A.4.1-style PSS without any parameters", "300b06092a864886f70d01010a",
       "without RSASSA-PSS-params"},
      {"PSS hash SHA-256, MGF1 default SHA-1",
       "301e06092a864886f70d01010a3011a00f300d06096086480165030402010500",
       "MGF1 must use the signature's hash"},
      {"PSS hash SHA-256, MGF1 SHA-512",
       "304106092a864886f70d01010a3034"
       "a00f300d06096086480165030402010500"
       "a11c301a06092a864886f70d010108300d06096086480165030402030500"
       "a203020120",
       "MGF1 must use the signature's hash"},
      {"PSS with an unknown hash (strongSwan's test)",
       "301e06092a864886f70d01010a3011a00f300d06096086480165030402000500",
       "unsupported hash (OID 2.16.840.1.101.3.4.2.0)"},
      {"PSS with an unknown mask generation function (strongSwan's test)",
       "302b06092a864886f70d01010a301ea11c301a06092a864886f70d010100"
       "300d06096086480165030402010500",
       "is not MGF1"},
      {"PSS trailerField 2 (strongSwan's test)", "301206092a864886f70d01010a3005a303020102",
       "trailerField 2 is not 1"},
      {"PSS negative salt length (strongSwan's test)",
       "304d06092a864886f70d01010a3040"
       "a00f300d06096086480165030402010500"
       "a11c301a06092a864886f70d010108300d06096086480165030402010500"
       "a20a0208ffffffffffffffffa303020101",
       "saltLength"},
      {"PSS fields out of order",
       "302306092a864886f70d01010a3016a203020120a00f300d06096086480165030402010500",
       "unexpected field"},
  };
  for (const auto& v : vectors) {
    INFO(v.what);
    auto parsed = parse_algorithm_identifier(hex(v.der));
    REQUIRE_FALSE(parsed.ok());
    INFO(parsed.error().detail);
    CHECK(parsed.error().detail.find(v.reason) != std::string::npos);
  }
  CHECK_FALSE(parse_algorithm_identifier({}).ok());
}

// ---------------------------------------------------------------------------------------------
// Keys

TEST_CASE("private keys load from PKCS#1, SEC1 and PKCS#8, PEM or DER, encrypted or not",
          "[crypto][signature]") {
  struct File {
    const char* file;
    std::string_view passphrase;
    KeyType type;
    size_t bits;
  };
  const File files[] = {
      {"rsa1024-pkcs1.pem", {}, KeyType::RSA, 1024},
      {"rsa1024-pkcs8.der", {}, KeyType::RSA, 1024},
      {"rsa1024-pkcs8-pbe-sha1-3des.pem", kPassphrase, KeyType::RSA, 1024},
      {"rsa1024-legacy-aes256.pem", kPassphrase, KeyType::RSA, 1024},
      {"ec256-sec1.pem", {}, KeyType::ECDSA_P256, 256},
      {"ec256-pkcs8.pem", {}, KeyType::ECDSA_P256, 256},
      {"ec256-pkcs8-des3.pem", kPassphrase, KeyType::ECDSA_P256, 256},
      {"ec256-legacy-aes128.pem", kPassphrase, KeyType::ECDSA_P256, 256},
      {"ec521-sec1.pem", {}, KeyType::ECDSA_P521, 521},
      {"strongswan/aliceKey.pem", {}, KeyType::RSA, 3072},
  };
  PublicKey rsa_pub = public_key("rsa1024-pub.pem");
  PublicKey ec_pub = public_key("ec256-pub.pem");
  for (const auto& f : files) {
    INFO(f.file);
    PrivateKey key = private_key(f.file, f.passphrase);
    CHECK(key.type() == f.type);
    CHECK(key.bits() == f.bits);
    // Every file of a family holds the same key.
    if (f.bits == 1024) CHECK(key.matches(rsa_pub));
    if (f.bits == 256) CHECK(key.matches(ec_pub));
    CHECK(key.matches(public_of(key)));
  }
  CHECK(private_key("strongswan/aliceKey.pem").describe() == "RSA 3072");
  CHECK(private_key("ec521-sec1.pem").describe() == "ECDSA P-521");

  // PKCS#1 / SEC1 DER, as mbedTLS writes them.
  for (KeyType type : {KeyType::RSA, KeyType::ECDSA_P384}) {
    const PrivateKey& key = generated(type);
    Bytes der(4096);
    int n = mbedtls_pk_write_key_der(const_cast<mbedtls_pk_context*>(&key.native()), der.data(),
                                     der.size());
    REQUIRE(n > 0);
    auto loaded = PrivateKey::load(ByteView(der).last(static_cast<size_t>(n)));
    REQUIRE(loaded.ok());
    CHECK(loaded->type() == type);
    CHECK(loaded->matches(public_of(key)));
  }
}

TEST_CASE("private key loading explains what is wrong", "[crypto][signature]") {
  auto error = [](const Bytes& data, std::string_view passphrase = {}) {
    auto key = PrivateKey::load(data, passphrase);
    REQUIRE_FALSE(key.ok());
    return key.error().detail;
  };
  CHECK_THAT(error(read_file(kKeys + "ec256-pkcs8-des3.pem")),
             Catch::Contains("encrypted and no passphrase"));
  CHECK_THAT(error(read_file(kKeys + "rsa1024-legacy-aes256.pem")),
             Catch::Contains("encrypted and no passphrase"));
  CHECK_THAT(error(read_file(kKeys + "ec256-pkcs8-des3.pem"), "wrong"),
             Catch::Contains("wrong passphrase"));
  CHECK_THAT(error(read_file(kKeys + "rsa1024-legacy-aes256.pem"), "wrong"),
             Catch::Contains("wrong passphrase"));
  // OpenSSL 3's default PKCS#8 encryption (AES-256-CBC, PBKDF2-HMAC-SHA256) is beyond mbedTLS 2.28.
  CHECK_THAT(error(read_file(kKeys + "ec256-pkcs8-aes256.pem"), kPassphrase),
             Catch::Contains("cannot decrypt"));
  CHECK_THAT(error(read_file(kKeys + "secp256k1-sec1.pem")),
             Catch::Contains("curve secp256k1 is not supported"));
  CHECK_THAT(error(read_file(kKeys + "rsa512-pkcs1.pem")),
             Catch::Contains("RSA key of 512 bits is too small"));
  CHECK_THAT(error(read_file(kKeys + "rsa1024-pub.pem")), Catch::Contains("not a private key"));
  CHECK_THAT(error(ascii("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")),
             Catch::Contains("not a private key"));
  CHECK_THAT(error(hex("3003020100")), Catch::Contains("not a private key"));
  CHECK_THAT(error({}), Catch::Contains("empty"));
}

TEST_CASE("public keys load from SubjectPublicKeyInfo PEM or DER", "[crypto][signature]") {
  PublicKey pem = public_key("rsa1024-pub.pem");
  auto der = PublicKey::load(read_file(kKeys + "rsa1024-pub.der"));
  REQUIRE(der.ok());
  CHECK(pem == *der);
  CHECK(pem.spki_der() == read_file(kKeys + "rsa1024-pub.der"));
  CHECK(pem.type() == KeyType::RSA);
  CHECK(pem.describe() == "RSA 1024");
  CHECK_FALSE(pem == public_key("strongswan/alicePub.pem"));

  PublicKey ec = public_key("ec521-pub.pem");
  CHECK(ec.type() == KeyType::ECDSA_P521);
  CHECK(ec.bits() == 521);
  CHECK(private_key("ec521-sec1.pem").matches(ec));
  CHECK_FALSE(private_key("ec256-sec1.pem").matches(ec));
  CHECK_FALSE(private_key("rsa1024-pkcs1.pem").matches(ec));

  CHECK(private_key("strongswan/aliceKey.pem").matches(public_key("strongswan/alicePub.pem")));
  CHECK_FALSE(private_key("strongswan/aliceKey.pem").matches(public_key("strongswan/bobPub.pem")));

  auto bad = PublicKey::load(read_file(kKeys + "ec256-sec1.pem"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().detail, Catch::Contains("not a public key"));
  CHECK_FALSE(PublicKey::load({}).ok());

  // Moving keeps the key.
  PublicKey moved = std::move(pem);
  CHECK(moved.describe() == "RSA 1024");
  PrivateKey k = private_key("ec256-sec1.pem");
  PrivateKey k2 = std::move(k);
  CHECK(k2.matches(public_key("ec256-pub.pem")));
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("every method and scheme signs and verifies; tampering and wrong keys fail",
          "[crypto][signature]") {
  struct Case {
    const PrivateKey* key;
    AuthScheme scheme;
  };
  const PrivateKey& rsa = generated(KeyType::RSA);
  const PrivateKey& p256 = generated(KeyType::ECDSA_P256);
  const PrivateKey& p384 = generated(KeyType::ECDSA_P384);
  const PrivateKey& p521 = generated(KeyType::ECDSA_P521);
  const AuthMethod DS = AuthMethod::DIGITAL_SIGNATURE;
  const Case cases[] = {
      {&rsa, {AuthMethod::RSA_SIG, {PKCS1, SHA1}}},
      {&p256, {AuthMethod::ECDSA_SHA256_P256, {ECDSA, SHA256}}},
      {&p384, {AuthMethod::ECDSA_SHA384_P384, {ECDSA, SHA384}}},
      {&p521, {AuthMethod::ECDSA_SHA512_P521, {ECDSA, SHA512}}},
      {&rsa, {DS, {PKCS1, SHA256}}},
      {&rsa, {DS, {PKCS1, SHA384}}},
      {&rsa, {DS, {PKCS1, SHA512}}},
      {&rsa, {DS, {PSS, SHA256}}},
      {&rsa, {DS, {PSS, SHA384}}},
      {&alice(), {DS, {PSS, SHA512}}},  // 1024 bits are too few for a 64-byte hash and salt
      {&p256, {DS, {ECDSA, SHA256}}},
      {&p384, {DS, {ECDSA, SHA384}}},
      {&p521, {DS, {ECDSA, SHA512}}},
      {&p256, {DS, {ECDSA, SHA512}}},  // RFC 7427 decouples hash and curve
      {&p521, {DS, {ECDSA, SHA256}}},
  };
  DeterministicRng rng(uint64_t{7});
  Bytes signed_octets = octets(1);
  for (const auto& c : cases) {
    INFO(describe(c.scheme) << " with " << c.key->describe());
    auto auth = sign_auth(*c.key, c.scheme, signed_octets, rng);
    INFO((auth ? "" : auth.error().detail));
    REQUIRE(auth.ok());
    CHECK(auth->method == c.scheme.method);
    PublicKey pub = public_of(*c.key);

    auto ok = verify_auth(pub, *auth, signed_octets, kSha2);
    INFO(error_of(ok));
    REQUIRE(ok.ok());
    CHECK(*ok == c.scheme);

    // The signed octets changed in one bit, or shortened.
    Bytes tampered = signed_octets;
    tampered[123] ^= 0x04;
    CHECK_THAT(error_of(verify_auth(pub, *auth, tampered, kSha2)),
               Catch::Contains("does not verify"));
    CHECK_THAT(error_of(verify_auth(pub, *auth, ByteView(signed_octets).first(299), kSha2)),
               Catch::Contains("does not verify"));
    // One bit of the signature flipped.
    AuthPayload flipped = *auth;
    flipped.data.back() ^= 0x01;
    CHECK_FALSE(verify_auth(pub, flipped, signed_octets, kSha2).ok());
    // Another key of the same type and size.
    PublicKey other = c.key == &alice() ? public_key("strongswan/bobPub.pem")
                                        : public_of(generated(c.key->type(), 1));
    CHECK(other.describe() == pub.describe());
    CHECK_THAT(error_of(verify_auth(other, *auth, signed_octets, kSha2)),
               Catch::Contains("does not verify"));
  }
}

TEST_CASE("AUTH data sizes: RSA modulus, ECDSA r | s per curve, RFC 7427 wrapping",
          "[crypto][signature]") {
  DeterministicRng rng(uint64_t{8});
  Bytes o = octets(2);
  auto sign = [&](const PrivateKey& key, AuthScheme scheme) {
    auto auth = sign_auth(key, scheme, o, rng);
    REQUIRE(auth.ok());
    return std::move(auth).value();
  };
  CHECK(sign(generated(KeyType::RSA), classic_auth_scheme(KeyType::RSA)).data.size() == 128);
  CHECK(sign(alice(), classic_auth_scheme(KeyType::RSA)).data.size() == 384);
  // RFC 4754 §7: r and s each as long as the curve order, concatenated.
  CHECK(
      sign(generated(KeyType::ECDSA_P256), classic_auth_scheme(KeyType::ECDSA_P256)).data.size() ==
      64);
  CHECK(
      sign(generated(KeyType::ECDSA_P384), classic_auth_scheme(KeyType::ECDSA_P384)).data.size() ==
      96);
  CHECK(
      sign(generated(KeyType::ECDSA_P521), classic_auth_scheme(KeyType::ECDSA_P521)).data.size() ==
      132);

  // RFC 7427 §3: length of the AlgorithmIdentifier, the AlgorithmIdentifier, the signature.
  AuthPayload pss = sign(generated(KeyType::RSA), {AuthMethod::DIGITAL_SIGNATURE, {PSS, SHA256}});
  Bytes alg = encode_algorithm_identifier({PSS, SHA256});
  REQUIRE(pss.data.size() == 1 + alg.size() + 128);
  CHECK(size_t{pss.data[0]} == alg.size());
  CHECK(Bytes(pss.data.begin() + 1, pss.data.begin() + 1 + alg.size()) == alg);

  // Inside DIGITAL_SIGNATURE an ECDSA signature is DER: SEQUENCE { INTEGER r, INTEGER s }.
  AuthPayload ec =
      sign(generated(KeyType::ECDSA_P256), {AuthMethod::DIGITAL_SIGNATURE, {ECDSA, SHA256}});
  Bytes der = signature_of(ec);
  REQUIRE(der.size() >= 8);
  CHECK(der[0] == 0x30);
  CHECK(size_t{der[1]} == der.size() - 2);
  CHECK(der[2] == 0x02);
}

TEST_CASE("RFC 6979 A.2.5: ECDSA_SHA256_P256 signs deterministically with the RFC's r | s",
          "[crypto][signature]") {
  // Private key x of RFC 6979 A.2.5 (P-256), wrapped as a SEC1 key by mbedTLS.
  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  REQUIRE(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
  mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk);
  Bytes x = hex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
  REQUIRE(mbedtls_ecp_read_key(MBEDTLS_ECP_DP_SECP256R1, ec, x.data(), x.size()) == 0);
  DeterministicRng blinding(uint64_t{3});
  REQUIRE(mbedtls_ecp_mul(&ec->grp, &ec->Q, &ec->d, &ec->grp.G, rng_callback, &blinding) == 0);
  Bytes der(512);
  int n = mbedtls_pk_write_key_der(&pk, der.data(), der.size());
  mbedtls_pk_free(&pk);
  REQUIRE(n > 0);
  auto key = PrivateKey::load(ByteView(der).last(static_cast<size_t>(n)));
  REQUIRE(key.ok());
  Bytes public_point;  // Ux | Uy of the RFC
  Bytes spki = public_of(*key).spki_der();
  public_point.assign(spki.end() - 64, spki.end());
  CHECK(to_hex(public_point) ==
        to_hex(hex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                   "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299")));

  DeterministicRng rng(uint64_t{4});
  for (auto [message, rs] :
       {std::pair{"sample",
                  "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
                  "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"},
        std::pair{"test",
                  "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
                  "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"}}) {
    INFO(message);
    auto auth = sign_auth(*key, classic_auth_scheme(KeyType::ECDSA_P256), ascii(message), rng);
    REQUIRE(auth.ok());
    CHECK(to_hex(auth->data) == to_hex(hex(rs)));
    CHECK(verify_auth(public_of(*key), *auth, ascii(message), {}).ok());
  }
}

TEST_CASE("ECDSA signatures in the wrong shape are refused", "[crypto][signature]") {
  const PrivateKey& key = generated(KeyType::ECDSA_P256);
  PublicKey pub = public_of(key);
  DeterministicRng rng(uint64_t{9});
  Bytes o = octets(3);
  auto raw = sign_auth(key, classic_auth_scheme(KeyType::ECDSA_P256), o, rng);
  auto ds = sign_auth(key, {AuthMethod::DIGITAL_SIGNATURE, {ECDSA, SHA256}}, o, rng);
  REQUIRE(raw.ok());
  REQUIRE(ds.ok());
  Bytes der = signature_of(*ds);
  Bytes ecdsa_alg = encode_algorithm_identifier({ECDSA, SHA256});

  // r | s where DER belongs, and DER where r | s belongs.
  CHECK_THAT(error_of(verify_auth(pub, digital_signature(ecdsa_alg, raw->data), o, kSha2)),
             Catch::Contains("not one DER SEQUENCE"));
  CHECK_THAT(error_of(verify_auth(pub, {AuthMethod::ECDSA_SHA256_P256, der}, o, kSha2)),
             Catch::Contains("r | s has"));
  // r | s one byte short or long.
  AuthPayload shorter = *raw;
  shorter.data.pop_back();
  CHECK_THAT(error_of(verify_auth(pub, shorter, o, kSha2)), Catch::Contains("expected 64"));
  // DER with trailing garbage, with a non-minimal INTEGER, with BER long-form length.
  CHECK_THAT(
      error_of(verify_auth(pub, digital_signature(ecdsa_alg, cat({der, hex("00")})), o, kSha2)),
      Catch::Contains("not one DER SEQUENCE"));
  {
    // Re-encode r with a superfluous leading zero byte.
    Bytes r(der.begin() + 4, der.begin() + 4 + der[3]);
    Bytes s(der.begin() + 4 + der[3], der.end());
    Bytes padded_r = cat({hex("00"), r});
    Bytes body = cat({Bytes{0x02, static_cast<uint8_t>(padded_r.size())}, padded_r, s});
    Bytes bad = cat({Bytes{0x30, static_cast<uint8_t>(body.size())}, body});
    CHECK_THAT(error_of(verify_auth(pub, digital_signature(ecdsa_alg, bad), o, kSha2)),
               Catch::Contains("not in canonical DER"));
    Bytes long_form =
        cat({Bytes{0x30, 0x81, static_cast<uint8_t>(der.size() - 2)}, ByteView(der).subspan(2)});
    CHECK_THAT(error_of(verify_auth(pub, digital_signature(ecdsa_alg, long_form), o, kSha2)),
               Catch::Contains("not in canonical DER"));
  }
  // r = 0 / s = 0 (mbedTLS range checks).
  Bytes zero_r = raw->data;
  std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
  CHECK_FALSE(verify_auth(pub, {AuthMethod::ECDSA_SHA256_P256, zero_r}, o, kSha2).ok());
}

// ---------------------------------------------------------------------------------------------
// Strict PKCS#1 v1.5

TEST_CASE("PKCS#1 v1.5 verification compares the whole encoded message", "[crypto][signature]") {
  const PrivateKey& key = generated(KeyType::RSA);
  PublicKey pub = public_of(key);
  const size_t k = 128;
  Bytes o = octets(4);
  Bytes alg256 = encode_algorithm_identifier({PKCS1, SHA256});

  struct Forgery {
    const char* what;
    mbedtls_md_type_t md;
    Bytes em;
    bool valid;
  };
  Bytes h1 = sha(MBEDTLS_MD_SHA1, o), h256 = sha(MBEDTLS_MD_SHA256, o);
  Bytes info1 = cat({hex("3021300906052b0e03021a05000414"), h1});
  Bytes info256 = cat({hex("3031300d060960864801650304020105000420"), h256});
  Bytes garbage(20, 0x5a);
  std::vector<Forgery> forgeries = {
      {"SHA-1, the exact encoding", MBEDTLS_MD_SHA1, emsa_pkcs1(k, info1), true},
      {"SHA-256, the exact encoding", MBEDTLS_MD_SHA256, emsa_pkcs1(k, info256), true},
      {"SHA-1, DigestInfo without the NULL parameters", MBEDTLS_MD_SHA1,
       emsa_pkcs1(k, cat({hex("301f300706052b0e03021a0414"), h1})), false},
      {"SHA-256, DigestInfo without the NULL parameters", MBEDTLS_MD_SHA256,
       emsa_pkcs1(k, cat({hex("302f300b06096086480165030402010420"), h256})), false},
      {"SHA-256, DigestInfo with a BER long-form length", MBEDTLS_MD_SHA256,
       emsa_pkcs1(k, cat({hex("308131300d060960864801650304020105000420"), h256})), false},
      {"SHA-256, garbage after the DigestInfo (short padding)", MBEDTLS_MD_SHA256,
       emsa_pkcs1(k, cat({info256, garbage})), false},
      {"SHA-256, the digest labelled SHA-512", MBEDTLS_MD_SHA256,
       emsa_pkcs1(k, cat({hex("3031300d060960864801650304020305000420"), h256})), false},
      {"SHA-256, a padding byte 0xfe", MBEDTLS_MD_SHA256, emsa_pkcs1(k, info256), false},
      {"SHA-256, block type 2", MBEDTLS_MD_SHA256, emsa_pkcs1(k, info256), false},
  };
  forgeries[7].em[10] = 0xfe;
  forgeries[8].em[1] = 0x02;
  for (const auto& f : forgeries) {
    INFO(f.what);
    Bytes sig = raw_rsa_sign(key, f.em);
    AuthPayload auth = f.md == MBEDTLS_MD_SHA1 ? AuthPayload{AuthMethod::RSA_SIG, sig}
                                               : digital_signature(alg256, sig);
    auto r = verify_auth(pub, auth, o, kSha2);
    INFO(error_of(r));
    CHECK(r.ok() == f.valid);
    if (!f.valid) CHECK_THAT(error_of(r), Catch::Contains("does not verify"));
  }

  // A genuine signature with a byte appended, or its leading byte cut off.
  DeterministicRng rng(uint64_t{10});
  auto classic = sign_auth(key, classic_auth_scheme(KeyType::RSA), o, rng);
  auto ds = sign_auth(key, {AuthMethod::DIGITAL_SIGNATURE, {PKCS1, SHA256}}, o, rng);
  REQUIRE(classic.ok());
  REQUIRE(ds.ok());
  for (const AuthPayload* genuine : {&*classic, &*ds}) {
    INFO(name(genuine->method));
    AuthPayload longer = *genuine;
    longer.data.push_back(0x00);
    CHECK_THAT(
        error_of(verify_auth(pub, longer, o, kSha2)),
        Catch::Contains("has 129 bytes; the RSA 1024-bit key's signatures have exactly 128"));
    AuthPayload shorter = *genuine;
    shorter.data.erase(shorter.data.end() - k);  // the signature's first byte
    CHECK_THAT(error_of(verify_auth(pub, shorter, o, kSha2)), Catch::Contains("has 127 bytes"));
  }
}

TEST_CASE("PSS and PKCS#1 v1.5 signatures are not interchangeable", "[crypto][signature]") {
  const PrivateKey& key = generated(KeyType::RSA);
  PublicKey pub = public_of(key);
  DeterministicRng rng(uint64_t{11});
  Bytes o = octets(5);
  auto pss = sign_auth(key, {AuthMethod::DIGITAL_SIGNATURE, {PSS, SHA256}}, o, rng);
  auto v15 = sign_auth(key, {AuthMethod::DIGITAL_SIGNATURE, {PKCS1, SHA256}}, o, rng);
  REQUIRE(pss.ok());
  REQUIRE(v15.ok());
  Bytes as_v15 = encode_algorithm_identifier({PKCS1, SHA256});
  Bytes as_pss = encode_algorithm_identifier({PSS, SHA256});
  CHECK(verify_auth(pub, digital_signature(as_pss, signature_of(*pss)), o, kSha2).ok());
  CHECK_THAT(error_of(verify_auth(pub, digital_signature(as_v15, signature_of(*pss)), o, kSha2)),
             Catch::Contains("does not verify"));
  CHECK_THAT(error_of(verify_auth(pub, digital_signature(as_pss, signature_of(*v15)), o, kSha2)),
             Catch::Contains("does not verify"));
  // A PSS signature as RSA_SIG (which is PKCS#1 v1.5 with SHA-1).
  CHECK_FALSE(verify_auth(pub, {AuthMethod::RSA_SIG, signature_of(*pss)}, o, kSha2).ok());
  // A PSS signature with another salt length announced.
  Bytes salt20 =
      hex("303d06092a864886f70d01010a3030"
          "a00d300b0609608648016503040201"
          "a11a301806092a864886f70d010108300b0609608648016503040201"
          "a203020114");
  CHECK_THAT(error_of(verify_auth(pub, digital_signature(salt20, signature_of(*pss)), o, kSha2)),
             Catch::Contains("does not verify"));

  // RSA_SIG is exactly DIGITAL_SIGNATURE with sha1WithRSAEncryption: the same bytes verify as
  // either, the latter only when SHA-1 is allowed.
  auto classic = sign_auth(key, classic_auth_scheme(KeyType::RSA), o, rng);
  REQUIRE(classic.ok());
  AuthPayload as_ds = digital_signature(encode_algorithm_identifier({PKCS1, SHA1}), classic->data);
  CHECK(verify_auth(pub, as_ds, o, kAllHashes).ok());
  CHECK_THAT(error_of(verify_auth(pub, as_ds, o, kSha2)),
             Catch::Contains("hash SHA1 is not allowed (allowed: SHA2_256, SHA2_384, SHA2_512)"));
}

// ---------------------------------------------------------------------------------------------
// Policy and mismatches

TEST_CASE("DIGITAL_SIGNATURE hashes outside the allowed list are refused", "[crypto][signature]") {
  DeterministicRng rng(uint64_t{12});
  Bytes o = octets(6);
  const PrivateKey& ec = generated(KeyType::ECDSA_P384);
  auto sha1 = sign_auth(ec, {AuthMethod::DIGITAL_SIGNATURE, {ECDSA, SHA1}}, o, rng);
  auto sha384 = sign_auth(ec, {AuthMethod::DIGITAL_SIGNATURE, {ECDSA, SHA384}}, o, rng);
  REQUIRE(sha1.ok());
  REQUIRE(sha384.ok());
  PublicKey pub = public_of(ec);
  CHECK_THAT(error_of(verify_auth(pub, *sha1, o, kSha2)),
             Catch::Contains("ecdsa-with-SHA1: hash SHA1 is not allowed"));
  CHECK(verify_auth(pub, *sha1, o, kAllHashes).ok());
  const HashAlgorithm only256[] = {SHA256};
  CHECK_THAT(error_of(verify_auth(pub, *sha384, o, only256)),
             Catch::Contains("hash SHA2_384 is not allowed (allowed: SHA2_256)"));
  CHECK_THAT(error_of(verify_auth(pub, *sha384, o, {})), Catch::Contains("(allowed: none)"));
  // The classic methods fix their hash; the list does not apply.
  auto classic = sign_auth(ec, classic_auth_scheme(KeyType::ECDSA_P384), o, rng);
  REQUIRE(classic.ok());
  CHECK(verify_auth(pub, *classic, o, only256).ok());
}

TEST_CASE("schemes that do not suit the key or the method are refused", "[crypto][signature]") {
  DeterministicRng rng(uint64_t{13});
  Bytes o = octets(7);
  const PrivateKey& rsa = generated(KeyType::RSA);
  const PrivateKey& p256 = generated(KeyType::ECDSA_P256);
  const PrivateKey& p384 = generated(KeyType::ECDSA_P384);
  auto sign_error = [&](const PrivateKey& key, AuthScheme scheme) {
    auto auth = sign_auth(key, scheme, o, rng);
    REQUIRE_FALSE(auth.ok());
    return auth.error().detail;
  };
  const AuthMethod DS = AuthMethod::DIGITAL_SIGNATURE;
  CHECK_THAT(sign_error(p384, classic_auth_scheme(KeyType::ECDSA_P256)),
             Catch::Contains("ECDSA_SHA256_P256 needs an ECDSA P-256 key, not ECDSA P-384"));
  CHECK_THAT(sign_error(p256, classic_auth_scheme(KeyType::RSA)),
             Catch::Contains("RSA_SIG needs an RSA key"));
  CHECK_THAT(
      sign_error(rsa, {AuthMethod::RSA_SIG, {PKCS1, SHA256}}),
      Catch::Contains("RSA_SIG signs with sha1WithRSAEncryption, not sha256WithRSAEncryption"));
  CHECK_THAT(sign_error(p256, {AuthMethod::ECDSA_SHA256_P256, {ECDSA, SHA384}}),
             Catch::Contains("signs with ecdsa-with-SHA256"));
  CHECK_THAT(sign_error(rsa, {DS, {ECDSA, SHA256}}),
             Catch::Contains("ecdsa-with-SHA256 cannot be used with an RSA key"));
  CHECK_THAT(sign_error(p256, {DS, {PSS, SHA256}}),
             Catch::Contains("RSASSA-PSS with SHA-256 cannot be used with an ECDSA P-256 key"));
  CHECK_THAT(sign_error(rsa, {AuthMethod::SHARED_KEY_MIC, {PKCS1, SHA256}}),
             Catch::Contains("SHARED_KEY_MIC is not a signature method"));
  CHECK_THAT(sign_error(rsa, {DS, {PSS, SHA512}}),
             Catch::Contains("too small for RSASSA-PSS with SHA-512"));
  CHECK_THAT(sign_error(rsa, {DS, {PKCS1, static_cast<HashAlgorithm>(9)}}),
             Catch::Contains("unknown hash algorithm 9"));

  // Verifying: the peer's AUTH against a key of the wrong kind, malformed RFC 7427 data.
  auto rsa_auth = sign_auth(rsa, {DS, {PKCS1, SHA256}}, o, rng);
  auto ec_auth = sign_auth(p256, classic_auth_scheme(KeyType::ECDSA_P256), o, rng);
  REQUIRE(rsa_auth.ok());
  REQUIRE(ec_auth.ok());
  CHECK_THAT(error_of(verify_auth(public_of(p256), *rsa_auth, o, kSha2)),
             Catch::Contains("sha256WithRSAEncryption cannot be used with an ECDSA P-256 key"));
  CHECK_THAT(error_of(verify_auth(public_of(rsa), *ec_auth, o, kSha2)),
             Catch::Contains("ECDSA_SHA256_P256 needs an ECDSA P-256 key, not RSA"));
  CHECK_THAT(error_of(verify_auth(public_of(p384), *ec_auth, o, kSha2)),
             Catch::Contains("needs an ECDSA P-256 key, not ECDSA P-384"));
  PublicKey pub = public_of(rsa);
  CHECK_THAT(error_of(verify_auth(pub, {AuthMethod::SHARED_KEY_MIC, rsa_auth->data}, o, kSha2)),
             Catch::Contains("not a signature method"));
  CHECK_THAT(error_of(verify_auth(pub, {DS, {}}, o, kSha2)),
             Catch::Contains("has no AlgorithmIdentifier"));
  CHECK_THAT(error_of(verify_auth(pub, {DS, hex("00")}, o, kSha2)),
             Catch::Contains("has no AlgorithmIdentifier"));
  CHECK_THAT(error_of(verify_auth(pub, {DS, hex("0f300d06092a864886f70d01010b05")}, o, kSha2)),
             Catch::Contains("length 15 exceeds the AUTH data (15 bytes)"));
  CHECK_THAT(error_of(verify_auth(pub, {DS, hex("0f300d06092a864886f70d01010b0500")}, o, kSha2)),
             Catch::Contains("empty signature"));
  CHECK_THAT(error_of(verify_auth(pub, {AuthMethod::RSA_SIG, {}}, o, kSha2)),
             Catch::Contains("empty signature"));
  CHECK_THAT(
      error_of(verify_auth(pub, digital_signature(hex("300506032b6570"), Bytes(64, 1)), o, kSha2)),
      Catch::Contains("DIGITAL_SIGNATURE: unsupported signature algorithm (OID 1.3.101.112)"));
}

// ---------------------------------------------------------------------------------------------
// Scheme choice

TEST_CASE("SIGNATURE_HASH_ALGORITHMS notify data", "[crypto][signature]") {
  // Unknown IDs (5 = Identity, RFC 8420) are skipped, repeats count once.
  auto hashes = parse_hash_algorithms(hex("0001 0002 0005 0002 0004"));
  CHECK(hashes == std::vector<HashAlgorithm>{SHA1, SHA256, SHA512});
  CHECK(parse_hash_algorithms({}).empty());
  CHECK(to_hex(encode_hash_algorithms(kSha2)) == "000200030004");
  CHECK(parse_hash_algorithms(encode_hash_algorithms(kAllHashes)) ==
        std::vector<HashAlgorithm>(std::begin(kAllHashes), std::end(kAllHashes)));
}

TEST_CASE("the scheme follows the peer's hash list and the key", "[crypto][signature]") {
  const AuthMethod DS = AuthMethod::DIGITAL_SIGNATURE;
  const std::vector<HashAlgorithm> none, only_sha1{SHA1}, only256{SHA256}, only512{SHA512},
      strongswan{SHA256, SHA384, SHA512};
  // No notify (or only SHA-1): the classic method of the key.
  CHECK(choose_auth_scheme(KeyType::RSA, 2048, none) ==
        AuthScheme{AuthMethod::RSA_SIG, {PKCS1, SHA1}});
  CHECK(choose_auth_scheme(KeyType::RSA, 2048, only_sha1).method == AuthMethod::RSA_SIG);
  CHECK(choose_auth_scheme(KeyType::ECDSA_P256, 256, none) ==
        AuthScheme{AuthMethod::ECDSA_SHA256_P256, {ECDSA, SHA256}});
  CHECK(choose_auth_scheme(KeyType::ECDSA_P384, 384, only_sha1) ==
        AuthScheme{AuthMethod::ECDSA_SHA384_P384, {ECDSA, SHA384}});
  CHECK(choose_auth_scheme(KeyType::ECDSA_P521, 521, none).method == AuthMethod::ECDSA_SHA512_P521);
  // RFC 7427 with a hash as strong as the key.
  CHECK(choose_auth_scheme(KeyType::RSA, 2048, strongswan) == AuthScheme{DS, {PSS, SHA256}});
  CHECK(choose_auth_scheme(KeyType::RSA, 3072, strongswan) == AuthScheme{DS, {PSS, SHA256}});
  CHECK(choose_auth_scheme(KeyType::RSA, 4096, strongswan) == AuthScheme{DS, {PSS, SHA384}});
  CHECK(choose_auth_scheme(KeyType::RSA, 8192, strongswan) == AuthScheme{DS, {PSS, SHA512}});
  CHECK(choose_auth_scheme(KeyType::RSA, 2048, strongswan, RsaPadding::PKCS1_V15) ==
        AuthScheme{DS, {PKCS1, SHA256}});
  CHECK(choose_auth_scheme(KeyType::ECDSA_P256, 256, strongswan) ==
        AuthScheme{DS, {ECDSA, SHA256}});
  CHECK(choose_auth_scheme(KeyType::ECDSA_P384, 384, strongswan) ==
        AuthScheme{DS, {ECDSA, SHA384}});
  CHECK(choose_auth_scheme(KeyType::ECDSA_P521, 521, strongswan) ==
        AuthScheme{DS, {ECDSA, SHA512}});
  // Otherwise whatever SHA-2 hash the peer has.
  CHECK(choose_auth_scheme(KeyType::ECDSA_P384, 384, only256) == AuthScheme{DS, {ECDSA, SHA256}});
  CHECK(choose_auth_scheme(KeyType::RSA, 2048, only512) == AuthScheme{DS, {PSS, SHA512}});
  // PSS with SHA-512 does not fit a 1024-bit key: v1.5 does, else the classic method.
  CHECK(choose_auth_scheme(KeyType::RSA, 1024, only512).method == AuthMethod::RSA_SIG);
  CHECK(choose_auth_scheme(KeyType::RSA, 1024, only512, RsaPadding::PKCS1_V15) ==
        AuthScheme{DS, {PKCS1, SHA512}});
  CHECK(choose_auth_scheme(generated(KeyType::RSA), strongswan) == AuthScheme{DS, {PSS, SHA256}});

  // Whatever is chosen signs and verifies.
  DeterministicRng rng(uint64_t{14});
  Bytes o = octets(8);
  for (const auto* hashes : {&none, &only_sha1, &only256, &only512, &strongswan}) {
    for (const PrivateKey* key : {&generated(KeyType::RSA), &generated(KeyType::ECDSA_P521)}) {
      AuthScheme s = choose_auth_scheme(*key, *hashes);
      INFO(describe(s));
      auto auth = sign_auth(*key, s, o, rng);
      REQUIRE(auth.ok());
      CHECK(verify_auth(public_of(*key), *auth, o, *hashes).ok());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Other implementations

TEST_CASE("signatures made by OpenSSL verify", "[crypto][signature]") {
  // `openssl dgst -sign` over these bytes, keys in tests/data/signature (see its README).
  Bytes message = ascii("ikeme RFC 7427 interop vector");
  PublicKey rsa = public_key("rsa1024-pub.pem");
  PublicKey p256 = public_key("ec256-pub.pem");
  PublicKey p521 = public_key("ec521-pub.pem");
  const AuthMethod DS = AuthMethod::DIGITAL_SIGNATURE;
  struct Vector {
    const PublicKey* key;
    AuthMethod method;
    SignatureScheme scheme;
    const char* signature;
  };
  const Vector vectors[] = {
      {&rsa,
       AuthMethod::RSA_SIG,
       {PKCS1, SHA1},
       "9ca648cd875043d0daac5d09681f97fdd8234df105bb6d890b8280d4fc1bf2657a7abb7dd447fdcb532accb19c"
       "89364b49965a554aac5b5502b6113661ca96042cf6f6eb7f1a6012109231ca9b329481378a90f41fe4c8c2effc"
       "1a426bba018d7c8e864f6bf48bcff69d0ebb7060ff3102e6bbff757be34fcab7196b85907e49"},
      {&rsa,
       DS,
       {PKCS1, SHA256},
       "6c8bcbbce65e9c0c6f3eea292861a72a9e1aaa85685c1f4b938d9ef85fe06aeb83143d33cca84bb147cc54e4e5"
       "6d6b0d58000f795901697ae579c0ce9815b490dd3fe027ee24a8103e9cddea80cec940fc53b64910cfd9abf1a1"
       "3825d73aef2ca2b03b16e7b760f0933b51110e5f1f96868e2f0946842b6a86d0e2587bd81c7e"},
      {&rsa,
       DS,
       {PSS, SHA256},
       "bee6011fac2d7c53b5faef94045dbbd4ade6aed92924180af239b32653b5fe04afcb0a03dc7b6c699ff29822a9"
       "4d16da7ed8785dc3f9f4409bb347c2fe17cef8427d3b2d433371a344e66bed727fef2f5fa0ebaff88b93b2da14"
       "9f35a4b6b5cef09cd36ab79b71e3a1c7cdde5179c1fde048a7e1ee810292b3d79337d37f96b4"},
      {&rsa,
       DS,
       {PSS, SHA384},
       "60815f62fcb34fc428812b2724610a12a9bdff376b74a8ddb922ef9ba9437b10457a6ec5ac84ab224aef027bb8"
       "019ab1ada76f04cba80bc248ec9887360bde9149b074144955b81a3fec707311295001b05b0a97567f07f9da7d"
       "78597f761fa7f404edcf43e3a30cc0db2dc57735f69cc1166de363c0e3d431931bfecfaa90f3"},
      {&p256,
       DS,
       {ECDSA, SHA256},
       "304602210080a2c5ccfe9bcf7ff2b1f43255011f904887a92f5d7c03aa3f969b591b6a458a02210093711a5b5f"
       "8207b4254785f4542b4b4c3f2cf4ec89e81cd1d1d8c2fa6eed28a5"},
      {&p256,
       AuthMethod::ECDSA_SHA256_P256,
       {ECDSA, SHA256},
       "80a2c5ccfe9bcf7ff2b1f43255011f904887a92f5d7c03aa3f969b591b6a458a93711a5b5f8207b4254785f454"
       "2b4b4c3f2cf4ec89e81cd1d1d8c2fa6eed28a5"},
      // r has only 65 significant bytes: r | s pads it to 66.
      {&p521,
       AuthMethod::ECDSA_SHA512_P521,
       {ECDSA, SHA512},
       "00392ebbb6151920f88e06fdc8c1928ba8ebeabcc21df2ae509cf234704c2ecc53249a32264bd5358a651b5067"
       "1e0e41fd3a3989516ddf9286983ed7a761f28746760099ca783f09540df24489337fcd5af5183dd03b1116f0dc"
       "d0d575f03128971f722a67583bb8d30b3f69e83abc31fc683316d87e72c0fe2e9025a5a92c38af29dfad"},
      {&p521,
       DS,
       {ECDSA, SHA512},
       "3081870241392ebbb6151920f88e06fdc8c1928ba8ebeabcc21df2ae509cf234704c2ecc53249a32264bd5358a"
       "651b50671e0e41fd3a3989516ddf9286983ed7a761f287467602420099ca783f09540df24489337fcd5af5183d"
       "d03b1116f0dcd0d575f03128971f722a67583bb8d30b3f69e83abc31fc683316d87e72c0fe2e9025a5a92c38af"
       "29dfad"},
      {&p521,
       DS,
       {ECDSA, SHA384},
       "308187024200e995342eb66106d14067a348f0980f62690965bff7f2c98233a05419172a5ccc362c24a7d6c54e"
       "78c4d08eaefc404bebb217bc27a5c6cca0d8510135b5abfc0b8d02411d74220d86434ec6bf72d6c55c7ebb6dec"
       "aa3a7577ecedc4416cf65714b01bfafa7103659f047534520ac1f6fb52c80c497beb03f5cdc521fbfb6c9f6b3a"
       "c5679f"},
  };
  for (const auto& v : vectors) {
    AuthPayload auth =
        v.method == DS ? digital_signature(encode_algorithm_identifier(v.scheme), hex(v.signature))
                       : AuthPayload{v.method, hex(v.signature)};
    INFO(describe({v.method, v.scheme}));
    auto r = verify_auth(*v.key, auth, message, kSha2);
    INFO(error_of(r));
    CHECK(r.ok());
    CHECK_FALSE(verify_auth(*v.key, auth, ascii("ikeme RFC 7427 interop vectoR"), kSha2).ok());
  }
}

TEST_CASE("strongSwan's AUTH payloads in the interop capture use encodings we accept",
          "[crypto][signature]") {
  // The capture's key table has SK_e/SK_a but not SK_p, so <SignedOctets> (which contains
  // prf(SK_p, ID')) cannot be rebuilt and a full verification is impossible. What is checked:
  // the AlgorithmIdentifier strongSwan sent parses to a scheme we support, the signature has the
  // signer's modulus size, and the encoded message inside it (recovered with the certificate's
  // public key) is exactly what strict PKCS#1 v1.5 verification rebuilds for its digest.
  auto keys = ctl::load_ike_keys(kVectors + "ike-keys.csv");
  REQUIRE(keys.ok());
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  ctl::DatagramDecoder decoder(&*keys);
  const std::map<std::string, std::string> signer = {
      {"192.0.2.1", "alice"}, {"192.0.2.2", "bob"}, {"192.0.2.100", "carol"}};
  std::map<std::string, int> signatures;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike || !x.inner) continue;
    for (const auto& p : *x.inner) {
      const AuthPayload* auth = p.as<AuthPayload>();
      if (auth == nullptr || auth->method == AuthMethod::SHARED_KEY_MIC) continue;
      std::string who = signer.at(d.src.to_string());
      INFO("frame " << d.frame << " from " << who);
      REQUIRE(auth->method == AuthMethod::DIGITAL_SIGNATURE);
      ByteView alg = ByteView(auth->data).subspan(1, auth->data[0]);
      auto params = parse_algorithm_identifier(alg);
      REQUIRE(params.ok());
      CHECK(params->scheme == SignatureScheme{PKCS1, SHA256});  // strongSwan's RSA default
      CHECK(to_hex(alg) == to_hex(encode_algorithm_identifier(params->scheme)));
      Bytes sig = signature_of(*auth);
      PublicKey pub = public_key("strongswan/" + who + "Pub.pem");
      REQUIRE(sig.size() == 384);

      mbedtls_rsa_context* rsa = mbedtls_pk_rsa(pub.native());
      Bytes em(sig.size());
      REQUIRE(mbedtls_rsa_public(rsa, sig.data(), em.data()) == 0);
      Bytes digest(em.end() - 32, em.end());
      CHECK(mbedtls_rsa_rsassa_pkcs1_v15_verify(rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC,
                                                MBEDTLS_MD_SHA256, 32, digest.data(),
                                                sig.data()) == 0);
      // And through the AUTH layer, over octets that are not the signed ones: the signature is
      // well-formed, so the only complaint is the mismatch.
      CHECK_THAT(error_of(verify_auth(pub, *auth, ascii("not the signed octets"), kSha2)),
                 Catch::Contains("sha256WithRSAEncryption signature does not verify"));
      ++signatures[who];
    }
  }
  // carol in both mediation IKE_AUTH responses; alice and bob in the direct IKE_AUTH.
  CHECK(signatures == std::map<std::string, int>{{"alice", 1}, {"bob", 1}, {"carol", 2}});
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_CASE("one key signs and verifies from several threads at once", "[crypto][signature]") {
  const PrivateKey& rsa = generated(KeyType::RSA);
  const PrivateKey& ec = generated(KeyType::ECDSA_P256);
  PublicKey rsa_pub = public_of(rsa), ec_pub = public_of(ec);
  const AuthScheme schemes[] = {{AuthMethod::DIGITAL_SIGNATURE, {PSS, SHA256}},
                                {AuthMethod::DIGITAL_SIGNATURE, {PKCS1, SHA384}},
                                classic_auth_scheme(KeyType::RSA),
                                {AuthMethod::DIGITAL_SIGNATURE, {ECDSA, SHA256}},
                                classic_auth_scheme(KeyType::ECDSA_P256)};
  std::atomic<int> failures{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      DeterministicRng rng(static_cast<uint64_t>(100 + t));
      for (int i = 0; i < 15; ++i) {
        const AuthScheme& s = schemes[(t + i) % 5];
        bool is_ec = s.signature.algorithm == ECDSA;
        Bytes o = octets(static_cast<uint64_t>(t * 1000 + i), 64);
        auto auth = sign_auth(is_ec ? ec : rsa, s, o, rng);
        bool ok = auth.ok() && verify_auth(is_ec ? ec_pub : rsa_pub, *auth, o, kSha2).ok();
        failures += ok ? 0 : 1;
        ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(done == 60);
  CHECK(failures == 0);
}

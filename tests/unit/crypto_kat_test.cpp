// Known-answer tests for the IKEv2 crypto suite, from the RFCs and the GCM specification. Every
// vector below was also cross-checked against OpenSSL 3.0 (python3-cryptography) while writing.

#include <catch2/catch.hpp>

#include <mbedtls/dhm.h>

#include <string>

#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/prf.hpp"
#include "ike/crypto/random.hpp"
#include "ike/crypto/sk_cipher.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::ike::crypto;

namespace {

Bytes hex(std::string s) {
  std::string digits;
  for (char c : s)
    if (c != ' ' && c != ':' && c != '\n') digits += c;
  REQUIRE(digits.size() % 2 == 0);
  Bytes out;
  for (size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

Bytes ascii(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes cat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Prf make_prf(PrfId id) {
  auto prf = Prf::make(id);
  REQUIRE(prf.ok());
  return *prf;
}

std::unique_ptr<KeyExchange> with_private(DhGroup group, const Bytes& key) {
  auto kx = KeyExchange::create_with_private(group, key);
  INFO((kx.ok() ? std::string() : kx.error().detail));
  REQUIRE(kx.ok());
  return std::move(*kx);
}

std::unique_ptr<KeyExchange> generated(DhGroup group, Rng& rng) {
  auto kx = KeyExchange::create(group, rng);
  INFO((kx.ok() ? std::string() : kx.error().detail));
  REQUIRE(kx.ok());
  return std::move(*kx);
}

}  // namespace

// ---- HMAC-SHA2 (RFC 4231 §4.2, §4.3, §4.7: test cases 1, 2 and 6) -----------------------------

TEST_CASE("PRF HMAC-SHA2: RFC 4231 test cases 1, 2 and 6", "[crypto][kat]") {
  struct Case {
    const char* name;
    Bytes key, data;
    const char *sha256, *sha384, *sha512;
  };
  const Case cases[] = {
      {"RFC 4231 test case 1", Bytes(20, 0x0b), ascii("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
       "faea9ea9076ede7f4af152e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"RFC 4231 test case 2", ascii("Jefe"), ascii("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"RFC 4231 test case 6 (key longer than the block)", Bytes(131, 0xaa),
       ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
       "0c2ef6ab4030fe8296248df163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
       "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Prf sha256 = make_prf(PrfId::HMAC_SHA2_256);
    Prf sha384 = make_prf(PrfId::HMAC_SHA2_384);
    Prf sha512 = make_prf(PrfId::HMAC_SHA2_512);
    CHECK(sha256.size() == 32);
    CHECK(sha384.size() == 48);
    CHECK(sha512.size() == 64);
    CHECK(to_hex(sha256(c.key, c.data)) == c.sha256);
    CHECK(to_hex(sha384(c.key, c.data)) == c.sha384);
    CHECK(to_hex(sha512(c.key, c.data)) == c.sha512);
  }
}

TEST_CASE("PRF: unsupported PRFs are refused by name", "[crypto]") {
  auto xcbc = Prf::make(PrfId::AES128_XCBC);
  REQUIRE_FALSE(xcbc.ok());
  CHECK(xcbc.error().detail.find("AES128_XCBC") != std::string::npos);
  CHECK_FALSE(Prf::make(PrfId::HMAC_MD5).ok());
  auto sha1 = Prf::make(PrfId::HMAC_SHA1);
  REQUIRE(sha1.ok());
  CHECK(sha1->size() == 20);
}

// ---- prf+ (RFC 7296 §2.13), against a hand computation from the PRF ---------------------------

TEST_CASE("prf+ equals T1 | T2 | T3 computed by hand from HMAC", "[crypto][kat]") {
  for (PrfId id : {PrfId::HMAC_SHA2_256, PrfId::HMAC_SHA2_384, PrfId::HMAC_SHA2_512}) {
    Prf prf = make_prf(id);
    INFO("PRF " << static_cast<int>(id));
    const Bytes key = hex("000102030405060708090a0b0c0d0e0f101112131415161718");
    const Bytes seed = ascii("seed for prf+ of RFC 7296 section 2.13");
    // T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), T3 = prf(K, T2 | S | 0x03)
    Bytes t1 = prf(key, cat(seed, Bytes{0x01}));
    Bytes t2 = prf(key, cat(cat(t1, seed), Bytes{0x02}));
    Bytes t3 = prf(key, cat(cat(t2, seed), Bytes{0x03}));
    Bytes expected = cat(cat(t1, t2), t3);
    const size_t length = 2 * prf.size() + 7;  // ends inside T3
    expected.resize(length);

    auto out = prf.plus(key, seed, length);
    REQUIRE(out.ok());
    CHECK(to_hex(*out) == to_hex(expected));
    // A shorter request is a prefix of the same stream.
    auto shorter = prf.plus(key, seed, 5);
    REQUIRE(shorter.ok());
    CHECK(to_hex(*shorter) == to_hex(Bytes(t1.begin(), t1.begin() + 5)));
    auto empty = prf.plus(key, seed, 0);
    REQUIRE(empty.ok());
    CHECK(empty->empty());
  }
}

TEST_CASE("prf+ refuses more than 255 iterations", "[crypto]") {
  Prf prf = make_prf(PrfId::HMAC_SHA2_256);
  const Bytes key(32, 1), seed(8, 2);
  auto max = prf.plus(key, seed, 255 * 32);
  REQUIRE(max.ok());
  CHECK(max->size() == 255 * 32);
  auto over = prf.plus(key, seed, 255 * 32 + 1);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().detail.find("255") != std::string::npos);
}

// ---- AES-GCM-16 through SkCipher (McGrew & Viega, "The Galois/Counter Mode of Operation",
//      test case 4: AES-128, 96-bit IV, 20-byte AAD, 60-byte plaintext) ---------------------------
//
// Our AEAD nonce is salt (4) | IV (8), so the vector's IV cafebabefacedbaddecaf888 splits into
// salt cafebabe (the last 4 bytes of the SK_e key material) and IV facedbaddecaf888. The AAD plays
// the role of the message prefix.
//   open(): the vector's AAD | IV | C | T is a valid "message": the tag is checked by mbedTLS
//           against the vector's T, then the body is decrypted to P. P's last byte 0x39 = 57 is
//           taken as the Pad Length, so open() returns P's first 60 - 57 - 1 = 2 bytes.
//   seal(): appends a Pad Length byte to the plaintext, so the tag differs from T, but GCM is a
//           stream mode: the first 60 ciphertext bytes must equal C.

TEST_CASE("AES-GCM-16 SkCipher: GCM specification test case 4", "[crypto][kat]") {
  const Bytes key = hex("feffe9928665731c6d6a8f9467308308");
  const Bytes salt = hex("cafebabe");
  const Bytes iv = hex("facedbaddecaf888");
  const Bytes aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes plain =
      hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const Bytes cipher =
      hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
          "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091");
  const Bytes tag = hex("5bc94fbc3221a5db94fae95ae7121a47");

  auto c = make_sk_cipher({EncrId::AES_GCM_16, 128, IntegId::NONE}, cat(key, salt), {});
  REQUIRE(c.ok());

  Bytes message = cat(cat(cat(aad, iv), cipher), tag);
  auto opened = (*c)->open(message, aad.size());
  REQUIRE(opened.ok());
  CHECK(to_hex(*opened) == "d931");
  message.back() ^= 1;
  CHECK_FALSE((*c)->open(message, aad.size()).ok());

  auto sealed = (*c)->seal(aad, plain, iv);
  REQUIRE(sealed.ok());
  REQUIRE(sealed->size() == 8 + plain.size() + 1 + 16);
  CHECK(to_hex(ByteView(*sealed).subspan(8, plain.size())) == to_hex(cipher));
}

// ---- ChaCha20-Poly1305 through SkCipher (RFC 8439 §2.8.2) --------------------------------------
//
// Nonce 07000000 | 4041424344454647 = salt 07000000 | IV 4041424344454647; AAD = the prefix.
// Same approach as for GCM: open() checks the RFC's tag over AAD | IV | ciphertext and decrypts;
// the plaintext's last byte '.' = 46 is taken as the Pad Length, so 114 - 46 - 1 = 67 bytes come
// back. seal() adds a Pad Length byte, so only its ciphertext prefix is compared.

TEST_CASE("ChaCha20-Poly1305 SkCipher: RFC 8439 section 2.8.2", "[crypto][kat]") {
  const Bytes key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const Bytes salt = hex("07000000");
  const Bytes iv = hex("4041424344454647");
  const Bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const Bytes plain = ascii(text);
  const Bytes cipher =
      hex("d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2"
          "a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6"
          "3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b"
          "1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36"
          "92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58"
          "fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc"
          "3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b"
          "61 16");
  const Bytes tag = hex("1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91");
  REQUIRE(plain.size() == 114);

  auto c = make_sk_cipher({EncrId::CHACHA20_POLY1305, 256, IntegId::NONE}, cat(key, salt), {});
  REQUIRE(c.ok());

  Bytes message = cat(cat(cat(aad, iv), cipher), tag);
  auto opened = (*c)->open(message, aad.size());
  REQUIRE(opened.ok());
  CHECK(std::string(opened->begin(), opened->end()) == text.substr(0, 67));
  message[aad.size() + 8] ^= 0x80;  // a ciphertext bit
  CHECK_FALSE((*c)->open(message, aad.size()).ok());

  auto sealed = (*c)->seal(aad, plain, iv);
  REQUIRE(sealed.ok());
  REQUIRE(sealed->size() == 8 + plain.size() + 1 + 16);
  CHECK(to_hex(ByteView(*sealed).first(8)) == to_hex(iv));
  CHECK(to_hex(ByteView(*sealed).subspan(8, plain.size())) == to_hex(cipher));
}

// ---- X25519 (RFC 7748 §6.1) --------------------------------------------------------------------

TEST_CASE("CURVE_25519: RFC 7748 section 6.1 Alice and Bob", "[crypto][kat]") {
  auto alice =
      with_private(DhGroup::CURVE_25519,
                   hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = with_private(DhGroup::CURVE_25519,
                          hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  CHECK(alice->group() == DhGroup::CURVE_25519);
  CHECK(to_hex(alice->public_value()) ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(to_hex(bob->public_value()) ==
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const char* k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  auto ab = alice->shared_secret(bob->public_value());
  auto ba = bob->shared_secret(alice->public_value());
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(to_hex(*ab) == k);
  CHECK(to_hex(*ba) == k);
  // RFC 7748 §5: the most significant bit of a received u-coordinate is masked (ignored).
  Bytes bob_high = bob->public_value();
  bob_high.back() |= 0x80;
  auto masked = alice->shared_secret(bob_high);
  REQUIRE(masked.ok());
  CHECK(to_hex(*masked) == k);
}

TEST_CASE("CURVE_25519: low-order and malformed peer values are refused", "[crypto][kat]") {
  auto alice =
      with_private(DhGroup::CURVE_25519,
                   hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  // Points of small order, where X25519 would give the all-zero secret (RFC 7748 §6.1): u = 0,
  // 1, p-1, one of the order-8 points, and the non-canonical encodings p and p+1. mbedTLS 2.28's
  // mbedtls_ecp_check_pubkey() already refuses all of them; the all-zero-secret check behind it
  // stays as a second line of defence.
  Bytes p(32, 0xff);  // 2^255 - 19, little-endian
  p[0] = 0xed;
  p[31] = 0x7f;
  Bytes p_minus_1 = p, p_plus_1 = p;
  p_minus_1[0] = 0xec;
  p_plus_1[0] = 0xee;
  const Bytes order8 = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  for (const Bytes& u :
       {Bytes(32, 0), cat(Bytes{1}, Bytes(31, 0)), p_minus_1, p, p_plus_1, order8}) {
    INFO(to_hex(u));
    auto r = alice->shared_secret(u);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().detail);
    CHECK(r.error().detail.rfind("CURVE_25519: ", 0) == 0);
  }
  auto short_value = alice->shared_secret(Bytes(31, 9));
  REQUIRE_FALSE(short_value.ok());
  CHECK(short_value.error().detail == "CURVE_25519: peer public value has 31 bytes, expected 32");
  CHECK_FALSE(alice->shared_secret(Bytes(33, 9)).ok());
  CHECK_FALSE(KeyExchange::create_with_private(DhGroup::CURVE_25519, Bytes(31, 1)).ok());
}

// ---- ECP_256 and ECP_384 (RFC 5903 §8.1, §8.2) -------------------------------------------------

namespace {
struct EcpVector {
  DhGroup group;
  const char *i, *gi, *r, *gr, *gir;  // gi, gr: x | y
};

void check_ecp_vector(const EcpVector& v) {
  auto init = with_private(v.group, hex(v.i));
  auto resp = with_private(v.group, hex(v.r));
  CHECK(to_hex(init->public_value()) == to_hex(hex(v.gi)));
  CHECK(to_hex(resp->public_value()) == to_hex(hex(v.gr)));
  auto a = init->shared_secret(resp->public_value());
  auto b = resp->shared_secret(init->public_value());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(to_hex(*a) == to_hex(hex(v.gir)));
  CHECK(to_hex(*b) == to_hex(hex(v.gir)));

  // A point off the curve: the last byte of y changed.
  Bytes off = init->public_value();
  off.back() ^= 0x01;
  auto r = resp->shared_secret(off);
  REQUIRE_FALSE(r.ok());
  INFO(r.error().detail);
  CHECK(r.error().detail.find("not a point on the curve") != std::string::npos);
  CHECK(r.error().detail.rfind(name(v.group) + ": ", 0) == 0);
  // Wrong lengths, including the SEC1 form with its 0x04 prefix.
  Bytes sec1 = cat(Bytes{0x04}, init->public_value());
  CHECK_FALSE(resp->shared_secret(sec1).ok());
  CHECK_FALSE(resp->shared_secret(ByteView(init->public_value()).first(off.size() - 1)).ok());
  // The point at infinity has no x | y encoding; all zeros is not on the curve.
  CHECK_FALSE(resp->shared_secret(Bytes(off.size(), 0)).ok());
}
}  // namespace

TEST_CASE("ECP_256: RFC 5903 section 8.1", "[crypto][kat]") {
  check_ecp_vector({DhGroup::ECP_256,
                    "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
                    "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
                    "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
                    "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
                    "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
                    "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
                    "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"});
}

TEST_CASE("ECP_384: RFC 5903 section 8.2", "[crypto][kat]") {
  check_ecp_vector(
      {DhGroup::ECP_384,
       "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655 E35B5380 41E649EE "
       "3FAEF896 783AB194",
       "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 "
       "C88732AE E95F41AA"
       "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA "
       "E69B4C63 4573A81C",
       "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942 E0308312 916B8ED2 "
       "960E4BD5 5A7448FC",
       "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D 0D1AC43A 0336DEF9 "
       "6FDA41D0 774A3571"
       "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF "
       "5EAAD96D B9E6386C",
       "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4 D6031355 69B9E9D0 "
       "9CF5D4A2 70F59746"});
}

// ---- MODP_2048 and MODP_3072 (RFC 3526 §3, §4) -------------------------------------------------

namespace {
void check_modp(DhGroup group, const Bytes& p) {
  DeterministicRng rng_i(1), rng_r(2);
  auto init = generated(group, rng_i);
  auto resp = generated(group, rng_r);
  CHECK(init->public_value().size() == p.size());
  CHECK(resp->public_value().size() == p.size());
  auto a = init->shared_secret(resp->public_value());
  auto b = resp->shared_secret(init->public_value());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == p.size());
  CHECK(*a == *b);

  // The same seeds give the same keys.
  DeterministicRng again(1);
  CHECK(generated(group, again)->public_value() == init->public_value());

  // Refused: wrong lengths, 0, 1, p-1, p and anything above.
  Bytes zero(p.size(), 0), one(p.size(), 0), p_minus_1 = p;
  one.back() = 1;
  p_minus_1.back() -= 1;  // p is odd
  for (const Bytes& y : {zero, one, p_minus_1, p, Bytes(p.size(), 0xff)}) {
    auto r = init->shared_secret(y);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().detail == name(group) + ": peer public value is not in 1 < y < p-1");
  }
  auto short_value = init->shared_secret(ByteView(resp->public_value()).first(p.size() - 1));
  REQUIRE_FALSE(short_value.ok());
  CHECK(short_value.error().detail == name(group) + ": peer public value has " +
                                          std::to_string(p.size() - 1) + " bytes, expected " +
                                          std::to_string(p.size()));
  CHECK_FALSE(init->shared_secret(cat(Bytes{0}, resp->public_value())).ok());
  // Still works after the refusals.
  auto again_ab = init->shared_secret(resp->public_value());
  REQUIRE(again_ab.ok());
  CHECK(*again_ab == *a);

  // Fixed exponents: g = 2, x = 2, y = 3: g^x = 4, g^y = 8, g^xy = 64, each left-padded to the
  // modulus length (mbedTLS itself writes the secret without leading zeros).
  auto two = with_private(group, Bytes{2});
  auto three = with_private(group, Bytes{3});
  Bytes four(p.size(), 0), eight(p.size(), 0), sixty_four(p.size(), 0);
  four.back() = 4;
  eight.back() = 8;
  sixty_four.back() = 64;
  CHECK(two->public_value() == four);
  CHECK(three->public_value() == eight);
  auto s = two->shared_secret(three->public_value());
  REQUIRE(s.ok());
  CHECK(*s == sixty_four);
  CHECK_FALSE(KeyExchange::create_with_private(group, Bytes{1}).ok());
  CHECK_FALSE(KeyExchange::create_with_private(group, p_minus_1).ok());
}
}  // namespace

TEST_CASE("MODP_2048: two sides agree; invalid public values are refused", "[crypto][kat]") {
  const unsigned char p[] = MBEDTLS_DHM_RFC3526_MODP_2048_P_BIN;
  Bytes prime(p, p + sizeof p);
  REQUIRE(prime.size() == 256);
  // RFC 3526 §3: p = 2^2048 - 2^1984 - 1 + 2^64 * { [2^1918 pi] + 124476 }
  CHECK(to_hex(ByteView(prime).first(12)) == "ffffffffffffffffc90fdaa2");
  CHECK(to_hex(ByteView(prime).last(12)) == "8aacaa68ffffffffffffffff");
  check_modp(DhGroup::MODP_2048, prime);
}

TEST_CASE("MODP_3072: two sides agree; invalid public values are refused", "[crypto][kat]") {
  const unsigned char p[] = MBEDTLS_DHM_RFC3526_MODP_3072_P_BIN;
  Bytes prime(p, p + sizeof p);
  REQUIRE(prime.size() == 384);
  // RFC 3526 §4: p = 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }
  CHECK(to_hex(ByteView(prime).first(12)) == "ffffffffffffffffc90fdaa2");
  CHECK(to_hex(ByteView(prime).last(12)) == "a93ad2caffffffffffffffff");
  check_modp(DhGroup::MODP_3072, prime);
}

// ---- Every supported group, generated keys ----------------------------------------------------

TEST_CASE("KeyExchange: generated keys agree for every supported group", "[crypto]") {
  DeterministicRng rng(42);
  for (DhGroup g : {DhGroup::CURVE_25519, DhGroup::ECP_256, DhGroup::ECP_384, DhGroup::MODP_2048,
                    DhGroup::MODP_3072}) {
    INFO(name(g));
    CHECK(KeyExchange::is_supported(g));
    auto a = generated(g, rng);
    auto b = generated(g, rng);
    CHECK(a->group() == g);
    CHECK(a->public_value().size() == ke_data_length(g));
    CHECK(a->public_value() != b->public_value());
    auto ab = a->shared_secret(b->public_value());
    auto ba = b->shared_secret(a->public_value());
    REQUIRE(ab.ok());
    REQUIRE(ba.ok());
    CHECK(*ab == *ba);
  }
  for (DhGroup g : {DhGroup::MODP_1024, DhGroup::ECP_521, DhGroup::CURVE_448, DhGroup::NONE}) {
    CHECK_FALSE(KeyExchange::is_supported(g));
    auto r = KeyExchange::create(g, rng);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().detail == name(g) + ": key exchange group is not supported");
  }
}

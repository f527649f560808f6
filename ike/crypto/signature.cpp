// AUTH payload signatures (RFC 7296 §3.8, RFC 4754, RFC 7427) with mbedTLS keys.

#include "ike/crypto/signature.hpp"
#include "ike/crypto/mbedtls_mpi.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs12.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <optional>

#include "ike/crypto/key_exchange_groups.hpp"  // detail::mbedtls_reason

namespace ikeme::ike::crypto {

namespace {

using detail::mbedtls_reason;

Unexpected<CryptoError> fail(std::string why) {
  return Unexpected{CryptoError{std::move(why)}};
}

constexpr std::array<HashAlgorithm, 4> kAllHashes = {
    HashAlgorithm::SHA1, HashAlgorithm::SHA2_256, HashAlgorithm::SHA2_384, HashAlgorithm::SHA2_512};

bool is_known(HashAlgorithm h) {
  return std::find(kAllHashes.begin(), kAllHashes.end(), h) != kAllHashes.end();
}

mbedtls_md_type_t md_type(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return MBEDTLS_MD_SHA1;
    case HashAlgorithm::SHA2_256:
      return MBEDTLS_MD_SHA256;
    case HashAlgorithm::SHA2_384:
      return MBEDTLS_MD_SHA384;
    case HashAlgorithm::SHA2_512:
      return MBEDTLS_MD_SHA512;
  }
  return MBEDTLS_MD_NONE;
}

Result<Bytes, CryptoError> digest(HashAlgorithm h, ByteView data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md_type(h));
  if (info == nullptr) return fail("hash algorithm " + name(h) + " is not supported");
  Bytes out(mbedtls_md_get_size(info));
  int rc = mbedtls_md(info, data.data(), data.size(), out.data());
  if (rc != 0) return fail("hashing with " + name(h) + " failed " + mbedtls_reason(rc));
  return out;
}

// ---- DER pieces (all short-form lengths) ----

template <size_t N>
ByteView oid(const char (&s)[N]) {
  return {reinterpret_cast<const uint8_t*>(s), N - 1};
}

Bytes tlv(uint8_t tag, ByteView content) {
  Bytes out{tag, static_cast<uint8_t>(content.size())};
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

constexpr uint8_t kTagSequence = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
constexpr uint8_t kTagOid = MBEDTLS_ASN1_OID;
constexpr uint8_t kNull[] = {MBEDTLS_ASN1_NULL, 0x00};

constexpr uint8_t context_tag(uint8_t n) {
  return MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | n;
}

ByteView hash_oid(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return oid(MBEDTLS_OID_DIGEST_ALG_SHA1);
    case HashAlgorithm::SHA2_256:
      return oid(MBEDTLS_OID_DIGEST_ALG_SHA256);
    case HashAlgorithm::SHA2_384:
      return oid(MBEDTLS_OID_DIGEST_ALG_SHA384);
    case HashAlgorithm::SHA2_512:
      return oid(MBEDTLS_OID_DIGEST_ALG_SHA512);
  }
  return {};
}

ByteView pkcs1_oid(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return oid(MBEDTLS_OID_PKCS1_SHA1);
    case HashAlgorithm::SHA2_256:
      return oid(MBEDTLS_OID_PKCS1_SHA256);
    case HashAlgorithm::SHA2_384:
      return oid(MBEDTLS_OID_PKCS1_SHA384);
    case HashAlgorithm::SHA2_512:
      return oid(MBEDTLS_OID_PKCS1_SHA512);
  }
  return {};
}

ByteView ecdsa_oid(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return oid(MBEDTLS_OID_ECDSA_SHA1);
    case HashAlgorithm::SHA2_256:
      return oid(MBEDTLS_OID_ECDSA_SHA256);
    case HashAlgorithm::SHA2_384:
      return oid(MBEDTLS_OID_ECDSA_SHA384);
    case HashAlgorithm::SHA2_512:
      return oid(MBEDTLS_OID_ECDSA_SHA512);
  }
  return {};
}

bool oid_is(const mbedtls_asn1_buf& buf, ByteView expected) {
  return !expected.empty() && buf.len == expected.size() &&
         std::memcmp(buf.p, expected.data(), expected.size()) == 0;
}

std::string oid_text(const mbedtls_asn1_buf& buf) {
  char text[128];
  int n = mbedtls_oid_get_numeric_string(text, sizeof text, &buf);
  return n > 0 ? std::string(text) : "(unprintable)";
}

// The hash of a hash-algorithm OID, if it is one of ours.
std::optional<HashAlgorithm> hash_of_oid(const mbedtls_asn1_buf& buf) {
  for (HashAlgorithm h : kAllHashes)
    if (oid_is(buf, hash_oid(h))) return h;
  return std::nullopt;
}

// A hash AlgorithmIdentifier's contents (after the SEQUENCE header, up to `end`): the OID and
// NULL or absent parameters (RFC 4055 §2.1 asks to accept both).
Result<HashAlgorithm, CryptoError> parse_hash_algorithm_body(unsigned char** p,
                                                             const unsigned char* end,
                                                             const char* what) {
  mbedtls_asn1_buf id{};
  id.tag = MBEDTLS_ASN1_OID;
  int rc = mbedtls_asn1_get_tag(p, end, &id.len, MBEDTLS_ASN1_OID);
  if (rc != 0) return fail(std::string("malformed ") + what + " " + mbedtls_reason(rc));
  id.p = *p;
  *p += id.len;
  if (*p != end) {
    size_t len = 0;
    rc = mbedtls_asn1_get_tag(p, end, &len, MBEDTLS_ASN1_NULL);
    if (rc != 0 || len != 0 || *p != end)
      return fail(std::string(what) + " has parameters other than NULL");
  }
  auto h = hash_of_oid(id);
  if (!h) return fail(std::string(what) + " names an unsupported hash (OID " + oid_text(id) + ")");
  return *h;
}

// A full hash AlgorithmIdentifier (SEQUENCE) that must end exactly at `end`.
Result<HashAlgorithm, CryptoError> parse_hash_algorithm(unsigned char** p, const unsigned char* end,
                                                        const char* what) {
  size_t len = 0;
  int rc = mbedtls_asn1_get_tag(p, end, &len, kTagSequence);
  if (rc != 0 || *p + len != end)
    return fail(std::string("malformed ") + what + (rc != 0 ? " " + mbedtls_reason(rc) : ""));
  return parse_hash_algorithm_body(p, end, what);
}

// A small non-negative DER INTEGER that must end exactly at `end`.
Result<size_t, CryptoError> parse_small_integer(unsigned char** p, const unsigned char* end,
                                                const char* what) {
  size_t len = 0;
  int rc = mbedtls_asn1_get_tag(p, end, &len, MBEDTLS_ASN1_INTEGER);
  if (rc != 0 || *p + len != end || len == 0 || len > 2)
    return fail(std::string("malformed ") + what);
  const unsigned char* v = *p;
  if ((v[0] & 0x80) != 0 || (len == 2 && v[0] == 0 && (v[1] & 0x80) == 0))
    return fail(std::string(what) + " is not a minimal non-negative INTEGER");
  size_t value = 0;
  for (size_t i = 0; i < len; ++i) value = value << 8 | v[i];
  *p += len;
  return value;
}

// RSASSA-PSS-params (RFC 4055 §3.1): every field optional, with defaults SHA-1, MGF1-SHA-1,
// salt 20, trailer 1. `p`..`end` is the parameters SEQUENCE's contents.
Result<SignatureParams, CryptoError> parse_pss_params(unsigned char* p, const unsigned char* end) {
  HashAlgorithm hash = HashAlgorithm::SHA1, mgf1_hash = HashAlgorithm::SHA1;
  size_t salt = 20;
  size_t len = 0;
  if (mbedtls_asn1_get_tag(&p, end, &len, context_tag(0)) == 0) {
    auto h = parse_hash_algorithm(&p, p + len, "RSASSA-PSS hashAlgorithm");
    if (!h) return Unexpected{h.error()};
    hash = *h;
  }
  if (mbedtls_asn1_get_tag(&p, end, &len, context_tag(1)) == 0) {
    const unsigned char* field_end = p + len;
    mbedtls_asn1_buf mgf{}, mgf_params{};
    int rc = mbedtls_asn1_get_alg(&p, field_end, &mgf, &mgf_params);
    if (rc != 0 || p != field_end)
      return fail("malformed RSASSA-PSS maskGenAlgorithm" +
                  (rc != 0 ? " " + mbedtls_reason(rc) : ""));
    if (!oid_is(mgf, oid(MBEDTLS_OID_MGF1)))
      return fail("RSASSA-PSS maskGenAlgorithm " + oid_text(mgf) + " is not MGF1");
    if (mgf_params.p == nullptr || mgf_params.tag != kTagSequence)
      return fail("RSASSA-PSS MGF1 parameters are not a hash AlgorithmIdentifier");
    unsigned char* q = mgf_params.p;
    auto h = parse_hash_algorithm_body(&q, mgf_params.p + mgf_params.len, "RSASSA-PSS MGF1 hash");
    if (!h) return Unexpected{h.error()};
    mgf1_hash = *h;
  }
  if (mbedtls_asn1_get_tag(&p, end, &len, context_tag(2)) == 0) {
    auto s = parse_small_integer(&p, p + len, "RSASSA-PSS saltLength");
    if (!s) return Unexpected{s.error()};
    salt = *s;
  }
  if (mbedtls_asn1_get_tag(&p, end, &len, context_tag(3)) == 0) {
    auto t = parse_small_integer(&p, p + len, "RSASSA-PSS trailerField");
    if (!t) return Unexpected{t.error()};
    if (*t != 1) return fail("RSASSA-PSS trailerField " + std::to_string(*t) + " is not 1");
  }
  if (p != end) return fail("malformed RSASSA-PSS parameters: unexpected field or trailing data");
  if (mgf1_hash != hash)
    return fail("RSASSA-PSS with " + name(hash) + " but MGF1 with " + name(mgf1_hash) +
                " is not supported (MGF1 must use the signature's hash)");
  return SignatureParams{{SignatureAlgorithm::RSA_PSS, hash}, salt};
}

// ---- Keys ----

struct KeyState {
  mbedtls_pk_context pk;
  KeyType type = KeyType::RSA;
  mutable std::mutex mutex;  // serializes every mbedTLS call on `pk`
  KeyState() { mbedtls_pk_init(&pk); }
  ~KeyState() { mbedtls_pk_free(&pk); }  // mbedTLS zeroizes the key material
  KeyState(const KeyState&) = delete;
  KeyState& operator=(const KeyState&) = delete;
};

std::optional<KeyType> key_type_of_curve(mbedtls_ecp_group_id id) {
  switch (id) {
    case MBEDTLS_ECP_DP_SECP256R1:
      return KeyType::ECDSA_P256;
    case MBEDTLS_ECP_DP_SECP384R1:
      return KeyType::ECDSA_P384;
    case MBEDTLS_ECP_DP_SECP521R1:
      return KeyType::ECDSA_P521;
    default:
      return std::nullopt;
  }
}

mbedtls_ecp_group_id curve_of(KeyType t) {
  switch (t) {
    case KeyType::ECDSA_P256:
      return MBEDTLS_ECP_DP_SECP256R1;
    case KeyType::ECDSA_P384:
      return MBEDTLS_ECP_DP_SECP384R1;
    case KeyType::ECDSA_P521:
      return MBEDTLS_ECP_DP_SECP521R1;
    case KeyType::RSA:
      break;
  }
  return MBEDTLS_ECP_DP_NONE;
}

Result<KeyType, CryptoError> classify(const mbedtls_pk_context& pk) {
  switch (mbedtls_pk_get_type(&pk)) {
    case MBEDTLS_PK_RSA: {
      size_t bits = mbedtls_pk_get_bitlen(&pk);
      if (bits < kMinRsaBits)
        return fail("RSA key of " + std::to_string(bits) + " bits is too small (at least " +
                    std::to_string(kMinRsaBits) + ")");
      return KeyType::RSA;
    }
    case MBEDTLS_PK_ECKEY:
    case MBEDTLS_PK_ECDSA: {
      mbedtls_ecp_group_id id = mbedtls_pk_ec(pk)->grp.id;
      if (auto t = key_type_of_curve(id)) return *t;
      const mbedtls_ecp_curve_info* info = mbedtls_ecp_curve_info_from_grp_id(id);
      return fail(std::string("EC key on curve ") + (info ? info->name : "(unknown)") +
                  " is not supported (P-256, P-384 and P-521 are)");
    }
    default:
      return fail(std::string("key type ") + mbedtls_pk_get_name(&pk) +
                  " is not supported (RSA and ECDSA are)");
  }
}

bool looks_like_pem(ByteView v) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  return std::search(v.begin(), v.end(), kBegin.begin(), kBegin.end()) != v.end();
}

// mbedTLS parses PEM only from a NUL-terminated buffer whose length counts the NUL. The copy of
// a private key is wiped on destruction.
class ParseInput {
 public:
  explicit ParseInput(ByteView in) : view_(in) {
    if (looks_like_pem(in) && in.back() != 0) {
      copy_.assign(in.begin(), in.end());
      copy_.push_back(0);
      view_ = copy_;
    }
  }
  ~ParseInput() { mbedtls_platform_zeroize(copy_.data(), copy_.size()); }
  ParseInput(const ParseInput&) = delete;
  ParseInput& operator=(const ParseInput&) = delete;
  const unsigned char* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }

 private:
  ByteView view_;
  Bytes copy_;
};

std::string private_key_error(int rc) {
  switch (rc) {
    case MBEDTLS_ERR_PK_PASSWORD_REQUIRED:
      return "the private key is encrypted and no passphrase was given";
    case MBEDTLS_ERR_PK_PASSWORD_MISMATCH:
      return "wrong passphrase for the encrypted private key";
    case MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_PKCS12_FEATURE_UNAVAILABLE:
      // mbedTLS 2.28 knows only DES/3DES and HMAC-SHA1 in PBES2, SHA-1 with 3DES in PKCS#12 PBE.
      return "the encrypted PKCS#8 key uses a cipher or key derivation mbedTLS cannot decrypt "
             "(supported: PBES2 with PBKDF2-HMAC-SHA1 and 3DES, PKCS#12 PBE-SHA1-3DES, or a "
             "legacy PEM encryption such as AES-256-CBC) " +
             mbedtls_reason(rc);
    case MBEDTLS_ERR_PK_UNKNOWN_PK_ALG:
      return "the private key's algorithm is not supported " + mbedtls_reason(rc);
    default:
      return "not a private key in PEM or DER (PKCS#1, SEC1 or PKCS#8) " + mbedtls_reason(rc);
  }
}

Bytes write_spki(const mbedtls_pk_context& pk) {
  // Writing does not modify the key; mbedTLS 2.28 merely lacks the const.
  auto* ctx = const_cast<mbedtls_pk_context*>(&pk);
  Bytes buf(4096);  // an RSA-8192 SubjectPublicKeyInfo takes ~1.1 kB
  int n = mbedtls_pk_write_pubkey_der(ctx, buf.data(), buf.size());
  if (n <= 0) return {};
  return Bytes(buf.end() - n, buf.end());
}

size_t key_bits(const mbedtls_pk_context& pk) {
  return mbedtls_pk_get_bitlen(&pk);
}

std::string describe_key(KeyType type, size_t bits) {
  return type == KeyType::RSA ? "RSA " + std::to_string(bits) : name(type);
}

// ---- Scheme checks ----

// The fixed scheme and key type of a classic signature method.
struct ClassicMethod {
  SignatureScheme scheme;
  KeyType key;  // RSA: any size
};
std::optional<ClassicMethod> classic_method(AuthMethod m) {
  switch (m) {
    case AuthMethod::RSA_SIG:
      return ClassicMethod{{SignatureAlgorithm::RSA_PKCS1_V15, HashAlgorithm::SHA1}, KeyType::RSA};
    case AuthMethod::ECDSA_SHA256_P256:
      return ClassicMethod{{SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_256},
                           KeyType::ECDSA_P256};
    case AuthMethod::ECDSA_SHA384_P384:
      return ClassicMethod{{SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_384},
                           KeyType::ECDSA_P384};
    case AuthMethod::ECDSA_SHA512_P521:
      return ClassicMethod{{SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_512},
                           KeyType::ECDSA_P521};
    default:
      return std::nullopt;
  }
}

bool algorithm_fits_key(SignatureAlgorithm a, KeyType t) {
  return (t == KeyType::RSA) ==
         (a == SignatureAlgorithm::RSA_PKCS1_V15 || a == SignatureAlgorithm::RSA_PSS);
}

// Does `scheme` suit a key of type `type`? The same rules serve signing and verifying.
Status<CryptoError> check_scheme(KeyType type, const AuthScheme& scheme) {
  if (!is_known(scheme.signature.hash))
    return fail("unknown hash algorithm " +
                std::to_string(static_cast<unsigned>(scheme.signature.hash)));
  if (auto classic = classic_method(scheme.method)) {
    if (type != classic->key)
      return fail(name(scheme.method) + " needs an " + name(classic->key) + " key, not " +
                  name(type));
    if (scheme.signature != classic->scheme)
      return fail(name(scheme.method) + " signs with " + name(classic->scheme) + ", not " +
                  name(scheme.signature));
    return {};
  }
  if (scheme.method != AuthMethod::DIGITAL_SIGNATURE)
    return fail("AUTH method " + name(scheme.method) + " is not a signature method");
  if (!algorithm_fits_key(scheme.signature.algorithm, type))
    return fail(name(scheme.signature) + " cannot be used with an " + name(type) + " key");
  return {};
}

// EMSA-PSS needs emLen >= hLen + sLen + 2 (RFC 8017 §9.1.1), emLen = ceil((modBits - 1) / 8).
bool pss_fits(size_t modulus_bits, size_t hash_len, size_t salt_len) {
  return (modulus_bits + 6) / 8 >= hash_len + salt_len + 2;
}

// ---- Signing (the caller holds the key's mutex) ----

Result<Bytes, CryptoError> rsa_sign(mbedtls_pk_context& pk, SignatureScheme scheme, ByteView hash,
                                    Rng& rng) {
  mbedtls_rsa_context* rsa = mbedtls_pk_rsa(pk);
  mbedtls_md_type_t md = md_type(scheme.hash);
  Bytes sig(mbedtls_rsa_get_len(rsa));
  int rc;
  if (scheme.algorithm == SignatureAlgorithm::RSA_PSS) {
    if (!pss_fits(mbedtls_pk_get_bitlen(&pk), hash.size(), hash.size()))
      return fail("an RSA " + std::to_string(mbedtls_pk_get_bitlen(&pk)) +
                  "-bit key is too small for " + name(scheme) + " with a " +
                  std::to_string(hash.size()) + "-byte salt");
    // mbedTLS takes the MGF1 hash from the context; set it for this signature only.
    int padding = rsa->padding, hash_id = rsa->hash_id;
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, md);
    rc = mbedtls_rsa_rsassa_pss_sign_ext(rsa, rng_callback, &rng, md,
                                         static_cast<unsigned>(hash.size()), hash.data(),
                                         static_cast<int>(hash.size()), sig.data());
    mbedtls_rsa_set_padding(rsa, padding, hash_id);
  } else {
    rc = mbedtls_rsa_rsassa_pkcs1_v15_sign(rsa, rng_callback, &rng, MBEDTLS_RSA_PRIVATE, md,
                                           static_cast<unsigned>(hash.size()), hash.data(),
                                           sig.data());
  }
  if (rc != 0) return fail(name(scheme) + " signing failed " + mbedtls_reason(rc));
  return sig;
}

Result<Bytes, CryptoError> ecdsa_der(const mbedtls_mpi& r, const mbedtls_mpi& s) {
  unsigned char buf[MBEDTLS_ECDSA_MAX_LEN];
  unsigned char* p = buf + sizeof buf;
  int total = 0;
  for (int n : {mbedtls_asn1_write_mpi(&p, buf, &s), mbedtls_asn1_write_mpi(&p, buf, &r)}) {
    if (n < 0) return fail("ECDSA signature encoding failed " + mbedtls_reason(n));
    total += n;
  }
  int n = mbedtls_asn1_write_len(&p, buf, static_cast<size_t>(total));
  if (n < 0) return fail("ECDSA signature encoding failed " + mbedtls_reason(n));
  total += n;
  n = mbedtls_asn1_write_tag(&p, buf, kTagSequence);
  if (n < 0) return fail("ECDSA signature encoding failed " + mbedtls_reason(n));
  return Bytes(p, buf + sizeof buf);
}

Result<Bytes, CryptoError> ecdsa_sign(mbedtls_pk_context& pk, SignatureScheme scheme, ByteView hash,
                                      bool der, Rng& rng) {
  mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk);
  Mpi r, s;
  int rc = mbedtls_ecdsa_sign_det_ext(&ec->grp, &r.m, &s.m, &ec->d, hash.data(), hash.size(),
                                      md_type(scheme.hash), rng_callback, &rng);
  if (rc != 0) return fail(name(scheme) + " signing failed " + mbedtls_reason(rc));
  if (der) return ecdsa_der(r.m, s.m);
  size_t n = (ec->grp.nbits + 7) / 8;
  Bytes sig(2 * n);
  rc = mbedtls_mpi_write_binary(&r.m, sig.data(), n);
  if (rc == 0) rc = mbedtls_mpi_write_binary(&s.m, sig.data() + n, n);
  if (rc != 0) return fail("ECDSA r | s encoding failed " + mbedtls_reason(rc));
  return sig;
}

// ---- Verifying (the caller holds the key's mutex) ----

Status<CryptoError> rsa_verify(mbedtls_pk_context& pk, const SignatureParams& params, ByteView hash,
                               ByteView sig) {
  mbedtls_rsa_context* rsa = mbedtls_pk_rsa(pk);
  size_t k = mbedtls_rsa_get_len(rsa);
  if (sig.size() != k)
    return fail(name(params.scheme) + " signature has " + std::to_string(sig.size()) +
                " bytes; the RSA " + std::to_string(mbedtls_pk_get_bitlen(&pk)) +
                "-bit key's signatures have exactly " + std::to_string(k));
  mbedtls_md_type_t md = md_type(params.scheme.hash);
  int rc;
  if (params.scheme.algorithm == SignatureAlgorithm::RSA_PSS) {
    if (!pss_fits(mbedtls_pk_get_bitlen(&pk), hash.size(), params.pss_salt_length))
      return fail(name(params.scheme) + " with a " + std::to_string(params.pss_salt_length) +
                  "-byte salt is impossible with an RSA " +
                  std::to_string(mbedtls_pk_get_bitlen(&pk)) + "-bit key");
    rc = mbedtls_rsa_rsassa_pss_verify_ext(rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC, md,
                                           static_cast<unsigned>(hash.size()), hash.data(), md,
                                           static_cast<int>(params.pss_salt_length), sig.data());
  } else {
    // Rebuilds the complete expected encoding (0x00 0x01 FF.. 0x00 DigestInfo) and compares
    // all of it: no other DigestInfo encoding, parameter form or padding garbage passes.
    rc = mbedtls_rsa_rsassa_pkcs1_v15_verify(rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC, md,
                                             static_cast<unsigned>(hash.size()), hash.data(),
                                             sig.data());
  }
  if (rc == MBEDTLS_ERR_RSA_VERIFY_FAILED || rc == MBEDTLS_ERR_RSA_INVALID_PADDING)
    return fail(name(params.scheme) + " signature does not verify with the RSA " +
                std::to_string(mbedtls_pk_get_bitlen(&pk)) + " key");
  if (rc != 0) return fail(name(params.scheme) + " verification failed " + mbedtls_reason(rc));
  return {};
}

// Reads a DER Ecdsa-Sig-Value and insists that it is exactly the canonical encoding of (r, s).
Status<CryptoError> parse_ecdsa_der(ByteView sig, mbedtls_mpi& r, mbedtls_mpi& s) {
  auto* p = const_cast<unsigned char*>(sig.data());
  const unsigned char* end = p + sig.size();
  size_t len = 0;
  int rc = mbedtls_asn1_get_tag(&p, end, &len, kTagSequence);
  if (rc != 0 || p + len != end) return fail("ECDSA signature is not one DER SEQUENCE");
  rc = mbedtls_asn1_get_mpi(&p, end, &r);
  if (rc == 0) rc = mbedtls_asn1_get_mpi(&p, end, &s);
  if (rc != 0 || p != end) return fail("ECDSA signature is not SEQUENCE { r INTEGER, s INTEGER }");
  auto canonical = ecdsa_der(r, s);
  if (!canonical || !std::equal(canonical->begin(), canonical->end(), sig.begin(), sig.end()))
    return fail("ECDSA signature is not in canonical DER");
  return {};
}

Status<CryptoError> ecdsa_verify(mbedtls_pk_context& pk, SignatureScheme scheme, ByteView hash,
                                 ByteView sig, bool der) {
  mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk);
  Mpi r, s;
  if (der) {
    if (auto ok = parse_ecdsa_der(sig, r.m, s.m); !ok) return ok;
  } else {
    size_t n = (ec->grp.nbits + 7) / 8;
    if (sig.size() != 2 * n)
      return fail(name(scheme) + " signature r | s has " + std::to_string(sig.size()) +
                  " bytes, expected " + std::to_string(2 * n));
    int rc = mbedtls_mpi_read_binary(&r.m, sig.data(), n);
    if (rc == 0) rc = mbedtls_mpi_read_binary(&s.m, sig.data() + n, n);
    if (rc != 0) return fail("ECDSA r | s decoding failed " + mbedtls_reason(rc));
  }
  int rc = mbedtls_ecdsa_verify(&ec->grp, hash.data(), hash.size(), &ec->Q, &r.m, &s.m);
  if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED)
    return fail(name(scheme) + " signature does not verify with the " +
                name(*key_type_of_curve(ec->grp.id)) + " key");
  if (rc != 0) return fail(name(scheme) + " verification failed " + mbedtls_reason(rc));
  return {};
}

}  // namespace

// ---- Names ----

std::string name(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return "SHA1";
    case HashAlgorithm::SHA2_256:
      return "SHA2_256";
    case HashAlgorithm::SHA2_384:
      return "SHA2_384";
    case HashAlgorithm::SHA2_512:
      return "SHA2_512";
  }
  return "HASH_" + std::to_string(static_cast<unsigned>(h));
}

std::string name(KeyType t) {
  switch (t) {
    case KeyType::RSA:
      return "RSA";
    case KeyType::ECDSA_P256:
      return "ECDSA P-256";
    case KeyType::ECDSA_P384:
      return "ECDSA P-384";
    case KeyType::ECDSA_P521:
      return "ECDSA P-521";
  }
  return "KEY_" + std::to_string(static_cast<unsigned>(t));
}

std::string name(SignatureScheme s) {
  // The hash as the ASN.1 module names spell it.
  std::string bits;
  switch (s.hash) {
    case HashAlgorithm::SHA1:
      bits = "1";
      break;
    case HashAlgorithm::SHA2_256:
      bits = "256";
      break;
    case HashAlgorithm::SHA2_384:
      bits = "384";
      break;
    case HashAlgorithm::SHA2_512:
      bits = "512";
      break;
    default:
      bits = "?" + std::to_string(static_cast<unsigned>(s.hash));
  }
  switch (s.algorithm) {
    case SignatureAlgorithm::RSA_PKCS1_V15:
      return "sha" + bits + "WithRSAEncryption";
    case SignatureAlgorithm::RSA_PSS:
      return "RSASSA-PSS with SHA-" + bits;
    case SignatureAlgorithm::ECDSA:
      return "ecdsa-with-SHA" + bits;
  }
  return "SIGNATURE_" + std::to_string(static_cast<unsigned>(s.algorithm));
}

std::string describe(const AuthScheme& s) {
  return name(s.method) + " (" + name(s.signature) + ")";
}

size_t hash_size(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::SHA1:
      return 20;
    case HashAlgorithm::SHA2_256:
      return 32;
    case HashAlgorithm::SHA2_384:
      return 48;
    case HashAlgorithm::SHA2_512:
      return 64;
  }
  return 0;
}

// ---- PublicKey ----

struct PublicKey::State : KeyState {};

PublicKey::PublicKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
PublicKey::PublicKey(PublicKey&&) noexcept = default;
PublicKey& PublicKey::operator=(PublicKey&&) noexcept = default;
PublicKey::~PublicKey() = default;

Result<PublicKey, CryptoError> PublicKey::load(ByteView pem_or_der) {
  if (pem_or_der.empty()) return fail("empty public key");
  auto st = std::make_unique<State>();
  ParseInput in(pem_or_der);
  int rc = mbedtls_pk_parse_public_key(&st->pk, in.data(), in.size());
  if (rc != 0)
    return fail("not a public key in PEM or DER (SubjectPublicKeyInfo) " + mbedtls_reason(rc));
  auto type = classify(st->pk);
  if (!type) return Unexpected{type.error()};
  st->type = *type;
  return PublicKey(std::move(st));
}

KeyType PublicKey::type() const {
  return state_->type;
}
size_t PublicKey::bits() const {
  return key_bits(state_->pk);
}
std::string PublicKey::describe() const {
  return describe_key(type(), bits());
}
Bytes PublicKey::spki_der() const {
  return write_spki(state_->pk);
}
const mbedtls_pk_context& PublicKey::native() const {
  return state_->pk;
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  return a.spki_der() == b.spki_der();
}

// ---- PrivateKey ----

struct PrivateKey::State : KeyState {};

PrivateKey::PrivateKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

namespace {
Status<CryptoError> check_private(mbedtls_pk_context& pk, KeyType type) {
  if (type == KeyType::RSA) {
    int rc = mbedtls_rsa_check_privkey(mbedtls_pk_rsa(pk));
    if (rc != 0) return fail("inconsistent RSA private key " + mbedtls_reason(rc));
  } else {
    const mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk);
    int rc = mbedtls_ecp_check_pub_priv(ec, ec);
    if (rc != 0)
      return fail("EC private key does not match its public point " + mbedtls_reason(rc));
  }
  return {};
}
}  // namespace

Result<PrivateKey, CryptoError> PrivateKey::load(ByteView pem_or_der, std::string_view passphrase) {
  if (pem_or_der.empty()) return fail("empty private key");
  auto st = std::make_unique<State>();
  ParseInput in(pem_or_der);
  int rc = mbedtls_pk_parse_key(&st->pk, in.data(), in.size(),
                                reinterpret_cast<const unsigned char*>(passphrase.data()),
                                passphrase.size());
  if (rc != 0) return fail(private_key_error(rc));
  auto type = classify(st->pk);
  if (!type) return Unexpected{type.error()};
  st->type = *type;
  if (auto ok = check_private(st->pk, st->type); !ok) return Unexpected{ok.error()};
  return PrivateKey(std::move(st));
}

Result<PrivateKey, CryptoError> PrivateKey::generate(KeyType type, size_t rsa_bits, Rng& rng) {
  auto st = std::make_unique<State>();
  st->type = type;
  int rc;
  if (type == KeyType::RSA) {
    if (rsa_bits < kMinRsaBits || rsa_bits > MBEDTLS_MPI_MAX_BITS)
      return fail("cannot generate an RSA key of " + std::to_string(rsa_bits) + " bits");
    rc = mbedtls_pk_setup(&st->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (rc == 0)
      rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(st->pk), rng_callback, &rng,
                               static_cast<unsigned>(rsa_bits), 65537);
  } else {
    rc = mbedtls_pk_setup(&st->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (rc == 0)
      rc = mbedtls_ecp_gen_key(curve_of(type), mbedtls_pk_ec(st->pk), rng_callback, &rng);
  }
  if (rc != 0) return fail(name(type) + " key generation failed " + mbedtls_reason(rc));
  return PrivateKey(std::move(st));
}

KeyType PrivateKey::type() const {
  return state_->type;
}
size_t PrivateKey::bits() const {
  return key_bits(state_->pk);
}
std::string PrivateKey::describe() const {
  return describe_key(type(), bits());
}
const mbedtls_pk_context& PrivateKey::native() const {
  return state_->pk;
}

Result<PublicKey, CryptoError> PrivateKey::public_key() const {
  Bytes spki;
  {
    std::lock_guard lock(state_->mutex);
    spki = write_spki(state_->pk);
  }
  if (spki.empty()) return fail("cannot encode the public key of the " + describe() + " key");
  return PublicKey::load(spki);
}

bool PrivateKey::matches(const PublicKey& pub) const {
  std::scoped_lock lock(state_->mutex, pub.state_->mutex);
  return mbedtls_pk_check_pair(&pub.state_->pk, &state_->pk) == 0;
}

// ---- AlgorithmIdentifiers ----

Bytes encode_algorithm_identifier(SignatureScheme scheme) {
  HashAlgorithm h = scheme.hash;
  if (!is_known(h)) return {};
  switch (scheme.algorithm) {
    case SignatureAlgorithm::RSA_PKCS1_V15:
      return tlv(kTagSequence, cat({tlv(kTagOid, pkcs1_oid(h)), kNull}));
    case SignatureAlgorithm::ECDSA:
      return tlv(kTagSequence, tlv(kTagOid, ecdsa_oid(h)));
    case SignatureAlgorithm::RSA_PSS: {
      Bytes pss_oid = tlv(kTagOid, oid(MBEDTLS_OID_RSASSA_PSS));
      if (h == HashAlgorithm::SHA1)  // every parameter has its default value
        return tlv(kTagSequence, cat({pss_oid, tlv(kTagSequence, {})}));
      Bytes hash_alg = tlv(kTagSequence, cat({tlv(kTagOid, hash_oid(h)), kNull}));
      Bytes mgf = tlv(kTagSequence, cat({tlv(kTagOid, oid(MBEDTLS_OID_MGF1)), hash_alg}));
      const uint8_t salt[] = {MBEDTLS_ASN1_INTEGER, 1, static_cast<uint8_t>(hash_size(h))};
      Bytes params = tlv(kTagSequence, cat({tlv(context_tag(0), hash_alg), tlv(context_tag(1), mgf),
                                            tlv(context_tag(2), salt)}));
      return tlv(kTagSequence, cat({pss_oid, params}));
    }
  }
  return {};
}

Result<SignatureParams, CryptoError> parse_algorithm_identifier(ByteView der) {
  if (der.empty()) return fail("empty AlgorithmIdentifier");
  auto* p = const_cast<unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  mbedtls_asn1_buf alg{}, params{};
  int rc = mbedtls_asn1_get_alg(&p, end, &alg, &params);
  if (rc != 0) return fail("malformed AlgorithmIdentifier " + mbedtls_reason(rc));
  if (p != end) return fail("trailing data after the AlgorithmIdentifier");
  bool absent = params.p == nullptr;
  bool null = !absent && params.tag == MBEDTLS_ASN1_NULL && params.len == 0;
  for (HashAlgorithm h : kAllHashes) {
    if (oid_is(alg, pkcs1_oid(h))) {
      SignatureScheme s{SignatureAlgorithm::RSA_PKCS1_V15, h};
      if (!absent && !null) return fail(name(s) + " AlgorithmIdentifier has non-NULL parameters");
      return SignatureParams{s, 0};
    }
    if (oid_is(alg, ecdsa_oid(h))) {
      SignatureScheme s{SignatureAlgorithm::ECDSA, h};
      if (!absent) return fail(name(s) + " AlgorithmIdentifier has parameters (must be absent)");
      return SignatureParams{s, 0};
    }
  }
  if (oid_is(alg, oid(MBEDTLS_OID_RSASSA_PSS))) {
    if (absent || params.tag != kTagSequence)
      return fail("RSASSA-PSS AlgorithmIdentifier without RSASSA-PSS-params");
    return parse_pss_params(params.p, params.p + params.len);
  }
  return fail("unsupported signature algorithm (OID " + oid_text(alg) + ")");
}

// ---- AUTH payloads ----

Result<AuthPayload, CryptoError> sign_auth(const PrivateKey& key, const AuthScheme& scheme,
                                           ByteView signed_octets, Rng& rng) {
  auto& st = *key.state_;
  if (auto ok = check_scheme(st.type, scheme); !ok) return Unexpected{ok.error()};
  auto hash = digest(scheme.signature.hash, signed_octets);
  if (!hash) return Unexpected{hash.error()};
  Result<Bytes, CryptoError> sig = Bytes{};
  {
    std::lock_guard lock(st.mutex);
    if (scheme.signature.algorithm == SignatureAlgorithm::ECDSA)
      sig = ecdsa_sign(st.pk, scheme.signature, *hash,
                       scheme.method == AuthMethod::DIGITAL_SIGNATURE, rng);
    else
      sig = rsa_sign(st.pk, scheme.signature, *hash, rng);
  }
  mbedtls_platform_zeroize(hash->data(), hash->size());
  if (!sig) return Unexpected{sig.error()};
  AuthPayload out{scheme.method, {}};
  if (scheme.method == AuthMethod::DIGITAL_SIGNATURE) {
    Bytes alg = encode_algorithm_identifier(scheme.signature);
    out.data.push_back(static_cast<uint8_t>(alg.size()));
    out.data.insert(out.data.end(), alg.begin(), alg.end());
  }
  out.data.insert(out.data.end(), sig->begin(), sig->end());
  return out;
}

Result<AuthScheme, CryptoError> verify_auth(const PublicKey& key, const AuthPayload& auth,
                                            ByteView signed_octets,
                                            std::span<const HashAlgorithm> allowed_hashes) {
  auto& st = *key.state_;
  SignatureParams params;
  ByteView sig = auth.data;
  if (auto classic = classic_method(auth.method)) {
    params.scheme = classic->scheme;
  } else if (auth.method == AuthMethod::DIGITAL_SIGNATURE) {
    ByteReader r(auth.data);
    uint8_t len = 0;
    ByteView alg;
    if (!r.u8(len) || len == 0)
      return fail("DIGITAL_SIGNATURE AUTH data has no AlgorithmIdentifier");
    if (!r.view(len, alg))
      return fail("DIGITAL_SIGNATURE AlgorithmIdentifier length " + std::to_string(len) +
                  " exceeds the AUTH data (" + std::to_string(auth.data.size()) + " bytes)");
    auto parsed = parse_algorithm_identifier(alg);
    if (!parsed) return fail("DIGITAL_SIGNATURE: " + parsed.error().detail);
    params = *parsed;
    if (std::find(allowed_hashes.begin(), allowed_hashes.end(), params.scheme.hash) ==
        allowed_hashes.end()) {
      std::string allowed;
      for (HashAlgorithm h : allowed_hashes) allowed += (allowed.empty() ? "" : ", ") + name(h);
      return fail("DIGITAL_SIGNATURE with " + name(params.scheme) + ": hash " +
                  name(params.scheme.hash) +
                  " is not allowed (allowed: " + (allowed.empty() ? "none" : allowed) + ")");
    }
    sig = r.rest();
  } else {
    return fail("AUTH method " + name(auth.method) + " is not a signature method");
  }
  AuthScheme scheme{auth.method, params.scheme};
  if (auto ok = check_scheme(st.type, scheme); !ok) return Unexpected{ok.error()};
  if (sig.empty()) return fail(describe(scheme) + ": empty signature");
  auto hash = digest(params.scheme.hash, signed_octets);
  if (!hash) return Unexpected{hash.error()};
  Status<CryptoError> ok;
  {
    std::lock_guard lock(st.mutex);
    if (params.scheme.algorithm == SignatureAlgorithm::ECDSA)
      ok = ecdsa_verify(st.pk, params.scheme, *hash, sig,
                        auth.method == AuthMethod::DIGITAL_SIGNATURE);
    else
      ok = rsa_verify(st.pk, params, *hash, sig);
  }
  if (!ok) return Unexpected{ok.error()};
  return scheme;
}

// ---- Choosing the scheme ----

std::vector<HashAlgorithm> parse_hash_algorithms(ByteView notify_data) {
  std::vector<HashAlgorithm> out;
  ByteReader r(notify_data);
  uint16_t id = 0;
  while (r.u16(id)) {
    auto h = static_cast<HashAlgorithm>(id);
    if (is_known(h) && std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

Bytes encode_hash_algorithms(std::span<const HashAlgorithm> hashes) {
  Bytes out;
  ByteWriter w(out);
  for (HashAlgorithm h : hashes) w.u16(static_cast<uint16_t>(h));
  return out;
}

AuthScheme classic_auth_scheme(KeyType type) {
  switch (type) {
    case KeyType::ECDSA_P256:
      return {AuthMethod::ECDSA_SHA256_P256, {SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_256}};
    case KeyType::ECDSA_P384:
      return {AuthMethod::ECDSA_SHA384_P384, {SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_384}};
    case KeyType::ECDSA_P521:
      return {AuthMethod::ECDSA_SHA512_P521, {SignatureAlgorithm::ECDSA, HashAlgorithm::SHA2_512}};
    case KeyType::RSA:
      break;
  }
  return {AuthMethod::RSA_SIG, {SignatureAlgorithm::RSA_PKCS1_V15, HashAlgorithm::SHA1}};
}

AuthScheme choose_auth_scheme(KeyType type, size_t key_bits,
                              std::span<const HashAlgorithm> peer_hashes, RsaPadding rsa_padding) {
  HashAlgorithm preferred;
  SignatureAlgorithm algorithm = SignatureAlgorithm::ECDSA;
  if (type == KeyType::RSA) {
    preferred = key_bits <= 3072   ? HashAlgorithm::SHA2_256
                : key_bits <= 7680 ? HashAlgorithm::SHA2_384
                                   : HashAlgorithm::SHA2_512;
    algorithm = rsa_padding == RsaPadding::PSS ? SignatureAlgorithm::RSA_PSS
                                               : SignatureAlgorithm::RSA_PKCS1_V15;
  } else {
    preferred = classic_auth_scheme(type).signature.hash;
  }
  for (HashAlgorithm h :
       {preferred, HashAlgorithm::SHA2_256, HashAlgorithm::SHA2_384, HashAlgorithm::SHA2_512}) {
    if (std::find(peer_hashes.begin(), peer_hashes.end(), h) == peer_hashes.end()) continue;
    if (algorithm == SignatureAlgorithm::RSA_PSS && !pss_fits(key_bits, hash_size(h), hash_size(h)))
      continue;
    return {AuthMethod::DIGITAL_SIGNATURE, {algorithm, h}};
  }
  return classic_auth_scheme(type);
}

AuthScheme choose_auth_scheme(const PrivateKey& key, std::span<const HashAlgorithm> peer_hashes,
                              RsaPadding rsa_padding) {
  return choose_auth_scheme(key.type(), key.bits(), peer_hashes, rsa_padding);
}

}  // namespace ikeme::ike::crypto

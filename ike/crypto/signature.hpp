#pragma once
// Public-key signatures for the IKEv2 AUTH payload (RFC 7296 §2.15, §3.8), through mbedTLS.
//
// What each signature AUTH method carries in the AUTH payload's data:
//   RSA_SIG (1)             RSASSA-PKCS1-v1_5 with SHA-1 over <SignedOctets> (SHA-1 as RFC 7296
//                           §3.8 recommends and strongSwan uses); the bare signature, exactly the
//                           modulus size. A DigestInfo naming another hash is refused: §3.8 would
//                           allow one, but nobody sends it and accepting it would add a guess.
//   ECDSA_SHA256_P256 (9),  ECDSA (RFC 4754); the method fixes curve and hash (P-256/SHA-256,
//   ECDSA_SHA384_P384 (10), P-384/SHA-384, P-521/SHA-512). The signature is r | s, each
//   ECDSA_SHA512_P521 (11)  left-padded to the size of the curve order (32, 48, 66 bytes) — not
//   DER. DIGITAL_SIGNATURE (14)  RFC 7427: length of the AlgorithmIdentifier (1 byte) | the
//                           AlgorithmIdentifier (DER) | the signature, whose format is the
//                           algorithm's own: PKCS#1 v1.5 or PSS (modulus size) for RSA, a DER
//                           Ecdsa-Sig-Value (SEQUENCE { r, s }) for ECDSA.
//
// AlgorithmIdentifiers sent (byte-exact as in RFC 7427 Appendix A and strongSwan):
//   sha{1,256,384,512}WithRSAEncryption   parameters NULL
//   ecdsa-with-SHA{1,256,384,512}         parameters absent
//   id-RSASSA-PSS                         RSASSA-PSS-params (RFC 4055) with hashAlgorithm (its
//                                         parameters NULL), maskGenAlgorithm MGF1 with the same
//                                         hash and saltLength = hash length; trailerField
//                                         omitted (DER: it is the default; RFC 7427 erratum to
//                                         A.4.3). For SHA-1 every field is the default: `30 00`.
// AlgorithmIdentifiers accepted: the ones above; for the PKCS#1 v1.5 ones also with absent
// parameters (RFC 4055 §5 requires accepting both); for RSASSA-PSS any field may be present with
// its default value (the original A.4.3 text carries trailerField 1), the hash parameters NULL or
// absent, MGF1 must use the signature's hash (mbedTLS computes both with one hash) and the salt
// length is whatever the parameters say. Anything else is refused with an error naming it.
//
// Verification is strict: an RSA signature must be exactly the modulus size and, for PKCS#1
// v1.5, mbedTLS rebuilds the whole expected encoded message (padding, DigestInfo with NULL hash
// parameters, digest) and compares it in full, so other DigestInfo encodings and garbage in the
// padding fail; a DER ECDSA signature must be canonical DER with nothing after it.
//
// Keys are value types around an mbedtls_pk_context: move-only, never shared (a moved-from key
// may only be destroyed or assigned to). Every operation on one key object is serialized by a
// mutex inside it (mbedTLS caches blinding values and ECC precomputations inside the context, and
// PSS signing sets the context's MGF1 hash), so one key may be used from several threads.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/random.hpp"
#include "ike/crypto/sk_cipher.hpp"  // CryptoError

struct mbedtls_pk_context;

namespace ikeme::ike::crypto {

// RFC 7427 §7 / IANA "IKEv2 Hash Algorithms": the values of the SIGNATURE_HASH_ALGORITHMS notify.
enum class HashAlgorithm : uint16_t { SHA1 = 1, SHA2_256 = 2, SHA2_384 = 3, SHA2_512 = 4 };

enum class KeyType : uint8_t { RSA, ECDSA_P256, ECDSA_P384, ECDSA_P521 };

enum class SignatureAlgorithm : uint8_t { RSA_PKCS1_V15, RSA_PSS, ECDSA };

// A signature algorithm with its hash. RSA_PSS always means MGF1 with the same hash and (when
// signing) a salt as long as the hash.
struct SignatureScheme {
  SignatureAlgorithm algorithm = SignatureAlgorithm::RSA_PKCS1_V15;
  HashAlgorithm hash = HashAlgorithm::SHA2_256;
  friend bool operator==(const SignatureScheme&, const SignatureScheme&) = default;
};

// How to produce an AUTH payload: the method, and the scheme it uses. For the classic methods the
// scheme is fixed by the method (RSA_SIG: PKCS#1 v1.5 with SHA-1; 9, 10, 11: ECDSA with SHA-256,
// SHA-384, SHA-512); sign_auth() refuses any other combination.
struct AuthScheme {
  AuthMethod method = AuthMethod::DIGITAL_SIGNATURE;
  SignatureScheme signature;
  friend bool operator==(const AuthScheme&, const AuthScheme&) = default;
};

std::string name(HashAlgorithm h);          // "SHA2_256"
std::string name(KeyType t);                // "ECDSA P-256"
std::string name(SignatureScheme s);        // "sha256WithRSAEncryption", "RSASSA-PSS with SHA-256"
std::string describe(const AuthScheme& s);  // "DIGITAL_SIGNATURE (ecdsa-with-SHA384)"

// Hash length in bytes (20, 32, 48, 64).
size_t hash_size(HashAlgorithm h);

// RSA keys below this size are refused when loaded or generated.
inline constexpr size_t kMinRsaBits = 1024;

class PublicKey {
 public:
  // A SubjectPublicKeyInfo (RSA or EC on P-256/P-384/P-521), PEM ("-----BEGIN PUBLIC KEY-----")
  // or DER. mbedTLS also takes a PKCS#1 RSAPublicKey. For a certificate's key pass its
  // SubjectPublicKeyInfo bytes (mbedtls_x509_crt::pk_raw).
  static Result<PublicKey, CryptoError> load(ByteView pem_or_der);

  PublicKey(PublicKey&&) noexcept;
  PublicKey& operator=(PublicKey&&) noexcept;
  ~PublicKey();

  KeyType type() const;
  size_t bits() const;           // modulus or curve size: 3072, 256, 521
  std::string describe() const;  // "RSA 3072", "ECDSA P-256"
  Bytes spki_der() const;        // the SubjectPublicKeyInfo, DER
  friend bool operator==(const PublicKey& a, const PublicKey& b);  // same key (same SPKI)

  // The mbedTLS context, for mbedTLS calls this class does not wrap. Not serialized.
  const mbedtls_pk_context& native() const;

 private:
  friend class PrivateKey;
  friend Result<AuthScheme, CryptoError> verify_auth(const PublicKey&, const AuthPayload&, ByteView,
                                                     std::span<const HashAlgorithm>);
  struct State;
  explicit PublicKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class PrivateKey {
 public:
  // PEM or DER: PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey or PKCS#8 PrivateKeyInfo; encrypted
  // keys (PKCS#8 EncryptedPrivateKeyInfo, or legacy PEM with Proc-Type/DEK-Info) need
  // `passphrase`. RSA keys are checked for consistency, EC keys for a matching public point.
  // mbedTLS 2.28 decrypts PKCS#8 only with PBES2 (PBKDF2-HMAC-SHA1, DES or 3DES) or PKCS#12
  // PBE-SHA1-3DES; OpenSSL 3's default (AES-256-CBC, HMAC-SHA256) is refused with an error that
  // says so. Legacy PEM encryption with AES works.
  static Result<PrivateKey, CryptoError> load(ByteView pem_or_der,
                                              std::string_view passphrase = {});
  // A fresh key (RSA with exponent 65537 and `rsa_bits`; EC ignores `rsa_bits`).
  static Result<PrivateKey, CryptoError> generate(KeyType type, size_t rsa_bits, Rng& rng);

  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  KeyType type() const;
  size_t bits() const;
  std::string describe() const;
  Result<PublicKey, CryptoError> public_key() const;
  bool matches(const PublicKey& pub) const;  // the public half of this key (e.g. a certificate's)

  // The mbedTLS context, for mbedTLS calls this class does not wrap. Not serialized.
  const mbedtls_pk_context& native() const;

 private:
  friend Result<AuthPayload, CryptoError> sign_auth(const PrivateKey&, const AuthScheme&, ByteView,
                                                    Rng&);
  struct State;
  explicit PrivateKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// ---- RFC 7427 AlgorithmIdentifiers ----

// The DER AlgorithmIdentifier that DIGITAL_SIGNATURE sends for `scheme` (see the table above).
Bytes encode_algorithm_identifier(SignatureScheme scheme);

struct SignatureParams {
  SignatureScheme scheme;
  size_t pss_salt_length = 0;  // RSA_PSS only
};
// Parses one AlgorithmIdentifier (the whole of `der`, nothing may follow it).
Result<SignatureParams, CryptoError> parse_algorithm_identifier(ByteView der);

// ---- AUTH payloads ----

// Signs <SignedOctets> (key_derivation.hpp: signed_octets()) with `scheme`, which must suit the
// key (RSA_SIG: an RSA key; 9/10/11: an EC key on that method's curve; DIGITAL_SIGNATURE: an RSA
// key with RSA_PKCS1_V15 or RSA_PSS, an EC key with ECDSA). ECDSA is deterministic (RFC 6979);
// `rng` feeds RSA blinding, the PSS salt and ECDSA blinding.
Result<AuthPayload, CryptoError> sign_auth(const PrivateKey& key, const AuthScheme& scheme,
                                           ByteView signed_octets, Rng& rng);

// Verifies the peer's AUTH payload over <SignedOctets> with its public key and returns what was
// verified. For DIGITAL_SIGNATURE the AlgorithmIdentifier's hash must be in `allowed_hashes`
// (typically what this side announced in SIGNATURE_HASH_ALGORITHMS); the classic methods fix
// their hash (RSA_SIG: SHA-1) and are not subject to it — whether to accept them at all is the
// caller's policy. A non-signature method (e.g. SHARED_KEY_MIC) is an error.
Result<AuthScheme, CryptoError> verify_auth(const PublicKey& key, const AuthPayload& auth,
                                            ByteView signed_octets,
                                            std::span<const HashAlgorithm> allowed_hashes);

// ---- Choosing the scheme ----

// The SIGNATURE_HASH_ALGORITHMS notify's data: 16-bit hash IDs. Unknown IDs are skipped, a
// repeated ID counts once (the codec already refuses an odd length).
std::vector<HashAlgorithm> parse_hash_algorithms(ByteView notify_data);
Bytes encode_hash_algorithms(std::span<const HashAlgorithm> hashes);

// The classic method of a key type: RSA_SIG for RSA, ECDSA_SHA256_P256/... for EC keys.
AuthScheme classic_auth_scheme(KeyType type);

enum class RsaPadding : uint8_t { PSS, PKCS1_V15 };

// What to sign with: DIGITAL_SIGNATURE when the peer announced (in `peer_hashes`, empty when it
// sent no SIGNATURE_HASH_ALGORITHMS) a SHA-2 hash usable with the key, otherwise the key's classic
// method. SHA-1 is never chosen for DIGITAL_SIGNATURE. The hash matches the key's strength first
// (EC: the curve's own hash; RSA: SHA2_256 up to 3072 bits, SHA2_384 up to 7680, SHA2_512
// beyond), then the other SHA-2 hashes from SHA2_256 up. RSA keys sign with PSS (RFC 8247 prefers
// it) unless `rsa_padding` says PKCS#1 v1.5; a PSS hash too large for a small key is skipped.
AuthScheme choose_auth_scheme(KeyType type, size_t key_bits,
                              std::span<const HashAlgorithm> peer_hashes,
                              RsaPadding rsa_padding = RsaPadding::PSS);
AuthScheme choose_auth_scheme(const PrivateKey& key, std::span<const HashAlgorithm> peer_hashes,
                              RsaPadding rsa_padding = RsaPadding::PSS);

}  // namespace ikeme::ike::crypto

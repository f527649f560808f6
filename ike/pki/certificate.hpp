#pragma once
// An X.509 certificate (RFC 5280), parsed by mbedTLS 2.28: a move-only RAII wrapper of
// mbedtls_x509_crt holding exactly one certificate.
//
// What IKEv2 needs from it: the DER for CERT payloads (RFC 7296 §3.6, encoding 4 "X.509
// Certificate - Signature"), the SHA-1 hash of the SubjectPublicKeyInfo for CERTREQ authority
// lists (§3.7), the subject and subjectAltNames for matching the peer's ID (RFC 4945 §3.1,
// RFC 4301 §4.4.3.2), the public key for verifying AUTH, and what chain validation needs
// (validity, basic constraints, key usage). Time is never read here; see TrustStore::validate.
//
// What mbedTLS 2.28 cannot parse is refused on loading: Ed25519/Ed448 keys, unknown critical
// extensions (e.g. nameConstraints, policy constraints), critical certificatePolicies other than
// anyPolicy. A moved-from Certificate may only be destroyed or assigned to. One Certificate must
// not be used by several threads at once: verifying with an EC key lets mbedTLS cache
// precomputed points in the key's context.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"
#include "ike/pki/pki_error.hpp"

struct mbedtls_x509_crt;
struct mbedtls_pk_context;

namespace ikeme::ike::pki {

using Sha1Digest = std::array<uint8_t, 20>;

// keyUsage bits (RFC 5280 §4.2.1.3), with mbedTLS's values (MBEDTLS_X509_KU_*).
namespace key_usage {
inline constexpr uint32_t kDigitalSignature = 0x80;
inline constexpr uint32_t kNonRepudiation = 0x40;  // contentCommitment
inline constexpr uint32_t kKeyEncipherment = 0x20;
inline constexpr uint32_t kDataEncipherment = 0x10;
inline constexpr uint32_t kKeyAgreement = 0x08;
inline constexpr uint32_t kKeyCertSign = 0x04;
inline constexpr uint32_t kCrlSign = 0x02;
inline constexpr uint32_t kEncipherOnly = 0x01;
inline constexpr uint32_t kDecipherOnly = 0x8000;
}  // namespace key_usage

// One GeneralName of the subjectAltName extension (RFC 5280 §4.2.1.6).
struct SubjectAltName {
  enum class Type { Dns, Email, Ip, Uri, DirectoryName, Other };
  Type type = Type::Other;
  // Dns, Email, Uri: the IA5String; Ip: 4 or 16 address bytes (other lengths are kept as they
  // are, e.g. 8/32-byte address+mask forms from name constraints); DirectoryName: the Name DER;
  // Other: the whole GeneralName DER (otherName, x400Address, registeredID, ...).
  Bytes value;
  // "DNS:moon.ikeme.test", "email:moon@ikeme.test", "IP:192.0.2.1", "URI:...", "DN:C=CH, ...".
  std::string to_string() const;
  friend bool operator==(const SubjectAltName&, const SubjectAltName&) = default;
};

enum class KeyType { Rsa, Ecdsa, Other };

class Certificate {
 public:
  // From DER; exactly one certificate, no trailing data.
  static Result<Certificate, PkiError> from_der(ByteView der);
  // From PEM text holding exactly one "-----BEGIN CERTIFICATE-----" block.
  static Result<Certificate, PkiError> from_pem(std::string_view pem);
  // PEM or DER, told apart by content (DER starts with a SEQUENCE tag 0x30).
  static Result<Certificate, PkiError> parse(ByteView data);
  // A file with one certificate, PEM or DER.
  static Result<Certificate, PkiError> load(const std::string& path);
  // Every certificate of a PEM bundle, or the single certificate of a DER blob. Fails if any
  // PEM block does not parse, or if there is none.
  static Result<std::vector<Certificate>, PkiError> parse_all(ByteView data);
  static Result<std::vector<Certificate>, PkiError> load_all(const std::string& path);

  Certificate(Certificate&&) noexcept;
  Certificate& operator=(Certificate&&) noexcept;
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;
  ~Certificate();

  // A second, independent copy (re-parsed from the DER; aborts only if memory runs out).
  Certificate clone() const;

  // The encoded certificate: the data of a CERT payload with encoding X509_SIGNATURE (4).
  ByteView der() const;
  // CERT payload body for this certificate (RFC 7296 §3.6, encoding 4).
  CertPayload cert_payload() const;

  // Subject and issuer DNs as text in mbedTLS's form ("C=CH, O=ikeme Test, CN=moon.ikeme.test",
  // the same order and separators as strongSwan prints) and as DER (the Name SEQUENCE).
  std::string subject() const;
  ByteView subject_der() const;
  std::string issuer() const;
  ByteView issuer_der() const;
  // The serial number's INTEGER contents, and as colon-separated hex ("01:af:7d").
  ByteView serial() const;
  std::string serial_text() const;
  // Subject and issuer names are equal (names_equal): self-issued, typically a root CA.
  bool is_self_issued() const;

  TimePoint not_before() const;
  TimePoint not_after() const;
  // notBefore <= now <= notAfter (RFC 5280 §4.1.2.5: both bounds inclusive).
  bool valid_at(TimePoint now) const;

  // basicConstraints cA = TRUE.
  bool is_ca() const;
  // pathLenConstraint in RFC 5280's meaning (intermediates allowed below this CA), if present.
  std::optional<unsigned> path_len_constraint() const;
  // The keyUsage bits, or nullopt if the certificate has no keyUsage extension.
  std::optional<uint32_t> key_usage() const;
  // Whether keyUsage permits every bit of `usage`; true when the extension is absent.
  bool key_usage_allows(uint32_t usage) const;

  std::vector<SubjectAltName> subject_alt_names() const;
  // The subjectKeyIdentifier extension's key identifier, if present.
  std::optional<Bytes> subject_key_identifier() const;

  // The SubjectPublicKeyInfo DER (algorithm + key): feed it to mbedtls_pk_parse_public_key or to
  // the signature layer's public-key import.
  ByteView public_key_info() const;
  // SHA-1 of the SubjectPublicKeyInfo DER: the CA hash of CERTREQ authority lists and
  // "Hash and URL" (RFC 7296 §3.6/§3.7), strongSwan's "keyid" in `pki --print`.
  Sha1Digest public_key_info_sha1() const;
  // SHA-1 of the subjectPublicKey BIT STRING contents (strongSwan's "subjkey"; also what most
  // CAs put in subjectKeyIdentifier, RFC 5280 §4.2.1.2 method 1).
  Sha1Digest public_key_sha1() const;
  // SHA-1 of the whole certificate DER.
  Sha1Digest fingerprint_sha1() const;

  KeyType key_type() const;
  size_t key_bits() const;
  // The parsed public key, for mbedtls_pk_verify & co. Non-const because mbedTLS's verify
  // functions take a non-const context; they do not modify it.
  mbedtls_pk_context& public_key() const;

  // The underlying mbedTLS certificate (its `next` is always null).
  const mbedtls_x509_crt& native() const;

 private:
  struct Deleter {
    void operator()(mbedtls_x509_crt* crt) const;
  };
  explicit Certificate(std::unique_ptr<mbedtls_x509_crt, Deleter> crt);
  std::unique_ptr<mbedtls_x509_crt, Deleter> crt_;
};

// Reads a whole file; used by the loaders here and in TrustStore.
Result<Bytes, PkiError> read_file(const std::string& path);
// Whether data looks like PEM (contains "-----BEGIN ", does not start like DER's SEQUENCE).
bool looks_like_pem(ByteView data);

}  // namespace ikeme::ike::pki

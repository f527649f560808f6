#pragma once
// Trusted CA certificates and their CRLs, and certification path validation (RFC 5280 §6 as far
// as IKEv2 peers need it; RFC 4945 §5 for the IKE profile).
//
// validate() builds and verifies the chain with mbedTLS (mbedtls_x509_crt_verify_with_profile:
// path building from the end entity through the supplied intermediates to a trusted CA,
// signatures, basicConstraints cA for issuers, pathLenConstraint, keyCertSign for issuers,
// profile: SHA-224/256/384/512 signatures, RSA >= 2048 bits). Two checks it would do against the
// system clock are done here against the caller's `now` instead, to stay sans-IO and testable:
//   - validity periods: mbedTLS compares notBefore/notAfter with time(NULL) and raises
//     MBEDTLS_X509_BADCERT_FUTURE/EXPIRED; the verify callback clears those two flags and every
//     certificate on the built path (trust anchor included) is checked against `now`;
//   - CRLs: mbedTLS compares thisUpdate/nextUpdate and revocation dates with time(NULL), so no
//     CRL is passed to it; Crl::issued_by/find/current_at check them against `now`.
// (mbedTLS also uses the system clock to prefer a currently valid parent when several CA
// certificates share a name; with distinct CA names — the normal case — this has no effect.)
//
// Revocation, as strongSwan's default policy: a certificate listed in a CRL of its issuer (CRL
// signed by the issuer's key, thisUpdate <= now) is refused even if that CRL is stale; without a
// current CRL the certificate is accepted and marked Stale/Unknown — unless the policy is Strict,
// which then refuses it (strongSwan's `revocation = strict` without OCSP). Trust anchors are not
// revocation-checked.
//
// validate() may be called from several threads on one store (it serializes on an internal
// mutex: mbedTLS caches EC precomputations in the CA keys' contexts); the certificates passed in
// must not be used by another thread meanwhile, and add_*() must not overlap with any other call.
// A moved-from store may only be destroyed or assigned to.

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/crl.hpp"
#include "ike/pki/pki_error.hpp"

namespace ikeme::ike::pki {

enum class RevocationPolicy { Relaxed, Strict };
enum class RevocationStatus {
  Good,     // a current CRL of the issuer does not list it
  Stale,    // only expired CRLs of the issuer were available (and none lists it)
  Unknown,  // no CRL of the issuer
};
std::string name(RevocationStatus status);

struct ChainElement {
  enum class Source { EndEntity, Intermediate, TrustAnchor };
  Source source = Source::EndEntity;
  size_t index = 0;  // Intermediate: index into validate()'s `intermediates`; TrustAnchor: cas()
  std::string subject;
  RevocationStatus revocation = RevocationStatus::Unknown;  // Good for a trust anchor
};

struct ValidatedChain {
  std::vector<ChainElement> path;  // end entity first, trust anchor last (one element when the
                                   // end entity is itself a trusted CA certificate)
  const ChainElement& anchor() const { return path.back(); }
};

class TrustStore {
 public:
  TrustStore();
  TrustStore(TrustStore&&) noexcept;
  TrustStore& operator=(TrustStore&&) noexcept;
  ~TrustStore();

  // A trust anchor. It must be a CA (basicConstraints cA, as strongSwan requires of CA
  // certificates). Adding the same certificate twice keeps one.
  Status<PkiError> add_ca(Certificate ca);
  // Every certificate of a PEM bundle, or one DER certificate.
  Status<PkiError> add_ca_file(const std::string& path);
  // A CRL, kept for the CA that issued it (a trusted CA or an intermediate a peer sends later).
  // If a trusted CA has the CRL's issuer name, the CRL must verify under that CA's key
  // (add CAs before their CRLs); otherwise it is checked when a chain uses its issuer. CRLs
  // signed with SHA-1 or MD5 are refused, as certificates are by the profile.
  Status<PkiError> add_crl(Crl crl);
  Status<PkiError> add_crl_file(const std::string& path);

  const std::vector<Certificate>& cas() const { return cas_; }
  const std::vector<Crl>& crls() const { return crls_; }

  void set_revocation_policy(RevocationPolicy policy) { policy_ = policy; }
  RevocationPolicy revocation_policy() const { return policy_; }

  // Validates `end_entity` at time `now`, using `intermediates` (e.g. from the peer's CERT
  // payloads, any order, unrelated ones ignored) to reach a trusted CA. The error names the
  // certificate at fault and why. The end entity's keyUsage, when present, must allow
  // digitalSignature or nonRepudiation (RFC 4945 §5.1.3.2).
  Result<ValidatedChain, PkiError> validate(const Certificate& end_entity,
                                            std::span<const Certificate> intermediates,
                                            TimePoint now) const;

 private:
  struct Native;
  std::vector<Certificate> cas_;
  std::vector<Crl> crls_;
  std::unique_ptr<Native> native_;  // the CAs as one mbedTLS chain, for mbedtls_x509_crt_verify
  RevocationPolicy policy_ = RevocationPolicy::Relaxed;
};

}  // namespace ikeme::ike::pki

#pragma once
// An X.509 certificate revocation list (RFC 5280 §5), parsed by mbedTLS 2.28: a move-only RAII
// wrapper of mbedtls_x509_crl holding exactly one CRL.
//
// Freshness and revocation are judged against a caller-given time, never the system clock:
// mbedTLS's own CRL checks (inside mbedtls_x509_crt_verify) compare with time(NULL), so
// TrustStore does not hand CRLs to mbedTLS and checks them here instead.
// mbedTLS 2.28 refuses CRLs with critical extensions, so delta CRLs (deltaCRLIndicator) and
// partitioned CRLs (issuingDistributionPoint) cannot be loaded: every loaded CRL is complete.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/pki_error.hpp"

struct mbedtls_x509_crl;

namespace ikeme::ike::pki {

class Crl {
 public:
  struct Revocation {
    TimePoint date;
    std::optional<uint8_t> reason;  // CRLReason (RFC 5280 §5.3.1), if the entry has one
  };

  // DER or PEM ("-----BEGIN X509 CRL-----"), exactly one CRL.
  static Result<Crl, PkiError> parse(ByteView data);
  static Result<Crl, PkiError> load(const std::string& path);

  Crl(Crl&&) noexcept;
  Crl& operator=(Crl&&) noexcept;
  Crl(const Crl&) = delete;
  Crl& operator=(const Crl&) = delete;
  ~Crl();

  ByteView der() const;
  std::string issuer() const;
  ByteView issuer_der() const;
  TimePoint this_update() const;
  std::optional<TimePoint> next_update() const;  // nullopt if the CRL has none
  // Issued by now (thisUpdate <= now); a CRL from the future says nothing yet.
  bool issued_by_time(TimePoint now) const { return this_update() <= now; }
  // thisUpdate <= now <= nextUpdate (no nextUpdate: never stale).
  bool current_at(TimePoint now) const;
  size_t revoked_count() const;

  // The entry for a certificate serial number (INTEGER contents, as Certificate::serial()).
  std::optional<Revocation> find(ByteView serial) const;

  // Whether `issuer` issued this CRL: issuer name equals the certificate's subject, the
  // certificate's key verifies the CRL signature, and its keyUsage (if present) has cRLSign.
  bool issued_by(const Certificate& issuer) const;

  const mbedtls_x509_crl& native() const;

 private:
  struct Deleter {
    void operator()(mbedtls_x509_crl* crl) const;
  };
  explicit Crl(std::unique_ptr<mbedtls_x509_crl, Deleter> crl);
  std::unique_ptr<mbedtls_x509_crl, Deleter> crl_;
};

// "key compromise", "superseded", ... for a CRLReason code.
std::string crl_reason_name(uint8_t reason);

}  // namespace ikeme::ike::pki

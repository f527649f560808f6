#pragma once
// Errors and time for certificate authentication (ike/pki).
//
// Time is wall-clock UTC passed in by the caller (sans-IO): nothing in ike/pki reads a clock.
// This is not the engine's ike::Timestamp, which is monotonic; certificate validity needs the
// calendar, so the caller converts its system clock (or a test's fixed date) to a TimePoint.

#include <chrono>
#include <string>

namespace ikeme::ike::pki {

// Seconds since 1970-01-01 00:00:00 UTC (leap seconds ignored, as in X.509 and POSIX).
using TimePoint = std::chrono::sys_seconds;

// A calendar date and time in UTC. Fields are not range-checked beyond what the arithmetic needs.
TimePoint utc_time(int year, int month, int day, int hour = 0, int minute = 0, int second = 0);
// "2026-01-01 00:00:00 UTC"
std::string format_time(TimePoint t);

enum class PkiErrorKind {
  Io,                     // a file could not be read
  Parse,                  // not a certificate / CRL, or malformed
  Expired,                // notAfter is before `now`
  NotYetValid,            // notBefore is after `now`
  Revoked,                // listed in a CRL of its issuer
  UnknownIssuer,          // no trusted CA or supplied intermediate issued it
  NotCa,                  // the issuer lacks the CA basic constraint
  BadSignature,           // the issuer's key does not verify the signature
  KeyUsage,               // keyUsage forbids the use (signing, certificate signing)
  PathLength,             // a CA's pathLenConstraint is exceeded
  WeakAlgorithm,          // signature hash / key type / key size refused by the profile
  RevocationUnavailable,  // strict revocation policy and no current CRL
  Other,
};
std::string name(PkiErrorKind kind);

struct PkiError {
  PkiErrorKind kind = PkiErrorKind::Other;
  std::string subject;  // subject DN of the certificate concerned (the file name for Io); may
                        // be empty (e.g. for a CRL, whose issuer the detail names)
  std::string detail;   // the reason in words

  // e.g. certificate "C=CH, O=ikeme Test, CN=expired.ikeme.test": expired: not valid after
  // 2022-01-01 00:00:00 UTC (now 2027-01-01 00:00:00 UTC)
  std::string message() const;
};

}  // namespace ikeme::ike::pki

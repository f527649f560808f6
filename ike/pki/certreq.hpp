#pragma once
// CERTREQ and CERT payload helpers (RFC 7296 §3.6, §3.7; RFC 4945 §3.2, §3.3).
//
// A CERTREQ with encoding X509_SIGNATURE (4) carries a "Certification Authority" field: the
// concatenated SHA-1 hashes of the SubjectPublicKeyInfo of each trusted CA (strongSwan sends one
// per trusted CA certificate). The peer answers with CERT payloads: its end-entity certificate
// and the intermediates needed to reach one of those CAs.

#include <span>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/trust_store.hpp"

namespace ikeme::ike::pki {

// The Certification Authority data of our CERTREQ: SHA-1(SPKI) of each CA, in order, a key
// shared by several CA certificates listed once.
Bytes certreq_authorities(std::span<const Certificate> cas);
inline Bytes certreq_authorities(const TrustStore& store) {
  return certreq_authorities(store.cas());
}
// The CERTREQ payload body (encoding X509_SIGNATURE) for our trusted CAs.
CertPayload certreq_payload(const TrustStore& store);

// Splits a received Certification Authority field into 20-byte hashes (a trailing partial hash,
// which the codec already refuses for encoding 4, is ignored).
std::vector<Sha1Digest> parse_certreq_authorities(ByteView data);
// The hashes of every X.509 (encoding 4) CERTREQ among `certreqs`; other encodings are skipped.
std::vector<Sha1Digest> requested_authorities(std::span<const CertPayload> certreqs);

// strongSwan's send_cert: always, only if the peer sent a CERTREQ, or never.
enum class SendCertPolicy { Always, IfAsked, Never };

// One certificate of ours with the CA certificates (any order; intermediates, possibly the
// root) that chain it to its trust anchor.
struct OwnCertificate {
  const Certificate* end_entity = nullptr;
  std::span<const Certificate> chain;
};

struct CertSelection {
  size_t chosen = 0;  // index into the OwnCertificate candidates
  // The certificates for CERT payloads, in order: end entity first, then its issuer, upwards.
  // Intermediates stop below a CA the peer asked for (it has that one) and never include a
  // self-issued root (the peer needs it as a trust anchor anyway). Empty if nothing is sent.
  std::vector<const Certificate*> certs;
  // A CA the peer asked for is on the chosen certificate's chain.
  bool authority_matched = false;
};

// Picks the first of `own` whose chain reaches a requested CA (the first one if none does), and
// the certificates to send with it. `certreq_received`: the peer sent at least one CERTREQ
// (even an empty one), which is what SendCertPolicy::IfAsked looks at.
CertSelection select_certificates(std::span<const OwnCertificate> own,
                                  std::span<const Sha1Digest> requested, bool certreq_received,
                                  SendCertPolicy policy = SendCertPolicy::Always);

}  // namespace ikeme::ike::pki

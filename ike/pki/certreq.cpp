#include "ike/pki/certreq.hpp"

#include <algorithm>

#include "ike/pki/der.hpp"

namespace ikeme::ike::pki {

Bytes certreq_authorities(std::span<const Certificate> cas) {
  Bytes out;
  std::vector<Sha1Digest> seen;
  for (const auto& ca : cas) {
    Sha1Digest h = ca.public_key_info_sha1();
    if (std::find(seen.begin(), seen.end(), h) != seen.end()) continue;
    seen.push_back(h);
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

CertPayload certreq_payload(const TrustStore& store) {
  return CertPayload{CertEncoding::X509_SIGNATURE, certreq_authorities(store)};
}

std::vector<Sha1Digest> parse_certreq_authorities(ByteView data) {
  std::vector<Sha1Digest> out;
  for (size_t i = 0; i + 20 <= data.size(); i += 20) {
    Sha1Digest h;
    std::copy(data.begin() + static_cast<std::ptrdiff_t>(i),
              data.begin() + static_cast<std::ptrdiff_t>(i + 20), h.begin());
    out.push_back(h);
  }
  return out;
}

std::vector<Sha1Digest> requested_authorities(std::span<const CertPayload> certreqs) {
  std::vector<Sha1Digest> out;
  for (const auto& p : certreqs) {
    if (p.encoding != CertEncoding::X509_SIGNATURE) continue;
    for (const auto& h : parse_certreq_authorities(p.data))
      if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

namespace {

bool requested_ca(const Certificate& ca, std::span<const Sha1Digest> requested) {
  return std::find(requested.begin(), requested.end(), ca.public_key_info_sha1()) !=
         requested.end();
}

// The issuer of `cert` among `chain` (by name), not yet used.
const Certificate* issuer_in(const Certificate& cert, std::span<const Certificate> chain,
                             const std::vector<const Certificate*>& used) {
  for (const auto& c : chain)
    if (der::names_equal(c.subject_der(), cert.issuer_der()) &&
        std::find(used.begin(), used.end(), &c) == used.end() && &c != &cert)
      return &c;
  return nullptr;
}

// Certificates to send for one of ours, and whether the walk met a requested CA.
CertSelection walk(const OwnCertificate& own, std::span<const Sha1Digest> requested) {
  CertSelection s;
  s.certs.push_back(own.end_entity);
  std::vector<const Certificate*> used{own.end_entity};
  const Certificate* cur = own.end_entity;
  while (const Certificate* issuer = issuer_in(*cur, own.chain, used)) {
    used.push_back(issuer);
    if (requested_ca(*issuer, requested)) {
      s.authority_matched = true;
      break;  // the peer has this CA: nothing above it is needed
    }
    if (issuer->is_self_issued()) break;  // a root: never sent
    s.certs.push_back(issuer);
    cur = issuer;
  }
  return s;
}

}  // namespace

CertSelection select_certificates(std::span<const OwnCertificate> own,
                                  std::span<const Sha1Digest> requested, bool certreq_received,
                                  SendCertPolicy policy) {
  CertSelection best;
  bool have = false;
  for (size_t i = 0; i < own.size(); ++i) {
    if (!own[i].end_entity) continue;
    CertSelection s = walk(own[i], requested);
    s.chosen = i;
    if (!have || (s.authority_matched && !best.authority_matched)) {
      best = std::move(s);
      have = true;
    }
    if (best.authority_matched) break;
  }
  bool send =
      policy == SendCertPolicy::Always || (policy == SendCertPolicy::IfAsked && certreq_received);
  if (!send) best.certs.clear();
  return best;
}

}  // namespace ikeme::ike::pki

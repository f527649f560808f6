#include "ike/pki/trust_store.hpp"

#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <mutex>

#include "ike/pki/der.hpp"
#include "ike/pki/internal.hpp"

namespace ikeme::ike::pki {

std::string name(RevocationStatus status) {
  switch (status) {
    case RevocationStatus::Good:
      return "good";
    case RevocationStatus::Stale:
      return "stale";
    case RevocationStatus::Unknown:
      break;
  }
  return "unknown";
}

struct TrustStore::Native {
  mbedtls_x509_crt chain;
  std::mutex mutex;  // serializes validate(): verifying caches EC data in `chain`'s keys
  Native() { mbedtls_x509_crt_init(&chain); }
  ~Native() { mbedtls_x509_crt_free(&chain); }
  Native(const Native&) = delete;
  Native& operator=(const Native&) = delete;
};

TrustStore::TrustStore() : native_(std::make_unique<Native>()) {}
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;
TrustStore::~TrustStore() = default;

namespace {

// What validate() accepts: SHA-2 signatures (no SHA-1, no MD5), any key type mbedTLS parses,
// any curve it supports, RSA keys of at least 2048 bits (mbedTLS's default profile plus SHA-224).
const mbedtls_x509_crt_profile kProfile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA224) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    0xFFFFFFF,
    0xFFFFFFF,
    2048,
};

bool md_allowed(mbedtls_md_type_t md) {
  return md != MBEDTLS_MD_NONE && (kProfile.allowed_mds & MBEDTLS_X509_ID_FLAG(md));
}

PkiError error(PkiErrorKind kind, const Certificate& cert, std::string detail) {
  return PkiError{kind, cert.subject(), std::move(detail)};
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

bool same_bytes(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Status<PkiError> TrustStore::add_ca(Certificate ca) {
  for (const auto& existing : cas_)
    if (same_bytes(existing.der(), ca.der())) return {};
  if (!ca.is_ca())
    return Unexpected{
        error(PkiErrorKind::NotCa, ca, "not usable as trust anchor: no CA basic constraint")};
  int rc = mbedtls_x509_crt_parse_der(&native_->chain, ca.der().data(), ca.der().size());
  if (rc != 0) return Unexpected{error(PkiErrorKind::Parse, ca, detail::mbedtls_reason(rc))};
  cas_.push_back(std::move(ca));
  return {};
}

Status<PkiError> TrustStore::add_ca_file(const std::string& path) {
  auto certs = Certificate::load_all(path);
  if (!certs) return Unexpected{certs.error()};
  for (auto& c : *certs) {
    auto added = add_ca(std::move(c));
    if (!added) return added;
  }
  return {};
}

Status<PkiError> TrustStore::add_crl(Crl crl) {
  for (const auto& existing : crls_)
    if (same_bytes(existing.der(), crl.der())) return {};
  if (!md_allowed(crl.native().sig_md))
    return Unexpected{
        PkiError{PkiErrorKind::WeakAlgorithm, "",
                 "CRL of " + quoted(crl.issuer()) + " is signed with a hash weaker than SHA-224"}};
  bool named = false;
  for (const auto& ca : cas_) {
    if (!der::names_equal(ca.subject_der(), crl.issuer_der())) continue;
    named = true;
    if (crl.issued_by(ca)) {
      named = false;
      break;
    }
  }
  if (named)
    return Unexpected{PkiError{PkiErrorKind::BadSignature, "",
                               "CRL of " + quoted(crl.issuer()) +
                                   " is not signed by that trusted CA (or it lacks cRLSign)"}};
  crls_.push_back(std::move(crl));
  return {};
}

Status<PkiError> TrustStore::add_crl_file(const std::string& path) {
  auto crl = Crl::load(path);
  if (!crl) return Unexpected{crl.error()};
  return add_crl(std::move(*crl));
}

namespace {

struct TraceItem {
  const mbedtls_x509_crt* crt = nullptr;
  uint32_t flags = 0;  // as mbedTLS reported them, before the callback cleared the time flags
};

int verify_callback(void* ctx, mbedtls_x509_crt* crt, int depth, uint32_t* flags) {
  auto* trace = static_cast<std::vector<TraceItem>*>(ctx);
  auto d = static_cast<size_t>(depth);
  if (trace->size() <= d) trace->resize(d + 1);
  (*trace)[d] = TraceItem{crt, *flags};
  // Validity is checked against the caller's `now` after verification, not the system clock.
  *flags &= ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  return 0;
}

// A certificate on a path, with where it came from.
struct Link {
  const Certificate* cert = nullptr;
  ChainElement::Source source = ChainElement::Source::EndEntity;
  size_t index = 0;
};

std::string verify_info(uint32_t flags) {
  char buf[512];
  int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "verification failed";
  std::replace(s.begin(), s.end(), '\n', ';');
  while (!s.empty() && (s.back() == ';' || s.back() == ' ')) s.pop_back();
  return s;
}

// Number of non-self-issued intermediate certificates below path[d] (RFC 5280 §6.1.4 (l)).
size_t intermediates_below(const std::vector<Link>& path, size_t d) {
  size_t n = 0;
  for (size_t i = 1; i < d; ++i) n += !path[i].cert->is_self_issued();
  return n;
}

}  // namespace

Result<ValidatedChain, PkiError> TrustStore::validate(const Certificate& end_entity,
                                                      std::span<const Certificate> intermediates,
                                                      TimePoint now) const {
  if (cas_.empty())
    return Unexpected{error(PkiErrorKind::UnknownIssuer, end_entity,
                            "issuer " + quoted(end_entity.issuer()) + " not found: no trusted CA")};

  // The peer's certificates as one mbedTLS chain, end entity first, without copying the DER.
  struct PeerChain {
    mbedtls_x509_crt crt;
    PeerChain() { mbedtls_x509_crt_init(&crt); }
    ~PeerChain() { mbedtls_x509_crt_free(&crt); }
  } peer;
  std::vector<Link> peer_links;  // parallel to the mbedTLS list
  auto add_peer = [&](const Certificate& c, ChainElement::Source source, size_t index) {
    if (mbedtls_x509_crt_parse_der_nocopy(&peer.crt, c.der().data(), c.der().size()) != 0)
      return false;
    peer_links.push_back(Link{&c, source, index});
    return true;
  };
  if (!add_peer(end_entity, ChainElement::Source::EndEntity, 0))
    return Unexpected{error(PkiErrorKind::Parse, end_entity, "mbedTLS refused the certificate")};
  for (size_t i = 0; i < intermediates.size(); ++i)
    if (!add_peer(intermediates[i], ChainElement::Source::Intermediate, i))
      return Unexpected{error(PkiErrorKind::Parse, intermediates[i], "mbedTLS refused it")};

  auto link_of = [&](const mbedtls_x509_crt* crt) -> Link {
    size_t i = 0;
    for (const mbedtls_x509_crt* c = &peer.crt; c; c = c->next, ++i)
      if (c == crt) return peer_links[i];
    i = 0;
    for (const mbedtls_x509_crt* c = &native_->chain; c; c = c->next, ++i)
      if (c == crt) return Link{&cas_[i], ChainElement::Source::TrustAnchor, i};
    return Link{};
  };

  std::lock_guard lock(native_->mutex);
  std::vector<TraceItem> trace;
  uint32_t flags = 0;
  int rc = mbedtls_x509_crt_verify_with_profile(&peer.crt, &native_->chain, nullptr, &kProfile,
                                                nullptr, &flags, verify_callback, &trace);
  std::vector<Link> path;
  for (const auto& item : trace) {
    path.push_back(link_of(item.crt));
    if (!path.back().cert) path.pop_back();
  }
  if (path.size() != trace.size() || (rc != 0 && rc != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED))
    return Unexpected{error(PkiErrorKind::Other, end_entity,
                            "chain verification failed: " + detail::mbedtls_reason(rc))};

  if (rc != 0) {
    // Find the lowest certificate with a remaining problem and explain it.
    const uint32_t time_flags = MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE;
    for (size_t d = 0; d < trace.size(); ++d) {
      uint32_t f = trace[d].flags & ~time_flags;
      if (!f) continue;
      const Certificate& cert = *path[d].cert;
      if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
               MBEDTLS_X509_BADCERT_BAD_KEY))
        return Unexpected{error(PkiErrorKind::WeakAlgorithm, cert, verify_info(f))};
      if (!(f & MBEDTLS_X509_BADCERT_NOT_TRUSTED))
        return Unexpected{error(PkiErrorKind::Other, cert, verify_info(f))};

      // Not trusted: either the chosen parent's signature failed, or no parent was acceptable.
      if (d + 1 < path.size())
        return Unexpected{error(PkiErrorKind::BadSignature, cert,
                                "signature does not verify with the key of issuer " +
                                    quoted(path[d + 1].cert->subject()))};
      std::vector<const Certificate*> candidates;
      for (const auto& c : intermediates)
        if (&c != &cert && der::names_equal(c.subject_der(), cert.issuer_der()))
          candidates.push_back(&c);
      for (const auto& c : cas_)
        if (&c != &cert && der::names_equal(c.subject_der(), cert.issuer_der()))
          candidates.push_back(&c);
      if (candidates.empty())
        return Unexpected{error(PkiErrorKind::UnknownIssuer, cert,
                                "issuer " + quoted(cert.issuer()) +
                                    " is neither a trusted CA nor a supplied intermediate")};
      // Of the certificates with the issuer's name, those whose key made the signature: why was
      // none of them acceptable to mbedTLS as the parent?
      const mbedtls_x509_crt& n = cert.native();
      std::vector<const Certificate*> signers;
      for (const Certificate* c : candidates)
        if (detail::verify_signature(n.tbs, n.sig_md, n.sig_pk, n.sig_opts, n.sig, c->public_key()))
          signers.push_back(c);
      if (signers.empty())
        return Unexpected{error(PkiErrorKind::BadSignature, cert,
                                "signature does not verify with the key of issuer " +
                                    quoted(candidates.front()->subject()))};
      for (const Certificate* c : signers)
        if (!c->is_ca())
          return Unexpected{error(
              PkiErrorKind::NotCa, cert,
              "issuer certificate " + quoted(c->subject()) + " lacks the CA basic constraint")};
      for (const Certificate* c : signers)
        if (!c->key_usage_allows(key_usage::kKeyCertSign))
          return Unexpected{error(
              PkiErrorKind::KeyUsage, cert,
              "issuer certificate " + quoted(c->subject()) + " has no keyCertSign key usage")};
      size_t below = intermediates_below(path, d + 1);
      for (const Certificate* c : signers)
        if (c->path_len_constraint() && below > *c->path_len_constraint())
          return Unexpected{error(PkiErrorKind::PathLength, *c,
                                  "pathLenConstraint " + std::to_string(*c->path_len_constraint()) +
                                      " exceeded by " + std::to_string(below) +
                                      " intermediate CA(s) below it")};
      return Unexpected{error(PkiErrorKind::Other, cert, "no acceptable path: " + verify_info(f))};
    }
    return Unexpected{error(PkiErrorKind::Other, end_entity, verify_info(flags))};
  }

  // mbedTLS accepted the chain apart from time. Its top must be a trust anchor; an end entity
  // equal to a trusted certificate is reported by mbedTLS as itself.
  if (path.empty())
    return Unexpected{error(PkiErrorKind::Other, end_entity, "empty verification path")};
  if (path.back().source != ChainElement::Source::TrustAnchor) {
    bool found = false;
    for (size_t i = 0; i < cas_.size() && !found; ++i)
      if (same_bytes(cas_[i].der(), path.back().cert->der())) {
        path.back() = Link{&cas_[i], ChainElement::Source::TrustAnchor, i};
        found = true;
      }
    if (!found)
      return Unexpected{error(PkiErrorKind::UnknownIssuer, *path.back().cert,
                              "path does not end at a trusted CA")};
  }

  // Validity at `now`, from the end entity up to the trust anchor.
  for (const Link& l : path) {
    const Certificate& c = *l.cert;
    if (now < c.not_before())
      return Unexpected{error(
          PkiErrorKind::NotYetValid, c,
          "not valid before " + format_time(c.not_before()) + " (now " + format_time(now) + ")")};
    if (now > c.not_after())
      return Unexpected{error(
          PkiErrorKind::Expired, c,
          "not valid after " + format_time(c.not_after()) + " (now " + format_time(now) + ")")};
  }

  // Constraints (mbedTLS enforces these for issuers already; checked again so that the error
  // names them precisely whatever mbedTLS's configuration).
  if (path.size() > 1 && !end_entity.key_usage_allows(key_usage::kDigitalSignature) &&
      !end_entity.key_usage_allows(key_usage::kNonRepudiation))
    return Unexpected{error(PkiErrorKind::KeyUsage, end_entity,
                            "keyUsage allows neither digitalSignature nor nonRepudiation")};
  for (size_t d = 1; d < path.size(); ++d) {
    const Certificate& c = *path[d].cert;
    if (!c.is_ca())
      return Unexpected{
          error(PkiErrorKind::NotCa, *path[d - 1].cert,
                "issuer certificate " + quoted(c.subject()) + " lacks the CA basic constraint")};
    if (!c.key_usage_allows(key_usage::kKeyCertSign))
      return Unexpected{
          error(PkiErrorKind::KeyUsage, *path[d - 1].cert,
                "issuer certificate " + quoted(c.subject()) + " has no keyCertSign key usage")};
    if (c.path_len_constraint() && intermediates_below(path, d) > *c.path_len_constraint())
      return Unexpected{
          error(PkiErrorKind::PathLength, c,
                "pathLenConstraint " + std::to_string(*c.path_len_constraint()) + " exceeded")};
  }

  // Revocation of every certificate below the trust anchor, by its issuer's CRLs.
  ValidatedChain out;
  for (size_t d = 0; d < path.size(); ++d) {
    const Link& l = path[d];
    ChainElement e{l.source, l.index, l.cert->subject(), RevocationStatus::Good};
    if (d + 1 < path.size()) {
      const Certificate& issuer = *path[d + 1].cert;
      bool any = false, current = false;
      for (const Crl& crl : crls_) {
        if (!crl.issued_by_time(now) || !md_allowed(crl.native().sig_md) || !crl.issued_by(issuer))
          continue;
        any = true;
        current = current || crl.current_at(now);
        if (auto r = crl.find(l.cert->serial())) {
          std::string why = "revoked on " + format_time(r->date);
          if (r->reason) why += " (" + crl_reason_name(*r->reason) + ")";
          why += " by the CRL of " + quoted(issuer.subject()) + " issued " +
                 format_time(crl.this_update());
          return Unexpected{error(PkiErrorKind::Revoked, *l.cert, why)};
        }
      }
      e.revocation = current ? RevocationStatus::Good
                             : (any ? RevocationStatus::Stale : RevocationStatus::Unknown);
      if (policy_ == RevocationPolicy::Strict && e.revocation != RevocationStatus::Good)
        return Unexpected{error(PkiErrorKind::RevocationUnavailable, *l.cert,
                                std::string(any ? "the CRLs of " : "no CRL of ") +
                                    quoted(issuer.subject()) + (any ? " are not current" : "") +
                                    " (strict revocation policy)")};
    }
    out.path.push_back(std::move(e));
  }
  return out;
}

}  // namespace ikeme::ike::pki

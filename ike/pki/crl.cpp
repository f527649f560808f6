#include "ike/pki/crl.hpp"

#include <mbedtls/x509_crl.h>

#include <algorithm>

#include "ike/pki/der.hpp"
#include "ike/pki/internal.hpp"

namespace ikeme::ike::pki {

void Crl::Deleter::operator()(mbedtls_x509_crl* crl) const {
  mbedtls_x509_crl_free(crl);
  delete crl;
}

Crl::Crl(std::unique_ptr<mbedtls_x509_crl, Deleter> crl) : crl_(std::move(crl)) {}
Crl::Crl(Crl&&) noexcept = default;
Crl& Crl::operator=(Crl&&) noexcept = default;
Crl::~Crl() = default;

Result<Crl, PkiError> Crl::parse(ByteView data) {
  std::unique_ptr<mbedtls_x509_crl, Deleter> crl(new mbedtls_x509_crl);
  mbedtls_x509_crl_init(crl.get());
  int rc;
  if (looks_like_pem(data)) {
    // PEM must be NUL-terminated with the NUL counted in the length.
    std::string text(reinterpret_cast<const char*>(data.data()), data.size());
    rc = mbedtls_x509_crl_parse(crl.get(), reinterpret_cast<const unsigned char*>(text.c_str()),
                                text.size() + 1);
  } else {
    rc = mbedtls_x509_crl_parse_der(crl.get(), data.data(), data.size());
    if (rc == 0 && crl->raw.len != data.size())
      return Unexpected{PkiError{PkiErrorKind::Parse, "", "trailing data after the CRL"}};
  }
  if (rc != 0)
    return Unexpected{
        PkiError{PkiErrorKind::Parse, "", "not a CRL (" + detail::mbedtls_reason(rc) + ")"}};
  if (crl->next)
    return Unexpected{PkiError{PkiErrorKind::Parse, "", "several CRLs where one was expected"}};
  return Crl(std::move(crl));
}

Result<Crl, PkiError> Crl::load(const std::string& path) {
  auto data = read_file(path);
  if (!data) return Unexpected{data.error()};
  auto crl = parse(*data);
  if (!crl) {
    PkiError e = crl.error();
    e.detail = path + ": " + e.detail;
    return Unexpected{std::move(e)};
  }
  return crl;
}

ByteView Crl::der() const {
  return ByteView(crl_->raw.p, crl_->raw.len);
}
std::string Crl::issuer() const {
  return detail::dn_text(crl_->issuer);
}
ByteView Crl::issuer_der() const {
  return ByteView(crl_->issuer_raw.p, crl_->issuer_raw.len);
}
TimePoint Crl::this_update() const {
  return detail::to_time_point(crl_->this_update);
}

std::optional<TimePoint> Crl::next_update() const {
  // mbedTLS leaves next_update zeroed when the optional field is absent.
  if (crl_->next_update.year == 0) return std::nullopt;
  return detail::to_time_point(crl_->next_update);
}

bool Crl::current_at(TimePoint now) const {
  auto next = next_update();
  return this_update() <= now && (!next || now <= *next);
}

size_t Crl::revoked_count() const {
  size_t n = 0;
  for (const mbedtls_x509_crl_entry* e = &crl_->entry; e; e = e->next)
    if (e->serial.len) ++n;
  return n;
}

namespace {

// reasonCode (2.5.29.21) from a CRL entry's extensions, if present.
std::optional<uint8_t> reason_code(const mbedtls_x509_crl_entry& entry) {
  static const uint8_t kReasonOid[] = {0x55, 0x1d, 0x15};
  // The entry as mbedTLS keeps it: `raw` spans the revokedCertificates SEQUENCE element (with or
  // without its header depending on version); find the extensions SEQUENCE after serial and date.
  ByteView in(entry.raw.p, entry.raw.len);
  der::Tlv tlv;
  if (!in.empty() && in[0] == der::kSequence) {
    if (!der::read(in, der::kSequence, tlv)) return std::nullopt;
    in = tlv.value;
  }
  der::Tlv serial, date, exts;
  if (!der::read(in, der::kInteger, serial) || !der::read(in, date)) return std::nullopt;
  if (!der::read(in, der::kSequence, exts)) return std::nullopt;
  ByteView list = exts.value;
  while (!list.empty()) {
    der::Tlv ext, oid, critical, value;
    if (!der::read(list, der::kSequence, ext)) return std::nullopt;
    ByteView e = ext.value;
    if (!der::read(e, der::kOid, oid)) return std::nullopt;
    (void)der::read(e, der::kBoolean, critical);
    if (!der::read(e, der::kOctetString, value)) return std::nullopt;
    if (!std::equal(oid.value.begin(), oid.value.end(), std::begin(kReasonOid),
                    std::end(kReasonOid)))
      continue;
    ByteView v = value.value;
    der::Tlv code;
    if (!der::read(v, der::kEnumerated, code) || code.value.size() != 1) return std::nullopt;
    return code.value[0];
  }
  return std::nullopt;
}

}  // namespace

std::optional<Crl::Revocation> Crl::find(ByteView serial) const {
  for (const mbedtls_x509_crl_entry* e = &crl_->entry; e; e = e->next) {
    if (!e->serial.len) continue;  // the empty head entry of a CRL without revocations
    if (std::equal(serial.begin(), serial.end(), e->serial.p, e->serial.p + e->serial.len))
      return Revocation{detail::to_time_point(e->revocation_date), reason_code(*e)};
  }
  return std::nullopt;
}

bool Crl::issued_by(const Certificate& issuer) const {
  if (!der::names_equal(issuer_der(), issuer.subject_der())) return false;
  if (!issuer.key_usage_allows(key_usage::kCrlSign)) return false;
  return detail::verify_signature(crl_->tbs, crl_->sig_md, crl_->sig_pk, crl_->sig_opts, crl_->sig,
                                  issuer.public_key());
}

const mbedtls_x509_crl& Crl::native() const {
  return *crl_;
}

std::string crl_reason_name(uint8_t reason) {
  switch (reason) {
    case 0:
      return "unspecified";
    case 1:
      return "key compromise";
    case 2:
      return "CA compromise";
    case 3:
      return "affiliation changed";
    case 4:
      return "superseded";
    case 5:
      return "cessation of operation";
    case 6:
      return "certificate hold";
    case 8:
      return "remove from CRL";
    case 9:
      return "privilege withdrawn";
    case 10:
      return "AA compromise";
    default:
      return "reason " + std::to_string(reason);
  }
}

}  // namespace ikeme::ike::pki

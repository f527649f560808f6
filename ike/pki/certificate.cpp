#include "ike/pki/certificate.hpp"

#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/sha1.h>
#include <mbedtls/x509_crt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ike/codec/ip_address.hpp"
#include "ike/pki/der.hpp"
#include "ike/pki/internal.hpp"

namespace ikeme::ike::pki {

// --- time -------------------------------------------------------------------------------------

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

TimePoint utc_time(int year, int month, int day, int hour, int minute, int second) {
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return TimePoint(std::chrono::seconds(days * 86400 + hour * 3600 + minute * 60 + second));
}

std::string format_time(TimePoint t) {
  int64_t s = t.time_since_epoch().count();
  int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  int64_t rest = s - days * 86400;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02d:%02d:%02d UTC", static_cast<long long>(y),
                m, d, static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return buf;
}

namespace detail {

TimePoint to_time_point(const mbedtls_x509_time& t) {
  return utc_time(t.year, t.mon, t.day, t.hour, t.min, t.sec);
}

std::string mbedtls_reason(int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return buf;
}

std::string dn_text(const mbedtls_x509_name& name) {
  char buf[1024];
  int n = mbedtls_x509_dn_gets(buf, sizeof buf, &name);
  return n < 0 ? std::string("(unprintable name)") : std::string(buf, static_cast<size_t>(n));
}

Sha1Digest sha1(ByteView data) {
  Sha1Digest out{};
  // mbedtls_sha1_ret only fails on a hardware-accelerator error; there is none here.
  if (mbedtls_sha1_ret(data.data(), data.size(), out.data()) != 0) std::abort();
  return out;
}

bool verify_signature(const mbedtls_x509_buf& tbs, mbedtls_md_type_t md, mbedtls_pk_type_t pk_type,
                      const void* options, const mbedtls_x509_buf& signature,
                      mbedtls_pk_context& key) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
  if (!info) return false;
  unsigned char hash[MBEDTLS_MD_MAX_SIZE];
  if (mbedtls_md(info, tbs.p, tbs.len, hash) != 0) return false;
  return mbedtls_pk_verify_ext(pk_type, options, &key, md, hash, mbedtls_md_get_size(info),
                               signature.p, signature.len) == 0;
}

}  // namespace detail

// --- PkiError ---------------------------------------------------------------------------------

std::string name(PkiErrorKind kind) {
  switch (kind) {
    case PkiErrorKind::Io:
      return "I/O error";
    case PkiErrorKind::Parse:
      return "parse error";
    case PkiErrorKind::Expired:
      return "expired";
    case PkiErrorKind::NotYetValid:
      return "not yet valid";
    case PkiErrorKind::Revoked:
      return "revoked";
    case PkiErrorKind::UnknownIssuer:
      return "unknown issuer";
    case PkiErrorKind::NotCa:
      return "issuer is not a CA";
    case PkiErrorKind::BadSignature:
      return "bad signature";
    case PkiErrorKind::KeyUsage:
      return "key usage";
    case PkiErrorKind::PathLength:
      return "path length exceeded";
    case PkiErrorKind::WeakAlgorithm:
      return "weak algorithm";
    case PkiErrorKind::RevocationUnavailable:
      return "revocation status unavailable";
    case PkiErrorKind::Other:
      break;
  }
  return "error";
}

std::string PkiError::message() const {
  std::string out;
  if (!subject.empty())
    out = (kind == PkiErrorKind::Io ? "file \"" : "certificate \"") + subject + "\": ";
  out += name(kind);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

// --- files ------------------------------------------------------------------------------------

Result<Bytes, PkiError> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{PkiError{PkiErrorKind::Io, path, "cannot open file"}};
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Unexpected{PkiError{PkiErrorKind::Io, path, "read failed"}};
  return data;
}

bool looks_like_pem(ByteView data) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  if (data.empty() || data[0] == 0x30) return false;  // DER: a SEQUENCE
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  return text.find(kBegin) != std::string_view::npos;
}

// --- SubjectAltName ---------------------------------------------------------------------------

std::string SubjectAltName::to_string() const {
  std::string text(value.begin(), value.end());
  switch (type) {
    case Type::Dns:
      return "DNS:" + text;
    case Type::Email:
      return "email:" + text;
    case Type::Uri:
      return "URI:" + text;
    case Type::Ip:
      if (auto ip = IpAddress::from_bytes(value)) return "IP:" + ip->to_string();
      return "IP:" + to_hex(value);
    case Type::DirectoryName: {
      mbedtls_x509_name name{};
      unsigned char* p = const_cast<unsigned char*>(value.data());
      std::string out = "DN:" + to_hex(value);
      // Skip the outer SEQUENCE header: mbedtls_x509_get_name reads the RDN SETs.
      size_t len = 0;
      if (mbedtls_asn1_get_tag(&p, p + value.size(), &len,
                               MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) == 0 &&
          mbedtls_x509_get_name(&p, p + len, &name) == 0)
        out = "DN:" + detail::dn_text(name);
      for (mbedtls_x509_name* n = name.next; n;) {  // the first node is ours, the rest allocated
        mbedtls_x509_name* next = n->next;
        mbedtls_free(n);
        n = next;
      }
      return out;
    }
    case Type::Other:
      break;
  }
  return "other:" + to_hex(value);
}

// --- Certificate ------------------------------------------------------------------------------

void Certificate::Deleter::operator()(mbedtls_x509_crt* crt) const {
  mbedtls_x509_crt_free(crt);
  delete crt;
}

Certificate::Certificate(std::unique_ptr<mbedtls_x509_crt, Deleter> crt) : crt_(std::move(crt)) {}
Certificate::Certificate(Certificate&&) noexcept = default;
Certificate& Certificate::operator=(Certificate&&) noexcept = default;
Certificate::~Certificate() = default;

Result<Certificate, PkiError> Certificate::from_der(ByteView der) {
  std::unique_ptr<mbedtls_x509_crt, Deleter> crt(new mbedtls_x509_crt);
  mbedtls_x509_crt_init(crt.get());
  int rc = mbedtls_x509_crt_parse_der(crt.get(), der.data(), der.size());
  if (rc != 0)
    return Unexpected{PkiError{PkiErrorKind::Parse, "",
                               "not a DER certificate (" + detail::mbedtls_reason(rc) + ")"}};
  // mbedtls_x509_crt_parse_der ignores anything after the certificate's SEQUENCE.
  if (crt->raw.len != der.size())
    return Unexpected{PkiError{PkiErrorKind::Parse, "", "trailing data after the certificate"}};
  return Certificate(std::move(crt));
}

Result<std::vector<Certificate>, PkiError> Certificate::parse_all(ByteView data) {
  std::vector<Certificate> out;
  if (!looks_like_pem(data)) {
    auto one = from_der(data);
    if (!one) return Unexpected{one.error()};
    out.push_back(std::move(*one));
    return out;
  }
  // mbedTLS wants PEM NUL-terminated, with the NUL counted in the length.
  std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  mbedtls_x509_crt chain;
  mbedtls_x509_crt_init(&chain);
  int rc = mbedtls_x509_crt_parse(&chain, reinterpret_cast<const unsigned char*>(text.c_str()),
                                  text.size() + 1);
  if (rc != 0) {
    mbedtls_x509_crt_free(&chain);
    std::string why = rc > 0 ? std::to_string(rc) + " PEM certificate(s) did not parse"
                             : "no PEM certificate (" + detail::mbedtls_reason(rc) + ")";
    return Unexpected{PkiError{PkiErrorKind::Parse, "", why}};
  }
  for (mbedtls_x509_crt* c = &chain; c && c->raw.p; c = c->next) {
    auto one = from_der(ByteView(c->raw.p, c->raw.len));
    if (!one) {
      mbedtls_x509_crt_free(&chain);
      return Unexpected{one.error()};
    }
    out.push_back(std::move(*one));
  }
  mbedtls_x509_crt_free(&chain);
  if (out.empty()) return Unexpected{PkiError{PkiErrorKind::Parse, "", "no certificate found"}};
  return out;
}

Result<Certificate, PkiError> Certificate::parse(ByteView data) {
  auto all = parse_all(data);
  if (!all) return Unexpected{all.error()};
  if (all->size() != 1)
    return Unexpected{
        PkiError{PkiErrorKind::Parse, "",
                 std::to_string(all->size()) + " certificates where one was expected"}};
  return std::move(all->front());
}

Result<Certificate, PkiError> Certificate::from_pem(std::string_view pem) {
  ByteView data(reinterpret_cast<const uint8_t*>(pem.data()), pem.size());
  if (!looks_like_pem(data))
    return Unexpected{PkiError{PkiErrorKind::Parse, "", "no PEM certificate"}};
  return parse(data);
}

namespace {

template <class T>
Result<T, PkiError> with_path(Result<T, PkiError> r, const std::string& path) {
  if (r) return r;
  PkiError e = r.error();
  if (e.kind != PkiErrorKind::Io) e.detail = path + ": " + e.detail;
  return Unexpected{std::move(e)};
}

}  // namespace

Result<Certificate, PkiError> Certificate::load(const std::string& path) {
  auto data = read_file(path);
  if (!data) return Unexpected{data.error()};
  return with_path(parse(*data), path);
}

Result<std::vector<Certificate>, PkiError> Certificate::load_all(const std::string& path) {
  auto data = read_file(path);
  if (!data) return Unexpected{data.error()};
  return with_path(parse_all(*data), path);
}

Certificate Certificate::clone() const {
  auto copy = from_der(der());
  if (!copy) std::abort();  // the same bytes parsed before: only an allocation can fail
  return std::move(*copy);
}

ByteView Certificate::der() const {
  return ByteView(crt_->raw.p, crt_->raw.len);
}

CertPayload Certificate::cert_payload() const {
  ByteView d = der();
  return CertPayload{CertEncoding::X509_SIGNATURE, Bytes(d.begin(), d.end())};
}

std::string Certificate::subject() const {
  return detail::dn_text(crt_->subject);
}
ByteView Certificate::subject_der() const {
  return ByteView(crt_->subject_raw.p, crt_->subject_raw.len);
}
std::string Certificate::issuer() const {
  return detail::dn_text(crt_->issuer);
}
ByteView Certificate::issuer_der() const {
  return ByteView(crt_->issuer_raw.p, crt_->issuer_raw.len);
}
ByteView Certificate::serial() const {
  return ByteView(crt_->serial.p, crt_->serial.len);
}

std::string Certificate::serial_text() const {
  std::string hex = to_hex(serial()), out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

bool Certificate::is_self_issued() const {
  return der::names_equal(subject_der(), issuer_der());
}

TimePoint Certificate::not_before() const {
  return detail::to_time_point(crt_->valid_from);
}
TimePoint Certificate::not_after() const {
  return detail::to_time_point(crt_->valid_to);
}
bool Certificate::valid_at(TimePoint now) const {
  return not_before() <= now && now <= not_after();
}

bool Certificate::is_ca() const {
  return crt_->ca_istrue != 0;
}

std::optional<unsigned> Certificate::path_len_constraint() const {
  // mbedTLS stores pathLenConstraint + 1, and 0 for "absent".
  if (!is_ca() || crt_->max_pathlen <= 0) return std::nullopt;
  return static_cast<unsigned>(crt_->max_pathlen - 1);
}

std::optional<uint32_t> Certificate::key_usage() const {
  if (!(crt_->ext_types & MBEDTLS_X509_EXT_KEY_USAGE)) return std::nullopt;
  return crt_->key_usage;
}

bool Certificate::key_usage_allows(uint32_t usage) const {
  auto ku = key_usage();
  return !ku || (*ku & usage) == usage;
}

std::vector<SubjectAltName> Certificate::subject_alt_names() const {
  static const uint8_t kSanOid[] = {0x55, 0x1d, 0x11};  // 2.5.29.17
  std::vector<SubjectAltName> out;
  auto ext = der::find_extension(ByteView(crt_->tbs.p, crt_->tbs.len), kSanOid);
  if (!ext) return out;
  ByteView in = ext->value;
  der::Tlv names;
  if (!der::read(in, der::kSequence, names)) return out;  // mbedTLS already checked the syntax
  ByteView rest = names.value;
  der::Tlv gn;
  while (!rest.empty() && der::read(rest, gn)) {
    SubjectAltName san;
    switch (gn.tag) {
      case 0x81:
        san.type = SubjectAltName::Type::Email;
        break;
      case 0x82:
        san.type = SubjectAltName::Type::Dns;
        break;
      case 0x86:
        san.type = SubjectAltName::Type::Uri;
        break;
      case 0x87:
        san.type = SubjectAltName::Type::Ip;
        break;
      case 0xa4:
        san.type = SubjectAltName::Type::DirectoryName;
        break;
      default:
        san.type = SubjectAltName::Type::Other;
        san.value.assign(gn.whole.begin(), gn.whole.end());
        out.push_back(std::move(san));
        continue;
    }
    san.value.assign(gn.value.begin(), gn.value.end());
    out.push_back(std::move(san));
  }
  return out;
}

std::optional<Bytes> Certificate::subject_key_identifier() const {
  static const uint8_t kSkiOid[] = {0x55, 0x1d, 0x0e};  // 2.5.29.14
  auto ext = der::find_extension(ByteView(crt_->tbs.p, crt_->tbs.len), kSkiOid);
  if (!ext) return std::nullopt;
  ByteView in = ext->value;
  der::Tlv id;
  if (!der::read(in, der::kOctetString, id)) return std::nullopt;
  return Bytes(id.value.begin(), id.value.end());
}

ByteView Certificate::public_key_info() const {
  return ByteView(crt_->pk_raw.p, crt_->pk_raw.len);
}

Sha1Digest Certificate::public_key_info_sha1() const {
  return detail::sha1(public_key_info());
}

Sha1Digest Certificate::public_key_sha1() const {
  ByteView in = public_key_info();
  der::Tlv spki, algorithm, key;
  if (der::read(in, der::kSequence, spki)) {
    ByteView fields = spki.value;
    if (der::read(fields, der::kSequence, algorithm) && der::read(fields, der::kBitString, key) &&
        !key.value.empty())
      return detail::sha1(key.value.subspan(1));  // skip the unused-bits count
  }
  return detail::sha1(public_key_info());  // unreachable for a key mbedTLS parsed
}

Sha1Digest Certificate::fingerprint_sha1() const {
  return detail::sha1(der());
}

KeyType Certificate::key_type() const {
  switch (mbedtls_pk_get_type(&crt_->pk)) {
    case MBEDTLS_PK_RSA:
      return KeyType::Rsa;
    case MBEDTLS_PK_ECKEY:
    case MBEDTLS_PK_ECDSA:
      return KeyType::Ecdsa;
    default:
      return KeyType::Other;
  }
}

size_t Certificate::key_bits() const {
  return mbedtls_pk_get_bitlen(&crt_->pk);
}

mbedtls_pk_context& Certificate::public_key() const {
  return crt_->pk;
}

const mbedtls_x509_crt& Certificate::native() const {
  return *crt_;
}

}  // namespace ikeme::ike::pki

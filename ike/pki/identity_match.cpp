#include "ike/pki/identity_match.hpp"

#include <algorithm>

#include "ike/pki/der.hpp"

namespace ikeme::ike::pki {
namespace {

bool same(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool same_ignoring_case(ByteView a, ByteView b) {
  auto lower = [](uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [&](uint8_t x, uint8_t y) { return lower(x) == lower(y); });
}

bool any_san(const Certificate& cert, SubjectAltName::Type type, ByteView data, bool ignore_case) {
  for (const auto& san : cert.subject_alt_names()) {
    if (san.type != type) continue;
    if (ignore_case ? same_ignoring_case(san.value, data) : same(san.value, data)) return true;
  }
  return false;
}

}  // namespace

bool certificate_matches_identity(const Certificate& cert, const Identity& id) {
  if (id.is_any() || id.data().empty()) return false;
  ByteView data = id.data();
  switch (id.type()) {
    case IdType::ID_FQDN:
      return any_san(cert, SubjectAltName::Type::Dns, data, true);
    case IdType::ID_RFC822_ADDR:
      return any_san(cert, SubjectAltName::Type::Email, data, true);
    case IdType::ID_IPV4_ADDR:
      return data.size() == 4 && any_san(cert, SubjectAltName::Type::Ip, data, false);
    case IdType::ID_IPV6_ADDR:
      return data.size() == 16 && any_san(cert, SubjectAltName::Type::Ip, data, false);
    case IdType::ID_DER_ASN1_DN: {
      if (der::names_equal(cert.subject_der(), data)) return true;
      for (const auto& san : cert.subject_alt_names())
        if (san.type == SubjectAltName::Type::DirectoryName && der::names_equal(san.value, data))
          return true;
      return false;
    }
    case IdType::ID_KEY_ID: {
      if (same(cert.fingerprint_sha1(), data) || same(cert.public_key_info_sha1(), data) ||
          same(cert.public_key_sha1(), data))
        return true;
      auto ski = cert.subject_key_identifier();
      return ski && same(*ski, data);
    }
    default:
      return false;
  }
}

}  // namespace ikeme::ike::pki

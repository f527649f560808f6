#pragma once
// A minimal, bounds-checked DER reader for the parts of X.509 that mbedTLS 2.28 does not expose
// (subjectAltName entries of every type, subjectKeyIdentifier, CRL entry reason codes) and for
// comparing distinguished names. Every read is checked against its span; malformed input makes
// a function fail, never read out of bounds.

#include <cstdint>
#include <optional>
#include <string>

#include "ike/codec/bytes.hpp"

namespace ikeme::ike::pki::der {

inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kBitString = 0x03;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kEnumerated = 0x0a;

struct Tlv {
  uint8_t tag = 0;
  ByteView value;  // the contents
  ByteView whole;  // tag, length and contents
};

// Reads one TLV (single-byte tags, definite lengths up to 4 bytes) from the front of `in` and
// advances `in` past it.
bool read(ByteView& in, Tlv& out);
// Reads one TLV that must have `tag`.
bool read(ByteView& in, uint8_t tag, Tlv& out);

struct Extension {
  bool critical = false;
  ByteView value;  // the contents of extnValue's OCTET STRING
};
// The extension with `oid` (the OID's contents bytes) in a TBSCertificate (its full DER).
std::optional<Extension> find_extension(ByteView tbs_certificate, ByteView oid);

// Compares two DER Names: the same RDN sequence, each attribute with the same type and value.
// Values of the string types (UTF8String, PrintableString, IA5String, TeletexString) compare
// ASCII-case-insensitively with leading/trailing spaces ignored and inner runs of spaces
// collapsed (RFC 5280 §7.1 in its ASCII subset); other values compare byte for byte.
bool names_equal(ByteView a, ByteView b);

// "2.5.29.17" from OID contents bytes ("" if malformed).
std::string oid_text(ByteView oid);

}  // namespace ikeme::ike::pki::der

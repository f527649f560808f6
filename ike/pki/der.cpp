#include "ike/pki/der.hpp"

#include <algorithm>
#include <vector>

namespace ikeme::ike::pki::der {

bool read(ByteView& in, Tlv& out) {
  ByteReader r(in);
  uint8_t tag = 0, first = 0;
  if (!r.u8(tag) || !r.u8(first)) return false;
  if ((tag & 0x1f) == 0x1f) return false;  // multi-byte tags do not occur in what we read
  size_t length = first;
  if (first & 0x80) {
    size_t n = first & 0x7f;
    if (n == 0 || n > 4) return false;  // indefinite lengths are not DER
    length = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t b = 0;
      if (!r.u8(b)) return false;
      length = length << 8 | b;
    }
  }
  ByteView value;
  size_t header = r.position();
  if (!r.view(length, value)) return false;
  out.tag = tag;
  out.value = value;
  out.whole = in.subspan(0, header + length);
  in = in.subspan(header + length);
  return true;
}

bool read(ByteView& in, uint8_t tag, Tlv& out) {
  ByteView copy = in;
  if (!read(copy, out) || out.tag != tag) return false;
  in = copy;
  return true;
}

std::optional<Extension> find_extension(ByteView tbs_certificate, ByteView oid) {
  Tlv tbs;
  if (!read(tbs_certificate, kSequence, tbs)) return std::nullopt;
  ByteView fields = tbs.value;
  Tlv field;
  while (!fields.empty()) {
    if (!read(fields, field)) return std::nullopt;
    if (field.tag != 0xa3) continue;  // [3] EXPLICIT Extensions
    ByteView inner = field.value;
    Tlv list;
    if (!read(inner, kSequence, list)) return std::nullopt;
    ByteView exts = list.value;
    while (!exts.empty()) {
      Tlv ext, id, value;
      if (!read(exts, kSequence, ext)) return std::nullopt;
      ByteView e = ext.value;
      if (!read(e, kOid, id)) return std::nullopt;
      Extension out;
      Tlv critical;
      if (read(e, kBoolean, critical))
        out.critical = critical.value.size() == 1 && critical.value[0];
      if (!read(e, kOctetString, value)) return std::nullopt;
      if (std::equal(id.value.begin(), id.value.end(), oid.begin(), oid.end())) {
        out.value = value.value;
        return out;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

namespace {

bool is_string_tag(uint8_t tag) {
  return tag == 0x0c || tag == 0x13 || tag == 0x16 || tag == 0x14;
}

std::string normalized(ByteView v) {
  std::string out;
  bool space = false;
  for (uint8_t c : v) {
    if (c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

struct Attribute {
  ByteView type;
  uint8_t tag = 0;
  ByteView value;
};

bool attributes_equal(const Attribute& a, const Attribute& b) {
  if (!std::equal(a.type.begin(), a.type.end(), b.type.begin(), b.type.end())) return false;
  if (is_string_tag(a.tag) && is_string_tag(b.tag))
    return normalized(a.value) == normalized(b.value);
  return a.tag == b.tag &&
         std::equal(a.value.begin(), a.value.end(), b.value.begin(), b.value.end());
}

// Name -> RDNs -> attributes; nullopt if malformed.
std::optional<std::vector<std::vector<Attribute>>> parse_name(ByteView name) {
  Tlv seq;
  if (!read(name, kSequence, seq) || !name.empty()) return std::nullopt;
  std::vector<std::vector<Attribute>> rdns;
  ByteView rest = seq.value;
  while (!rest.empty()) {
    Tlv set;
    if (!read(rest, kSet, set)) return std::nullopt;
    std::vector<Attribute> rdn;
    ByteView atvs = set.value;
    while (!atvs.empty()) {
      Tlv atv, type, value;
      if (!read(atvs, kSequence, atv)) return std::nullopt;
      ByteView a = atv.value;
      if (!read(a, kOid, type) || !read(a, value) || !a.empty()) return std::nullopt;
      rdn.push_back({type.value, value.tag, value.value});
    }
    if (rdn.empty()) return std::nullopt;
    rdns.push_back(std::move(rdn));
  }
  return rdns;
}

}  // namespace

bool names_equal(ByteView a, ByteView b) {
  if (std::equal(a.begin(), a.end(), b.begin(), b.end())) return true;
  auto x = parse_name(a), y = parse_name(b);
  if (!x || !y || x->size() != y->size()) return false;
  for (size_t i = 0; i < x->size(); ++i) {
    const auto &p = (*x)[i], &q = (*y)[i];
    if (p.size() != q.size()) return false;
    // A multi-valued RDN is a SET: every attribute of one must be in the other.
    for (const auto& attr : p)
      if (std::none_of(q.begin(), q.end(),
                       [&](const Attribute& o) { return attributes_equal(attr, o); }))
        return false;
  }
  return true;
}

std::string oid_text(ByteView oid) {
  std::vector<uint64_t> ids;
  uint64_t v = 0;
  for (size_t i = 0; i < oid.size(); ++i) {
    if (v >> 56) return "";
    v = v << 7 | (oid[i] & 0x7f);
    if (!(oid[i] & 0x80)) {
      ids.push_back(v);
      v = 0;
    } else if (i + 1 == oid.size()) {
      return "";
    }
  }
  if (ids.empty()) return "";
  uint64_t first = std::min<uint64_t>(ids[0] / 40, 2);
  std::string out = std::to_string(first) + "." + std::to_string(ids[0] - first * 40);
  for (size_t i = 1; i < ids.size(); ++i) out += "." + std::to_string(ids[i]);
  return out;
}

}  // namespace ikeme::ike::pki::der

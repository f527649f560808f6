#include "ike/codec/payload_parse.hpp"

#include <algorithm>

namespace ikeme::ike::detail {
namespace {

// Builds INVALID_SYNTAX errors located at a payload and an offset.
class Fail {
 public:
  Fail(PayloadType payload, size_t offset) : payload_(payload), offset_(offset) {}
  Unexpected<ParseError> operator()(ParseErrorKind kind, std::string detail,
                                    size_t at = SIZE_MAX) const {
    ParseError e;
    e.kind = kind;
    e.answer = NotifyType::INVALID_SYNTAX;
    e.payload = payload_;
    e.offset = at == SIZE_MAX ? offset_ : at;
    e.detail = std::move(detail);
    return Unexpected{std::move(e)};
  }

 private:
  PayloadType payload_;
  size_t offset_;
};

std::string num(size_t v) {
  return std::to_string(v);
}

Result<PayloadBody, ParseError> parse_sa(ByteView body, size_t offset) {
  Fail fail(PayloadType::SA, offset);
  ByteReader r(body);
  SaPayload sa;
  if (r.empty()) return fail(ParseErrorKind::Truncated, "SA payload holds no proposal");
  bool more = true;
  while (more) {
    size_t at = offset + r.position();
    uint8_t last = 0, reserved = 0, number = 0, protocol = 0, spi_size = 0, count = 0;
    uint16_t length = 0;
    if (!r.u8(last) || !r.u8(reserved) || !r.u16(length))
      return fail(ParseErrorKind::Truncated, "proposal header cut short", at);
    if (last != 0 && last != 2)
      return fail(ParseErrorKind::BadValue,
                  "proposal Last Substruc is " + num(last) + ", not 0 or 2", at);
    if (length < 8)
      return fail(ParseErrorKind::LengthMismatch, "proposal length " + num(length) + " < 8", at);
    ByteView pbytes;
    if (!r.view(length - 4, pbytes))
      return fail(ParseErrorKind::Truncated,
                  "proposal length " + num(length) + " overruns the SA payload", at);
    more = last == 2;
    if (more && r.empty())
      return fail(ParseErrorKind::Truncated, "proposal says more follow but the SA payload ends",
                  at);
    if (!more && !r.empty())
      return fail(ParseErrorKind::TrailingData, "bytes after the last proposal", at);

    ByteReader p(pbytes);
    (void)p.u8(number);
    (void)p.u8(protocol);
    (void)p.u8(spi_size);
    (void)p.u8(count);
    Proposal prop;
    prop.number = number;
    prop.protocol = static_cast<ProtocolId>(protocol);
    if (protocol < 1 || protocol > 3)
      return fail(ParseErrorKind::BadValue, "proposal protocol ID " + num(protocol) + " unknown",
                  at);
    bool spi_ok =
        prop.protocol == ProtocolId::IKE ? (spi_size == 0 || spi_size == 8) : spi_size == 4;
    if (!spi_ok)
      return fail(ParseErrorKind::BadValue,
                  "SPI size " + num(spi_size) + " invalid for protocol " + name(prop.protocol), at);
    if (!p.bytes(spi_size, prop.spi))
      return fail(ParseErrorKind::Truncated, "proposal SPI cut short", at);
    if (count == 0) return fail(ParseErrorKind::BadValue, "proposal has no transforms", at);

    for (unsigned i = 0; i < count; ++i) {
      size_t tat = at + 4 + p.position();
      uint8_t tlast = 0, tres = 0, ttype = 0, tres2 = 0;
      uint16_t tlen = 0, tid = 0;
      if (!p.u8(tlast) || !p.u8(tres) || !p.u16(tlen))
        return fail(ParseErrorKind::Truncated,
                    "transform " + num(i + 1) + " of " + num(count) + " missing", tat);
      if (tlast != 0 && tlast != 3)
        return fail(ParseErrorKind::BadValue, "transform Last Substruc is " + num(tlast), tat);
      if ((tlast == 0) != (i + 1 == count))
        return fail(ParseErrorKind::BadValue,
                    "transform Last Substruc disagrees with the transform count " + num(count),
                    tat);
      if (tlen < 8)
        return fail(ParseErrorKind::LengthMismatch, "transform length " + num(tlen) + " < 8", tat);
      ByteView tbytes;
      if (!p.view(tlen - 4, tbytes))
        return fail(ParseErrorKind::Truncated, "transform length overruns the proposal", tat);
      ByteReader t(tbytes);
      (void)t.u8(ttype);
      (void)t.u8(tres2);
      (void)t.u16(tid);
      Transform tr;
      tr.type = static_cast<TransformType>(ttype);
      tr.id = tid;
      while (!t.empty()) {
        size_t aat = tat + 4 + t.position();  // t starts after the 4-byte substructure header
        uint16_t af_type = 0, value = 0;
        if (!t.u16(af_type) || !t.u16(value))
          return fail(ParseErrorKind::Truncated, "transform attribute cut short", aat);
        TransformAttribute a;
        a.type = af_type & 0x7fff;
        a.tv = af_type & 0x8000;
        if (a.tv) {
          a.value = value;
        } else if (!t.bytes(value, a.data)) {
          return fail(ParseErrorKind::Truncated, "TLV attribute length overruns the transform",
                      aat);
        }
        tr.attributes.push_back(std::move(a));
      }
      prop.transforms.push_back(std::move(tr));
    }
    if (!p.empty())
      return fail(ParseErrorKind::TrailingData,
                  "proposal length leaves " + num(p.remaining()) + " bytes after its transforms",
                  at);
    sa.proposals.push_back(std::move(prop));
  }
  return PayloadBody{std::move(sa)};
}

Result<PayloadBody, ParseError> parse_ke(ByteView body, size_t offset) {
  Fail fail(PayloadType::KE, offset);
  ByteReader r(body);
  uint16_t group = 0, reserved = 0;
  if (!r.u16(group) || !r.u16(reserved))
    return fail(ParseErrorKind::Truncated, "KE payload shorter than its 4-byte header");
  KePayload ke;
  ke.group = static_cast<DhGroup>(group);
  ByteView data = r.rest();
  ke.data.assign(data.begin(), data.end());
  if (ke.data.empty())
    return fail(ParseErrorKind::LengthMismatch, "KE payload carries no key data");
  size_t expected = ke_data_length(ke.group);
  if (expected != 0 && ke.data.size() != expected)
    return fail(ParseErrorKind::LengthMismatch, "KE data length " + num(ke.data.size()) +
                                                    " does not match group " + name(ke.group) +
                                                    " (" + num(expected) + " bytes)");
  return PayloadBody{std::move(ke)};
}

Result<PayloadBody, ParseError> parse_id(PayloadType type, ByteView body, size_t offset) {
  Fail fail(type, offset);
  ByteReader r(body);
  uint8_t id_type = 0;
  if (!r.u8(id_type) || !r.skip(3))
    return fail(ParseErrorKind::Truncated, "ID payload shorter than its 4-byte header");
  IdPayload id;
  id.id_type = static_cast<IdType>(id_type);
  ByteView data = r.rest();
  id.data.assign(data.begin(), data.end());
  if (id.data.empty()) return fail(ParseErrorKind::LengthMismatch, "empty identification data");
  if (id.id_type == IdType::ID_IPV4_ADDR && id.data.size() != 4)
    return fail(ParseErrorKind::LengthMismatch,
                "ID_IPV4_ADDR with " + num(id.data.size()) + " bytes");
  if (id.id_type == IdType::ID_IPV6_ADDR && id.data.size() != 16)
    return fail(ParseErrorKind::LengthMismatch,
                "ID_IPV6_ADDR with " + num(id.data.size()) + " bytes");
  return PayloadBody{std::move(id)};
}

Result<PayloadBody, ParseError> parse_cert(PayloadType type, ByteView body, size_t offset) {
  Fail fail(type, offset);
  ByteReader r(body);
  uint8_t enc = 0;
  if (!r.u8(enc)) return fail(ParseErrorKind::Truncated, "no certificate encoding byte");
  CertPayload c;
  c.encoding = static_cast<CertEncoding>(enc);
  ByteView data = r.rest();
  c.data.assign(data.begin(), data.end());
  if (type == PayloadType::CERT && c.data.empty())
    return fail(ParseErrorKind::LengthMismatch, "CERT payload without certificate data");
  // CERTREQ for X.509 lists SHA-1 hashes of CA public keys (RFC 7296 §3.7).
  if (type == PayloadType::CERTREQ && c.encoding == CertEncoding::X509_SIGNATURE &&
      c.data.size() % 20 != 0)
    return fail(ParseErrorKind::LengthMismatch,
                "CERTREQ authority list of " + num(c.data.size()) + " bytes is not SHA-1 sized");
  return PayloadBody{std::move(c)};
}

Result<PayloadBody, ParseError> parse_auth(ByteView body, size_t offset) {
  Fail fail(PayloadType::AUTH, offset);
  ByteReader r(body);
  uint8_t method = 0;
  if (!r.u8(method) || !r.skip(3))
    return fail(ParseErrorKind::Truncated, "AUTH payload shorter than its 4-byte header");
  AuthPayload a;
  a.method = static_cast<AuthMethod>(method);
  ByteView data = r.rest();
  a.data.assign(data.begin(), data.end());
  if (a.data.empty()) return fail(ParseErrorKind::LengthMismatch, "AUTH payload without data");
  return PayloadBody{std::move(a)};
}

Result<PayloadBody, ParseError> parse_nonce(ByteView body, size_t offset) {
  // RFC 7296 §3.9: between 16 and 256 octets.
  if (body.size() < 16 || body.size() > 256)
    return Fail(PayloadType::NONCE, offset)(
        ParseErrorKind::LengthMismatch,
        "nonce of " + num(body.size()) + " bytes (16..256 allowed)");
  return PayloadBody{NoncePayload{Bytes(body.begin(), body.end())}};
}

Result<PayloadBody, ParseError> parse_notify(ByteView body, size_t offset) {
  Fail fail(PayloadType::NOTIFY, offset);
  ByteReader r(body);
  uint8_t protocol = 0, spi_size = 0;
  uint16_t type = 0;
  if (!r.u8(protocol) || !r.u8(spi_size) || !r.u16(type))
    return fail(ParseErrorKind::Truncated, "Notify payload shorter than its 4-byte header");
  NotifyPayload n;
  n.protocol = static_cast<ProtocolId>(protocol);
  n.type = static_cast<NotifyType>(type);
  if (!r.bytes(spi_size, n.spi))
    return fail(ParseErrorKind::Truncated,
                "notify SPI size " + num(spi_size) + " overruns the payload");
  ByteView data = r.rest();
  n.data.assign(data.begin(), data.end());
  auto st = check_notify(n, offset);
  if (!st) return Unexpected{st.error()};
  return PayloadBody{std::move(n)};
}

Result<PayloadBody, ParseError> parse_delete(ByteView body, size_t offset) {
  Fail fail(PayloadType::DELETE, offset);
  ByteReader r(body);
  uint8_t protocol = 0, spi_size = 0;
  uint16_t count = 0;
  if (!r.u8(protocol) || !r.u8(spi_size) || !r.u16(count))
    return fail(ParseErrorKind::Truncated, "Delete payload shorter than its 4-byte header");
  DeletePayload d;
  d.protocol = static_cast<ProtocolId>(protocol);
  d.spi_size = spi_size;
  if (d.protocol == ProtocolId::IKE) {
    if (spi_size != 0 || count != 0)
      return fail(ParseErrorKind::BadValue, "IKE SA delete must carry no SPIs");
  } else if (d.protocol == ProtocolId::ESP || d.protocol == ProtocolId::AH) {
    if (spi_size != 4)
      return fail(ParseErrorKind::BadValue, "ESP/AH delete with SPI size " + num(spi_size));
    if (count == 0) return fail(ParseErrorKind::BadValue, "ESP/AH delete lists no SPI");
  } else {
    return fail(ParseErrorKind::BadValue, "delete for unknown protocol " + num(protocol));
  }
  if (r.remaining() != static_cast<size_t>(spi_size) * count)
    return fail(ParseErrorKind::LengthMismatch, num(count) + " SPIs of " + num(spi_size) +
                                                    " bytes do not fill " + num(r.remaining()) +
                                                    " bytes");
  for (unsigned i = 0; i < count; ++i) {
    Bytes spi;
    (void)r.bytes(spi_size, spi);
    d.spis.push_back(std::move(spi));
  }
  return PayloadBody{std::move(d)};
}

Result<PayloadBody, ParseError> parse_ts(PayloadType type, ByteView body, size_t offset) {
  Fail fail(type, offset);
  ByteReader r(body);
  uint8_t count = 0;
  if (!r.u8(count) || !r.skip(3))
    return fail(ParseErrorKind::Truncated, "TS payload shorter than its 4-byte header");
  if (count == 0) return fail(ParseErrorKind::BadValue, "TS payload with zero selectors");
  TsPayload ts;
  for (unsigned i = 0; i < count; ++i) {
    size_t at = offset + r.position();
    uint8_t ts_type = 0, proto = 0;
    uint16_t length = 0;
    TrafficSelector s;
    if (!r.u8(ts_type) || !r.u8(proto) || !r.u16(length) || !r.u16(s.start_port) ||
        !r.u16(s.end_port))
      return fail(ParseErrorKind::Truncated,
                  "traffic selector " + num(i + 1) + " of " + num(count) + " cut short", at);
    s.type = static_cast<TsType>(ts_type);
    s.ip_protocol = proto;
    size_t addr_len = 0;
    if (s.type == TsType::IPV4_ADDR_RANGE) {
      addr_len = 4;
    } else if (s.type == TsType::IPV6_ADDR_RANGE) {
      addr_len = 16;
    } else {
      return fail(ParseErrorKind::BadValue, "traffic selector type " + num(ts_type) + " unknown",
                  at);
    }
    if (length != 8 + 2 * addr_len)
      return fail(ParseErrorKind::LengthMismatch,
                  "selector length " + num(length) + ", expected " + num(8 + 2 * addr_len), at);
    if (!r.bytes(addr_len, s.start_address) || !r.bytes(addr_len, s.end_address))
      return fail(ParseErrorKind::Truncated, "selector addresses cut short", at);
    if (s.start_port > s.end_port && !s.opaque_ports())
      return fail(ParseErrorKind::BadValue,
                  "inverted port range " + num(s.start_port) + "-" + num(s.end_port), at);
    if (std::lexicographical_compare(s.end_address.begin(), s.end_address.end(),
                                     s.start_address.begin(), s.start_address.end()))
      return fail(ParseErrorKind::BadValue, "inverted address range", at);
    ts.selectors.push_back(std::move(s));
  }
  if (!r.empty())
    return fail(ParseErrorKind::TrailingData,
                num(r.remaining()) + " bytes after " + num(count) + " selectors");
  return PayloadBody{std::move(ts)};
}

Result<PayloadBody, ParseError> parse_sk(PayloadType next, ByteView body, size_t offset) {
  if (body.empty())
    return Fail(PayloadType::SK, offset)(ParseErrorKind::LengthMismatch, "empty SK payload");
  return PayloadBody{EncryptedPayload{next, Bytes(body.begin(), body.end())}};
}

Result<PayloadBody, ParseError> parse_skf(PayloadType next, ByteView body, size_t offset) {
  Fail fail(PayloadType::SKF, offset);
  ByteReader r(body);
  EncryptedFragmentPayload f;
  f.first_inner = next;
  if (!r.u16(f.number) || !r.u16(f.total))
    return fail(ParseErrorKind::Truncated, "SKF payload shorter than its 4-byte header");
  if (f.number == 0 || f.total == 0 || f.number > f.total)
    return fail(ParseErrorKind::BadValue,
                "fragment " + num(f.number) + " of " + num(f.total) + " is impossible");
  if (f.number != 1 && next != PayloadType::NONE)
    return fail(ParseErrorKind::BadValue, "Next Payload must be zero in a non-first fragment");
  ByteView data = r.rest();
  f.data.assign(data.begin(), data.end());
  if (f.data.empty()) return fail(ParseErrorKind::LengthMismatch, "empty encrypted fragment");
  return PayloadBody{std::move(f)};
}

// Value length rules for configuration attributes (RFC 7296 §3.15.1): a request may send an
// attribute empty; otherwise it has its fixed size.
bool cfg_length_ok(CfgAttr type, size_t len) {
  switch (type) {
    case CfgAttr::INTERNAL_IP4_ADDRESS:
    case CfgAttr::INTERNAL_IP4_NETMASK:
    case CfgAttr::INTERNAL_IP4_DNS:
    case CfgAttr::INTERNAL_IP4_NBNS:
    case CfgAttr::INTERNAL_IP4_DHCP:
      return len == 0 || len == 4;
    case CfgAttr::INTERNAL_IP6_ADDRESS:
    case CfgAttr::INTERNAL_IP6_SUBNET:
      return len == 0 || len == 17;
    case CfgAttr::INTERNAL_IP6_DNS:
    case CfgAttr::INTERNAL_IP6_DHCP:
      return len == 0 || len == 16;
    case CfgAttr::INTERNAL_IP4_SUBNET:
      return len == 0 || len == 8;
    case CfgAttr::SUPPORTED_ATTRIBUTES:
      return len % 2 == 0;
    default:
      return true;
  }
}

Result<PayloadBody, ParseError> parse_cp(ByteView body, size_t offset) {
  Fail fail(PayloadType::CP, offset);
  ByteReader r(body);
  uint8_t type = 0;
  if (!r.u8(type) || !r.skip(3))
    return fail(ParseErrorKind::Truncated, "CP payload shorter than its 4-byte header");
  if (type < 1 || type > 4)
    return fail(ParseErrorKind::BadValue, "CFG type " + num(type) + " unknown");
  ConfigPayload cp;
  cp.type = static_cast<CfgType>(type);
  while (!r.empty()) {
    size_t at = offset + r.position();
    uint16_t attr_type = 0, length = 0;
    if (!r.u16(attr_type) || !r.u16(length))
      return fail(ParseErrorKind::Truncated, "configuration attribute header cut short", at);
    ConfigAttribute a;
    a.type = static_cast<CfgAttr>(attr_type & 0x7fff);
    if (!r.bytes(length, a.value))
      return fail(ParseErrorKind::Truncated, "attribute length " + num(length) + " overruns CP",
                  at);
    if (!cfg_length_ok(a.type, a.value.size()))
      return fail(ParseErrorKind::LengthMismatch,
                  "configuration attribute " + num(static_cast<uint16_t>(a.type)) + " with " +
                      num(length) + " bytes",
                  at);
    cp.attributes.push_back(std::move(a));
  }
  return PayloadBody{std::move(cp)};
}

Result<PayloadBody, ParseError> parse_eap(ByteView body, size_t offset) {
  Fail fail(PayloadType::EAP, offset);
  ByteReader r(body);
  uint8_t code = 0, id = 0;
  uint16_t length = 0;
  if (!r.u8(code) || !r.u8(id) || !r.u16(length))
    return fail(ParseErrorKind::Truncated, "EAP message shorter than its 4-byte header");
  if (length != body.size())
    return fail(ParseErrorKind::LengthMismatch,
                "EAP length " + num(length) + " but the payload holds " + num(body.size()));
  if (code == 1 || code == 2) {
    if (length < 5) return fail(ParseErrorKind::Truncated, "EAP request/response without a type");
  } else if (code == 3 || code == 4) {
    if (length != 4) return fail(ParseErrorKind::LengthMismatch, "EAP success/failure with data");
  } else {
    return fail(ParseErrorKind::BadValue, "EAP code " + num(code) + " unknown");
  }
  return PayloadBody{EapPayload{Bytes(body.begin(), body.end())}};
}

Result<PayloadBody, ParseError> parse_vendor_id(ByteView body, size_t offset) {
  if (body.empty())
    return Fail(PayloadType::VENDOR_ID, offset)(ParseErrorKind::LengthMismatch, "empty Vendor ID");
  return PayloadBody{VendorIdPayload{Bytes(body.begin(), body.end())}};
}

}  // namespace

bool is_known_payload(PayloadType type) {
  switch (type) {
    case PayloadType::SA:
    case PayloadType::KE:
    case PayloadType::IDi:
    case PayloadType::IDr:
    case PayloadType::CERT:
    case PayloadType::CERTREQ:
    case PayloadType::AUTH:
    case PayloadType::NONCE:
    case PayloadType::NOTIFY:
    case PayloadType::DELETE:
    case PayloadType::VENDOR_ID:
    case PayloadType::TSi:
    case PayloadType::TSr:
    case PayloadType::SK:
    case PayloadType::CP:
    case PayloadType::EAP:
    case PayloadType::SKF:
    case PayloadType::IDp:
      return true;
    case PayloadType::NONE:
      return false;
  }
  return false;
}

Result<PayloadBody, ParseError> parse_payload_body(PayloadType type, PayloadType next,
                                                   ByteView body, size_t offset) {
  switch (type) {
    case PayloadType::SA:
      return parse_sa(body, offset);
    case PayloadType::KE:
      return parse_ke(body, offset);
    case PayloadType::IDi:
    case PayloadType::IDr:
    case PayloadType::IDp:
      return parse_id(type, body, offset);
    case PayloadType::CERT:
    case PayloadType::CERTREQ:
      return parse_cert(type, body, offset);
    case PayloadType::AUTH:
      return parse_auth(body, offset);
    case PayloadType::NONCE:
      return parse_nonce(body, offset);
    case PayloadType::NOTIFY:
      return parse_notify(body, offset);
    case PayloadType::DELETE:
      return parse_delete(body, offset);
    case PayloadType::VENDOR_ID:
      return parse_vendor_id(body, offset);
    case PayloadType::TSi:
    case PayloadType::TSr:
      return parse_ts(type, body, offset);
    case PayloadType::SK:
      return parse_sk(next, body, offset);
    case PayloadType::CP:
      return parse_cp(body, offset);
    case PayloadType::EAP:
      return parse_eap(body, offset);
    case PayloadType::SKF:
      return parse_skf(next, body, offset);
    case PayloadType::NONE:
      break;
  }
  return PayloadBody{UnknownPayload{Bytes(body.begin(), body.end())}};
}

}  // namespace ikeme::ike::detail

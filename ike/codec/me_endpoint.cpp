#include "ike/codec/me_endpoint.hpp"

#include <cstdio>

namespace ikeme::ike {
namespace {

Unexpected<ParseError> bad(ParseErrorKind kind, std::string detail) {
  ParseError e;
  e.kind = kind;
  e.answer = NotifyType::INVALID_SYNTAX;
  e.payload = PayloadType::NOTIFY;
  e.detail = "ME_ENDPOINT: " + std::move(detail);
  return Unexpected{std::move(e)};
}

}  // namespace

std::string name(EndpointType type) {
  switch (type) {
    case EndpointType::HOST:
      return "HOST";
    case EndpointType::PEER_REFLEXIVE:
      return "PEER_REFLEXIVE";
    case EndpointType::SERVER_REFLEXIVE:
      return "SERVER_REFLEXIVE";
    case EndpointType::RELAYED:
      return "RELAYED";
  }
  return "TYPE_" + std::to_string(static_cast<unsigned>(type));
}

Result<MeEndpoint, ParseError> parse_me_endpoint(ByteView data, FamilyNone family_none) {
  ByteReader r(data);
  uint8_t family = 0, type = 0;
  MeEndpoint ep;
  if (!r.u32(ep.priority) || !r.u8(family) || !r.u8(type) || !r.u16(ep.port))
    return bad(ParseErrorKind::Truncated,
               std::to_string(data.size()) + " bytes, at least 8 needed");
  if (type < 1 || type > 4) return bad(ParseErrorKind::BadValue, "type " + std::to_string(type));
  ep.type = static_cast<EndpointType>(type);
  size_t addr_len = family == 1 ? 4 : family == 2 ? 16 : 0;
  if (family > 2) return bad(ParseErrorKind::BadValue, "family " + std::to_string(family));
  if (r.remaining() != addr_len)
    return bad(ParseErrorKind::LengthMismatch,
               std::to_string(data.size()) + " bytes for family " + std::to_string(family));
  if (family == 0) {
    if (family_none == FamilyNone::Forbidden)
      return bad(ParseErrorKind::BadValue, "family 0 (no address) is not allowed here");
    if (ep.port != 0) return bad(ParseErrorKind::BadValue, "family 0 with a non-zero port");
    return ep;
  }
  ep.address = IpAddress::from_bytes(r.rest());
  return ep;
}

Bytes encode_me_endpoint(const MeEndpoint& ep) {
  Bytes out;
  ByteWriter w(out);
  w.u32(ep.priority);
  w.u8(static_cast<uint8_t>(ep.family()));
  w.u8(static_cast<uint8_t>(ep.type));
  w.u16(ep.address ? ep.port : 0);
  if (ep.address) w.bytes(ep.address->bytes());
  return out;
}

std::string MeEndpoint::to_string() const {
  char prio[16];
  std::snprintf(prio, sizeof prio, "0x%08x", priority);
  std::string where = address ? endpoint_string(*address, port) : std::string("(no address)");
  return name(type) + " " + where + " prio " + prio;
}

}  // namespace ikeme::ike

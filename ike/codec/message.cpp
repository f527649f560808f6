#include "ike/codec/message.hpp"

#include "ike/codec/payload_encode.hpp"
#include "ike/codec/payload_parse.hpp"

namespace ikeme::ike {
namespace {

Unexpected<ParseError> header_error(ParseErrorKind kind, NotifyType answer, std::string detail) {
  ParseError e;
  e.kind = kind;
  e.answer = answer;
  e.detail = std::move(detail);
  return Unexpected{std::move(e)};
}

bool is_encrypted(PayloadType t) {
  return t == PayloadType::SK || t == PayloadType::SKF;
}

}  // namespace

const Payload* Message::find(PayloadType type) const {
  for (const Payload& p : payloads)
    if (p.type == type) return &p;
  return nullptr;
}

const NotifyPayload* Message::find_notify(NotifyType type) const {
  for (const Payload& p : payloads)
    if (const auto* n = p.as<NotifyPayload>(); n && n->type == type) return n;
  return nullptr;
}

std::vector<const NotifyPayload*> Message::notifies(NotifyType type) const {
  std::vector<const NotifyPayload*> out;
  for (const Payload& p : payloads)
    if (const auto* n = p.as<NotifyPayload>(); n && n->type == type) out.push_back(n);
  return out;
}

Result<Header, ParseError> parse_header(ByteView datagram) {
  ByteReader r(datagram);
  Header h;
  uint8_t next = 0, exchange = 0;
  if (datagram.size() < kHeaderSize)
    return header_error(ParseErrorKind::Truncated, kNoNotify,
                        "datagram of " + std::to_string(datagram.size()) +
                            " bytes is shorter than the 28-byte IKE header");
  (void)r.u64(h.spi_i);
  (void)r.u64(h.spi_r);
  (void)r.u8(next);
  (void)r.u8(h.version);
  (void)r.u8(exchange);
  (void)r.u8(h.flags);
  (void)r.u32(h.message_id);
  (void)r.u32(h.length);
  h.next_payload = static_cast<PayloadType>(next);
  h.exchange = static_cast<ExchangeType>(exchange);
  if (h.major_version() < 2)
    return header_error(
        ParseErrorKind::Ikev1Message, kNoNotify,
        "IKE major version " + std::to_string(h.major_version()) + " (not IKEv2) is not handled");
  if (h.major_version() > 2)
    return header_error(ParseErrorKind::UnsupportedVersion, NotifyType::INVALID_MAJOR_VERSION,
                        "IKE major version " + std::to_string(h.major_version()));
  if (h.length > datagram.size())
    return header_error(ParseErrorKind::Truncated, kNoNotify,
                        "header length " + std::to_string(h.length) + " exceeds the " +
                            std::to_string(datagram.size()) + "-byte datagram");
  if (h.length < datagram.size())
    return header_error(ParseErrorKind::TrailingData, NotifyType::INVALID_SYNTAX,
                        "header length " + std::to_string(h.length) + " leaves " +
                            std::to_string(datagram.size() - h.length) + " bytes unaccounted");
  return h;
}

Result<std::vector<Payload>, ParseError> parse_payload_chain(PayloadType first, ByteView data,
                                                             size_t base_offset) {
  std::vector<Payload> payloads;
  ByteReader r(data);
  PayloadType type = first;
  while (type != PayloadType::NONE) {
    size_t at = base_offset + r.position();
    auto fail = [&](ParseErrorKind kind, std::string detail) {
      ParseError e;
      e.kind = kind;
      e.payload = type;
      e.offset = at;
      e.detail = std::move(detail);
      return Unexpected{std::move(e)};
    };
    uint8_t next = 0, flags = 0;
    uint16_t length = 0;
    if (!r.u8(next) || !r.u8(flags) || !r.u16(length))
      return fail(ParseErrorKind::Truncated, name(type) + " payload header cut short (" +
                                                 std::to_string(r.remaining()) + " bytes left)");
    // A length under 4 would make a naive parser loop or step backwards.
    if (length < kGenericPayloadHeaderSize)
      return fail(ParseErrorKind::LengthMismatch,
                  "payload length " + std::to_string(length) + " is below the 4-byte header");
    ByteView body;
    if (!r.view(length - kGenericPayloadHeaderSize, body))
      return fail(ParseErrorKind::Truncated,
                  "payload length " + std::to_string(length) + " overruns the message by " +
                      std::to_string(length - 4 - r.remaining()) + " bytes");
    bool critical = flags & 0x80;
    auto next_type = static_cast<PayloadType>(next);
    if (is_encrypted(type) && !r.empty())
      return fail(ParseErrorKind::BadPayloadOrder, name(type) + " must be the last payload");

    Payload p;
    p.type = type;
    p.critical = critical;
    if (!detail::is_known_payload(type) && critical) {
      ParseError e;
      e.kind = ParseErrorKind::UnsupportedCriticalPayload;
      e.answer = NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD;
      e.payload = type;
      e.offset = at;
      e.critical_payload_type = static_cast<uint8_t>(type);
      e.detail = "critical payload of unknown type " + std::to_string(static_cast<unsigned>(type));
      return Unexpected{std::move(e)};
    }
    auto body_result = detail::parse_payload_body(type, next_type, body, at + 4);
    if (!body_result) return Unexpected{body_result.error()};
    p.body = std::move(body_result.value());
    payloads.push_back(std::move(p));
    // SK/SKF's Next Payload names the first inner payload, not a following outer one.
    type = is_encrypted(type) ? PayloadType::NONE : next_type;
  }
  if (!r.empty()) {
    ParseError e;
    e.kind = ParseErrorKind::TrailingData;
    e.offset = base_offset + r.position();
    e.detail = std::to_string(r.remaining()) + " bytes after the last payload";
    return Unexpected{std::move(e)};
  }
  return payloads;
}

Result<Message, ParseError> parse_message(ByteView datagram) {
  auto header = parse_header(datagram);
  if (!header) return Unexpected{header.error()};
  Message m;
  m.header = *header;
  auto payloads =
      parse_payload_chain(m.header.next_payload, datagram.subspan(kHeaderSize), kHeaderSize);
  if (!payloads) return Unexpected{payloads.error()};
  m.payloads = std::move(payloads.value());
  return m;
}

Result<Bytes, EncodeError> encode_payload_chain(const std::vector<Payload>& payloads,
                                                PayloadType& first) {
  Bytes out;
  ByteWriter w(out);
  first = payloads.empty() ? PayloadType::NONE : payloads.front().type;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    PayloadType next = i + 1 < payloads.size() ? payloads[i + 1].type : PayloadType::NONE;
    if (is_encrypted(p.type)) {
      if (i + 1 != payloads.size())
        return Unexpected{EncodeError{name(p.type) + " must be the last payload"}};
      next = detail::first_inner_type(p);
    }
    size_t start = w.size();
    w.u8(static_cast<uint8_t>(next));
    w.u8(p.critical ? 0x80 : 0);
    w.u16(0);  // length, patched below
    auto st = detail::encode_payload_body(p, w);
    if (!st) return Unexpected{st.error()};
    size_t length = w.size() - start;
    if (length > 0xffff)
      return Unexpected{EncodeError{name(p.type) + " payload of " + std::to_string(length) +
                                    " bytes exceeds 65535"}};
    w.patch_u16(start + 2, static_cast<uint16_t>(length));
  }
  return out;
}

Result<Bytes, EncodeError> encode_message(const Message& m) {
  PayloadType first = PayloadType::NONE;
  auto body = encode_payload_chain(m.payloads, first);
  if (!body) return Unexpected{body.error()};
  Bytes out;
  out.reserve(kHeaderSize + body->size());
  ByteWriter w(out);
  w.u64(m.header.spi_i);
  w.u64(m.header.spi_r);
  w.u8(static_cast<uint8_t>(first));
  w.u8(m.header.version);
  w.u8(static_cast<uint8_t>(m.header.exchange));
  w.u8(m.header.flags);
  w.u32(m.header.message_id);
  w.u32(static_cast<uint32_t>(kHeaderSize + body->size()));
  w.bytes(*body);
  return out;
}

}  // namespace ikeme::ike

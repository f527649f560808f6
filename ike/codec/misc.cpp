// Small helpers shared by the codec: hex rendering, error text, payload constructors.

#include "ike/codec/bytes.hpp"
#include "ike/codec/parse_error.hpp"
#include "ike/codec/payloads.hpp"

namespace ikeme {

std::string to_hex(ByteView data) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (uint8_t b : data) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

namespace ike {

std::string name(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::Truncated:
      return "truncated";
    case ParseErrorKind::LengthMismatch:
      return "length mismatch";
    case ParseErrorKind::TrailingData:
      return "trailing data";
    case ParseErrorKind::BadValue:
      return "bad value";
    case ParseErrorKind::UnsupportedVersion:
      return "unsupported version";
    case ParseErrorKind::Ikev1Message:
      return "IKEv1 message";
    case ParseErrorKind::UnsupportedCriticalPayload:
      return "unsupported critical payload";
    case ParseErrorKind::BadPayloadOrder:
      return "bad payload order";
  }
  return "unknown";
}

std::string ParseError::to_string() const {
  std::string s = answer == kNoNotify ? std::string("drop") : name(answer);
  s += " (" + name(kind) + ") at offset " + std::to_string(offset);
  if (payload != PayloadType::NONE)
    s += " in " + ike::name(payload) + " payload";
  else
    s += " in IKE header";
  return s + ": " + detail;
}

std::optional<uint16_t> Transform::key_length() const {
  for (const TransformAttribute& a : attributes)
    if (a.type == kAttrKeyLength && a.tv) return a.value;
  return std::nullopt;
}

Payload make_notify(NotifyType type, Bytes data, ProtocolId protocol, Bytes spi) {
  return Payload{PayloadType::NOTIFY, false,
                 NotifyPayload{protocol, std::move(spi), type, std::move(data)}};
}

Payload make_id(PayloadType which, IdType id_type, Bytes data) {
  return Payload{which, false, IdPayload{id_type, std::move(data)}};
}

Payload make_nonce(Bytes data) {
  return Payload{PayloadType::NONCE, false, NoncePayload{std::move(data)}};
}

Payload make_ke(DhGroup group, Bytes data) {
  return Payload{PayloadType::KE, false, KePayload{group, std::move(data)}};
}

}  // namespace ike
}  // namespace ikeme

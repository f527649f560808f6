// Per-type rules for Notify payloads: data lengths, protocol and SPI constraints. They catch a
// peer's malformed notifies at the codec instead of deep inside the exchange logic.

#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/payload_parse.hpp"

namespace ikeme::ike::detail {
namespace {

struct LengthRule {
  NotifyType type;
  uint16_t min;
  uint16_t max;
};

// Types whose data length is fixed or bounded. Types not listed accept any length.
constexpr LengthRule kLengthRules[] = {
    {NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, 1, 1},
    {NotifyType::INVALID_MAJOR_VERSION, 0, 0},
    {NotifyType::INVALID_SYNTAX, 0, 0},
    {NotifyType::INVALID_MESSAGE_ID, 4, 4},
    {NotifyType::NO_PROPOSAL_CHOSEN, 0, 0},
    {NotifyType::INVALID_KE_PAYLOAD, 2, 2},
    {NotifyType::AUTHENTICATION_FAILED, 0, 0},
    {NotifyType::TS_UNACCEPTABLE, 0, 0},
    {NotifyType::INITIAL_CONTACT, 0, 0},
    {NotifyType::SET_WINDOW_SIZE, 4, 4},
    {NotifyType::IPCOMP_SUPPORTED, 3, 3},
    {NotifyType::NAT_DETECTION_SOURCE_IP, 20, 20},
    {NotifyType::NAT_DETECTION_DESTINATION_IP, 20, 20},
    {NotifyType::COOKIE, 1, 64},
    {NotifyType::USE_TRANSPORT_MODE, 0, 0},
    {NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED, 0, 0},
    {NotifyType::NON_FIRST_FRAGMENTS_ALSO, 0, 0},
    {NotifyType::MOBIKE_SUPPORTED, 0, 0},
    {NotifyType::ADDITIONAL_IP4_ADDRESS, 4, 4},
    {NotifyType::ADDITIONAL_IP6_ADDRESS, 16, 16},
    {NotifyType::NO_ADDITIONAL_ADDRESSES, 0, 0},
    {NotifyType::AUTH_LIFETIME, 4, 4},
    {NotifyType::MULTIPLE_AUTH_SUPPORTED, 0, 0},
    {NotifyType::ANOTHER_AUTH_FOLLOWS, 0, 0},
    {NotifyType::EAP_ONLY_AUTHENTICATION, 0, 0},
    {NotifyType::CHILDLESS_IKEV2_SUPPORTED, 0, 0},
    {NotifyType::IKEV2_MESSAGE_ID_SYNC_SUPPORTED, 0, 0},
    {NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, 0, 0},
    {NotifyType::SIGNATURE_HASH_ALGORITHMS, 2, 65535},
    {NotifyType::ME_MEDIATION, 0, 0},
    {NotifyType::ME_ENDPOINT, 8, 24},  // exactly 8, 12 or 24: checked structurally below
    {NotifyType::ME_CALLBACK, 0, 0},
    {NotifyType::ME_CONNECTID, 4, 16},
    {NotifyType::ME_CONNECTKEY, 16, 32},
    {NotifyType::ME_CONNECTAUTH, 20, 20},
    {NotifyType::ME_RESPONSE, 0, 0},
};

bool is_me_notify(NotifyType t) {
  auto v = static_cast<uint16_t>(t);
  return (v >= 40962 && v <= 40968) || t == NotifyType::ME_CONNECT_FAILED;
}

Unexpected<ParseError> bad(const NotifyPayload& n, size_t offset, ParseErrorKind kind,
                           std::string detail) {
  ParseError e;
  e.kind = kind;
  e.answer = NotifyType::INVALID_SYNTAX;
  e.payload = PayloadType::NOTIFY;
  e.offset = offset;
  e.detail = name(n.type) + ": " + std::move(detail);
  return Unexpected{std::move(e)};
}

}  // namespace

Status<ParseError> check_notify(const NotifyPayload& n, size_t offset) {
  auto protocol = static_cast<uint8_t>(n.protocol);
  if (protocol > 3)
    return bad(n, offset, ParseErrorKind::BadValue, "protocol ID " + std::to_string(protocol));
  // A CHILD_SA-related notify names an ESP/AH SPI of 4 bytes; IKE SA notifies carry none
  // (INVALID_SPI puts the SPI in the data, not the SPI field).
  if (n.protocol == ProtocolId::ESP || n.protocol == ProtocolId::AH) {
    if (!n.spi.empty() && n.spi.size() != 4)
      return bad(n, offset, ParseErrorKind::BadValue,
                 "SPI size " + std::to_string(n.spi.size()) + " for " + name(n.protocol));
  }
  if (n.type == NotifyType::REKEY_SA && n.spi.size() != 4)
    return bad(n, offset, ParseErrorKind::BadValue, "REKEY_SA needs a 4-byte SPI");
  if (is_me_notify(n.type) && (n.protocol != ProtocolId::NONE || !n.spi.empty()))
    return bad(n, offset, ParseErrorKind::BadValue, "IKE-ME notifies carry protocol 0 and no SPI");

  for (const LengthRule& rule : kLengthRules) {
    if (rule.type != n.type) continue;
    if (n.data.size() < rule.min || n.data.size() > rule.max) {
      std::string want = rule.min == rule.max
                             ? std::to_string(rule.min)
                             : std::to_string(rule.min) + ".." + std::to_string(rule.max);
      return bad(n, offset, ParseErrorKind::LengthMismatch,
                 "data of " + std::to_string(n.data.size()) + " bytes, expected " + want);
    }
    break;
  }
  if (n.type == NotifyType::SIGNATURE_HASH_ALGORITHMS && n.data.size() % 2 != 0)
    return bad(n, offset, ParseErrorKind::LengthMismatch, "odd length");
  if (n.type == NotifyType::ME_ENDPOINT) {
    // Structure only; whether family 0 is allowed depends on the exchange (see me_rules).
    auto ep = parse_me_endpoint(n.data, FamilyNone::Allowed);
    if (!ep) {
      ParseError e = ep.error();
      e.offset = offset;
      return Unexpected{std::move(e)};
    }
  }
  return {};
}

}  // namespace ikeme::ike::detail

#include "ice/check_message.hpp"

#include "ice/connect_auth.hpp"
#include "ike/codec/framing.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/message.hpp"

namespace ikeme::ice {
namespace {

Unexpected<ike::ParseError> bad(std::string detail) {
  ike::ParseError e;
  e.kind = ike::ParseErrorKind::BadValue;
  e.answer = ike::kNoNotify;
  e.payload = ike::PayloadType::NOTIFY;
  e.detail = "connectivity check: " + std::move(detail);
  return Unexpected{std::move(e)};
}

}  // namespace

Result<CheckMessage, ike::ParseError> parse_check(ByteView ike_message) {
  auto m = ike::parse_message(ike_message);
  if (!m) {
    ike::ParseError e = m.error();
    e.answer = ike::kNoNotify;
    return Unexpected{std::move(e)};
  }
  if (!ike::is_connectivity_check(m->header)) return bad("not an INFORMATIONAL with zero SPIs");
  if (auto rules = ike::check_me_rules(m->header, m->payloads); !rules) {
    ike::ParseError e = rules.error();
    e.answer = ike::kNoNotify;
    return Unexpected{std::move(e)};
  }
  CheckMessage c;
  c.response = m->header.response();
  c.message_id = m->header.message_id;
  int ids = 0, endpoints = 0, auths = 0;
  for (const ike::Payload& p : m->payloads) {
    if (p.type == ike::PayloadType::VENDOR_ID) continue;
    const auto* n = p.as<ike::NotifyPayload>();
    if (!n) return bad("unexpected " + ike::name(p.type) + " payload");
    if (n->protocol != ike::ProtocolId::NONE || !n->spi.empty())
      return bad(ike::name(n->type) + " with a protocol ID or SPI");
    switch (n->type) {
      case ike::NotifyType::ME_CONNECTID:
        ++ids;
        c.connect_id = n->data;
        break;
      case ike::NotifyType::ME_ENDPOINT: {
        ++endpoints;
        auto ep = ike::parse_me_endpoint(n->data, ike::FamilyNone::Allowed);
        if (!ep) return Unexpected{ep.error()};  // check_me_rules parsed it already
        c.endpoint = *ep;
        c.endpoint_data = n->data;
        break;
      }
      case ike::NotifyType::ME_CONNECTAUTH:
        ++auths;
        c.auth = n->data;
        break;
      default:
        break;  // other status notifies carry nothing we act on
    }
  }
  if (ids != 1 || endpoints != 1 || auths != 1)
    return bad("needs exactly one ME_CONNECTID, ME_ENDPOINT and ME_CONNECTAUTH, got " +
               std::to_string(ids) + "/" + std::to_string(endpoints) + "/" + std::to_string(auths));
  if (c.connect_id.size() < kMinConnectIdSize || c.connect_id.size() > kMaxConnectIdSize)
    return bad("ME_CONNECTID of " + std::to_string(c.connect_id.size()) + " bytes");
  if (c.auth.size() != kConnectAuthSize)
    return bad("ME_CONNECTAUTH of " + std::to_string(c.auth.size()) + " bytes");
  if (c.response && !c.endpoint.address) return bad("response without a mapped address");
  return c;
}

Bytes build_check(bool response, uint32_t message_id, ByteView connect_id,
                  const ike::MeEndpoint& endpoint, ByteView key) {
  ike::Message m;
  m.header.spi_i = 0;
  m.header.spi_r = 0;
  m.header.exchange = ike::ExchangeType::INFORMATIONAL;
  m.header.flags = response ? ike::kFlagResponse : ike::kFlagInitiator;
  m.header.message_id = message_id;
  Bytes endpoint_data = ike::encode_me_endpoint(endpoint);
  ConnectAuth auth = compute_connect_auth(message_id, connect_id, endpoint_data, key);
  m.payloads.push_back(
      ike::make_notify(ike::NotifyType::ME_CONNECTID, Bytes(connect_id.begin(), connect_id.end())));
  m.payloads.push_back(ike::make_notify(ike::NotifyType::ME_ENDPOINT, std::move(endpoint_data)));
  m.payloads.push_back(
      ike::make_notify(ike::NotifyType::ME_CONNECTAUTH, Bytes(auth.begin(), auth.end())));
  auto bytes = ike::encode_message(m);
  // Three small notifies always fit; encoding fails only for payloads over 64 KiB.
  return bytes ? std::move(*bytes) : Bytes{};
}

bool needs_non_esp_marker(uint16_t local_port, uint16_t ike_port) {
  return local_port != ike_port;
}

Bytes frame_check(ByteView ike_message, uint16_t local_port, uint16_t ike_port) {
  if (needs_non_esp_marker(local_port, ike_port)) return ike::add_non_esp_marker(ike_message);
  return Bytes(ike_message.begin(), ike_message.end());
}

Result<ByteView, std::string> unframe_check(ByteView datagram, uint16_t local_port,
                                            uint16_t ike_port) {
  if (!needs_non_esp_marker(local_port, ike_port)) return datagram;
  ike::Framed f = ike::classify_nat_t(datagram);
  if (f.kind != ike::DatagramKind::Ike)
    return Unexpected{
        std::string(f.kind == ike::DatagramKind::Invalid ? f.reason : "not an IKE message")};
  return f.payload;
}

std::string describe(const CheckMessage& c) {
  return std::string(c.response ? "response " : "request ") + std::to_string(c.message_id) + " " +
         c.endpoint.to_string();
}

}  // namespace ikeme::ice

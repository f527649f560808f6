#include "ike/codec/me_rules.hpp"

#include "ike/codec/me_endpoint.hpp"

namespace ikeme::ike {
namespace {

Unexpected<ParseError> violation(std::string detail) {
  ParseError e;
  e.kind = ParseErrorKind::BadValue;
  e.answer = NotifyType::INVALID_SYNTAX;
  e.detail = std::move(detail);
  return Unexpected{std::move(e)};
}

}  // namespace

bool is_connectivity_check(const Header& h) {
  return h.exchange == ExchangeType::INFORMATIONAL && h.spi_i == 0 && h.spi_r == 0;
}

Status<ParseError> check_me_rules(const Header& h, const std::vector<Payload>& payloads) {
  bool check = is_connectivity_check(h);
  bool registration = h.exchange == ExchangeType::IKE_AUTH && !h.response();
  // ikeme's SRFLX refresh: the same query on an established mediation SA.
  bool refresh = h.exchange == ExchangeType::INFORMATIONAL && !h.response() && !check;
  for (const Payload& p : payloads) {
    const auto* n = p.as<NotifyPayload>();
    if (!n || n->type != NotifyType::ME_ENDPOINT) continue;
    bool request = !h.response();
    auto ep = parse_me_endpoint(n->data, FamilyNone::Allowed);
    if (!ep) return Unexpected{ep.error()};
    if (ep->family() != EndpointFamily::NONE) continue;
    bool allowed = ((registration || refresh) && ep->type == EndpointType::SERVER_REFLEXIVE) ||
                   (check && request && ep->type == EndpointType::PEER_REFLEXIVE);
    if (!allowed)
      return violation("ME_ENDPOINT without an address (family 0) in " + name(h.exchange) +
                       (h.response() ? " response" : " request"));
  }
  if (h.exchange != ExchangeType::ME_CONNECT) return {};
  int idp = 0;
  for (const Payload& p : payloads) {
    switch (p.type) {
      case PayloadType::NOTIFY:
      case PayloadType::VENDOR_ID:
        break;
      case PayloadType::IDp:
        ++idp;
        break;
      case PayloadType::SK:
      case PayloadType::SKF:
        return {};  // still encrypted: the rules apply to the decrypted content
      default:
        return violation("ME_CONNECT may not carry a " + name(p.type) + " payload");
    }
  }
  if (h.response() && idp != 0) return violation("ME_CONNECT response with an IDp payload");
  if (!h.response() && idp != 1)
    return violation("ME_CONNECT request with " + std::to_string(idp) + " IDp payloads, not 1");
  return {};
}

}  // namespace ikeme::ike

#include "mediator/core/me_connect.hpp"

#include <string_view>

#include "ike/codec/me_endpoint.hpp"

namespace ikeme::mediator {

using ike::make_notify;
using ike::NotifyType;
using ike::Payload;
using ike::PayloadType;

const Bytes kFailureSignalVendorId = [] {
  const std::string_view text = "ikeme ME_CONNECT_FAILED signal v1";
  return Bytes(text.begin(), text.end());
}();

Payload failure_signal_vendor_id() {
  return Payload{PayloadType::VENDOR_ID, false, ike::VendorIdPayload{kFailureSignalVendorId}};
}

MeConnect parse_me_connect(const std::vector<Payload>& payloads) {
  MeConnect c;
  for (const Payload& p : payloads) {
    if (p.type == PayloadType::IDp) {
      c.peer = *p.as<ike::IdPayload>();
      continue;
    }
    if (const auto* v = p.as<ike::VendorIdPayload>()) {
      if (v->data == kFailureSignalVendorId) c.signals_failure = true;
      continue;
    }
    const auto* n = p.as<ike::NotifyPayload>();
    if (!n) continue;
    switch (n->type) {
      case NotifyType::ME_CONNECTID:
        c.connect_id = n->data;
        break;
      case NotifyType::ME_CONNECTKEY:
        c.connect_key = n->data;
        break;
      case NotifyType::ME_CALLBACK:
        c.callback = true;
        break;
      case NotifyType::ME_RESPONSE:
        c.response = true;
        break;
      case NotifyType::ME_CONNECT_FAILED:
        c.failed = true;
        break;
      case NotifyType::ME_ENDPOINT:
        if (auto ep = ike::parse_me_endpoint(n->data, ike::FamilyNone::Forbidden); !ep) {
          if (c.bad_endpoint.empty()) c.bad_endpoint = ep.error().to_string();
        } else {
          c.endpoints.push_back(n->data);
        }
        break;
      default:
        break;
    }
  }
  return c;
}

namespace {

void add_connect_data(const MeConnect& c, std::vector<Payload>& out) {
  out.push_back(make_notify(NotifyType::ME_CONNECTID, *c.connect_id));
  out.push_back(make_notify(NotifyType::ME_CONNECTKEY, *c.connect_key));
  for (const Bytes& e : c.endpoints) out.push_back(make_notify(NotifyType::ME_ENDPOINT, e));
}

}  // namespace

std::vector<Payload> relay_request(const MeConnect& from_a, const ike::IdPayload& a) {
  std::vector<Payload> out;
  add_connect_data(from_a, out);
  out.push_back(Payload{PayloadType::IDp, false, a});
  return out;
}

std::vector<Payload> relay_response(const MeConnect& from_b, const ike::IdPayload& b) {
  std::vector<Payload> out{make_notify(NotifyType::ME_RESPONSE)};
  add_connect_data(from_b, out);
  out.push_back(Payload{PayloadType::IDp, false, b});
  return out;
}

std::vector<Payload> failure_request(const Bytes& connect_id, const ike::IdPayload& peer) {
  return {make_notify(NotifyType::ME_CONNECTID, connect_id),
          make_notify(NotifyType::ME_CONNECT_FAILED), Payload{PayloadType::IDp, false, peer}};
}

std::vector<Payload> callback_request(const ike::IdPayload& b) {
  return {make_notify(NotifyType::ME_CALLBACK), Payload{PayloadType::IDp, false, b}};
}

}  // namespace ikeme::mediator

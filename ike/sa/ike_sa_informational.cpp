// INFORMATIONAL exchanges (RFC 7296 §1.4): DELETE of the IKE SA or of CHILD_SAs, and empty
// liveness checks (dead peer detection).

#include <algorithm>

#include "ike/sa/child_spi.hpp"
#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {
void IkeSa::handle_informational_request(const Message& m, const std::vector<Payload>& inner,
                                         Actions& out) {
  std::vector<Bytes> deleted_ours;  // our inbound SPIs of CHILD_SAs the peer deleted
  bool delete_ike = false;
  for (const Payload& p : inner) {
    if (const auto* n = p.as<NotifyPayload>()) {
      log(out, 1, "received " + name(n->type) + " notify");
      // The initiator refused our authentication right after IKE_AUTH (RFC 7296 §2.21.2): its
      // notice is the first request after IKE_AUTH. Later it would be meaningless.
      if (n->type == NotifyType::AUTHENTICATION_FAILED && !initiator_ && m.header.message_id == 2) {
        send_response(ExchangeType::INFORMATIONAL, m.header.message_id, {}, out);
        destroy_silently(out, "peer refused our authentication (AUTHENTICATION_FAILED)");
        return;
      }
      continue;
    }
    const auto* d = p.as<DeletePayload>();
    if (!d) continue;
    if (d->protocol == ProtocolId::IKE) {
      delete_ike = true;
      continue;
    }
    for (const Bytes& spi : d->spis) {
      uint32_t out_spi = spi_value(spi);  // the peer names its inbound SPI = our outbound
      auto it = std::find_if(children_.begin(), children_.end(),
                             [&](const ChildSa& c) { return c.params.spi_out == out_spi; });
      if (it == children_.end()) {
        // One we deleted ourselves after a rekeying, both DELETEs crossing: it goes now.
        auto r = std::find_if(retiring_.begin(), retiring_.end(),
                              [&](const RetiringChild& c) { return c.params.spi_out == out_spi; });
        if (r != retiring_.end()) {
          out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, r->params});
          log(out, 0,
              "CHILD_SA " + r->params.child + "{" + std::to_string(r->params.unique_id) +
                  "} closed (the peer deleted it too)",
              Subsystem::CHD);
          deleted_ours.push_back(spi_bytes(r->params.spi_in));
          retiring_.erase(r);
          continue;
        }
        log(out, 1, "received DELETE for unknown ESP CHILD_SA with SPI " + to_hex(spi),
            Subsystem::CHD);
        continue;
      }
      log(out, 1, "received DELETE for ESP CHILD_SA with SPI " + to_hex(spi), Subsystem::CHD);
      out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, it->params});
      log(out, 0,
          "CHILD_SA " + it->params.child + "{" + std::to_string(it->params.unique_id) + "} closed",
          Subsystem::CHD);
      deleted_ours.push_back(spi_bytes(it->params.spi_in));
      children_.erase(it);
    }
  }
  if (delete_ike) {
    log(out, 0,
        "received DELETE for IKE_SA " + connection_name() + "[" + std::to_string(id_) + "]");
    send_response(ExchangeType::INFORMATIONAL, m.header.message_id, {}, out);
    delete_children(out);
    state_ = State::Dead;
    log(out, 0, "IKE_SA deleted");
    return;
  }
  std::vector<Payload> resp;
  answer_server_reflexive_query(inner, resp, out);
  if (!deleted_ours.empty())
    resp.push_back(Payload{PayloadType::DELETE, false,
                           DeletePayload{ProtocolId::ESP, 4, std::move(deleted_ours)}});
  send_response(ExchangeType::INFORMATIONAL, m.header.message_id, std::move(resp), out);
}

void IkeSa::handle_informational_response(const std::vector<Payload>& inner, Timestamp now,
                                          Actions& out) {
  retire_confirmed(inner, out);
  if (state_ == State::Established) take_server_reflexive_answer(inner, now, out);
  if (state_ == State::Deleting) {
    delete_children(out);
    state_ = State::Dead;
    log(out, 0, "IKE_SA " + connection_name() + "[" + std::to_string(id_) + "] deleted");
  }
}

void IkeSa::send_liveness_check(Timestamp now, Actions& out) {
  log(out, 2, "sending DPD request");
  // A registration's liveness check asks for the server-reflexive endpoint too.
  send_request(ExchangeType::INFORMATIONAL, server_reflexive_query(now), now, out);
  if (outstanding_ && conn_) outstanding_->give_up = now + conn_->dpd_timeout;
}

}  // namespace ikeme::ike

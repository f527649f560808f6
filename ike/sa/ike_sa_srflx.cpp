// IKE-ME: refreshing the server-reflexive endpoint of a registration (an ikeme extension,
// docs/ike-me-protocol.md "SRFLX refresh"). strongSwan learns it once, in IKE_AUTH; a NAT that
// rebinds later leaves the peer disclosing a stale SRFLX endpoint, and a port-restricted NAT on
// the other side then filters every check. The client asks again in INFORMATIONAL requests on the
// mediation SA with the same notify as in IKE_AUTH, N(ME_ENDPOINT, family 0, SRFLX); an ikeme
// server answers with the address:port it sees now, a strongSwan server ignores the status notify
// and answers empty (then nothing changes).

#include "ike/codec/me_endpoint.hpp"
#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {

bool IkeSa::refreshes_server_reflexive() const {
  return state_ == State::Established && initiator_ && conn_ && conn_->mediation && nat_local_ &&
         conn_->srflx_refresh.count() > 0;
}

std::vector<Payload> IkeSa::server_reflexive_query(Timestamp now) {
  if (!initiator_ || !conn_ || !conn_->mediation || !nat_local_) return {};
  last_srflx_query_ = now;
  MeEndpoint ask{kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, 0, std::nullopt};
  return {make_notify(NotifyType::ME_ENDPOINT, encode_me_endpoint(ask))};
}

void IkeSa::send_server_reflexive_query(Timestamp now, Actions& out) {
  log(out, 2, "asking the mediation server for our server-reflexive endpoint", Subsystem::MED);
  send_request(ExchangeType::INFORMATIONAL, server_reflexive_query(now), now, out);
  // Unanswered, it is a failed liveness check: the registration is lost and made again.
  if (outstanding_ && conn_) outstanding_->give_up = now + conn_->dpd_timeout;
}

void IkeSa::answer_server_reflexive_query(const std::vector<Payload>& inner,
                                          std::vector<Payload>& resp, Actions& out) const {
  // srflx_refresh 0 on a server's connection: the extension is off, queries are answered
  // empty as strongSwan does.
  if (initiator_ || !conn_ || !conn_->mediation || conn_->srflx_refresh.count() == 0) return;
  for (const Payload& p : inner) {
    const auto* n = p.as<NotifyPayload>();
    if (!n || n->type != NotifyType::ME_ENDPOINT) continue;
    auto ep = parse_me_endpoint(n->data, FamilyNone::Allowed);
    if (!ep || ep->type != EndpointType::SERVER_REFLEXIVE || ep->address) continue;
    // remote_ already follows the address the request came from (the NAT's current mapping).
    MeEndpoint srflx{kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, remote_.port,
                     remote_.address};
    resp.push_back(make_notify(NotifyType::ME_ENDPOINT, encode_me_endpoint(srflx)));
    log(out, 2, "reporting server-reflexive endpoint " + remote_.to_string(), Subsystem::MED);
    return;
  }
}

void IkeSa::take_server_reflexive_answer(const std::vector<Payload>& inner, Timestamp now,
                                         Actions& out) {
  if (!initiator_ || !conn_ || !conn_->mediation) return;
  for (const Payload& p : inner) {
    const auto* n = p.as<NotifyPayload>();
    if (!n || n->type != NotifyType::ME_ENDPOINT) continue;
    auto ep = parse_me_endpoint(n->data, FamilyNone::Forbidden);
    if (!ep || ep->type != EndpointType::SERVER_REFLEXIVE || !ep->address) {
      log(out, 1, "ME_ENDPOINT in an INFORMATIONAL response ignored", Subsystem::MED);
      continue;
    }
    Endpoint now_seen{*ep->address, ep->port};
    srflx_answered_ = true;
    if (server_reflexive_ && *server_reflexive_ == now_seen) {
      log(out, 2, "server-reflexive endpoint unchanged: " + now_seen.to_string(), Subsystem::MED);
      return;
    }
    std::optional<Endpoint> before = server_reflexive_;
    server_reflexive_ = now_seen;
    log(out, 0,
        "NAT mapping changed: server-reflexive endpoint " +
            (before ? before->to_string() : std::string("none")) + " -> " + now_seen.to_string(),
        Subsystem::MED);
    if (ctx_.mediation) ctx_.mediation->on_server_reflexive_changed(*this, before, now, out);
    return;
  }
}

}  // namespace ikeme::ike

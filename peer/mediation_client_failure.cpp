// The failure signal of IKE-ME (docs/ike-me-protocol.md, "The failure signal"): when every pair
// of an attempt failed on our side (or its transaction timed out), we tell the peer through the
// mediation server with an ME_CONNECT request carrying N(ME_CONNECTID), N(ME_CONNECT_FAILED) and
// IDp(peer), so that it stops checking at once instead of running into its own timeout; and we
// stop ours when the server relays the peer's. strongSwan neither sends nor relays it: its
// mediation server answers INVALID_SYNTAX (no ME_CONNECTKEY), which we only log.

#include "mediator/core/me_connect.hpp"
#include "peer/mediation_client.hpp"

namespace ikeme::peer {

using ike::Actions;
using ike::NotifyType;
using ike::Payload;
using ike::Timestamp;

namespace {

bool has_notify(const std::vector<Payload>& payloads, NotifyType type) {
  for (const Payload& p : payloads)
    if (const auto* n = p.as<ike::NotifyPayload>(); n && n->type == type) return true;
  return false;
}

}  // namespace

void MediationClient::signal_failure(const Mediated& m) {
  const auto* c = config_of(m.connection);
  if (!c || !m.peer || m.connect_id.empty()) return;
  // Called from inside engine callbacks too (a check list without pairs fails at once): the
  // request goes out once the engine call returned.
  deferred_.push_back([this, name = m.connection, mediation = c->mediated_by, id = m.connect_id,
                       peer = *m.peer](Timestamp t, Actions& o) {
    auto rit = registrations_.find(mediation);
    const ike::IkeSa* sa = rit == registrations_.end() ? nullptr : registration_sa(rit->second);
    if (!sa) {
      log(o, 1, name, "ME_CONNECT_FAILED not sent: the mediation connection is down");
      return;
    }
    Payload idp = ike::make_id(ike::PayloadType::IDp, peer.type(), peer.data());
    auto request = mediator::failure_request(id, *idp.as<ike::IdPayload>());
    if (!engine_.send_request(rit->second.spi, ike::ExchangeType::ME_CONNECT, std::move(request), t,
                              o)) {
      log(o, 1, name, "ME_CONNECT_FAILED not sent: the mediation SA cannot take the request");
      return;
    }
    rit->second.sent.emplace_back(id, Registration::Sent::Failure);
    log(o, 1, name,
        "telling '" + peer.to_string() +
            "' that every pair failed (ME_CONNECT_FAILED, connect ID " + to_hex(id) + ")");
  });
}

void MediationClient::failure_signal_answered(const std::string& mediation, const Bytes& connect_id,
                                              const std::vector<Payload>& payloads, Actions& out) {
  const std::string id = to_hex(connect_id);
  if (has_notify(payloads, NotifyType::INVALID_SYNTAX)) {
    log(out, 2, mediation,
        "the mediation server does not relay ME_CONNECT_FAILED (connect ID " + id +
            "; strongSwan's answers INVALID_SYNTAX): the peer runs into its own timeout");
  } else if (has_notify(payloads, NotifyType::ME_CONNECT_FAILED)) {
    log(out, 1, mediation,
        "the mediation server did not relay our ME_CONNECT_FAILED (connect ID " + id +
            "): the peer is gone or does not take it");
  } else {
    log(out, 2, mediation,
        "the mediation server relayed our ME_CONNECT_FAILED (connect ID " + id + ")");
  }
}

void MediationClient::peer_reported_failure(const ike::IkeSa& sa, const std::string& connection,
                                            const ike::Identity& peer, const Bytes& connect_id,
                                            Timestamp now, Actions& out) {
  const std::string id = to_hex(connect_id);
  Mediated* m = by_connect_id(connect_id);
  if (connection.empty() || !m || m->connection != connection) {
    log(out, 1, sa.connection_name(),
        "ME_CONNECT_FAILED from '" + peer.to_string() + "' for unknown connect ID " + id +
            " ignored");
    return;
  }
  if (m->phase != Phase::Requested && m->phase != Phase::AwaitingPeer &&
      m->phase != Phase::Checking) {
    // A pair was nominated meanwhile (the IKE_SA_INIT decides), or the attempt is over.
    log(out, 1, connection,
        "ME_CONNECT_FAILED from '" + peer.to_string() + "' (connect ID " + id + ") ignored: " +
            (m->phase == Phase::Connecting || m->phase == Phase::Established
                 ? "a pair was nominated already"
                 : "the attempt is over"));
    return;
  }
  log(out, 1, connection,
      "'" + peer.to_string() + "' reports that every pair failed (connect ID " + id +
          "): stopping our checks");
  ice::AgentOutput ice_out;
  if (sessions_.peer_failed(connect_id, now, ice_out)) {
    take(ice_out, now, out);  // the Failure (PeerReported) ends the attempt
    return;
  }
  // Our checks had not started yet (our answer not yet acknowledged by the server).
  attempt_failed(*m, "the peer reported that every pair failed", now, out);
}

}  // namespace ikeme::peer

// MediationClient after a NAT rebinding (docs/architecture.md "NAT rebinding"): the mediation SA
// learned a new server-reflexive endpoint from the server (IkeSa's SRFLX refresh). Behind a
// port-restricted NAT on the other side, the direct path from our new public port is filtered
// until the hole is punched again, so every mediated connection through this mediation
// connection starts over: a new ME_CONNECT with fresh endpoints, new checks, a new direct IKE SA.
// The old SA stays until its replacement is up (a full-cone peer NAT may still carry it), then
// the side that initiated the new SA deletes the old one.

#include "peer/mediation_client.hpp"

namespace ikeme::peer {

using ike::Actions;
using ike::Timestamp;

void MediationClient::on_server_reflexive_changed(const ike::IkeSa& sa,
                                                  const std::optional<ike::Endpoint>& before,
                                                  Timestamp, Actions& out) {
  const auto conn = sa.connection();
  if (!conn || !conn->mediation || !sa.initiator()) return;
  // The first endpoint ever learned (IKE_AUTH carried none) is no rebinding: ME_CONNECTs from
  // now on disclose it, nothing that stands ran over another mapping.
  if (!before) return;
  auto rit = registrations_.find(conn->name);
  if (rit == registrations_.end() || rit->second.spi != sa.our_spi()) return;
  const std::string after = sa.server_reflexive() ? sa.server_reflexive()->to_string() : "none";
  for (auto& [name, m] : mediated_) {
    const auto* c = config_of(name);
    if (!c || c->mediated_by != conn->name) continue;
    bool restart = false;
    switch (m.phase) {
      case Phase::Established:
        restart = true;  // either role: the SA runs over the stale mapping
        break;
      case Phase::Requested:
      case Phase::AwaitingPeer:
      case Phase::Checking:
      case Phase::Connecting:
        // Our own attempt disclosed the stale endpoint; an attempt the peer started is its own.
        restart = m.wanted && m.role == ice::Role::Initiator;
        break;
      case Phase::Backoff:
        restart = m.wanted;  // no reason to wait any longer
        break;
      case Phase::Idle:
      case Phase::Registering:
        break;
    }
    if (!restart) continue;
    ++m.rebinds;
    m.retry_at.reset();
    m.backoff = ike::Duration{0};
    log(out, 0, name,
        "our NAT mapping changed (" + before->to_string() + " -> " + after +
            "): connecting again with fresh endpoints" +
            (m.sa_id ? ", direct IKE SA #" + std::to_string(m.sa_id) + " stays until replaced"
                     : std::string()));
    // begin() sends on the mediation SA: not from inside this engine callback.
    deferred_.push_back([this, name = name](Timestamp t, Actions& o) {
      if (auto it = mediated_.find(name); it != mediated_.end()) begin(it->second, t, o);
    });
  }
}

void MediationClient::retire_replaced(Mediated& m, uint64_t older, const ike::IkeSa& sa,
                                      Actions& out) {
  const ike::IkeSa* old = engine_.find_sa(older);
  if (!old || old->dead() || old->state() == ike::IkeSa::State::Deleting ||
      old->connection_name() != m.connection)
    return;
  if (!sa.initiator()) {
    log(out, 1, m.connection,
        "direct IKE SA #" + std::to_string(sa.id()) + " replaces #" + std::to_string(old->id()) +
            "; the peer deletes the old one");
    return;
  }
  log(out, 0, m.connection,
      "direct IKE SA #" + std::to_string(sa.id()) + " replaces #" + std::to_string(old->id()) +
          ", deleting the old one");
  // Over the new SA's path: the old one's may be stale on both ends (both NATs rebound).
  deferred_.push_back(
      [this, older, local = sa.local(), remote = sa.remote()](Timestamp t, Actions& o) {
        engine_.terminate_sa_via(older, local, remote, t, o);
      });
}

void MediationClient::refresh_by_registering(const Mediated& m, Actions& out) {
  const auto* c = config_of(m.connection);
  if (!c) return;
  auto rit = registrations_.find(c->mediated_by);
  if (rit == registrations_.end()) return;
  const ike::IkeSa* reg = registration_sa(rit->second);
  if (!reg || !reg->server_reflexive() || reg->server_reflexive_refreshed()) return;
  log(out, 1, m.connection,
      "registering at the mediation server again: it does not refresh our server-reflexive "
      "endpoint " +
          reg->server_reflexive()->to_string() + ", which our NAT may have changed");
  deferred_.push_back([this, name = rit->first](Timestamp t, Actions& o) {
    auto it = registrations_.find(name);
    if (it == registrations_.end() || !it->second.up) return;
    if (!it->second.sent.empty()) {
      it->second.reregister_when_idle = true;  // on_me_connect_response finishes it
      return;
    }
    engine_.terminate_sa(it->second.spi, t, o);
  });
}

void MediationClient::reregister_if_idle(Registration& r) {
  if (!r.reregister_when_idle || !r.sent.empty() || !r.up) return;
  r.reregister_when_idle = false;
  deferred_.push_back(
      [this, spi = r.spi](Timestamp t, Actions& o) { engine_.terminate_sa(spi, t, o); });
}

}  // namespace ikeme::peer

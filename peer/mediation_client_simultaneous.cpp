// Simultaneous ME_CONNECT (docs/ike-me-protocol.md, "Simultaneous ME_CONNECT"): both peers want
// each other and send ME_CONNECT at about the same time, so each gets the other's relayed
// request while its own is pending. Both sides decide the same way which transaction goes on,
// without another message: the lower connect ID (bytewise) wins; the side whose request lost
// answers the winner (N(ME_RESPONSE)) and drops its own, the winner leaves the loser's request
// unanswered. Exactly one transaction, one direct IKE SA.

#include "peer/mediation_client.hpp"

namespace ikeme::peer {

bool MediationClient::keep_ours(const Mediated& m, const Bytes& theirs) const {
  // Not only a connection we want up: after a NAT rebinding or an address change either side
  // sends ME_CONNECT for a connection it had only answered before.
  if (m.role != ice::Role::Initiator) return false;
  if (m.phase != Phase::Requested && m.phase != Phase::AwaitingPeer) return false;
  if (m.connect_id != theirs) return m.connect_id < theirs;
  // The same random connect ID on both sides (2^-32): the lower pseudonym keeps its own.
  const auto* c = config_of(m.connection);
  if (!c || !m.peer) return false;
  auto r = registrations_.find(c->mediated_by);
  const ike::IkeSa* sa = r == registrations_.end() ? nullptr : registration_sa(r->second);
  return sa && sa->local_id().to_string() < m.peer->to_string();
}

}  // namespace ikeme::peer

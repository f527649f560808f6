// MediationClient: what a change of the host's addresses does to mediation and mediated
// connections (the daemon's rtnetlink monitor reports it, peer/host_address_monitor.hpp).

#include <algorithm>
#include <utility>

#include "peer/mediation_client.hpp"

namespace ikeme::peer {

using ike::Actions;
using ike::Timestamp;

namespace {

bool contains(const std::vector<IpAddress>& set, const IpAddress& a) {
  return std::find(set.begin(), set.end(), a) != set.end();
}

}  // namespace

void MediationClient::restart_mediated(Mediated& m, const std::string& why, bool initiate,
                                       Timestamp now, Actions& out) {
  log(out, 1, m.connection,
      why + (initiate ? "; sending a new ME_CONNECT" : "; the peer has to connect again"));
  // Forgotten before the engine removes it, so that on_sa_removed does not count a failure.
  const uint32_t sa_id = std::exchange(m.sa_id, 0);
  if (!m.connect_id.empty()) {
    sessions_.remove(m.connect_id);
    pending_remote_.erase(m.connect_id);
  }
  if (sa_id != 0) (void)engine_.terminate(m.connection, sa_id, now, out);
  m.phase = Phase::Idle;
  m.nomination.reset();
  m.backoff = ike::Duration{0};
  m.retry_at.reset();
  m.last_problem = why;
  if (!initiate) return;
  // From now on we keep it up like one we initiated (retries, resuming after registering
  // again); ikemectl terminate stops that.
  m.wanted = true;
  begin(m, now, out);
}

void MediationClient::host_addresses_changed(const std::vector<IpAddress>& gone, Timestamp now,
                                             Actions& out) {
  if (gone.empty()) return;
  // Mediation SAs first: a mediated connection restarted below needs the new registration.
  std::vector<std::string> reregistered;
  for (auto& [name, r] : registrations_) {
    const ike::IkeSa* sa = registration_sa(r);
    if (!sa || !contains(gone, sa->local().address)) continue;
    const std::string address = sa->local().address.to_string();
    log(out, 1, name,
        "local address " + address + " of the mediation connection disappeared; registering again");
    // No DELETE can leave from a vanished address: the SA is dropped. While it is, the
    // registration is not `wanted`, so that on_sa_removed schedules no back-off: we register
    // again at once, from the address the route lookup gives now.
    const bool wanted = std::exchange(r.wanted, false);
    (void)engine_.abandon_sa(r.spi, "local address " + address + " is gone", now, out);
    r.wanted = wanted;
    reregistered.push_back(name);
    if (r.wanted) register_now(r, now, out);
  }
  for (auto& [name, m] : mediated_) {
    std::optional<IpAddress> lost;
    const char* what = "";
    if (m.sa_id != 0) {
      for (const ike::IkeSaInfo& info : engine_.list_sas()) {
        if (info.id != m.sa_id || !contains(gone, info.local.address)) continue;
        lost = info.local.address;
        what = "the direct IKE SA's local address ";
        // Dropped without a DELETE (it could not be sent); forgotten first so that
        // on_sa_removed counts no failure. The replacement's INITIAL_CONTACT ends the peer's.
        m.sa_id = 0;
        (void)engine_.abandon_sa(info.initiator ? info.spi_i : info.spi_r,
                                 "local address " + lost->to_string() + " is gone", now, out);
        break;
      }
    }
    if (!lost && m.nomination && contains(gone, m.nomination->local.address)) {
      lost = m.nomination->local.address;
      what = "the nominated pair's local address ";
    }
    const bool attempt =
        m.phase == Phase::Requested || m.phase == Phase::AwaitingPeer || m.phase == Phase::Checking;
    if (!lost && attempt)
      for (const ice::Candidate& c : m.local)
        if (contains(gone, c.base.address)) {
          lost = c.base.address;
          what = "disclosed local candidate ";
          break;
        }
    if (lost) {
      // A direct SA we lost is ours to bring back even if the peer set it up: it cannot know.
      const bool initiate = m.wanted || m.phase == Phase::Established;
      restart_mediated(m, std::string(what) + lost->to_string() + " disappeared", initiate, now,
                       out);
      continue;
    }
    // Its ME_CONNECT went on a mediation SA that is being replaced: its answer will not come.
    const ike::ConnectionConfig* c = config_of(name);
    const bool via_restarted = c && std::find(reregistered.begin(), reregistered.end(),
                                              c->mediated_by) != reregistered.end();
    if (via_restarted && (m.phase == Phase::Requested || m.phase == Phase::AwaitingPeer))
      restart_mediated(m, "the mediation connection " + c->mediated_by + " is registering again",
                       m.wanted, now, out);
  }
  run_deferred(now, out);
}

}  // namespace ikeme::peer

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

void MediationClient::restart_mediated(Mediated& m, const std::string& why, Timestamp now,
                                       Actions& out) {
  log(out, 1, m.connection,
      why + (m.wanted ? "; sending a new ME_CONNECT" : "; the peer has to connect again"));
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
  if (m.wanted) begin(m, now, out);
}

void MediationClient::host_addresses_changed(const std::vector<IpAddress>& gone, Timestamp now,
                                             Actions& out) {
  if (gone.empty()) return;
  // Mediation SAs first: a mediated connection restarted below needs the new registration.
  std::vector<std::string> reregistered;
  for (auto& [name, r] : registrations_) {
    const ike::IkeSa* sa = registration_sa(r);
    if (!sa || !contains(gone, sa->local().address)) continue;
    log(out, 1, name,
        "local address " + sa->local().address.to_string() +
            " of the mediation connection disappeared; registering again");
    (void)engine_.terminate_sa(r.spi, now, out);
    reregistered.push_back(name);
    // The old SA is deleting now: register_now starts the new one from the current route.
    if (r.wanted) register_now(r, now, out);
  }
  for (auto& [name, m] : mediated_) {
    std::optional<IpAddress> lost;
    const char* what = "";
    if (m.sa_id != 0) {
      for (const ike::IkeSaInfo& info : engine_.list_sas())
        if (info.id == m.sa_id && contains(gone, info.local.address)) lost = info.local.address;
      what = "the direct IKE SA's local address ";
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
      restart_mediated(m, std::string(what) + lost->to_string() + " disappeared", now, out);
      continue;
    }
    // Its ME_CONNECT went on a mediation SA that is being replaced: its answer will not come.
    const ike::ConnectionConfig* c = config_of(name);
    const bool via_restarted = c && std::find(reregistered.begin(), reregistered.end(),
                                              c->mediated_by) != reregistered.end();
    if (via_restarted && (m.phase == Phase::Requested || m.phase == Phase::AwaitingPeer))
      restart_mediated(m, "the mediation connection " + c->mediated_by + " is registering again",
                       now, out);
  }
  run_deferred(now, out);
}

}  // namespace ikeme::peer

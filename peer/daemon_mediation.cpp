// ikeme-peer's IKE-ME client role: the MediationClient (mediation_client.hpp) wraps the engine,
// so that connectivity checks reach the ICE agents before the engine, the timer covers both, and
// mediated connections are initiated with ME_CONNECT. Here: its creation, the control commands
// it answers (initiate and terminate of mediated and mediation connections, explain) and what
// list-sas shows of a mediated SA.

#include "peer/daemon.hpp"

namespace ikeme::peer {

using ike::Subsystem;

void Daemon::start_mediation() {
  MediationClientConfig mc;
  mc.exclusions = config_.ice.exclusions;
  mc.agent.transaction_timeout = config_.ice.transaction_timeout;
  mc.agent.ike_port = config_.engine.port;
  mc.source_for = [this](const ike::ConnectionConfig& c) { return source_for(c); };
  mc.host_addresses = [this] {
    return host_addresses_ ? host_addresses_->addresses().disclosed()
                           : std::vector<ice::HostAddress>{};
  };
  mediation_ = std::make_unique<MediationClient>(*engine_, *rng_, std::move(mc));
}

bool Daemon::mediation_command(const ControlRequest& r, Json& reply) {
  auto error = [](const std::string& text) { return Json{{"ok", false}, {"error", text}}; };
  switch (r.command) {
    case Command::Initiate: {
      if (!mediation_->is_mediated(r.ike) && !mediation_->is_mediation(r.ike)) return false;
      log(Subsystem::CFG, 1,
          "control: initiate " +
              std::string(mediation_->is_mediated(r.ike) ? "mediated" : "mediation") +
              " connection '" + r.ike + "'");
      ike::Actions a;
      auto s = mediation_->initiate(r.ike, now(), a);
      apply(a);
      after_engine();
      if (!s) {
        reply = error(s.error());
        return true;
      }
      reply = ok_reply();
      reply["ike-sa-id"] = 0;
      reply["mediated"] = true;
      for (const auto& c : engine_->config().connections)
        if (c.name == r.ike) reply["mediated-by"] = c.mediation ? c.name : c.mediated_by;
      return true;
    }
    case Command::Terminate:
      // No more retries or re-registrations; the engine deletes the SAs as for any connection.
      if (!r.ike.empty()) mediation_->forget(r.ike);
      return false;
    case Command::Explain: {
      bool known = false;
      for (const auto& c : engine_->config().connections) known = known || c.name == r.ike;
      if (!known) {
        reply = error("no connection named '" + r.ike + "'");
        return true;
      }
      std::string text;
      bool up = false;
      for (const ike::IkeSaInfo& sa : engine_->list_sas())
        if (sa.connection == r.ike && sa.state == "ESTABLISHED") up = true;
      if (mediation_->is_mediated(r.ike) || mediation_->is_mediation(r.ike))
        text = mediation_->explain(r.ike, now());
      else
        text = up ? r.ike + " is up" : r.ike + " is not up (see the daemon's log)";
      reply = ok_reply();
      reply["explain"] = text;
      return true;
    }
    default:
      return false;
  }
}

void Daemon::add_mediation(Json& j, const ike::IkeSaInfo& info) {
  auto st = mediation_->status(info.connection);
  if (!st || st->ike_sa_id != info.id) return;
  Json m = {{"mediated-by", st->mediated_by},
            {"own-pseudonym", st->own_pseudonym},
            {"peer-pseudonym", st->peer_pseudonym},
            {"role", st->initiating ? "initiator" : "responder"},
            {"connect-id", st->connect_id},
            {"attempts", st->attempts},
            {"rebinds", st->rebinds}};
  if (st->nomination) {
    const ice::Nomination& n = *st->nomination;
    m["pair"] = {{"local", n.local.to_string()},
                 {"remote", n.remote.to_string()},
                 {"local-type", name_of(n.local_type)},
                 {"remote-type", name_of(n.remote_type)},
                 {"rtt-ms", n.rtt.count()},
                 {"by-peer", n.by_peer}};
  }
  Json t = Json::object();
  if (st->to_checks) t["checks-ms"] = st->to_checks->count();
  if (st->to_nomination) t["nominated-ms"] = st->to_nomination->count();
  if (st->to_established) t["established-ms"] = st->to_established->count();
  m["timings"] = std::move(t);
  if (st->failures > 0) {  // attempts that failed before this SA came up
    m["failures"] = st->failures;
    if (st->last_failure) m["last-failure"] = ice::name(st->last_failure->reason);
  }
  j["mediation"] = std::move(m);
}

}  // namespace ikeme::peer

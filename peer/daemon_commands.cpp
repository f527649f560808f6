// What the control socket, SIGHUP and start actions ask of the daemon. Each command is one engine
// call; the daemon adds only the source address of an initiation and the listings' shape.

#include <unistd.h>

#include "peer/config_paths.hpp"
#include "peer/daemon.hpp"
#include "peer/route_source.hpp"

namespace ikeme::peer {

using ike::Subsystem;

std::string Daemon::handle_control_line(const std::string& line) {
  ++counters_.control_requests;
  auto request = parse_request(line);
  if (!request) {
    ++counters_.control_errors;
    log(Subsystem::CFG, 1, "control: request refused: " + request.error());
    return error_reply(request.error());
  }
  Json reply;
  try {
    reply = handle_request(*request);
  } catch (const std::exception& e) {
    reply = Json{{"ok", false}, {"error", std::string("internal error: ") + e.what()}};
  }
  if (!reply.value("ok", false)) ++counters_.control_errors;
  return reply_line(reply);
}

std::set<uint32_t> Daemon::sa_ids(const std::string& connection, uint32_t id) const {
  std::set<uint32_t> out;
  for (const ike::IkeSaInfo& sa : engine_->list_sas())
    if (id ? sa.id == id : connection.empty() || sa.connection == connection) out.insert(sa.id);
  return out;
}

Json Daemon::handle_request(const ControlRequest& r) {
  auto error = [](const std::string& text) { return Json{{"ok", false}, {"error", text}}; };
  if (Json reply; mediation_command(r, reply)) return reply;
  switch (r.command) {
    case Command::ListConns: {
      Json conns = Json::array();
      for (const ike::ConnectionConfig& c : engine_->config().connections)
        if (r.ike.empty() || c.name == r.ike) conns.push_back(conn_json(c));
      if (!r.ike.empty() && conns.empty()) return error("no connection named '" + r.ike + "'");
      Json reply = ok_reply();
      reply["conns"] = std::move(conns);
      return reply;
    }
    case Command::ListSas: {
      Json sas = Json::array();
      ike::Timestamp t = now();
      for (const ike::IkeSaInfo& sa : engine_->list_sas())
        if (r.id ? sa.id == r.id : r.ike.empty() || sa.connection == r.ike) {
          Json j = sa_json(sa, &children_, t, dataplane_.get());
          add_mediation(j, sa);
          sas.push_back(std::move(j));
        }
      Json reply = ok_reply();
      reply["sas"] = std::move(sas);
      return reply;
    }
    case Command::ListPools: {
      Json reply = ok_reply();
      reply["pools"] = pools_json(engine_->list_pools());
      return reply;
    }
    case Command::ListAddresses:
      return list_addresses();
    case Command::Initiate: {
      log(Subsystem::CFG, 1,
          "control: initiate '" + r.ike + "'" +
              (r.child.empty() ? "" : " child '" + r.child + "'"));
      auto id = initiate(r.ike, r.child);
      if (!id) return error(id.error());
      Json reply = ok_reply();
      reply["ike-sa-id"] = *id;
      return reply;
    }
    case Command::Terminate: {
      log(Subsystem::CFG, 1,
          "control: terminate " + (r.id ? "IKE SA #" + std::to_string(r.id) : "'" + r.ike + "'"));
      std::set<uint32_t> ids = sa_ids(r.ike, r.id);
      ike::Actions a;
      auto s = engine_->terminate(r.ike, r.id, now(), a);
      apply(a);
      after_engine();
      if (!s) return error(s.error());
      Json reply = ok_reply();
      reply["ike-sa-ids"] = Json(ids);
      return reply;
    }
    case Command::Rekey: {
      log(Subsystem::CFG, 1, "control: rekey CHILD_SA {" + std::to_string(r.child_id) + "}");
      ike::Actions a;
      auto s = engine_->rekey_child(r.child_id, now(), a);
      apply(a);
      after_engine();
      if (!s) return error(s.error());
      Json reply = ok_reply();
      reply["child-sa-id"] = r.child_id;
      return reply;
    }
    case Command::Stats: {
      StatsInput in;
      in.engine = &engine_->stats();
      in.daemon = &counters_;
      in.ike_sas = engine_->sa_count();
      in.half_open = engine_->half_open_count();
      in.child_sas = children_.size();
      in.control_clients = control_ ? control_->clients() : 0;
      in.uptime_s = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(now() - started_).count());
      in.pid = static_cast<long>(::getpid());
      in.config_file = options_.config_path.string();
      in.dataplane = dataplane_.get();
      for (const UdpSocket& s : pump_->sockets().sockets())
        in.listening.push_back(s.bound().to_string());
      Json reply = ok_reply();
      reply["stats"] = stats_json(in);
      return reply;
    }
    case Command::Explain:
      return error("explain is answered above");
    case Command::Reload: {
      log(Subsystem::CFG, 1, "control: reload");
      if (auto s = reload("control"); !s) return error(s.error());
      Json reply = ok_reply();
      reply["conns"] = engine_->config().connections.size();
      return reply;
    }
  }
  return error("unhandled command");
}

std::optional<IpAddress> Daemon::source_for(const ike::ConnectionConfig& conn) {
  if (!conn.local_addrs.empty() || conn.remote_addrs.empty()) return std::nullopt;
  ike::Endpoint remote{conn.remote_addrs.front(), conn.remote_port};
  auto routed = route_source(remote);
  if (!routed) {
    log(Subsystem::NET, 1,
        "cannot find a source address towards " + remote.to_string() + ": " + routed.error());
    return std::nullopt;
  }
  std::optional<IpAddress> chosen = pump_->sockets().initiation_source(*routed);
  if (!chosen)
    log(Subsystem::NET, 1,
        "the route to " + remote.address.to_string() + " uses " + routed->to_string() +
            ", which is not a listen address");
  else if (*chosen != *routed)
    log(Subsystem::NET, 1,
        "the route to " + remote.address.to_string() + " uses " + routed->to_string() +
            ", which is not a listen address; initiating from " + chosen->to_string());
  else
    log(Subsystem::NET, 2,
        "the route to " + remote.address.to_string() + " uses source " + chosen->to_string());
  return chosen;
}

Result<uint32_t, std::string> Daemon::initiate(const std::string& connection,
                                               const std::string& child) {
  std::optional<IpAddress> source;
  for (const ike::ConnectionConfig& c : engine_->config().connections)
    if (c.name == connection) source = source_for(c);
  const uint32_t id = engine_->next_sa_id();  // what a successful initiate() assigns
  ike::Actions a;
  auto s = engine_->initiate(connection, child, now(), a, source);
  apply(a);
  after_engine();
  if (!s) {
    log(Subsystem::CFG, 1, "initiating '" + connection + "' failed: " + s.error());
    return Unexpected{s.error()};
  }
  return id;
}

void Daemon::start_actions() {
  // IKE-ME: every mediation connection registers (a peer must be reachable for ME_CONNECTs it
  // did not ask for); a mediated connection with start_action start sends ME_CONNECT.
  for (const ike::ConnectionConfig& c : engine_->config().connections) {
    bool start = c.mediation;
    for (const ike::ChildConfig& ch : c.children)
      start = start || (!c.mediated_by.empty() && ch.start_action == ike::StartAction::Start);
    if (!start) continue;
    log(Subsystem::CFG, 1,
        std::string("start: ") + (c.mediation ? "registering at" : "ME_CONNECT through") +
            " mediation connection '" + (c.mediation ? c.name : c.mediated_by) + "' for '" +
            c.name + "'");
    ike::Actions a;
    auto s = mediation_->initiate(c.name, now(), a);
    apply(a);
    after_engine();
    if (!s) log(Subsystem::CFG, 0, "starting '" + c.name + "' failed: " + s.error());
  }
  for (const ike::ConnectionConfig& c : engine_->config().connections)
    for (const ike::ChildConfig& ch : c.children) {
      if (!c.mediated_by.empty()) continue;
      if (ch.start_action != ike::StartAction::Start) continue;
      log(Subsystem::CFG, 1,
          "start_action: initiating CHILD_SA '" + ch.name + "' of connection '" + c.name + "'");
      (void)initiate(c.name, ch.name);
    }
}

Status<std::string> Daemon::reload(const std::string& trigger) {
  auto loaded = config::load_peer_config(options_.config_path);
  if (!loaded) {
    std::string why = loaded.error().to_string();
    log(Subsystem::CFG, 0,
        "reload (" + trigger + ") failed, keeping the old configuration: " + why);
    return Unexpected{why};
  }
  config::PeerConfig next = std::move(*loaded);
  absolutize_paths(next, options_.base_dir);
  // What the sockets were made from needs a restart; the engine must keep the ports it serves.
  const config::DaemonSettings& old = config_.daemon;
  if (next.daemon.listen != old.listen || next.engine.port != config_.engine.port ||
      next.engine.port_nat_t != config_.engine.port_nat_t ||
      next.daemon.control_socket != old.control_socket)
    log(Subsystem::CFG, 1,
        "listen addresses, ports and the control socket change only with a restart; keeping "
        "the current ones");
  if (next.daemon.esp_backend != old.esp_backend || next.daemon.tun_name != old.tun_name ||
      next.daemon.tun_mtu != old.tun_mtu || next.daemon.tun_offload != old.tun_offload ||
      next.daemon.replay_window != old.replay_window ||
      next.daemon.install_routes != old.install_routes)
    log(Subsystem::CFG, 1,
        "the data plane settings (esp_backend, tun_name, tun_mtu, tun_offload, replay_window, "
        "install_routes) change only with a restart; keeping the current ones");
  next.daemon.esp_backend = old.esp_backend;
  next.daemon.tun_name = old.tun_name;
  next.daemon.tun_mtu = old.tun_mtu;
  next.daemon.tun_offload = old.tun_offload;
  next.daemon.replay_window = old.replay_window;
  next.daemon.install_routes = old.install_routes;
  next.daemon.listen = old.listen;
  next.daemon.control_socket = old.control_socket;
  next.engine.port = config_.engine.port;
  next.engine.port_nat_t = config_.engine.port_nat_t;
  if (auto s = log_.configure(next.daemon.log, options_.detached); !s) {
    log(Subsystem::CFG, 0, s.error() + "; keeping the previous log target");
    next.daemon.log.file = config_.daemon.log.file;
    (void)log_.configure(next.daemon.log, options_.detached);
  }
  force_encapsulation(next.engine, false);
  engine_->reload(next.engine);
  mediation_->set_exclusions(next.ice.exclusions);
  mediation_->set_transaction_timeout(next.ice.transaction_timeout);
  config_ = std::move(next);
  if (host_addresses_) host_addresses_->set_policy(host_address_policy());
  log(Subsystem::CFG, 1,
      "reloaded " + options_.config_path.string() + " (" + trigger +
          "): " + std::to_string(config_.engine.connections.size()) + " connection(s)");
  return {};
}

}  // namespace ikeme::peer

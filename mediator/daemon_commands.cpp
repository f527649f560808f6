// What the control socket, SIGHUP and the directory watch ask of the mediator, and the
// Prometheus text. Commands (newline-delimited JSON, as ikeme-peer's control socket):
//   {"command":"list-peers"} -> {"ok":true,"peers":[{"pseudonym","endpoint","registered",...}]}
//   {"command":"stats"}      -> {"ok":true,"stats":{... "mediator":{...},"refusals":{...}}}
//   {"command":"reload"}     -> {"ok":true,"pseudonyms":N}

#include <unistd.h>

#include "config/directory_file.hpp"
#include "mediator/daemon.hpp"
#include "peer/config_paths.hpp"
#include "peer/control_json.hpp"

namespace ikeme::mediator {

using ike::Subsystem;
using peer::Json;

namespace {

// Prometheus label values escape backslash, quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string Daemon::handle_control_line(const std::string& line) {
  ++counters_.control_requests;
  Json reply;
  try {
    Json request = Json::parse(line, nullptr, false);
    std::string command =
        request.is_object() && request.contains("command") && request["command"].is_string()
            ? request["command"].get<std::string>()
            : "";
    if (command == "list-peers") {
      reply = peer::ok_reply();
      reply["peers"] = peers_json();
    } else if (command == "stats") {
      reply = peer::ok_reply();
      reply["stats"] = stats_json();
    } else if (command == "reload") {
      log(Subsystem::CFG, 1, "control: reload");
      if (auto s = reload("control"); !s) {
        reply = Json{{"ok", false}, {"error", s.error()}};
      } else {
        reply = peer::ok_reply();
        reply["pseudonyms"] = directory_.entries().size();
      }
    } else if (request.is_discarded() || !request.is_object()) {
      reply = Json{{"ok", false}, {"error", "request is not a JSON object"}};
    } else {
      reply = Json{{"ok", false},
                   {"error", "unknown command '" + command +
                                 "' (the mediator knows list-peers, stats and reload)"}};
    }
  } catch (const std::exception& e) {
    reply = Json{{"ok", false}, {"error", std::string("internal error: ") + e.what()}};
  }
  if (!reply.value("ok", false)) ++counters_.control_errors;
  return peer::reply_line(reply);
}

Json Daemon::peers_json() {
  Json peers = Json::array();
  const ike::Timestamp t = now();
  const auto wall = std::chrono::system_clock::now();
  for (const PeerInfo& p : server_->list_peers(t)) {
    auto since = std::chrono::floor<std::chrono::seconds>(wall - p.registered_for);
    std::time_t tt = std::chrono::system_clock::to_time_t(since);
    char when[32];
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    peers.push_back(Json{{"pseudonym", p.pseudonym},
                         {"endpoint", p.endpoint.to_string()},
                         {"registered", when},
                         {"registered-for", p.registered_for.count() / 1000},
                         {"ike-sa-id", p.sa_id}});
  }
  return peers;
}

Json Daemon::stats_json() {
  const ike::IkeEngine& engine = server_->engine();
  peer::StatsInput in;
  in.engine = &engine.stats();
  in.daemon = &counters_;
  in.ike_sas = engine.sa_count();
  in.half_open = engine.half_open_count();
  in.control_clients = control_ ? control_->clients() : 0;
  in.uptime_s = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now() - started_).count());
  in.pid = static_cast<long>(::getpid());
  in.config_file = options_.config_path.string();
  for (const peer::UdpSocket& s : pump_->sockets().sockets())
    in.listening.push_back(s.bound().to_string());
  Json j = peer::stats_json(in);
  j["program"] = "ikeme-mediator";
  j.erase("child-sas");
  const MediatorStats& s = server_->stats();
  j["mediator"] = Json{
      {"pseudonyms", directory_.entries().size()},
      {"registered", server_->registry().registrations().size()},
      {"registrations", s.registrations},
      {"replaced", s.replaced},
      {"unregistrations", s.unregistrations},
      {"connect-requests", s.connect_requests},
      {"relays", s.relays},
      {"relayed-responses", s.relayed_responses},
      {"pending-relays", server_->registry().pending_relays()},
      {"relays-expired", s.relays_expired},
      {"callbacks-stored", s.callbacks_stored},
      {"callbacks-sent", s.callbacks_sent},
      {"callbacks-expired", s.callbacks_expired},
      {"pending-callbacks", server_->registry().pending_callbacks()},
      {"directory-removed", s.directory_removed},
      {"failure-signals", s.failure_signals},
      {"failures-relayed", s.failures_relayed},
      {"failures-withheld", s.failures_withheld},
      {"directory-reloads", reloads_},
      {"directory-reload-failures", reload_failures_},
      {"dh-keys-generated", engine.key_exchanges_generated()},
      {"dh-keys-pregenerated", key_pairs_ ? key_pairs_->pool().stats().added : 0},
      {"dh-keys-from-pool", key_pairs_ ? key_pairs_->pool().stats().taken : 0},
      {"dh-keys-inline", key_pairs_ ? key_pairs_->pool().stats().missed : 0},
  };
  Json refusals = Json::object();
  for (size_t i = 0; i < kRefusalCount; ++i)
    refusals[std::string(name(static_cast<Refusal>(i)))] = s.refusals[i];
  j["refusals"] = std::move(refusals);
  return j;
}

std::string Daemon::metrics_text() {
  const MediatorStats& s = server_->stats();
  const ike::EngineStats& e = server_->engine().stats();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  metric("ikeme_mediator_registered_peers", "gauge", "Pseudonyms registered now.",
         server_->registry().registrations().size());
  metric("ikeme_mediator_directory_pseudonyms", "gauge", "Pseudonyms in the directory.",
         directory_.entries().size());
  metric("ikeme_mediator_ike_sas", "gauge", "IKE SAs, half-open ones included.",
         server_->engine().sa_count());
  metric("ikeme_mediator_half_open_ike_sas", "gauge", "Half-open IKE SAs.",
         server_->engine().half_open_count());
  metric("ikeme_mediator_registrations_total", "counter", "Accepted registrations.",
         s.registrations);
  metric("ikeme_mediator_replaced_registrations_total", "counter",
         "Registrations that replaced an older IKE SA of the same pseudonym.", s.replaced);
  metric("ikeme_mediator_connect_requests_total", "counter", "ME_CONNECT requests received.",
         s.connect_requests);
  metric("ikeme_mediator_relays_total", "counter", "ME_CONNECT requests relayed.", s.relays);
  metric("ikeme_mediator_relayed_responses_total", "counter",
         "ME_CONNECT responses relayed back (completed endpoint exchanges).", s.relayed_responses);
  metric("ikeme_mediator_callbacks_sent_total", "counter", "ME_CALLBACKs sent.", s.callbacks_sent);
  metric("ikeme_mediator_failure_signals_total", "counter",
         "ME_CONNECT_FAILED from peers whose checks all failed.", s.failure_signals);
  metric("ikeme_mediator_failures_relayed_total", "counter",
         "ME_CONNECT_FAILED relayed to the other peer.", s.failures_relayed);
  metric("ikeme_mediator_failures_withheld_total", "counter",
         "ME_CONNECT_FAILED not relayed: the other peer did not announce it takes them.",
         s.failures_withheld);
  metric("ikeme_mediator_callbacks_expired_total", "counter", "Callbacks that expired.",
         s.callbacks_expired);
  metric("ikeme_mediator_cookies_sent_total", "counter", "IKE_SA_INIT answered with a COOKIE.",
         e.cookies_sent);
  metric("ikeme_mediator_ike_failed_total", "counter", "IKE SAs that failed.", e.ike_failed);
  out +=
      "# HELP ikeme_mediator_refusals_total Refused requests by reason.\n"
      "# TYPE ikeme_mediator_refusals_total counter\n";
  for (size_t i = 0; i < kRefusalCount; ++i)
    out += "ikeme_mediator_refusals_total{reason=\"" + label(name(static_cast<Refusal>(i))) +
           "\"} " + std::to_string(s.refusals[i]) + "\n";
  return out;
}

// A failed reload: counted, logged, and the running state stays.
Status<std::string> Daemon::reload_failed(const std::string& what, const std::string& trigger,
                                          const std::string& why) {
  ++reload_failures_;
  log(Subsystem::CFG, 0, what + " (" + trigger + ") failed, keeping the old one: " + why);
  return Unexpected{why};
}

// Hands the (possibly new) configuration and directory to the server: registrations of
// removed pseudonyms are closed.
void Daemon::install(const std::string& what, const std::string& trigger) {
  ++reloads_;
  ike::Actions a;
  server_->reload(engine_config(), directory_, config_.mediator.limits, now(), a);
  apply(a);
  after_server();
  log(Subsystem::CFG, 1,
      what + " reloaded (" + trigger + "): " + std::to_string(directory_.entries().size()) +
          " pseudonym(s)");
}

Status<std::string> Daemon::reload_directory(const std::string& trigger) {
  auto loaded = config::load_directory(config_.mediator.directory);
  if (!loaded) return reload_failed("directory reload", trigger, loaded.error().to_string());
  directory_ = std::move(*loaded);
  install("directory " + config_.mediator.directory.string(), trigger);
  return {};
}

Status<std::string> Daemon::reload(const std::string& trigger) {
  auto loaded = config::load_mediator_config(options_.config_path);
  if (!loaded) return reload_failed("reload", trigger, loaded.error().to_string());
  config::MediatorConfig next = std::move(*loaded);
  peer::absolutize_paths(next.base, options_.base_dir);
  if (next.mediator.directory.is_relative())
    next.mediator.directory = (options_.base_dir / next.mediator.directory).lexically_normal();
  auto dir = config::load_directory(next.mediator.directory);
  if (!dir) return reload_failed("reload", trigger, dir.error().to_string());
  // Sockets, the control socket, the metrics address and the watched file need a restart.
  const config::PeerConfig& old = config_.base;
  if (next.base.daemon.listen != old.daemon.listen || next.base.engine.port != old.engine.port ||
      next.base.engine.port_nat_t != old.engine.port_nat_t ||
      next.base.daemon.control_socket != old.daemon.control_socket ||
      next.mediator.metrics != config_.mediator.metrics ||
      next.mediator.directory != config_.mediator.directory)
    log(Subsystem::CFG, 1,
        "listen addresses, ports, the control socket, the metrics address and the directory "
        "file change only with a restart; keeping the current ones");
  next.base.daemon.listen = old.daemon.listen;
  next.base.daemon.control_socket = old.daemon.control_socket;
  next.base.engine.port = old.engine.port;
  next.base.engine.port_nat_t = old.engine.port_nat_t;
  next.mediator.metrics = config_.mediator.metrics;
  next.mediator.directory = config_.mediator.directory;
  if (auto s = log_.configure(next.base.daemon.log, options_.detached); !s) {
    log(Subsystem::CFG, 0, s.error() + "; keeping the previous log target");
    next.base.daemon.log.file = old.daemon.log.file;
    (void)log_.configure(next.base.daemon.log, options_.detached);
  }
  config_ = std::move(next);
  directory_ = std::move(*dir);
  install(options_.config_path.string() + " and its directory", trigger);
  return {};
}

}  // namespace ikeme::mediator

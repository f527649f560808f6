#include "peer/daemon.hpp"

#include <chrono>
#include <exception>

#include "ike/codec/framing.hpp"
#include "ikeme_version.hpp"
#include "peer/graceful_shutdown.hpp"

namespace ikeme::peer {

using ike::Subsystem;

std::vector<IpAddress> default_listen_addresses() {
  return {IpAddress(), IpAddress::v6({})};
}

Daemon::Daemon(DaemonOptions options, config::PeerConfig config,
               std::unique_ptr<ike::crypto::Rng> rng, LogSink& log)
    : options_(std::move(options)), config_(std::move(config)), rng_(std::move(rng)), log_(log) {}

Daemon::~Daemon() {
  stop();
  loop_.finish();  // before the members whose handles it closes go away
}

void Daemon::log(Subsystem s, int level, std::string text) {
  log_.log(s, level, std::move(text));
}

template <class F>
void Daemon::guarded(const char* where, F&& f) {
  // Exceptions never cross the event loop: an unexpected one (allocation failure) ends the
  // daemon with a log line instead of unwinding through libuv.
  try {
    f();
  } catch (const std::exception& e) {
    log(Subsystem::CFG, 0, std::string("internal error in ") + where + ": " + e.what());
    exit_code_ = 1;
    stop();
  }
}
// For the daemon's other files (callbacks of their own event sources).
template void Daemon::guarded<const std::function<void()>&>(const char*,
                                                            const std::function<void()>&);

ike::Timestamp Daemon::now() {
  // Every engine call takes now(): the wall clock for certificate validity is refreshed with it.
  if (engine_)
    engine_->set_wall_clock(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  return loop_.now();
}

Status<std::string> Daemon::start() {
  if (auto s = loop_.init(); !s) return s;
  started_ = now();

  // Sockets: every listen address on the IKE port and on the NAT-T port.
  const bool default_listen = config_.daemon.listen.empty();
  std::vector<IpAddress> addresses =
      default_listen ? default_listen_addresses() : config_.daemon.listen;
  std::vector<uint16_t> ports = {config_.engine.port};
  if (config_.engine.port_nat_t != config_.engine.port) ports.push_back(config_.engine.port_nat_t);
  std::vector<std::string> warnings;
  auto sockets = SocketSet::open(addresses, ports, default_listen, warnings);
  if (!sockets) return Unexpected{"cannot listen: " + sockets.error()};
  for (const std::string& w : warnings) log(Subsystem::NET, 1, w);

  loop_.start([this] { guarded("timer", [&] { on_timer(); }); },
              [this](int signum) { on_signal(signum); });

  pump_ = std::make_unique<DatagramPump>(
      loop_.get(), std::move(*sockets),
      [this](const ReceivedDatagram& d, ByteView data) { on_datagram(d, data); },
      [this](const char* where, const std::function<void()>& f) { guarded(where, f); }, counters_,
      log_);
  if (auto s = pump_->start(); !s) return s;

  control_ = std::make_unique<ControlServer>(
      loop_.get(), [this](const std::string& line) { return handle_control_line(line); });
  if (auto s = control_->listen(config_.daemon.control_socket); !s) return s;

  if (auto s = start_dataplane(); !s) return s;
  engine_ = std::make_unique<ike::IkeEngine>(config_.engine, *rng_);
  start_host_addresses();
  start_mediation();

  std::string listening = pump_->listening();
  log(Subsystem::CFG, 0,
      std::string("ikeme-peer ") + ikeme::kVersion +
          " started: " + std::to_string(config_.engine.connections.size()) +
          " connection(s) from " + options_.config_path.string() + ", listening on " + listening +
          ", control socket " + control_->path() + ", log to " + log_.target());
  guarded("start actions", [&] { start_actions(); });
  return {};
}

int Daemon::run() {
  loop_.run();
  return exit_code_;
}

void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (control_) control_->close();
  // Routes, addresses and the TUN device (or the kernel's SAs) go before the loop ends.
  if (dataplane_) dataplane_->shutdown();
  if (host_addresses_) host_addresses_->stop();
  if (pump_) pump_->stop();
  loop_.close();
}

void Daemon::apply(ike::Actions& actions) {
  ike::Timestamp t = now();
  for (const ike::LogLine& l : actions.logs) log_.write(l);
  // A virtual IP must be on an interface before a CHILD_SA routes from it, and stays until the
  // CHILD_SAs using it are gone.
  for (const ike::VirtualIpEvent& v : actions.vips)
    if (v.kind == ike::VirtualIpEvent::Kind::Assigned) apply_virtual_ip(v);
  for (const ike::ChildSaEvent& e : actions.children) apply_child(e, t);
  for (const ike::VirtualIpEvent& v : actions.vips)
    if (v.kind == ike::VirtualIpEvent::Kind::Released) apply_virtual_ip(v);
  for (const ike::SendDatagram& d : actions.sends) pump_->send(d);
  actions = ike::Actions{};
}

void Daemon::after_engine() {
  if (stopped_) return;
  // What arrived while the engine worked goes to the queue before the kernel's buffer overflows.
  pump_->drain();
  if (shutting_down_ && engine_->sa_count() == 0) {
    log(Subsystem::CFG, 1, "all IKE SAs are gone, exiting");
    stop();
    return;
  }
  loop_.arm(mediation_->next_timeout());
}

void Daemon::on_timer() {
  ike::Actions a;
  mediation_->handle_timeout(now(), a);  // the engine's timers, the ICE agents', retries
  apply(a);
  after_engine();
}

void Daemon::on_datagram(const ReceivedDatagram& d, ByteView data) {
  if (log_.enabled(Subsystem::NET, 2))
    log(Subsystem::NET, 2,
        "received " + std::to_string(d.size) + " bytes from " + d.remote.to_string() + " on " +
            d.local.to_string());
  // Demultiplexing on the NAT-T port (RFC 3948): ESP and keepalives are not the engine's.
  if (d.local.port == config_.engine.port_nat_t && d.local.port != config_.engine.port) {
    ike::Framed f = ike::classify_nat_t(data);
    if (f.kind == ike::DatagramKind::Keepalive) {
      ++counters_.keepalives_received;
      log(Subsystem::NET, 3, "received NAT-keepalive from " + d.remote.to_string());
      return;
    }
    if (f.kind == ike::DatagramKind::Esp) {
      // Only without a data plane: with one, the pump's intercept hands ESP over before queueing.
      ++counters_.esp_dropped;
      log(Subsystem::NET, 2,
          "ESP packet from " + d.remote.to_string() +
              " dropped: no data plane (esp_backend: none)");
      return;
    }
  }
  ike::Actions a;
  mediation_->handle_datagram(d.local, d.remote, data, now(), a);  // checks first, then engine
  apply(a);
  after_engine();
}

void Daemon::on_signal(int signum) {
  guarded("signal", [&] {
    if (signum == SIGHUP) {
      log(Subsystem::CFG, 1, "SIGHUP received, reloading " + options_.config_path.string());
      (void)reload("SIGHUP");
      return;
    }
    begin_shutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

void Daemon::begin_shutdown(const std::string& why) {
  ShutdownHooks hooks{
      [this](int level, const std::string& text) { log(Subsystem::CFG, level, text); },
      [this] { return engine_->sa_count(); },
      [this] {
        control_->close();
        ike::Actions a;
        mediation_->forget_all();  // no re-registration or retry while the SAs are deleted
        engine_->terminate_all(now(), a);
        apply(a);
      },
      [this] { stop(); }};
  if (begin_graceful_shutdown(shutting_down_, why, loop_, kShutdownGraceMs, hooks)) after_engine();
}

}  // namespace ikeme::peer

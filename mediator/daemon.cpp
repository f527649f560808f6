#include "mediator/daemon.hpp"

#include <chrono>

#include "ike/codec/framing.hpp"
#include "ikeme_version.hpp"
#include "peer/graceful_shutdown.hpp"

namespace ikeme::mediator {

using ike::Subsystem;

Daemon::Daemon(DaemonOptions options, config::MediatorConfig config, config::Directory directory,
               std::unique_ptr<ike::crypto::Rng> rng, peer::LogSink& log)
    : options_(std::move(options)),
      config_(std::move(config)),
      directory_(std::move(directory)),
      rng_(std::move(rng)),
      log_(log) {}

Daemon::~Daemon() {
  stop();
  loop_.finish();  // before the members whose handles it closes go away
}

void Daemon::log(Subsystem s, int level, std::string text) {
  log_.log(s, level, std::move(text));
}

void Daemon::guarded(const char* where, const std::function<void()>& f) {
  // No exception crosses the event loop (see peer/daemon.cpp).
  try {
    f();
  } catch (const std::exception& e) {
    log(Subsystem::CFG, 0, std::string("internal error in ") + where + ": " + e.what());
    exit_code_ = 1;
    stop();
  }
}

ike::Timestamp Daemon::now() {
  if (server_)
    server_->engine().set_wall_clock(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  return loop_.now();
}

Status<std::string> Daemon::start() {
  if (auto s = loop_.init(); !s) return s;
  started_ = now();
  const config::PeerConfig& base = config_.base;
  const bool default_listen = base.daemon.listen.empty();
  std::vector<IpAddress> addresses =
      default_listen ? std::vector{IpAddress(), IpAddress::v6({})} : base.daemon.listen;
  std::vector<uint16_t> ports = {base.engine.port};
  if (base.engine.port_nat_t != base.engine.port) ports.push_back(base.engine.port_nat_t);
  std::vector<std::string> warnings;
  auto sockets = peer::SocketSet::open(addresses, ports, default_listen, warnings);
  if (!sockets) return Unexpected{"cannot listen: " + sockets.error()};
  for (const std::string& w : warnings) log(Subsystem::NET, 1, w);

  loop_.start([this] { guarded("timer", [this] { on_timer(); }); },
              [this](int signum) { on_signal(signum); });
  uv_timer_init(loop_.get(), &directory_timer_);
  directory_timer_.data = this;
  directory_timer_started_ = true;

  worker_ = std::make_unique<KeyExchangeWorker>(
      loop_.get(),
      [this](const ike::KeyExchangeJob& job, Result<Bytes, ike::crypto::CryptoError> shared) {
        on_key_exchange(job, std::move(shared));
      });
  if (config_.mediator.ke_pregenerate > 0 && base.engine.ke_reuse_lifetime.count() == 0) {
    // Groups fixed at start; a reload that proposes another group generates it inline.
    key_pairs_ =
        std::make_unique<KeyPairRefiller>(loop_.get(), proposed_dh_groups(base.engine.connections),
                                          key_pair_pool_limits(config_.mediator.ke_pregenerate));
    key_pairs_->top_up();
  }
  server_ = std::make_unique<MediationServer>(engine_config(), directory_, config_.mediator.limits,
                                              *rng_);
  pump_ = std::make_unique<peer::DatagramPump>(
      loop_.get(), std::move(*sockets),
      [this](const peer::ReceivedDatagram& d, ByteView data) { on_datagram(d, data); },
      [this](const char* where, const std::function<void()>& f) { guarded(where, f); }, counters_,
      log_);
  if (auto s = pump_->start(); !s) return s;
  control_ = std::make_unique<peer::ControlServer>(
      loop_.get(), [this](const std::string& line) { return handle_control_line(line); });
  if (auto s = control_->listen(base.daemon.control_socket); !s) return s;
  if (config_.mediator.metrics) {
    metrics_ = std::make_unique<MetricsServer>(loop_.get(), [this] { return metrics_text(); });
    if (auto s = metrics_->listen(*config_.mediator.metrics); !s) return s;
  }
  if (auto s = watch_directory(); !s) log(Subsystem::CFG, 1, s.error());

  log(Subsystem::CFG, 0,
      std::string("ikeme-mediator ") + ikeme::kVersion +
          " started: " + std::to_string(directory_.entries().size()) + " pseudonym(s) from " +
          config_.mediator.directory.string() + ", listening on " + pump_->listening() +
          ", control socket " + control_->path() +
          (config_.mediator.metrics ? ", metrics on " + config_.mediator.metrics->to_string()
                                    : std::string()) +
          ", log to " + log_.target());
  return {};
}

Status<std::string> Daemon::watch_directory() {
  // The folder, not the file: a rename over the file (ikemectl, editors) ends a watch on it.
  std::filesystem::path folder = config_.mediator.directory.parent_path();
  if (int rc = uv_fs_event_init(loop_.get(), &directory_watch_); rc != 0)
    return Unexpected{std::string("cannot watch the directory file: ") + uv_strerror(rc)};
  directory_watch_.data = this;
  watching_ = true;
  int rc = uv_fs_event_start(
      &directory_watch_,
      [](uv_fs_event_t* h, const char* filename, int, int status) {
        auto* d = static_cast<Daemon*>(h->data);
        if (status < 0 || !filename) return;
        if (d->config_.mediator.directory.filename() != filename) return;
        uv_timer_start(
            &d->directory_timer_,
            [](uv_timer_t* t) {
              auto* self = static_cast<Daemon*>(t->data);
              self->guarded("directory reload",
                            [self] { (void)self->reload_directory("file changed"); });
            },
            kDirectoryDebounceMs, 0);
      },
      folder.c_str(), 0);
  if (rc != 0)
    return Unexpected{"cannot watch " + folder.string() + " for directory changes: " +
                      uv_strerror(rc) + "; reload with SIGHUP or ikemectl reload"};
  return {};
}

ike::EngineConfig Daemon::engine_config() const {
  ike::EngineConfig e = config_.base.engine;
  e.defer_key_exchange = true;  // computed on libuv's thread pool (key_exchange_worker.hpp)
  if (key_pairs_ && e.ke_reuse_lifetime.count() == 0)
    e.key_exchange_factory = key_pairs_->factory();
  return e;
}

int Daemon::run() {
  loop_.run();
  return exit_code_;
}

void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (control_) control_->close();
  if (metrics_) metrics_->close();
  if (pump_) pump_->stop();
  if (worker_) worker_->cancel_all();
  if (key_pairs_) key_pairs_->cancel_all();
  if (watching_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&directory_watch_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&directory_watch_), nullptr);
  if (directory_timer_started_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&directory_timer_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&directory_timer_), nullptr);
  loop_.close();
}

void Daemon::apply(ike::Actions& actions) {
  for (const ike::LogLine& l : actions.logs) log_.write(l);
  for (const ike::SendDatagram& d : actions.sends) pump_->send(d);
  std::vector<ike::KeyExchangeJob> jobs = std::move(actions.key_exchanges);
  actions = ike::Actions{};
  for (ike::KeyExchangeJob& j : jobs) worker_->submit(std::move(j));
}

void Daemon::after_server() {
  if (stopped_) return;
  pump_->drain();
  if (shutting_down_ && server_->engine().sa_count() == 0) {
    log(Subsystem::CFG, 1, "all IKE SAs are gone, exiting");
    stop();
    return;
  }
  loop_.arm(server_->next_timeout());
}

void Daemon::on_timer() {
  ike::Actions a;
  server_->handle_timeout(now(), a);
  apply(a);
  after_server();
}

void Daemon::on_key_exchange(const ike::KeyExchangeJob& job,
                             Result<Bytes, ike::crypto::CryptoError> shared) {
  if (stopped_) return;
  guarded("key exchange", [&] {
    ike::Actions a;
    server_->complete_key_exchange(job, std::move(shared), now(), a);
    apply(a);
    after_server();
  });
}

void Daemon::on_datagram(const peer::ReceivedDatagram& d, ByteView data) {
  if (d.local.port == config_.base.engine.port_nat_t && d.local.port != config_.base.engine.port) {
    ike::Framed f = ike::classify_nat_t(data);
    if (f.kind == ike::DatagramKind::Keepalive) {
      ++counters_.keepalives_received;
      return;
    }
    if (f.kind == ike::DatagramKind::Esp) {
      ++counters_.esp_dropped;  // a mediation server carries no ESP
      return;
    }
  }
  ike::Actions a;
  server_->handle_datagram(d.local, d.remote, data, now(), a);
  apply(a);
  after_server();
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
  peer::ShutdownHooks hooks{
      [this](int level, const std::string& text) { log(Subsystem::CFG, level, text); },
      [this] { return server_->engine().sa_count(); },
      [this] {
        control_->close();
        ike::Actions a;
        server_->terminate_all(now(), a);
        apply(a);
      },
      [this] { stop(); }};
  if (peer::begin_graceful_shutdown(shutting_down_, why, loop_, kShutdownGraceMs, hooks))
    after_server();
}

}  // namespace ikeme::mediator

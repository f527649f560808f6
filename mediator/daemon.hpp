#pragma once
// The ikeme-mediator runtime: one libuv loop around the sans-IO MediationServer
// (mediator/core/). Like ikeme-peer it only moves bytes, time and events: the UDP path is the
// peer's DatagramPump, the control socket its ControlServer, logging its LogSink. Its own parts:
// the directory file watch (uv_fs_event on the file's folder, since editors and ikemectl replace
// the file by rename), the Prometheus endpoint (metrics_server.hpp) and the control commands
// (daemon_commands.cpp; docs/mediator.md).

#include <uv.h>

#include <filesystem>
#include <memory>
#include <string>

#include "config/mediator_config.hpp"
#include "ike/crypto/random.hpp"
#include "mediator/core/mediation_server.hpp"
#include "mediator/key_exchange_worker.hpp"
#include "mediator/key_pair_refiller.hpp"
#include "mediator/metrics_server.hpp"
#include "peer/control_protocol.hpp"
#include "peer/control_server.hpp"
#include "peer/datagram_pump.hpp"
#include "peer/event_loop.hpp"
#include "peer/log_sink.hpp"

namespace ikeme::mediator {

struct DaemonOptions {
  std::filesystem::path config_path;  // absolute: reloads read it again
  std::filesystem::path base_dir;     // relative paths in the configuration are taken from here
  bool detached = false;
};

class Daemon {
 public:
  static constexpr uint64_t kShutdownGraceMs = 1000;
  // A burst of change events (write, then rename) is read once, after this quiet time.
  static constexpr uint64_t kDirectoryDebounceMs = 200;

  Daemon(DaemonOptions options, config::MediatorConfig config, config::Directory directory,
         std::unique_ptr<ike::crypto::Rng> rng, peer::LogSink& log);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  Status<std::string> start();
  int run();

 private:
  // --- daemon.cpp
  ike::Timestamp now();
  void apply(ike::Actions& actions);
  void after_server();
  void on_datagram(const peer::ReceivedDatagram& d, ByteView data);
  void on_timer();
  void on_key_exchange(const ike::KeyExchangeJob& job,
                       Result<Bytes, ike::crypto::CryptoError> shared);
  // The engine settings from the configuration, with the key exchanges deferred to worker_ and
  // fresh key pairs taken from key_pairs_ (when pre-generating).
  ike::EngineConfig engine_config() const;
  void on_signal(int signum);
  void begin_shutdown(const std::string& why);
  void stop();
  void log(ike::Subsystem s, int level, std::string text);
  void guarded(const char* where, const std::function<void()>& f);
  Status<std::string> watch_directory();

  // --- daemon_commands.cpp
  std::string handle_control_line(const std::string& line);
  peer::Json stats_json();
  peer::Json peers_json();
  std::string metrics_text();
  // SIGHUP / control: the configuration file and the directory; directory change: the
  // directory only. Atomic: on any error the running state stays as it was.
  Status<std::string> reload(const std::string& trigger);
  Status<std::string> reload_directory(const std::string& trigger);
  Status<std::string> reload_failed(const std::string& what, const std::string& trigger,
                                    const std::string& why);
  void install(const std::string& what, const std::string& trigger);

  DaemonOptions options_;
  config::MediatorConfig config_;
  config::Directory directory_;
  std::unique_ptr<ike::crypto::Rng> rng_;
  peer::LogSink& log_;

  peer::EventLoop loop_;
  // Before server_: the engine's key_exchange_factory points into it.
  std::unique_ptr<KeyPairRefiller> key_pairs_;
  std::unique_ptr<MediationServer> server_;
  std::unique_ptr<peer::DatagramPump> pump_;
  std::unique_ptr<peer::ControlServer> control_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<KeyExchangeWorker> worker_;
  uv_timer_t directory_timer_{};
  uv_fs_event_t directory_watch_{};
  bool directory_timer_started_ = false, watching_ = false;
  peer::DaemonCounters counters_;
  uint64_t reloads_ = 0, reload_failures_ = 0;
  ike::Timestamp started_{0};
  bool shutting_down_ = false, stopped_ = false;
  int exit_code_ = 0;
};

}  // namespace ikeme::mediator

#pragma once
// The ikeme-peer runtime: one libuv loop that carries datagrams, time, signals and control
// commands to the sans-IO IkeEngine and carries out the Actions it returns. No protocol logic
// lives here: the daemon only moves bytes, clocks and events (docs/operations.md).
//
// Sockets, the receive queue and sends: datagram_pump.hpp (shared with ikeme-mediator).
//
// ESP: the data plane (esp-kernel/dataplane.hpp, chosen by daemon.esp_backend) gets every
// CHILD_SA the engine reports, and, for the userspace backend, every ESP datagram arriving on a
// NAT-T socket straight from the receive buffer (DatagramPump's intercept: never queued or
// copied, the queue is for IKE). Its expiry events end the CHILD_SA's IKE SA (no CREATE_CHILD_SA
// yet) and re-initiate it.
//
// Time, signals and the loop itself: event_loop.hpp (also shared); its timer is re-armed to
// engine.next_timeout() after every engine call.

#include <uv.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/peer_config.hpp"
#include "esp-kernel/dataplane.hpp"
#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"
#include "peer/child_sa_table.hpp"
#include "peer/control_json.hpp"
#include "peer/control_protocol.hpp"
#include "peer/control_server.hpp"
#include "peer/datagram_pump.hpp"
#include "peer/event_loop.hpp"
#include "peer/host_address_monitor.hpp"
#include "peer/log_sink.hpp"
#include "peer/mediation_client.hpp"
#include "peer/socket_set.hpp"

namespace ikeme::peer {

struct DaemonOptions {
  std::filesystem::path config_path;  // absolute: reloads read it again
  std::filesystem::path base_dir;     // relative paths in the configuration are taken from here
  bool detached = false;              // no stderr (logs go to the file or syslog)
};

class Daemon {
 public:
  // How long a shutdown waits for the peers to answer our DELETEs.
  static constexpr uint64_t kShutdownGraceMs = 1000;

  Daemon(DaemonOptions options, config::PeerConfig config, std::unique_ptr<ike::crypto::Rng> rng,
         LogSink& log);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds the sockets and the control socket, installs the signal handlers, creates the engine
  // and initiates the start_action=start children. On error nothing keeps running.
  Status<std::string> start();
  // Runs the loop until a shutdown completes. Returns the process exit code.
  int run();

 private:
  // --- daemon.cpp: loop, sockets, timer, signals, actions
  ike::Timestamp now();
  void apply(ike::Actions& actions);
  void after_engine();  // re-arms the timer; finishes a shutdown once no SA is left
  void on_datagram(const ReceivedDatagram& d, ByteView data);
  void on_timer();
  void on_signal(int signum);
  void begin_shutdown(const std::string& why);
  void stop();
  void log(ike::Subsystem s, int level, std::string text);
  // --- daemon_dataplane.cpp: the ESP data plane
  Status<std::string> start_dataplane();
  void apply_child(const ike::ChildSaEvent& e, ike::Timestamp t);
  void apply_virtual_ip(const ike::VirtualIpEvent& v);
  void on_dataplane_event(const esp::DataplaneEvent& e);
  void send_esp(const ike::Endpoint& from, const ike::Endpoint& to, ByteView datagram);
  // Turns `encap` on for every connection when the data plane needs ESP-in-UDP.
  void force_encapsulation(ike::EngineConfig& engine, bool announce);
  template <class F>
  void guarded(const char* where, F&& f);

  // --- daemon_commands.cpp: what the control socket, signals and start actions ask for
  std::string handle_control_line(const std::string& line);
  Json handle_request(const ControlRequest& request);
  Result<uint32_t, std::string> initiate(const std::string& connection, const std::string& child);
  Status<std::string> reload(const std::string& trigger);
  void start_actions();
  std::optional<IpAddress> source_for(const ike::ConnectionConfig& conn);
  std::set<uint32_t> sa_ids(const std::string& connection, uint32_t id) const;

  // --- daemon_host_addresses.cpp: the host addresses mediated connections disclose
  void start_host_addresses();
  HostAddressPolicy host_address_policy() const;
  void on_host_addresses_changed(const HostAddressSet::Changes& changes);
  Json list_addresses() const;

  // --- daemon_mediation.cpp: IKE-ME client role (mediation_client.hpp)
  void start_mediation();
  bool mediation_command(const ControlRequest& request, Json& reply);
  void add_mediation(Json& sa, const ike::IkeSaInfo& info);

  DaemonOptions options_;
  config::PeerConfig config_;
  std::unique_ptr<ike::crypto::Rng> rng_;
  LogSink& log_;

  EventLoop loop_;
  std::unique_ptr<ike::IkeEngine> engine_;
  std::unique_ptr<MediationClient> mediation_;  // wraps engine_: declared after it
  std::unique_ptr<DatagramPump> pump_;
  std::unique_ptr<ControlServer> control_;

  std::unique_ptr<esp::Dataplane> dataplane_;           // null with esp_backend: none
  std::unique_ptr<HostAddressMonitor> host_addresses_;  // null if rtnetlink failed
  std::vector<IpAddress> own_vips_;                     // virtual IPs assigned to us
  ChildSaTable children_;
  DaemonCounters counters_;
  ike::Timestamp started_{0};
  bool shutting_down_ = false;
  bool stopped_ = false;
  int exit_code_ = 0;
};

// Default listen addresses when the configuration names none: 0.0.0.0 and ::.
std::vector<IpAddress> default_listen_addresses();

}  // namespace ikeme::peer

#pragma once
// The ikeme-peer runtime: one libuv loop that carries datagrams, time, signals and control
// commands to the sans-IO IkeEngine and carries out the Actions it returns. No protocol logic
// lives here: the daemon only moves bytes, clocks and events (docs/operations.md).
//
// Why uv_poll_t on our own sockets and not uv_udp_t: the engine must be told the local address a
// datagram arrived on (NAT detection hashes it, and a responder must answer from the address the
// initiator used, which on a wildcard socket only IP_PKTINFO / IPV6_PKTINFO tells), and must send
// from a chosen source address. libuv 1.44's uv_udp_recv_cb gives only the sender's address and
// uv_udp_send cannot attach ancillary data. So the daemon owns non-blocking sockets, lets libuv
// poll them for readability, and calls recvmsg()/sendmsg() itself (udp_socket.hpp). Sends are
// synchronous: UDP sendmsg does not block on a non-blocking socket, it fails (and the engine's
// retransmission covers a lost datagram).
//
// Receiving: every engine call may take a millisecond or more (X25519 in mbedTLS), and a burst of
// IKE_SA_INITs would overflow the kernel's receive buffer (about 200 small datagrams by default)
// meanwhile, costing each dropped peer a retransmission timeout. So after every engine call the
// daemon moves what its sockets hold into a bounded FIFO (as strongSwan's receiver thread does)
// and handles that FIFO in batches, one batch per loop iteration (a uv_idle_t keeps the loop
// turning while it is not empty), so the control socket and the timer are served in between.
//
// ESP: the data plane (esp-kernel/dataplane.hpp, chosen by daemon.esp_backend) gets every
// CHILD_SA the engine reports, and, for the userspace backend, every ESP datagram arriving on a
// NAT-T socket straight from the receive buffer (never queued or copied: the queue is for IKE).
// Its expiry events end the CHILD_SA's IKE SA (no CREATE_CHILD_SA yet) and re-initiate it.
//
// Time: one uv_timer_t, re-armed to engine.next_timeout() after every engine call; the engine's
// Timestamp is uv_now() (libuv's monotonic clock in ms, refreshed before each engine call).

#include <uv.h>

#include <deque>
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
#include "peer/log_sink.hpp"
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
  // Datagrams read per socket per drain, so one busy socket cannot starve the others, and
  // datagrams handled per loop iteration, so the sockets cannot starve the control socket.
  static constexpr int kReadBurst = 64;
  // recvmmsg batch: kRecvBatch datagrams of up to kRecvSlot bytes each per system call (ESP at
  // line rate arrives in trains; one call per datagram was a measurable share of the receiver).
  static constexpr size_t kRecvBatch = 16;
  static constexpr size_t kRecvSlot = 65536;
  // Bounds of the receive queue; when it is full the sockets are left alone (the kernel's
  // buffer then fills and drops, as without the queue).
  static constexpr size_t kMaxQueuedDatagrams = 4096;
  static constexpr size_t kMaxQueuedBytes = 8 * 1024 * 1024;

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
  void send(const ike::SendDatagram& d);
  void after_engine();  // re-arms the timer; finishes a shutdown once no SA is left
  void on_readable();
  void drain_sockets();  // sockets -> queue_, at most kReadBurst per socket
  void drain(UdpSocket& socket);
  void handle_queued();  // at most kReadBurst datagrams from queue_
  void update_idle();
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

  DaemonOptions options_;
  config::PeerConfig config_;
  std::unique_ptr<ike::crypto::Rng> rng_;
  LogSink& log_;

  uv_loop_t loop_{};
  bool loop_initialized_ = false;
  std::unique_ptr<ike::IkeEngine> engine_;
  SocketSet sockets_;
  struct Poll {
    uv_poll_t handle{};
    Daemon* daemon = nullptr;
    UdpSocket* socket = nullptr;
  };
  std::vector<std::unique_ptr<Poll>> polls_;
  uv_timer_t timer_{};
  uv_timer_t shutdown_timer_{};
  uv_idle_t idle_{};  // active while queue_ is not empty
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  bool handles_initialized_ = false;
  std::unique_ptr<ControlServer> control_;

  std::unique_ptr<esp::Dataplane> dataplane_;  // null with esp_backend: none
  ChildSaTable children_;
  DaemonCounters counters_;
  std::vector<uint8_t> buffer_;  // kRecvBatch slots of kRecvSlot bytes
  struct QueuedDatagram {
    ReceivedDatagram meta;
    std::vector<uint8_t> data;
  };
  std::deque<QueuedDatagram> queue_;  // received, not handled yet (FIFO)
  size_t queued_bytes_ = 0;
  ike::Timestamp started_{0};
  bool in_timer_ = false;
  bool shutting_down_ = false;
  bool stopped_ = false;
  int exit_code_ = 0;
};

// Default listen addresses when the configuration names none: 0.0.0.0 and ::.
std::vector<IpAddress> default_listen_addresses();

}  // namespace ikeme::peer

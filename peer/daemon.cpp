#include "peer/daemon.hpp"

#include <chrono>
#include <exception>

#include "ike/codec/framing.hpp"
#include "ikeme_version.hpp"

namespace ikeme::peer {

using ike::Subsystem;

std::vector<IpAddress> default_listen_addresses() {
  return {IpAddress(), IpAddress::v6({})};
}

Daemon::Daemon(DaemonOptions options, config::PeerConfig config,
               std::unique_ptr<ike::crypto::Rng> rng, LogSink& log)
    : options_(std::move(options)),
      config_(std::move(config)),
      rng_(std::move(rng)),
      log_(log),
      buffer_(kRecvBatch * kRecvSlot) {}

Daemon::~Daemon() {
  if (!loop_initialized_) return;
  stop();
  uv_run(&loop_, UV_RUN_DEFAULT);  // lets the close callbacks run
  uv_loop_close(&loop_);
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

ike::Timestamp Daemon::now() {
  // Every engine call takes now(): the wall clock for certificate validity is refreshed with it.
  if (engine_)
    engine_->set_wall_clock(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  uv_update_time(&loop_);
  return ike::Timestamp(static_cast<int64_t>(uv_now(&loop_)));
}

Status<std::string> Daemon::start() {
  if (int rc = uv_loop_init(&loop_); rc != 0)
    return Unexpected{std::string("uv_loop_init: ") + uv_strerror(rc)};
  loop_initialized_ = true;
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
  sockets_ = std::move(*sockets);
  for (const std::string& w : warnings) log(Subsystem::NET, 1, w);

  uv_timer_init(&loop_, &timer_);
  uv_timer_init(&loop_, &shutdown_timer_);
  uv_idle_init(&loop_, &idle_);
  timer_.data = shutdown_timer_.data = idle_.data = this;
  for (uv_signal_t* s : {&sigterm_, &sigint_, &sighup_}) {
    uv_signal_init(&loop_, s);
    s->data = this;
  }
  handles_initialized_ = true;
  auto signal_cb = [](uv_signal_t* h, int signum) {
    static_cast<Daemon*>(h->data)->on_signal(signum);
  };
  uv_signal_start(&sigterm_, signal_cb, SIGTERM);
  uv_signal_start(&sigint_, signal_cb, SIGINT);
  uv_signal_start(&sighup_, signal_cb, SIGHUP);

  for (UdpSocket& s : sockets_.sockets()) {
    auto p = std::make_unique<Poll>();
    p->daemon = this;
    p->socket = &s;
    p->handle.data = p.get();
    if (int rc = uv_poll_init_socket(&loop_, &p->handle, s.fd()); rc != 0)
      return Unexpected{std::string("uv_poll_init_socket: ") + uv_strerror(rc)};
    uv_poll_start(&p->handle, UV_READABLE, [](uv_poll_t* h, int status, int) {
      auto* poll = static_cast<Poll*>(h->data);
      if (status < 0) return;
      poll->daemon->guarded("receive", [&] { poll->daemon->on_readable(); });
    });
    polls_.push_back(std::move(p));
  }

  control_ = std::make_unique<ControlServer>(
      &loop_, [this](const std::string& line) { return handle_control_line(line); });
  if (auto s = control_->listen(config_.daemon.control_socket); !s) return s;

  if (auto s = start_dataplane(); !s) return s;
  engine_ = std::make_unique<ike::IkeEngine>(config_.engine, *rng_);

  std::string listening;
  for (const UdpSocket& s : sockets_.sockets())
    listening += (listening.empty() ? "" : ", ") + s.bound().to_string();
  log(Subsystem::CFG, 0,
      std::string("ikeme-peer ") + ikeme::kVersion +
          " started: " + std::to_string(config_.engine.connections.size()) +
          " connection(s) from " + options_.config_path.string() + ", listening on " + listening +
          ", control socket " + control_->path() + ", log to " + log_.target());
  guarded("start actions", [&] { start_actions(); });
  return {};
}

int Daemon::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (control_) control_->close();
  // Routes, addresses and the TUN device (or the kernel's SAs) go before the loop ends.
  if (dataplane_) dataplane_->shutdown();
  for (auto& p : polls_)
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->handle)))
      uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), nullptr);
  if (handles_initialized_)
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&timer_), reinterpret_cast<uv_handle_t*>(&shutdown_timer_),
          reinterpret_cast<uv_handle_t*>(&idle_), reinterpret_cast<uv_handle_t*>(&sigterm_),
          reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sighup_)})
      if (!uv_is_closing(h)) uv_close(h, nullptr);
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
  for (const ike::SendDatagram& d : actions.sends) send(d);
  actions = ike::Actions{};
}

void Daemon::send(const ike::SendDatagram& d) {
  UdpSocket* s = sockets_.for_source(d.from);
  if (!s) {
    ++counters_.send_errors;
    log(Subsystem::NET, 1,
        "no socket to send from " + d.from.to_string() + ", datagram to " + d.to.to_string() +
            " dropped (is " + d.from.address.to_string() + " a listen address?)");
    return;
  }
  if (auto r = s->send(d.from, d.to, d.data); !r) {
    ++counters_.send_errors;
    log(Subsystem::NET, 1, "error sending packet: " + r.error());
    return;
  }
  ++counters_.datagrams_sent;
  if (log_.enabled(Subsystem::NET, 2))
    log(Subsystem::NET, 2,
        "sent " + std::to_string(d.data.size()) + " bytes from " + d.from.to_string() + " to " +
            d.to.to_string());
}

void Daemon::after_engine() {
  if (stopped_) return;
  // What arrived while the engine worked goes to the queue before the kernel's buffer overflows.
  drain_sockets();
  update_idle();
  if (shutting_down_ && engine_->sa_count() == 0) {
    log(Subsystem::CFG, 1, "all IKE SAs are gone, exiting");
    stop();
    return;
  }
  std::optional<ike::Timestamp> next = engine_->next_timeout();
  if (!next) {
    uv_timer_stop(&timer_);
    return;
  }
  ike::Timestamp t = now();
  uint64_t delay = *next > t ? static_cast<uint64_t>((*next - t).count()) : 0;
  // A deadline the engine just handled but still reports would spin the loop: wait 1 ms.
  if (delay == 0 && in_timer_) delay = 1;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* h) {
        auto* d = static_cast<Daemon*>(h->data);
        d->guarded("timer", [&] { d->on_timer(); });
      },
      delay, 0);
}

void Daemon::on_timer() {
  in_timer_ = true;
  ike::Actions a;
  engine_->handle_timeout(now(), a);
  apply(a);
  after_engine();
  in_timer_ = false;
}

void Daemon::on_readable() {
  drain_sockets();
  handle_queued();
}

void Daemon::drain_sockets() {
  for (UdpSocket& s : sockets_.sockets()) drain(s);
}

void Daemon::drain(UdpSocket& socket) {
  // recvmmsg in batches of kRecvBatch into buffer_'s slots; at most kReadBurst per call.
  std::array<ReceivedDatagram, kRecvBatch> meta;
  for (int done = 0; done < kReadBurst && !stopped_;) {
    if (queue_.size() + kRecvBatch > kMaxQueuedDatagrams || queued_bytes_ >= kMaxQueuedBytes)
      return;
    std::string error;
    int n = socket.receive_many(buffer_, kRecvSlot, meta, error);
    if (n == 0) return;
    if (n < 0) {
      ++counters_.receive_errors;
      log(Subsystem::NET, 1, "error receiving on " + socket.bound().to_string() + ": " + error);
      return;
    }
    done += n;
    for (int i = 0; i < n && !stopped_; ++i) {
      const ReceivedDatagram& d = meta[static_cast<size_t>(i)];
      uint8_t* data = buffer_.data() + static_cast<size_t>(i) * kRecvSlot;
      ++counters_.datagrams_received;
      if (d.truncated) {
        ++counters_.truncated;
        log(Subsystem::NET, 1,
            "datagram from " + d.remote.to_string() + " larger than " + std::to_string(kRecvSlot) +
                " bytes dropped");
        continue;
      }
      // ESP goes to the data plane at once, decrypted in place in the receive buffer.
      if (dataplane_ && d.local.port == config_.engine.port_nat_t &&
          d.local.port != config_.engine.port &&
          ike::classify_nat_t(ByteView(data, d.size)).kind == ike::DatagramKind::Esp) {
        ++counters_.esp_received;
        uv_update_time(&loop_);
        dataplane_->handle_esp(d.local, d.remote, std::span<uint8_t>(data, d.size),
                               ike::Timestamp(static_cast<int64_t>(uv_now(&loop_))));
        continue;
      }
      queue_.push_back(QueuedDatagram{d, std::vector<uint8_t>(data, data + d.size)});
      queued_bytes_ += d.size;
    }
    if (n < static_cast<int>(kRecvBatch)) return;  // the socket is empty
  }
}

void Daemon::handle_queued() {
  for (int i = 0; i < kReadBurst && !queue_.empty() && !stopped_; ++i) {
    QueuedDatagram q = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= q.data.size();
    on_datagram(q.meta, ByteView(q.data.data(), q.data.size()));
  }
  update_idle();
}

void Daemon::update_idle() {
  if (stopped_ || !handles_initialized_) return;
  if (queue_.empty()) {
    uv_idle_stop(&idle_);
    return;
  }
  // An active idle handle makes the loop poll without blocking, so the next batch follows after
  // the control socket, the timer and the sockets had their turn.
  uv_idle_start(&idle_, [](uv_idle_t* h) {
    auto* d = static_cast<Daemon*>(h->data);
    d->guarded("receive", [&] { d->handle_queued(); });
  });
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
      // Only without a data plane: with one, drain() hands ESP over before queueing.
      ++counters_.esp_dropped;
      log(Subsystem::NET, 2,
          "ESP packet from " + d.remote.to_string() +
              " dropped: no data plane (esp_backend: none)");
      return;
    }
  }
  ike::Actions a;
  engine_->handle_datagram(d.local, d.remote, data, now(), a);
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
  if (shutting_down_) {
    log(Subsystem::CFG, 0, why + " received again, exiting without waiting");
    stop();
    return;
  }
  shutting_down_ = true;
  control_->close();
  log(Subsystem::CFG, 0,
      why + " received, shutting down: deleting " + std::to_string(engine_->sa_count()) +
          " IKE SA(s)");
  ike::Actions a;
  engine_->terminate_all(now(), a);
  apply(a);
  if (engine_->sa_count() == 0) {
    stop();
    return;
  }
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* h) {
        auto* d = static_cast<Daemon*>(h->data);
        d->log(Subsystem::CFG, 1,
               std::to_string(d->engine_->sa_count()) + " IKE SA(s) still deleting after " +
                   std::to_string(kShutdownGraceMs) + " ms, exiting anyway");
        d->stop();
      },
      kShutdownGraceMs, 0);
  after_engine();
}

}  // namespace ikeme::peer

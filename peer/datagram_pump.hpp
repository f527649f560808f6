#pragma once
// The daemons' UDP path (ikeme-peer and ikeme-mediator): the sockets, polled by libuv, drained
// into a bounded FIFO, and handed to the daemon in batches; and sends through the socket that
// owns the source address.
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
// daemon calls drain() to move what the sockets hold into a bounded FIFO (as strongSwan's
// receiver thread does), and the FIFO is handled in batches, one batch per loop iteration (a
// uv_idle_t keeps the loop turning while it is not empty), so the control socket and the timer
// are served in between.

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ike/sa/actions.hpp"
#include "peer/control_json.hpp"
#include "peer/log_sink.hpp"
#include "peer/socket_set.hpp"

namespace ikeme::peer {

class DatagramPump {
 public:
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

  using Handler = std::function<void(const ReceivedDatagram& meta, ByteView data)>;
  // Runs a callback from libuv so that no exception crosses the loop (the daemon's `guarded`).
  using Guard = std::function<void(const char* where, const std::function<void()>& f)>;
  // Sees every datagram straight from the receive buffer, before it is queued; returns true when
  // it took the datagram (ikeme-peer's userspace data plane takes ESP this way, decrypting in
  // place: ESP is never queued or copied, the queue is for IKE).
  using Intercept = std::function<bool(const ReceivedDatagram& meta, std::span<uint8_t> data)>;

  DatagramPump(uv_loop_t* loop, SocketSet sockets, Handler handler, Guard guard,
               DaemonCounters& counters, LogSink& log);
  ~DatagramPump();
  DatagramPump(const DatagramPump&) = delete;
  DatagramPump& operator=(const DatagramPump&) = delete;

  // Starts polling the sockets.
  Status<std::string> start();
  // Stops polling and closes the handles (asynchronously: the loop must run once more).
  void stop();
  // Sockets -> queue, at most kReadBurst per socket; then keeps the idle handle in step.
  void drain();
  void send(const ike::SendDatagram& d);
  // `batch_done` runs at the end of each drain() that intercepted something (the userspace
  // data plane then writes the TCP segments it held back to join them).
  void set_intercept(Intercept intercept, std::function<void()> batch_done = {}) {
    intercept_ = std::move(intercept);
    batch_done_ = std::move(batch_done);
  }

  SocketSet& sockets() { return sockets_; }
  const SocketSet& sockets() const { return sockets_; }
  std::string listening() const;  // "0.0.0.0[500], 0.0.0.0[4500], ..."

 private:
  struct Poll {
    uv_poll_t handle{};
    DatagramPump* pump = nullptr;
  };
  void drain(UdpSocket& socket);
  void handle_received(const ReceivedDatagram& d, uint8_t* data);  // intercepted or queued
  void handle_queued();  // at most kReadBurst datagrams from queue_
  void update_idle();

  uv_loop_t* loop_;
  SocketSet sockets_;
  Handler handler_;
  Guard guard_;
  Intercept intercept_;
  std::function<void()> batch_done_;
  bool intercepted_ = false;  // during a drain()
  DaemonCounters& counters_;
  LogSink& log_;
  std::vector<std::unique_ptr<Poll>> polls_;
  uv_idle_t idle_{};  // active while queue_ is not empty
  bool started_ = false, stopped_ = false;
  std::vector<uint8_t> buffer_;  // kRecvBatch slots of kRecvSlot bytes
  struct QueuedDatagram {
    ReceivedDatagram meta;
    std::vector<uint8_t> data;
  };
  std::deque<QueuedDatagram> queue_;  // received, not handled yet (FIFO)
  size_t queued_bytes_ = 0;
};

}  // namespace ikeme::peer

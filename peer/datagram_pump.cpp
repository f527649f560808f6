#include "peer/datagram_pump.hpp"

#include <algorithm>
#include <array>

namespace ikeme::peer {

using ike::Subsystem;

DatagramPump::DatagramPump(uv_loop_t* loop, SocketSet sockets, Handler handler, Guard guard,
                           DaemonCounters& counters, LogSink& log)
    : loop_(loop),
      sockets_(std::move(sockets)),
      handler_(std::move(handler)),
      guard_(std::move(guard)),
      counters_(counters),
      log_(log),
      buffer_(kRecvBatch * kRecvSlot) {}

DatagramPump::~DatagramPump() = default;

Status<std::string> DatagramPump::start() {
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
  started_ = true;
  for (UdpSocket& s : sockets_.sockets()) {
    auto p = std::make_unique<Poll>();
    p->pump = this;
    p->handle.data = p.get();
    if (int rc = uv_poll_init_socket(loop_, &p->handle, s.fd()); rc != 0)
      return Unexpected{std::string("uv_poll_init_socket: ") + uv_strerror(rc)};
    uv_poll_start(&p->handle, UV_READABLE, [](uv_poll_t* h, int status, int) {
      auto* pump = static_cast<Poll*>(h->data)->pump;
      if (status < 0) return;
      pump->guard_("receive", [pump] {
        pump->drain();
        pump->handle_queued();
      });
    });
    polls_.push_back(std::move(p));
  }
  return {};
}

void DatagramPump::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& p : polls_)
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->handle)))
      uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), nullptr);
  if (started_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&idle_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
}

std::string DatagramPump::listening() const {
  std::string out;
  for (const UdpSocket& s : sockets_.sockets())
    out += (out.empty() ? "" : ", ") + s.bound().to_string();
  return out;
}

void DatagramPump::send(const ike::SendDatagram& d) {
  UdpSocket* s = sockets_.for_source(d.from);
  if (!s) {
    ++counters_.send_errors;
    log_.log(Subsystem::NET, 1,
             "no socket to send from " + d.from.to_string() + ", datagram to " + d.to.to_string() +
                 " dropped (is " + d.from.address.to_string() + " a listen address?)");
    return;
  }
  if (auto r = s->send(d.from, d.to, d.data); !r) {
    ++counters_.send_errors;
    log_.log(Subsystem::NET, 1, "error sending packet: " + r.error());
    return;
  }
  ++counters_.datagrams_sent;
  if (log_.enabled(Subsystem::NET, 2))
    log_.log(Subsystem::NET, 2,
             "sent " + std::to_string(d.data.size()) + " bytes from " + d.from.to_string() +
                 " to " + d.to.to_string());
}

void DatagramPump::drain() {
  intercepted_ = false;
  for (UdpSocket& s : sockets_.sockets()) drain(s);
  if (intercepted_ && batch_done_ && !stopped_) batch_done_();
  update_idle();
}

void DatagramPump::drain(UdpSocket& socket) {
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
      log_.log(Subsystem::NET, 1,
               "error receiving on " + socket.bound().to_string() + ": " + error);
      return;
    }
    done += n;
    for (int i = 0; i < n && !stopped_; ++i) {
      const ReceivedDatagram& d = meta[static_cast<size_t>(i)];
      uint8_t* data = buffer_.data() + static_cast<size_t>(i) * kRecvSlot;
      if (d.truncated) {
        ++counters_.datagrams_received;
        ++counters_.truncated;
        log_.log(Subsystem::NET, 1,
                 "datagram from " + d.remote.to_string() + " larger than " +
                     std::to_string(kRecvSlot) + " bytes dropped");
        continue;
      }
      if (!d.segment_size) {
        handle_received(d, data);
        continue;
      }
      // A UDP GRO read holds several datagrams of segment_size bytes (the last one shorter);
      // they count towards the burst limit one by one.
      for (size_t off = 0; off < d.size && !stopped_; off += d.segment_size) {
        ReceivedDatagram one = d;
        one.size = std::min(d.segment_size, d.size - off);
        one.segment_size = 0;
        handle_received(one, data + off);
        if (off > 0) ++done;
      }
    }
    if (n < static_cast<int>(kRecvBatch)) return;  // the socket is empty
  }
}

void DatagramPump::handle_received(const ReceivedDatagram& d, uint8_t* data) {
  ++counters_.datagrams_received;
  if (intercept_ && intercept_(d, std::span<uint8_t>(data, d.size))) {
    intercepted_ = true;
    return;
  }
  queue_.push_back(QueuedDatagram{d, std::vector<uint8_t>(data, data + d.size)});
  queued_bytes_ += d.size;
}

void DatagramPump::handle_queued() {
  for (int i = 0; i < kReadBurst && !queue_.empty() && !stopped_; ++i) {
    QueuedDatagram q = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= q.data.size();
    handler_(q.meta, ByteView(q.data.data(), q.data.size()));
  }
  update_idle();
}

void DatagramPump::update_idle() {
  if (stopped_ || !started_) return;
  if (queue_.empty()) {
    uv_idle_stop(&idle_);
    return;
  }
  // An active idle handle makes the loop poll without blocking, so the next batch follows after
  // the control socket, the timer and the sockets had their turn.
  uv_idle_start(&idle_, [](uv_idle_t* h) {
    auto* pump = static_cast<DatagramPump*>(h->data);
    pump->guard_("receive", [pump] { pump->handle_queued(); });
  });
}

}  // namespace ikeme::peer

#pragma once
// Outbound ESP-in-UDP in batches: the userspace data plane seals a burst of packets read from
// the TUN device and hands them to the kernel with one sendmmsg() per socket instead of one
// sendmsg() each. The sockets are the daemon's NAT-T sockets (prepare_nat_t_socket); one bound
// to a wildcard address gets the source address per datagram through IP_PKTINFO /
// IPV6_PKTINFO, like the daemon's own sends.
//
// UDP GSO (UDP_SEGMENT, Linux 4.18): consecutive datagrams to the same peer of the same size
// (the last one may be shorter) go out as one message whose iovecs the kernel cuts at that size,
// so the IP stack and the link see one packet per up to 64 KiB (and a receiver with UDP_GRO gets
// them in one read). A kernel or path that refuses it (EIO from a device without checksum
// offload, EINVAL, ENOPROTOOPT) switches it off for good; gso() tells.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::esp {

class UdpBatchSender {
 public:
  static constexpr size_t kMaxBatch = 128;       // datagrams queued at most
  static constexpr size_t kMaxGsoSegments = 64;  // per UDP_SEGMENT message (UDP_MAX_SEGMENTS)

  UdpBatchSender();
  // Registers a socket (its bound address is read with getsockname).
  Status<std::string> add_socket(int fd);
  // Whether some registered socket can send from `from`.
  bool can_send_from(const ike::Endpoint& from) const;

  // Queues one datagram; `data` must stay valid until flush(). Flushes first if the batch is
  // full or goes to another socket. False if no socket can send from `from`.
  bool queue(const ike::Endpoint& from, const ike::Endpoint& to, ByteView data);
  // Sends what is queued. Returns the number of datagrams the kernel refused (counted as
  // send errors by the caller); `error` tells the first reason.
  size_t flush(std::string& error);
  size_t queued() const { return count_; }
  // Whether UDP GSO is (still) in use; gso_error() why it was switched off, once.
  bool gso() const { return gso_; }
  void set_gso(bool on) { gso_ = on; }
  std::string take_gso_error() { return std::exchange(gso_error_, std::string()); }
  uint64_t messages_sent() const { return messages_sent_; }

 private:
  struct Socket {
    int fd = -1;
    ike::Endpoint bound;
    bool wildcard = false;
  };
  const Socket* socket_for(const ike::Endpoint& from) const;
  void send_queued();  // one or more sendmmsg() for what is queued
  // Messages for the datagrams from `datagram` on, written from message `msg` on; returns the
  // message count then.
  size_t build_messages(size_t datagram, size_t msg);
  bool same_route(size_t a, size_t b) const;

  std::vector<Socket> sockets_;
  const Socket* current_ = nullptr;
  size_t count_ = 0;
  size_t refused_ = 0;  // since the last flush()
  std::string first_error_;
  bool gso_ = true;
  std::string gso_error_;
  uint64_t messages_sent_ = 0;
  // Per queued datagram: its data, destination and source address (pktinfo, or none).
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> names_;
  std::vector<socklen_t> name_lens_;
  std::vector<ike::Endpoint> sources_;
  std::vector<char> pktinfo_;  // whether sources_[i] goes in an IP(V6)_PKTINFO
  // Per message: the header, its first datagram and count, its control data.
  std::vector<mmsghdr> msgs_;
  std::vector<size_t> msg_first_, msg_count_;
  struct alignas(cmsghdr) Control {
    unsigned char bytes[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
  };
  std::vector<Control> controls_;
};

}  // namespace ikeme::esp

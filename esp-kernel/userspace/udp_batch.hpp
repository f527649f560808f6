#pragma once
// Outbound ESP-in-UDP in batches: the userspace data plane seals a burst of packets read from
// the TUN device and hands them to the kernel with one sendmmsg() per socket instead of one
// sendmsg() each. The sockets are the daemon's NAT-T sockets (prepare_nat_t_socket); one bound
// to a wildcard address gets the source address per datagram through IP_PKTINFO /
// IPV6_PKTINFO, like the daemon's own sends.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::esp {

class UdpBatchSender {
 public:
  static constexpr size_t kMaxBatch = 64;

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

 private:
  struct Socket {
    int fd = -1;
    ike::Endpoint bound;
    bool wildcard = false;
  };
  const Socket* socket_for(const ike::Endpoint& from) const;
  void send_queued();  // one or more sendmmsg() for what is queued

  std::vector<Socket> sockets_;
  const Socket* current_ = nullptr;
  size_t count_ = 0;
  size_t refused_ = 0;  // since the last flush()
  std::string first_error_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> names_;
  std::vector<std::array<unsigned char, CMSG_SPACE(sizeof(in6_pktinfo))>> controls_;
};

}  // namespace ikeme::esp

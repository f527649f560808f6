#pragma once
// One non-blocking UDP socket of the daemon, bound to an address (possibly the wildcard) and an
// IKE port. It tells, for every datagram, the local address the datagram was sent to
// (IP_PKTINFO / IPV6_RECVPKTINFO), because the engine needs it: NAT detection hashes it and the
// responder answers from it. It sends from a chosen local address through the same ancillary
// data when bound to the wildcard.
//
// Plain POSIX: the event loop polls fd() for readability (see daemon.hpp for why this is not a
// uv_udp_t).

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::peer {

struct ReceivedDatagram {
  ike::Endpoint local;   // the datagram's destination: our address it arrived on, our port
  ike::Endpoint remote;  // its source
  size_t size = 0;
  bool truncated = false;  // larger than the buffer (the rest is lost)
  // UDP GRO (a socket with UDP_GRO on): the buffer holds several datagrams of this size from the
  // same sender, the last one possibly shorter; 0 for a single datagram.
  size_t segment_size = 0;
};

class UdpSocket {
 public:
  // socket(), IPV6_V6ONLY for IPv6, the pktinfo option, bind(). Port 0 binds an ephemeral
  // port, which bound() then tells.
  static Result<UdpSocket, std::string> open(const ike::Endpoint& bind_to);

  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  int fd() const { return fd_; }
  const ike::Endpoint& bound() const { return bound_; }
  bool wildcard() const { return wildcard_; }

  enum class RecvStatus { Datagram, WouldBlock, Error };
  // One datagram. On Error, `error` says why (the socket stays usable).
  RecvStatus receive(std::span<uint8_t> buffer, ReceivedDatagram& out, std::string& error);
  // Up to out.size() (at most 64) datagrams with one recvmmsg(): datagram i lands in
  // buffers[i * slot, (i + 1) * slot). Returns how many arrived (0: none waiting), or -1 with
  // `error` set (the socket stays usable).
  int receive_many(std::span<uint8_t> buffers, size_t slot, std::span<ReceivedDatagram> out,
                   std::string& error);
  // One sendmsg(). `from.address` unspecified: the kernel chooses the source; otherwise a
  // wildcard socket sends from it through pktinfo (a bound socket sends from its own address).
  Status<std::string> send(const ike::Endpoint& from, const ike::Endpoint& to, ByteView data);

 private:
  bool describe(const msghdr& msg, size_t size, ReceivedDatagram& out) const;
  UdpSocket(int fd, ike::Endpoint bound, bool wildcard)
      : fd_(fd), bound_(std::move(bound)), wildcard_(wildcard) {}
  int fd_ = -1;
  ike::Endpoint bound_;
  bool wildcard_ = false;
};

}  // namespace ikeme::peer

#include "peer/udp_socket.hpp"

#include <algorithm>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "peer/sockaddr.hpp"

namespace ikeme::peer {

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Result<UdpSocket, std::string> UdpSocket::open(const ike::Endpoint& bind_to) {
  const bool v4 = bind_to.address.is_v4();
  int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unexpected{errno_text("socket")};
  UdpSocket sock(fd, bind_to, is_unspecified(bind_to.address));
  int on = 1;
  if (!v4 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
    return Unexpected{errno_text("setsockopt(IPV6_V6ONLY)")};
  if (v4 ? ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0
         : ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0)
    return Unexpected{errno_text(v4 ? "setsockopt(IP_PKTINFO)" : "setsockopt(IPV6_RECVPKTINFO)")};
  SocketAddress sa = to_sockaddr(bind_to);
  if (::bind(fd, sa.get(), sa.length) != 0)
    return Unexpected{"bind to " + bind_to.to_string() + ": " + std::strerror(errno)};
  SocketAddress actual;
  actual.length = sizeof actual.storage;
  if (::getsockname(fd, actual.get(), &actual.length) == 0)  // the port, when 0 was asked for
    if (auto ep = from_sockaddr(actual.get(), actual.length)) sock.bound_.port = ep->port;
  return sock;
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(other.fd_), bound_(other.bound_), wildcard_(other.wildcard_) {
  other.fd_ = -1;
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    bound_ = other.bound_;
    wildcard_ = other.wildcard_;
    other.fd_ = -1;
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

// The sender, our local address (IP_PKTINFO / IPV6_PKTINFO) and the flags of one received
// message into `out`; false if the sender's address family is unknown.
bool UdpSocket::describe(const msghdr& msg, size_t size, ReceivedDatagram& out) const {
  auto remote = from_sockaddr(static_cast<const sockaddr*>(msg.msg_name), msg.msg_namelen);
  if (!remote) return false;
  out.remote = *remote;
  out.local = bound_;  // refined from pktinfo below
  out.size = size;
  out.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  out.segment_size = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      std::array<uint8_t, 4> b;
      std::memcpy(b.data(), &info.ipi_addr, 4);
      out.local.address = IpAddress::v4(b);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      std::array<uint8_t, 16> b;
      std::memcpy(b.data(), &info.ipi6_addr, 16);
      out.local.address = IpAddress::v6(b);
    } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int segment = 0;
      std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
      if (segment > 0 && static_cast<size_t>(segment) < size)
        out.segment_size = static_cast<size_t>(segment);
    }
  }
  return true;
}

UdpSocket::RecvStatus UdpSocket::receive(std::span<uint8_t> buffer, ReceivedDatagram& out,
                                         std::string& error) {
  ReceivedDatagram one[1];
  int n = receive_many(buffer, buffer.size(), one, error);
  if (n < 0) return RecvStatus::Error;
  if (n == 0) return RecvStatus::WouldBlock;
  out = one[0];
  return RecvStatus::Datagram;
}

int UdpSocket::receive_many(std::span<uint8_t> buffers, size_t slot,
                            std::span<ReceivedDatagram> out, std::string& error) {
  constexpr size_t kMax = 64;
  const size_t count = std::min({out.size(), kMax, slot ? buffers.size() / slot : 0});
  if (count == 0) return 0;
  struct Control {
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo)) + 64> bytes;
  };
  std::array<mmsghdr, kMax> msgs;
  std::array<iovec, kMax> iovs;
  std::array<sockaddr_storage, kMax> names;
  std::array<Control, kMax> controls;
  for (size_t i = 0; i < count; ++i) {
    iovs[i] = iovec{buffers.data() + i * slot, slot};
    msghdr& m = msgs[i].msg_hdr;
    m = msghdr{};
    m.msg_name = &names[i];
    m.msg_namelen = sizeof names[i];
    m.msg_iov = &iovs[i];
    m.msg_iovlen = 1;
    m.msg_control = controls[i].bytes.data();
    m.msg_controllen = controls[i].bytes.size();
    msgs[i].msg_len = 0;
  }
  int n;
  do n = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(count), MSG_DONTWAIT, nullptr);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    error = errno_text("recvmmsg");
    return -1;
  }
  for (int i = 0; i < n; ++i)
    if (!describe(msgs[i].msg_hdr, msgs[i].msg_len, out[static_cast<size_t>(i)])) {
      // Cannot happen on an AF_INET/AF_INET6 socket; reported rather than guessed.
      error = "recvmmsg: datagram from an unknown address family";
      return -1;
    }
  return n;
}

Status<std::string> UdpSocket::send(const ike::Endpoint& from, const ike::Endpoint& to,
                                    ByteView data) {
  SocketAddress dest = to_sockaddr(to);
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
  msghdr msg{};
  msg.msg_name = dest.get();
  msg.msg_namelen = dest.length;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (wildcard_ && !is_unspecified(from.address)) {
    msg.msg_control = control.data();
    cmsghdr* c = nullptr;
    if (from.address.is_v4()) {
      msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, from.address.bytes().data(), 4);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
      msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, from.address.bytes().data(), 16);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) return {};
    if (errno != EINTR) break;
  }
  return Unexpected{"sendmsg from " + from.to_string() + " to " + to.to_string() + ": " +
                    std::strerror(errno)};
}

}  // namespace ikeme::peer

#include "esp-kernel/userspace/udp_batch.hpp"

#include <cerrno>
#include <cstring>

namespace ikeme::esp {
namespace {

ike::Endpoint from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) {
    const auto& s6 = reinterpret_cast<const sockaddr_in6&>(ss);
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &s6.sin6_addr, 16);
    return ike::Endpoint{IpAddress::v6(b), ntohs(s6.sin6_port)};
  }
  const auto& s4 = reinterpret_cast<const sockaddr_in&>(ss);
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &s4.sin_addr, 4);
  return ike::Endpoint{IpAddress::v4(b), ntohs(s4.sin_port)};
}

socklen_t to_sockaddr(const ike::Endpoint& e, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (e.address.is_v4()) {
    auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
    s4.sin_family = AF_INET;
    s4.sin_port = htons(e.port);
    std::memcpy(&s4.sin_addr, e.address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(e.port);
  std::memcpy(&s6.sin6_addr, e.address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

bool is_wildcard(const IpAddress& a) {
  for (uint8_t b : a.bytes())
    if (b) return false;
  return true;
}

}  // namespace

UdpBatchSender::UdpBatchSender()
    : msgs_(kMaxBatch), iovs_(kMaxBatch), names_(kMaxBatch), controls_(kMaxBatch) {}

Status<std::string> UdpBatchSender::add_socket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return Unexpected{std::string("getsockname: ") + std::strerror(errno)};
  Socket s;
  s.fd = fd;
  s.bound = from_sockaddr(ss);
  s.wildcard = is_wildcard(s.bound.address);
  current_ = nullptr;  // the vector may move
  sockets_.push_back(s);
  return {};
}

const UdpBatchSender::Socket* UdpBatchSender::socket_for(const ike::Endpoint& from) const {
  if (current_ && current_->bound.port == from.port &&
      (current_->bound.address == from.address ||
       (current_->wildcard && current_->bound.address.is_v4() == from.address.is_v4())))
    return current_;
  const Socket* wildcard = nullptr;
  for (const Socket& s : sockets_) {
    if (s.bound.port != from.port || s.bound.address.is_v4() != from.address.is_v4()) continue;
    if (s.bound.address == from.address) return &s;
    if (s.wildcard && !wildcard) wildcard = &s;
  }
  return wildcard;
}

bool UdpBatchSender::can_send_from(const ike::Endpoint& from) const {
  return socket_for(from) != nullptr;
}

bool UdpBatchSender::queue(const ike::Endpoint& from, const ike::Endpoint& to, ByteView data) {
  const Socket* s = socket_for(from);
  if (!s) return false;
  if (count_ > 0 && (s != current_ || count_ == kMaxBatch)) send_queued();
  current_ = s;
  const size_t i = count_++;
  mmsghdr& m = msgs_[i];
  std::memset(&m, 0, sizeof m);
  iovs_[i].iov_base = const_cast<uint8_t*>(data.data());
  iovs_[i].iov_len = data.size();
  m.msg_hdr.msg_iov = &iovs_[i];
  m.msg_hdr.msg_iovlen = 1;
  m.msg_hdr.msg_name = &names_[i];
  m.msg_hdr.msg_namelen = to_sockaddr(to, names_[i]);
  if (s->wildcard && !is_wildcard(from.address)) {
    // Choose the source address on a wildcard socket.
    unsigned char* buf = controls_[i].data();
    std::memset(buf, 0, controls_[i].size());
    m.msg_hdr.msg_control = buf;
    cmsghdr* c;
    if (from.address.is_v4()) {
      m.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      std::memcpy(&pi.ipi_spec_dst, from.address.bytes().data(), 4);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else {
      m.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      std::memcpy(&pi.ipi6_addr, from.address.bytes().data(), 16);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
  }
  return true;
}

void UdpBatchSender::send_queued() {
  if (count_ == 0 || !current_) return;
  size_t sent = 0;
  while (sent < count_) {
    int n = ::sendmmsg(current_->fd, msgs_.data() + sent, static_cast<unsigned>(count_ - sent),
                       MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The datagram at `sent` was refused (a full buffer, an unreachable peer): skip it.
    if (first_error_.empty()) first_error_ = std::strerror(errno);
    ++refused_;
    ++sent;
  }
  count_ = 0;
}

size_t UdpBatchSender::flush(std::string& error) {
  send_queued();
  const size_t refused = refused_;
  if (refused) error = std::move(first_error_);
  refused_ = 0;
  first_error_.clear();
  return refused;
}

}  // namespace ikeme::esp

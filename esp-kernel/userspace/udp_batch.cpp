#include "esp-kernel/userspace/udp_batch.hpp"

#include <netinet/udp.h>

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
    : iovs_(kMaxBatch),
      names_(kMaxBatch),
      name_lens_(kMaxBatch),
      sources_(kMaxBatch),
      pktinfo_(kMaxBatch),
      msgs_(kMaxBatch),
      msg_first_(kMaxBatch),
      msg_count_(kMaxBatch),
      controls_(kMaxBatch) {}

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
  iovs_[i].iov_base = const_cast<uint8_t*>(data.data());
  iovs_[i].iov_len = data.size();
  name_lens_[i] = to_sockaddr(to, names_[i]);
  // Choose the source address on a wildcard socket.
  pktinfo_[i] = s->wildcard && !is_wildcard(from.address);
  sources_[i] = from;
  return true;
}

bool UdpBatchSender::same_route(size_t a, size_t b) const {
  return name_lens_[a] == name_lens_[b] &&
         std::memcmp(&names_[a], &names_[b], name_lens_[a]) == 0 && pktinfo_[a] == pktinfo_[b] &&
         (!pktinfo_[a] || sources_[a].address == sources_[b].address);
}

size_t UdpBatchSender::build_messages(size_t i, size_t m) {
  // The IP total length bounds a GSO message (IPv6's header taken for both).
  constexpr size_t kMaxGsoBytes = 65535 - 40 - 8;
  while (i < count_) {
    const size_t first = i, size = iovs_[first].iov_len;
    size_t n = 1, total = size;
    if (gso_)
      while (first + n < count_ && n < kMaxGsoSegments) {
        const size_t j = first + n;
        const size_t len = iovs_[j].iov_len;
        if (!same_route(j, first) || len > size || len == 0 || total + len > kMaxGsoBytes) break;
        total += len;
        ++n;
        if (len < size) break;  // only the last segment may be shorter
      }
    mmsghdr& mm = msgs_[m];
    std::memset(&mm, 0, sizeof mm);
    msghdr& h = mm.msg_hdr;
    h.msg_iov = &iovs_[first];
    h.msg_iovlen = n;
    h.msg_name = &names_[first];
    h.msg_namelen = name_lens_[first];
    unsigned char* buf = controls_[m].bytes;
    std::memset(buf, 0, sizeof controls_[m].bytes);
    h.msg_control = buf;
    h.msg_controllen = sizeof controls_[m].bytes;
    size_t used = 0;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    if (pktinfo_[first]) {
      const IpAddress& from = sources_[first].address;
      if (from.is_v4()) {
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo pi{};
        std::memcpy(&pi.ipi_spec_dst, from.bytes().data(), 4);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        used += CMSG_SPACE(sizeof(in_pktinfo));
      } else {
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo pi{};
        std::memcpy(&pi.ipi6_addr, from.bytes().data(), 16);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        used += CMSG_SPACE(sizeof(in6_pktinfo));
      }
      c = CMSG_NXTHDR(&h, c);
    }
    if (n > 1) {
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t segment = static_cast<uint16_t>(size);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
      used += CMSG_SPACE(sizeof(uint16_t));
    }
    h.msg_controllen = used;
    if (used == 0) h.msg_control = nullptr;
    msg_first_[m] = first;
    msg_count_[m] = n;
    ++m;
    i = first + n;
  }
  return m;
}

void UdpBatchSender::send_queued() {
  if (count_ == 0 || !current_) return;
  size_t messages = build_messages(0, 0);
  size_t sent = 0;
  while (sent < messages) {
    int n = ::sendmmsg(current_->fd, msgs_.data() + sent, static_cast<unsigned>(messages - sent),
                       MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      messages_sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int e = errno;
    if (msg_count_[sent] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
      // The kernel or the route cannot take UDP GSO: datagram by datagram from here on.
      gso_ = false;
      gso_error_ = std::strerror(e);
      messages = build_messages(msg_first_[sent], sent);
      continue;
    }
    // The message at `sent` was refused (a full buffer, an unreachable peer): skip it.
    if (first_error_.empty()) first_error_ = std::strerror(e);
    refused_ += msg_count_[sent];
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

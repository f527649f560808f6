#include "peer/sockaddr.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ikeme::peer {

SocketAddress to_sockaddr(const ike::Endpoint& endpoint) {
  SocketAddress out;
  ByteView bytes = endpoint.address.bytes();
  if (endpoint.address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(endpoint.port);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    out.length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(endpoint.port);
    std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

std::optional<ike::Endpoint> from_sockaddr(const sockaddr* address, socklen_t length) {
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(address);
    std::array<uint8_t, 4> b;
    std::memcpy(b.data(), &sin->sin_addr, 4);
    return ike::Endpoint{IpAddress::v4(b), ntohs(sin->sin_port)};
  }
  if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return ike::Endpoint{IpAddress::v6(b), ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

bool is_unspecified(const IpAddress& a) {
  ByteView b = a.bytes();
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

IpAddress unspecified(IpAddress::Family family) {
  return family == IpAddress::Family::V4 ? IpAddress() : IpAddress::v6({});
}

}  // namespace ikeme::peer

#pragma once
// Conversions between the engine's Endpoint and the socket API's sockaddr.

#include <sys/socket.h>

#include <optional>

#include "ike/sa/endpoint.hpp"

namespace ikeme::peer {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SocketAddress to_sockaddr(const ike::Endpoint& endpoint);
// nullopt for families other than AF_INET/AF_INET6.
std::optional<ike::Endpoint> from_sockaddr(const sockaddr* address, socklen_t length);

inline int address_family(const IpAddress& a) {
  return a.is_v4() ? AF_INET : AF_INET6;
}
// 0.0.0.0 or ::
bool is_unspecified(const IpAddress& a);
IpAddress unspecified(IpAddress::Family family);

}  // namespace ikeme::peer

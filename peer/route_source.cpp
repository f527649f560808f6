#include "peer/route_source.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "peer/sockaddr.hpp"

namespace ikeme::peer {

Result<IpAddress, std::string> route_source(const ike::Endpoint& destination) {
  int fd = ::socket(address_family(destination.address), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unexpected{std::string("socket: ") + std::strerror(errno)};
  SocketAddress dest = to_sockaddr(destination);
  SocketAddress local;
  local.length = sizeof local.storage;
  std::string error;
  if (::connect(fd, dest.get(), dest.length) != 0)
    error = "no route to " + destination.address.to_string() + ": " + std::strerror(errno);
  else if (::getsockname(fd, local.get(), &local.length) != 0)
    error = std::string("getsockname: ") + std::strerror(errno);
  ::close(fd);
  if (!error.empty()) return Unexpected{error};
  auto ep = from_sockaddr(local.get(), local.length);
  if (!ep) return Unexpected{std::string("getsockname: unexpected address family")};
  return ep->address;
}

}  // namespace ikeme::peer

#include "peer/host_addresses.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "peer/sockaddr.hpp"

namespace ikeme::peer {

Result<std::vector<ice::HostAddress>, std::string> host_addresses(
    const std::vector<IpAddress>& listen) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return Unexpected{std::string("getifaddrs: ") + std::strerror(errno)};
  std::vector<ice::HostAddress> out;
  bool wildcard = listen.empty();
  for (const IpAddress& a : listen)
    if (a == IpAddress() || a == IpAddress::v6({})) wildcard = true;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    socklen_t length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    auto ep = from_sockaddr(i->ifa_addr, length);
    if (!ep) continue;
    if (!wildcard && std::find(listen.begin(), listen.end(), ep->address) == listen.end()) continue;
    out.push_back(ice::HostAddress{ep->address, i->ifa_name ? i->ifa_name : ""});
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace ikeme::peer

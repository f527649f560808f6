#include "peer/socket_set.hpp"

#include "peer/sockaddr.hpp"

namespace ikeme::peer {

Result<SocketSet, std::string> SocketSet::open(const std::vector<IpAddress>& addresses,
                                               std::vector<uint16_t> ports,
                                               bool tolerate_missing_v6,
                                               std::vector<std::string>& warnings) {
  SocketSet set;
  for (const IpAddress& a : addresses) {
    std::vector<UdpSocket> these;
    std::string failure;
    for (uint16_t port : ports) {
      auto s = UdpSocket::open(ike::Endpoint{a, port});
      if (!s) {
        failure = s.error();
        break;
      }
      these.push_back(std::move(*s));
    }
    if (!failure.empty()) {
      if (tolerate_missing_v6 && !a.is_v4()) {
        warnings.push_back("IPv6 not available, not listening on " + a.to_string() + " (" +
                           failure + ")");
        continue;
      }
      return Unexpected{failure};
    }
    for (UdpSocket& s : these) set.sockets_.push_back(std::move(s));
  }
  if (set.sockets_.empty()) return Unexpected{std::string("no address to listen on")};
  return set;
}

UdpSocket* SocketSet::for_source(const ike::Endpoint& from) {
  UdpSocket* wildcard = nullptr;
  for (UdpSocket& s : sockets_) {
    if (s.bound().port != from.port || s.bound().address.family() != from.address.family())
      continue;
    if (s.bound().address == from.address) return &s;
    if (s.wildcard() && !wildcard) wildcard = &s;
  }
  if (wildcard) return wildcard;
  // An unspecified source: any socket of the family on that port lets the kernel choose.
  if (is_unspecified(from.address))
    for (UdpSocket& s : sockets_)
      if (s.bound().port == from.port && s.bound().address.family() == from.address.family())
        return &s;
  return nullptr;
}

bool SocketSet::can_send_from(const IpAddress& address) const {
  for (const UdpSocket& s : sockets_)
    if (s.bound().address.family() == address.family() &&
        (s.wildcard() || s.bound().address == address))
      return true;
  return false;
}

std::optional<IpAddress> SocketSet::initiation_source(const IpAddress& routed) const {
  if (can_send_from(routed)) return routed;
  for (const UdpSocket& s : sockets_)
    if (s.bound().address.family() == routed.family() && !s.wildcard()) return s.bound().address;
  return std::nullopt;
}

}  // namespace ikeme::peer

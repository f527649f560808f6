#pragma once
// Routes and addresses over NETLINK_ROUTE (libnl-route-3): the routes that send traffic for a
// CHILD_SA's remote subnets into the tunnel, with `src` set to our address inside the local
// traffic selector (the paper's `src` route), kept in their own table (220, like strongSwan) that
// a routing rule consults first; and virtual IPs on the outgoing interface.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "esp-kernel/xfrm/netlink.hpp"
#include "esp-kernel/xfrm/xfrm_selectors.hpp"
#include "ike/codec/payloads.hpp"

namespace ikeme::esp::xfrm {

inline constexpr uint32_t kRouteTable = 220;
inline constexpr uint32_t kRulePriority = 220;
// Our routes carry this protocol number (`ip route` shows "proto 28"), so that a restarted
// daemon finds and removes routes a crashed one left in table 220, and nobody else's.
inline constexpr uint8_t kRouteProtocol = 28;

struct PeerPath {
  int ifindex = 0;
  std::optional<IpAddress> gateway;
};

class RouteManager {
 public:
  static Result<RouteManager, std::string> open();

  // How the kernel reaches `peer` now (outgoing interface and next hop).
  Result<PeerPath, std::string> path_to(const IpAddress& peer);
  // One of the host's addresses inside any of `selectors` (lowest first), if any.
  std::optional<IpAddress> owned_address_in(const std::vector<ike::TrafficSelector>& selectors);
  int loopback_ifindex();

  Status<std::string> add_route(const Prefix& destination, const PeerPath& via,
                                const std::optional<IpAddress>& source);
  Status<std::string> delete_route(const Prefix& destination);
  // Deletes every route of ours (kRouteProtocol) in table 220; returns how many.
  Result<unsigned, std::string> flush_routes();

  // The rule "lookup 220" at priority 220 for a family; returns whether we added it (an
  // existing one is left alone and not removed later).
  Result<bool, std::string> ensure_rule(bool v4);
  Status<std::string> delete_rule(bool v4);

  // Adds a host address (/32 or /128) to an interface; returns whether we added it (false if it
  // was there already).
  Result<bool, std::string> add_address(const IpAddress& address, int ifindex);
  Status<std::string> delete_address(const IpAddress& address, int ifindex);

 private:
  explicit RouteManager(NlSock sock) : sock_(std::move(sock)) {}
  NlSock sock_;
};

}  // namespace ikeme::esp::xfrm

#include "esp-kernel/xfrm/routes.hpp"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::esp::xfrm {
namespace {

using RtRoute = std::unique_ptr<rtnl_route, NlDeleter<rtnl_route, rtnl_route_put>>;
using RtRule = std::unique_ptr<rtnl_rule, NlDeleter<rtnl_rule, rtnl_rule_put>>;
using RtAddr = std::unique_ptr<rtnl_addr, NlDeleter<rtnl_addr, rtnl_addr_put>>;
using Cache = std::unique_ptr<nl_cache, NlDeleter<nl_cache, nl_cache_free>>;

RtRoute table_route(const Prefix& destination) {
  RtRoute r(rtnl_route_alloc());
  if (!r) return r;
  NlAddr dst = make_addr(destination.address, destination.length);
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(address_family(destination.address)));
  rtnl_route_set_table(r.get(), kRouteTable);
  rtnl_route_set_dst(r.get(), dst.get());
  return r;
}

RtRule table_rule(bool v4) {
  RtRule rule(rtnl_rule_alloc());
  if (!rule) return rule;
  rtnl_rule_set_family(rule.get(), v4 ? AF_INET : AF_INET6);
  rtnl_rule_set_prio(rule.get(), kRulePriority);
  rtnl_rule_set_table(rule.get(), kRouteTable);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  return rule;
}

}  // namespace

Result<RouteManager, std::string> RouteManager::open() {
  auto sock = connect_netlink(NETLINK_ROUTE);
  if (!sock) return Unexpected(sock.error());
  return RouteManager(std::move(*sock));
}

Result<PeerPath, std::string> RouteManager::path_to(const IpAddress& peer) {
  NlAddr dst = make_addr(peer);
  rtnl_route* raw = nullptr;
  if (int err = rtnl_route_lookup(sock_.get(), dst.get(), &raw); err < 0 || !raw) {
    return Unexpected("no route to " + peer.to_string() + ": " + nl_error(err));
  }
  RtRoute route(raw);
  if (rtnl_route_get_nnexthops(route.get()) < 1) {
    return Unexpected("the route to " + peer.to_string() + " has no next hop");
  }
  rtnl_nexthop* nh = rtnl_route_nexthop_n(route.get(), 0);
  PeerPath path;
  path.ifindex = rtnl_route_nh_get_ifindex(nh);
  if (auto gw = to_ip(rtnl_route_nh_get_gateway(nh))) path.gateway = gw;
  return path;
}

std::optional<IpAddress> RouteManager::owned_address_in(
    const std::vector<ike::TrafficSelector>& selectors) {
  nl_cache* raw = nullptr;
  if (rtnl_addr_alloc_cache(sock_.get(), &raw) < 0) return std::nullopt;
  Cache cache(raw);
  std::optional<IpAddress> best;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto ip = to_ip(rtnl_addr_get_local(reinterpret_cast<rtnl_addr*>(o)));
    if (!ip) continue;
    const ike::TrafficSelector host = ike::host_selector(*ip);
    for (const auto& ts : selectors) {
      if (ts.type == host.type && ike::contains(ts, host) && (!best || *ip < *best)) best = ip;
    }
  }
  return best;
}

int RouteManager::loopback_ifindex() {
  return static_cast<int>(if_nametoindex("lo"));
}

Status<std::string> RouteManager::add_route(const Prefix& destination, const PeerPath& via,
                                            const std::optional<IpAddress>& source) {
  RtRoute r = table_route(destination);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!r || !nh) {
    if (nh) rtnl_route_nh_free(nh);
    return Unexpected(std::string("out of memory"));
  }
  rtnl_route_nh_set_ifindex(nh, via.ifindex);
  NlAddr gw;
  if (via.gateway && via.gateway->family() == destination.address.family()) {
    gw = make_addr(*via.gateway);
    rtnl_route_nh_set_gateway(nh, gw.get());
  }
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns it now
  NlAddr src;
  if (source) {
    src = make_addr(*source);
    rtnl_route_set_pref_src(r.get(), src.get());
  }
  rtnl_route_set_protocol(r.get(), kRouteProtocol);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  rtnl_route_set_scope(r.get(), static_cast<uint8_t>(rtnl_route_guess_scope(r.get())));
  if (int err = rtnl_route_add(sock_.get(), r.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    return Unexpected("adding route to " + destination.address.to_string() + "/" +
                      std::to_string(destination.length) + " failed: " + nl_error(err));
  }
  return {};
}

Status<std::string> RouteManager::delete_route(const Prefix& destination) {
  RtRoute r = table_route(destination);
  if (!r) return Unexpected(std::string("out of memory"));
  // Any scope: the kernel matches the scope of a deletion request exactly otherwise.
  rtnl_route_set_scope(r.get(), RT_SCOPE_NOWHERE);
  rtnl_route_set_protocol(r.get(), kRouteProtocol);
  if (int err = rtnl_route_delete(sock_.get(), r.get(), 0); err < 0) {
    return Unexpected("deleting route to " + destination.address.to_string() + "/" +
                      std::to_string(destination.length) + " failed: " + nl_error(err));
  }
  return {};
}

Result<unsigned, std::string> RouteManager::flush_routes() {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(sock_.get(), AF_UNSPEC, 0, &raw); err < 0) {
    return Unexpected("listing routes failed: " + nl_error(err));
  }
  Cache cache(raw);
  unsigned count = 0;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != kRouteTable || rtnl_route_get_protocol(r) != kRouteProtocol) {
      continue;
    }
    if (rtnl_route_delete(sock_.get(), r, 0) >= 0) ++count;
  }
  return count;
}

Result<bool, std::string> RouteManager::ensure_rule(bool v4) {
  RtRule rule = table_rule(v4);
  if (!rule) return Unexpected(std::string("out of memory"));
  int err = rtnl_rule_add(sock_.get(), rule.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) return Unexpected("adding the routing rule for table 220 failed: " + nl_error(err));
  return true;
}

Status<std::string> RouteManager::delete_rule(bool v4) {
  RtRule rule = table_rule(v4);
  if (!rule) return Unexpected(std::string("out of memory"));
  if (int err = rtnl_rule_delete(sock_.get(), rule.get(), 0); err < 0) {
    return Unexpected("deleting the routing rule for table 220 failed: " + nl_error(err));
  }
  return {};
}

Result<bool, std::string> RouteManager::add_address(const IpAddress& address, int ifindex) {
  RtAddr a(rtnl_addr_alloc());
  NlAddr local = make_addr(address);
  if (!a || !local) return Unexpected(std::string("out of memory"));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), address_family(address));
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_prefixlen(a.get(), address.is_v4() ? 32 : 128);
  int err = rtnl_addr_add(sock_.get(), a.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) return Unexpected("adding address " + address.to_string() + ": " + nl_error(err));
  return true;
}

Status<std::string> RouteManager::delete_address(const IpAddress& address, int ifindex) {
  RtAddr a(rtnl_addr_alloc());
  NlAddr local = make_addr(address);
  if (!a || !local) return Unexpected(std::string("out of memory"));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), address_family(address));
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_prefixlen(a.get(), address.is_v4() ? 32 : 128);
  if (int err = rtnl_addr_delete(sock_.get(), a.get(), 0); err < 0) {
    return Unexpected("deleting address " + address.to_string() + ": " + nl_error(err));
  }
  return {};
}

}  // namespace ikeme::esp::xfrm

#include "esp-kernel/userspace/route_netlink.hpp"

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <cstring>

namespace ikeme::esp {
namespace {

using U128 = unsigned __int128;

U128 to_int(ByteView b) {
  U128 v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

IpAddress from_int(U128 v, bool v4) {
  if (v4) {
    std::array<uint8_t, 4> b{};
    for (int i = 3; i >= 0; --i, v >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    return IpAddress::v4(b);
  }
  std::array<uint8_t, 16> b{};
  for (int i = 15; i >= 0; --i, v >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return IpAddress::v6(b);
}

// Prefixes covering [lo, hi] (inclusive) in an address space of `bits` bits.
void cover(U128 lo, U128 hi, unsigned bits, bool v4, std::vector<Prefix>& out) {
  while (lo <= hi) {
    // The largest block starting at lo that is aligned and stays within hi.
    unsigned size_bits = 0;
    while (size_bits < bits) {
      const unsigned next_bits = size_bits + 1;
      const U128 mask = next_bits >= 128 ? ~U128{0} : (U128{1} << next_bits) - 1;
      if ((lo & mask) != 0 || hi - lo < mask) break;
      size_bits = next_bits;
    }
    out.push_back(Prefix{from_int(lo, v4), static_cast<uint8_t>(bits - size_bits)});
    if (size_bits == bits) break;  // the whole address space in one prefix
    const U128 next = lo + (U128{1} << size_bits);
    if (next == 0) break;  // wrapped past the top of the IPv6 space
    lo = next;
  }
}

std::string nl_error(const std::string& what, int err) {
  return what + ": " + nl_geterror(err);
}

struct NlAddr {
  nl_addr* a = nullptr;
  NlAddr(const IpAddress& ip, uint8_t plen) {
    a = nl_addr_build(ip.is_v4() ? AF_INET : AF_INET6, ip.bytes().data(), ip.bytes().size());
    if (a) nl_addr_set_prefixlen(a, plen);
  }
  ~NlAddr() {
    if (a) nl_addr_put(a);
  }
  NlAddr(const NlAddr&) = delete;
  NlAddr& operator=(const NlAddr&) = delete;
};

}  // namespace

std::string Prefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

std::vector<Prefix> selector_prefixes(const ike::TrafficSelector& ts,
                                      const std::optional<IpAddress>& exclude) {
  std::vector<Prefix> out;
  const bool v4 = ts.type == ike::TsType::IPV4_ADDR_RANGE;
  const unsigned bits = v4 ? 32 : 128;
  if (ts.start_address.size() != bits / 8 || ts.end_address.size() != bits / 8) return out;
  U128 lo = to_int(ts.start_address), hi = to_int(ts.end_address);
  if (lo > hi) return out;
  if (exclude && exclude->is_v4() == v4) {
    U128 x = to_int(exclude->bytes());
    if (x >= lo && x <= hi) {
      if (x > lo) cover(lo, x - 1, bits, v4, out);
      if (x < hi) cover(x + 1, hi, bits, v4, out);
      return out;
    }
  }
  cover(lo, hi, bits, v4, out);
  return out;
}

Result<RouteNetlink, std::string> RouteNetlink::open() {
  RouteNetlink r;
  r.sock_ = nl_socket_alloc();
  if (!r.sock_) return Unexpected{std::string("nl_socket_alloc failed")};
  if (int err = nl_connect(r.sock_, NETLINK_ROUTE); err < 0)
    return Unexpected{nl_error("connecting to rtnetlink", err)};
  return r;
}

RouteNetlink& RouteNetlink::operator=(RouteNetlink&& o) noexcept {
  if (this != &o) {
    if (sock_) nl_socket_free(sock_);
    sock_ = o.sock_;
    o.sock_ = nullptr;
  }
  return *this;
}

RouteNetlink::~RouteNetlink() {
  if (sock_) nl_socket_free(sock_);
}

static Status<std::string> change_address(nl_sock* sock, int ifindex, const IpAddress& ip,
                                          uint8_t plen, bool add) {
  rtnl_addr* a = rtnl_addr_alloc();
  if (!a) return Unexpected{std::string("rtnl_addr_alloc failed")};
  NlAddr local(ip, plen);
  rtnl_addr_set_ifindex(a, ifindex);
  rtnl_addr_set_family(a, ip.is_v4() ? AF_INET : AF_INET6);
  rtnl_addr_set_local(a, local.a);
  rtnl_addr_set_prefixlen(a, plen);
  int err = add ? rtnl_addr_add(sock, a, 0) : rtnl_addr_delete(sock, a, 0);
  rtnl_addr_put(a);
  if (err < 0)
    return Unexpected{nl_error((add ? "adding address " : "removing address ") + ip.to_string() +
                                   "/" + std::to_string(plen),
                               err)};
  return {};
}

Status<std::string> RouteNetlink::add_address(int ifindex, const IpAddress& a, uint8_t plen) {
  return change_address(sock_, ifindex, a, plen, true);
}

Status<std::string> RouteNetlink::remove_address(int ifindex, const IpAddress& a, uint8_t plen) {
  return change_address(sock_, ifindex, a, plen, false);
}

static rtnl_route* make_route(int ifindex, const Prefix& dest) {
  rtnl_route* r = rtnl_route_alloc();
  if (!r) return nullptr;
  NlAddr dst(dest.address, dest.length);
  rtnl_route_set_family(r, dest.address.is_v4() ? AF_INET : AF_INET6);
  rtnl_route_set_dst(r, dst.a);
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_scope(r, RT_SCOPE_LINK);
  rtnl_route_set_protocol(r, RTPROT_STATIC);
  rtnl_route_set_type(r, RTN_UNICAST);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(r, nh);
  return r;
}

Status<std::string> RouteNetlink::add_route(int ifindex, const Prefix& dest,
                                            const std::optional<IpAddress>& src) {
  rtnl_route* r = make_route(ifindex, dest);
  if (!r) return Unexpected{std::string("rtnl_route_alloc failed")};
  std::optional<NlAddr> s;
  if (src) {
    s.emplace(*src, src->is_v4() ? 32 : 128);
    rtnl_route_set_pref_src(r, s->a);
  }
  int err = rtnl_route_add(sock_, r, NLM_F_CREATE | NLM_F_REPLACE);
  rtnl_route_put(r);
  if (err < 0)
    return Unexpected{nl_error(
        "adding route to " + dest.to_string() + (src ? " src " + src->to_string() : std::string()),
        err)};
  return {};
}

Status<std::string> RouteNetlink::remove_route(int ifindex, const Prefix& dest) {
  rtnl_route* r = make_route(ifindex, dest);
  if (!r) return Unexpected{std::string("rtnl_route_alloc failed")};
  int err = rtnl_route_delete(sock_, r, 0);
  rtnl_route_put(r);
  if (err < 0) return Unexpected{nl_error("removing route to " + dest.to_string(), err)};
  return {};
}

Result<size_t, std::string> RouteNetlink::flush_addresses(int ifindex) {
  nl_cache* cache = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock_, &cache); err < 0)
    return Unexpected{nl_error("listing addresses", err)};
  size_t removed = 0;
  std::string failure;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex) continue;
    if (int err = rtnl_addr_delete(sock_, a, 0); err < 0) {
      if (failure.empty()) failure = nl_error("removing an address", err);
      continue;
    }
    ++removed;
  }
  nl_cache_free(cache);
  if (!failure.empty()) return Unexpected{failure};
  return removed;
}

std::optional<IpAddress> RouteNetlink::owned_address_in(
    const std::vector<ike::TrafficSelector>& ts) {
  nl_cache* cache = nullptr;
  if (rtnl_addr_alloc_cache(sock_, &cache) < 0) return std::nullopt;
  std::optional<IpAddress> found;
  for (nl_object* o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
    nl_addr* local = rtnl_addr_get_local(reinterpret_cast<rtnl_addr*>(o));
    if (!local) continue;
    auto ip = IpAddress::from_bytes(ByteView(
        static_cast<const uint8_t*>(nl_addr_get_binary_addr(local)), nl_addr_get_len(local)));
    if (!ip) continue;
    const bool v4 = ip->is_v4();
    U128 x = to_int(ip->bytes());
    for (const ike::TrafficSelector& t : ts) {
      if ((t.type == ike::TsType::IPV4_ADDR_RANGE) != v4) continue;
      if (t.start_address.size() != ip->bytes().size()) continue;
      if (x >= to_int(t.start_address) && x <= to_int(t.end_address)) {
        found = ip;
        break;
      }
    }
  }
  nl_cache_free(cache);
  return found;
}

}  // namespace ikeme::esp

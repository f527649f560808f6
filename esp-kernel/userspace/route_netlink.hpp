#pragma once
// Addresses and routes through rtnetlink (libnl-route-3), for the userspace data plane's TUN
// device: virtual IPs on the device, routes to a CHILD_SA's remote traffic selectors through it
// with a source address inside the local selectors (the paper's `src` route).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

struct nl_sock;

namespace ikeme::esp {

struct Prefix {
  IpAddress address;
  uint8_t length = 0;
  std::string to_string() const;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

// The smallest set of prefixes covering the selector's address range, leaving out `exclude`
// (the peer's outer address: a route through the tunnel to it would swallow the ESP packets
// themselves, e.g. with a 0.0.0.0/0 selector).
std::vector<Prefix> selector_prefixes(const ike::TrafficSelector& ts,
                                      const std::optional<IpAddress>& exclude);

class RouteNetlink {
 public:
  static Result<RouteNetlink, std::string> open();
  RouteNetlink() = default;
  RouteNetlink(RouteNetlink&& o) noexcept : sock_(o.sock_) { o.sock_ = nullptr; }
  RouteNetlink& operator=(RouteNetlink&& o) noexcept;
  RouteNetlink(const RouteNetlink&) = delete;
  RouteNetlink& operator=(const RouteNetlink&) = delete;
  ~RouteNetlink();

  Status<std::string> add_address(int ifindex, const IpAddress& a, uint8_t prefix_length);
  Status<std::string> remove_address(int ifindex, const IpAddress& a, uint8_t prefix_length);
  // A route to `dest` through the device (scope link), replacing one to the same prefix.
  Status<std::string> add_route(int ifindex, const Prefix& dest,
                                const std::optional<IpAddress>& src);
  Status<std::string> remove_route(int ifindex, const Prefix& dest);
  // Removes every address on the interface; returns how many (a leftover device's).
  Result<size_t, std::string> flush_addresses(int ifindex);
  // An address this host owns inside one of the selectors (the source for routed traffic).
  std::optional<IpAddress> owned_address_in(const std::vector<ike::TrafficSelector>& ts);

 private:
  nl_sock* sock_ = nullptr;
};

}  // namespace ikeme::esp

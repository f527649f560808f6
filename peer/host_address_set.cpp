#include "peer/host_address_set.hpp"

#include <algorithm>
#include <tuple>

namespace ikeme::peer {
namespace {

// Preference order: IPv4 first (IpAddress orders by family, V4 before V6), then the interface
// index, then numerically.
bool before(const AddressState& a, const AddressState& b) {
  return std::tuple(a.address.family(), a.ifindex, a.address) <
         std::tuple(b.address.family(), b.ifindex, b.address);
}

bool same_key(const AddressState& a, int ifindex, const IpAddress& address) {
  return a.ifindex == ifindex && a.address == address;
}

bool is_wildcard(const IpAddress& a) {
  ByteView b = a.bytes();
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

bool same_host(const ice::HostAddress& a, const ice::HostAddress& b) {
  return a.address == b.address && a.interface == b.interface;
}

}  // namespace

std::string HostAddressChange::to_string() const {
  return "host address " + host.address.to_string() + " on " +
         (host.interface.empty() ? std::string("?") : host.interface) + " " +
         (appeared ? "appeared" : "disappeared");
}

std::string HostAddressSet::interface_name(int ifindex) const {
  auto it = links_.find(ifindex);
  return it != links_.end() ? it->second.name : "if" + std::to_string(ifindex);
}

std::optional<std::string> HostAddressSet::withheld(const AddressState& a) const {
  auto link = links_.find(a.ifindex);
  if (link == links_.end()) return "interface index " + std::to_string(a.ifindex) + " is unknown";
  const LinkState& l = link->second;
  if (l.loopback) return std::string("loopback interface");
  if (!l.up) return "interface " + l.name + " is down";
  if (!l.running) return "interface " + l.name + " has no carrier";
  const auto& own_if = policy_.own_interfaces;
  if (std::find(own_if.begin(), own_if.end(), l.name) != own_if.end())
    return "interface " + l.name + " is our TUN device";
  const auto& own = policy_.own_addresses;
  if (std::find(own.begin(), own.end(), a.address) != own.end())
    return std::string("a virtual IP assigned to us");
  // Loopback, link-local, multicast, unspecified: never disclosed (ME_ENDPOINT has no scope).
  if (auto why = ice::unusable_address(a.address)) return *why;
  if (a.link_scope) return std::string("link or host scope");
  if (a.tentative) return std::string("tentative (duplicate address detection)");
  if (a.deprecated) return std::string("deprecated");
  if (!a.address.is_v4() && !policy_.ipv6) return std::string("IPv6 (ice.disclose_ipv6: no)");
  const auto& listen = policy_.listen;
  bool listened = listen.empty() || std::any_of(listen.begin(), listen.end(), [&](const auto& x) {
                    return x == a.address || (is_wildcard(x) && x.is_v4() == a.address.is_v4());
                  });
  if (!listened) return std::string("not a daemon.listen address");
  if (auto why = policy_.exclusions.reason(a.address, l.name)) return *why;
  return std::nullopt;
}

std::vector<ice::HostAddress> HostAddressSet::disclosed() const {
  std::vector<ice::HostAddress> out;
  for (const AddressState& a : addresses_)
    if (!withheld(a)) out.push_back(ice::HostAddress{a.address, interface_name(a.ifindex)});
  return out;
}

std::vector<HostAddressEntry> HostAddressSet::entries() const {
  std::vector<HostAddressEntry> out;
  for (const AddressState& a : addresses_)
    out.push_back(HostAddressEntry{a.address, a.prefix_length, interface_name(a.ifindex), a.ifindex,
                                   withheld(a)});
  return out;
}

template <class Mutate>
HostAddressSet::Changes HostAddressSet::changing(Mutate&& mutate) {
  const std::vector<ice::HostAddress> old = disclosed();
  mutate();
  std::sort(addresses_.begin(), addresses_.end(), before);
  const std::vector<ice::HostAddress> now = disclosed();
  auto in = [](const std::vector<ice::HostAddress>& set, const ice::HostAddress& h) {
    return std::any_of(set.begin(), set.end(), [&](const auto& x) { return same_host(x, h); });
  };
  Changes out;
  for (const auto& h : old)
    if (!in(now, h)) out.push_back(HostAddressChange{h, false});
  for (const auto& h : now)
    if (!in(old, h)) out.push_back(HostAddressChange{h, true});
  return out;
}

HostAddressSet::Changes HostAddressSet::set_policy(HostAddressPolicy policy) {
  Changes changes = changing([&] { policy_ = std::move(policy); });
  for (HostAddressChange& c : changes) c.by_policy = true;
  return changes;
}

HostAddressSet::Changes HostAddressSet::replace(std::vector<LinkState> links,
                                                std::vector<AddressState> addresses) {
  return changing([&] {
    links_.clear();
    for (LinkState& l : links) links_[l.index] = std::move(l);
    addresses_.clear();
    for (const AddressState& a : addresses) {
      auto it = std::find_if(addresses_.begin(), addresses_.end(),
                             [&](const auto& x) { return same_key(x, a.ifindex, a.address); });
      if (it != addresses_.end())
        *it = a;
      else
        addresses_.push_back(a);
    }
  });
}

HostAddressSet::Changes HostAddressSet::link_changed(const LinkState& link) {
  return changing([&] { links_[link.index] = link; });
}

HostAddressSet::Changes HostAddressSet::link_removed(int index) {
  return changing([&] {
    links_.erase(index);
    std::erase_if(addresses_, [&](const AddressState& a) { return a.ifindex == index; });
  });
}

HostAddressSet::Changes HostAddressSet::address_added(const AddressState& address) {
  return changing([&] {
    auto it = std::find_if(addresses_.begin(), addresses_.end(), [&](const auto& x) {
      return same_key(x, address.ifindex, address.address);
    });
    if (it != addresses_.end())
      *it = address;
    else
      addresses_.push_back(address);
  });
}

HostAddressSet::Changes HostAddressSet::address_removed(int ifindex, const IpAddress& address) {
  return changing([&] {
    std::erase_if(addresses_, [&](const AddressState& a) { return same_key(a, ifindex, address); });
  });
}

}  // namespace ikeme::peer

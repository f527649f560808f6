#pragma once
// The host addresses a mediated connection may disclose as HOST candidates, kept current from
// what the kernel reports (host_address_monitor.hpp feeds it from rtnetlink). Pure: no sockets,
// so the filtering, the exclusions and the diffing are unit-tested on their own.
//
// An address is disclosed when its interface is known, up, has carrier and is not loopback, is
// not our own TUN device or a virtual IP we were assigned, is not link-local, host-scoped,
// tentative (IPv6 DAD running or failed) or deprecated, is not IPv6 while ice.disclose_ipv6 is
// off, is one the daemon listens on (daemon.listen), and is not excluded (ice.exclude_*).
// Every other address is listed with the reason it is withheld (ikemectl list-addresses).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ice/candidates.hpp"
#include "ike/codec/ip_address.hpp"

namespace ikeme::peer {

// An interface as RTM_NEWLINK describes it.
struct LinkState {
  int index = 0;
  std::string name;
  bool up = false;        // IFF_UP
  bool running = false;   // IFF_RUNNING: the link has carrier
  bool loopback = false;  // IFF_LOOPBACK
};

// An address as RTM_NEWADDR describes it.
struct AddressState {
  int ifindex = 0;
  IpAddress address;
  uint8_t prefix_length = 0;
  bool link_scope = false;  // scope link or host (RT_SCOPE_LINK, RT_SCOPE_HOST)
  bool tentative = false;   // IFA_F_TENTATIVE or IFA_F_DADFAILED: not usable as a source
  bool deprecated = false;  // IFA_F_DEPRECATED: kept for old flows only
};

struct HostAddressPolicy {
  std::vector<IpAddress> listen;  // daemon.listen: empty or a wildcard means every address
  bool ipv6 = true;               // ice.disclose_ipv6
  ice::ExclusionList exclusions;  // ice.exclude_interfaces, ice.exclude_addresses
  std::vector<std::string> own_interfaces;  // our TUN device (userspace data plane)
  std::vector<IpAddress> own_addresses;     // virtual IPs assigned to us
};

// One known address and whether it is disclosed (ikemectl list-addresses).
struct HostAddressEntry {
  IpAddress address;
  uint8_t prefix_length = 0;
  std::string interface;  // "if7" when the link is not known (yet)
  int ifindex = 0;
  std::optional<std::string> withheld;  // why it is not disclosed; nullopt: disclosed
};

struct HostAddressChange {
  ice::HostAddress host;
  bool appeared = false;  // else disappeared
  // From set_policy (a reload, a virtual IP): the address itself did not change, only whether
  // it may be disclosed.
  bool by_policy = false;
  // "host address 10.1.0.10 on eth0 appeared"
  std::string to_string() const;
  friend bool operator==(const HostAddressChange& a, const HostAddressChange& b) {
    return a.host.address == b.host.address && a.host.interface == b.host.interface &&
           a.appeared == b.appeared && a.by_policy == b.by_policy;
  }
};

class HostAddressSet {
 public:
  using Changes = std::vector<HostAddressChange>;

  explicit HostAddressSet(HostAddressPolicy policy = {}) : policy_(std::move(policy)) {}

  // Every mutator returns what it changed in the disclosed set: disappearances first, then
  // appearances, each in preference order.
  Changes set_policy(HostAddressPolicy policy);
  // A full dump (start, or after the kernel dropped notifications): replaces everything known.
  Changes replace(std::vector<LinkState> links, std::vector<AddressState> addresses);
  Changes link_changed(const LinkState& link);         // new, renamed, up/down, carrier
  Changes link_removed(int index);                     // and its addresses with it
  Changes address_added(const AddressState& address);  // new, or new flags
  Changes address_removed(int ifindex, const IpAddress& address);

  // The disclosed addresses in preference order: IPv4 before IPv6, then by interface index and
  // numerically (stable across dumps, so ME_CONNECTs do not reorder for nothing).
  std::vector<ice::HostAddress> disclosed() const;
  // Every known address, in the same order, with why it is withheld.
  std::vector<HostAddressEntry> entries() const;
  const HostAddressPolicy& policy() const { return policy_; }

 private:
  std::optional<std::string> withheld(const AddressState& a) const;
  std::string interface_name(int ifindex) const;
  template <class Mutate>
  Changes changing(Mutate&& mutate);

  HostAddressPolicy policy_;
  std::map<int, LinkState> links_;
  std::vector<AddressState> addresses_;  // unique by (ifindex, address), kept sorted
};

}  // namespace ikeme::peer

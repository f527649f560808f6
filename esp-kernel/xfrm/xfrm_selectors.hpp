#pragma once
// IKEv2 traffic selectors (address ranges, port ranges, protocol) as XFRM selectors (prefixes,
// port/mask). A range that is no single prefix becomes several selectors, as the kernel matches
// only prefixes and port masks; one policy is installed per selector.

#include <cstdint>
#include <vector>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/payloads.hpp"

namespace ikeme::esp::xfrm {

struct Prefix {
  IpAddress address;
  uint8_t length = 0;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

struct PortMask {
  uint16_t port = 0;
  uint16_t mask = 0;  // 0: any port
  friend bool operator==(const PortMask&, const PortMask&) = default;
};

// One side of a selector.
struct SelectorSide {
  Prefix prefix;
  PortMask port;
  friend bool operator==(const SelectorSide&, const SelectorSide&) = default;
};

// A selector for traffic from `source` to `destination`.
struct Selector {
  SelectorSide source, destination;
  uint8_t protocol = 0;  // 0: any
  friend bool operator==(const Selector&, const Selector&) = default;
};

// The smallest list of prefixes covering exactly [start, end] (same family, start <= end).
std::vector<Prefix> range_to_prefixes(const IpAddress& start, const IpAddress& end);
// The same for a port range; {0, 0} (any) for 0..65535.
std::vector<PortMask> port_range_to_masks(uint16_t start, uint16_t end);

// Every selector for traffic from `source` to `destination` (empty if the families differ, the
// protocols conflict, or a selector is malformed). OPAQUE ports become "any" (the kernel cannot
// express them).
std::vector<Selector> selectors_between(const ike::TrafficSelector& source,
                                        const ike::TrafficSelector& destination);

// Policy priority like strongSwan's: lower values win, so more specific selectors (longer
// prefixes, a protocol, ports) get lower numbers.
uint32_t policy_priority(const Selector& s);

}  // namespace ikeme::esp::xfrm

#pragma once
// Traffic selectors: parsing swanctl-style strings ("10.1.0.0/16", "10.2.0.10", "fec0::/16",
// "0.0.0.0/0[udp/500]", "dynamic"), rendering ("10.1.0.0/16"), and narrowing (RFC 7296 §2.9).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike {

// The whole address range of one host.
TrafficSelector host_selector(const IpAddress& address);

// "dynamic" is returned as nullopt: the caller substitutes the IKE SA's (or virtual) address.
Result<std::optional<TrafficSelector>, std::string> parse_traffic_selector(std::string_view text);

// "10.1.0.0/24", "10.1.0.10/32", "10.1.0.3..10.1.0.9", with "[proto/port]" when restricted.
std::string to_string(const TrafficSelector& ts);
std::string to_string(const std::vector<TrafficSelector>& list);  // "a b c"

// The common part of two selectors of the same family, if any.
std::optional<TrafficSelector> intersect(const TrafficSelector& a, const TrafficSelector& b);

// Narrows what the peer offered to what we allow: every non-empty intersection of an offered
// selector with a configured one, in the offered order.
std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& allowed);

// Whether `inner` lies within `outer` (used to check that a responder only narrowed).
bool contains(const TrafficSelector& outer, const TrafficSelector& inner);
// Whether every selector of `got` lies within one of `asked`, and `got` is not empty: what a
// responder answered is a narrowing of what we asked for.
bool all_within(const std::vector<TrafficSelector>& got, const std::vector<TrafficSelector>& asked);

}  // namespace ikeme::ike

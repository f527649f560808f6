#pragma once
// The host addresses a mediated connection may disclose as HOST candidates: every address of an
// interface that is up, with the interface's name (for the `ice:` exclusion list). Loopback,
// link-local and the like are filtered later by ice::gather_candidates.

#include <string>
#include <vector>

#include "ice/candidates.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::peer {

// getifaddrs(3); `listen` (the daemon's listen addresses, empty = all) restricts the result to
// addresses we have a socket for.
Result<std::vector<ice::HostAddress>, std::string> host_addresses(
    const std::vector<IpAddress>& listen);

}  // namespace ikeme::peer

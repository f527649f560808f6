#pragma once
// The local address the kernel would send from towards a destination: connect() a throwaway UDP
// socket (which sends nothing, it only resolves the route) and getsockname().

#include <optional>
#include <string>

#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::peer {

Result<IpAddress, std::string> route_source(const ike::Endpoint& destination);

}  // namespace ikeme::peer

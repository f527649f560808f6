#pragma once
// An address and UDP port, and the engine's notion of time.

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>

#include "ike/codec/ip_address.hpp"

namespace ikeme::ike {

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
  std::string to_string() const { return endpoint_string(address, port); }
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// Monotonic time, injected by the caller (the daemon's loop or a simulation): the engine never
// reads a clock itself.
using Timestamp = std::chrono::milliseconds;
using Duration = std::chrono::milliseconds;

}  // namespace ikeme::ike

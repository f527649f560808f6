#pragma once
// The client side of the daemon's control socket: one request line out, one reply line back.

#include <chrono>
#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::ctl {

inline constexpr const char* kDefaultSocket = "/run/ikeme/peer.sock";
inline constexpr const char* kDefaultMediatorSocket = "/run/ikeme/mediator.sock";

struct ClientError {
  std::string message;  // ready to print after "ikemectl: "
};

// Connects to `socket_path`, writes `request` plus a newline and returns the reply line (without
// its newline). Fails when the daemon cannot be reached ("cannot connect to PATH: No such file or
// directory — is ikeme-peer running?"), does not answer within `timeout`, or closes first.
Result<std::string, ClientError> request(const std::string& socket_path, const std::string& request,
                                         std::chrono::milliseconds timeout);

}  // namespace ikeme::ctl

#pragma once
// The daemon's UDP sockets (each listen address on the IKE port and the NAT-T port) and the
// choice of socket for a datagram the engine wants to send.

#include <optional>
#include <string>
#include <vector>

#include "ike/codec/result.hpp"
#include "peer/udp_socket.hpp"

namespace ikeme::peer {

class SocketSet {
 public:
  // Binds every address on both ports. With `tolerate_missing_v6` (the default listen set) an
  // IPv6 address that cannot be bound (no IPv6 on this host) is skipped and reported in
  // `warnings`; any other failure fails the whole set.
  static Result<SocketSet, std::string> open(const std::vector<IpAddress>& addresses,
                                             std::vector<uint16_t> ports, bool tolerate_missing_v6,
                                             std::vector<std::string>& warnings);

  std::vector<UdpSocket>& sockets() { return sockets_; }
  const std::vector<UdpSocket>& sockets() const { return sockets_; }

  // The socket that can send from `from` (address and port): one bound to exactly that address,
  // else a wildcard one of the family. Null if none (we do not listen there).
  UdpSocket* for_source(const ike::Endpoint& from);
  // Whether some socket can send from this address.
  bool can_send_from(const IpAddress& address) const;
  // The local address to initiate from when the kernel's route chose `routed`: `routed` itself
  // when a socket can send from it, else the first specifically bound address of the family
  // (listen addresses restrict where we speak from), else nullopt.
  std::optional<IpAddress> initiation_source(const IpAddress& routed) const;

 private:
  std::vector<UdpSocket> sockets_;
};

}  // namespace ikeme::peer

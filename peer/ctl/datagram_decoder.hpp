#pragma once
// Recognises IKE, ESP-in-UDP and NAT-keepalives in captured UDP datagrams on any port, the way
// they appear behind NATs: port 500 (or its NAT mapping towards 500) carries plain IKE; every
// other port is treated as a NAT-T port (non-ESP marker / ESP / keepalive). ESP is only claimed
// on address pairs where IKE was seen or on port 4500, so unrelated UDP is not mislabelled.

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ike/codec/message.hpp"
#include "peer/ctl/capture.hpp"

namespace ikeme::ctl {

struct DecodedDatagram {
  enum class Kind { Ike, Esp, Keepalive, Malformed, NotIke };
  Kind kind = Kind::NotIke;
  bool non_esp_marker = false;           // IKE arrived behind the 4-byte marker
  std::optional<ike::Message> message;   // for Ike
  std::optional<ike::ParseError> error;  // for Malformed
  uint32_t esp_spi = 0;
  uint32_t esp_seq = 0;
  // Extra lines: decoded ME_ENDPOINT notifies, IKE-ME rule violations.
  std::vector<std::string> details;
};

class DatagramDecoder {
 public:
  DecodedDatagram decode(const UdpDatagram& d);

 private:
  using Endpoint = std::tuple<IpAddress, uint16_t>;
  bool known_flow(const UdpDatagram& d) const;
  void remember_flow(const UdpDatagram& d);
  DecodedDatagram decode_ike(const UdpDatagram& d, ByteView message, bool marker);

  std::set<std::pair<Endpoint, Endpoint>> ike_flows_;
};

// One output line: "  0.135059 192.0.2.100[4500] -> 192.0.2.1[1137]  ME_CONNECT response 2 [ SK ]"
// followed by indented detail lines. `t0_ns` is the time of the capture's first datagram.
std::string format_decoded(const UdpDatagram& d, const DecodedDatagram& decoded, int64_t t0_ns,
                           bool verbose);

}  // namespace ikeme::ctl

#pragma once
// Recognises IKE, ESP-in-UDP and NAT-keepalives in captured UDP datagrams on any port, the way
// they appear behind NATs: port 500 (or its NAT mapping towards 500) carries plain IKE; every
// other port is treated as a NAT-T port (non-ESP marker / ESP / keepalive). ESP is only claimed
// on address pairs where IKE was seen or on port 4500, so unrelated UDP is not mislabelled.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ike/codec/message.hpp"
#include "ike/sa/fragment_assembler.hpp"
#include "peer/ctl/capture.hpp"
#include "peer/ctl/ike_keys.hpp"

namespace ikeme::ctl {

struct DecodedDatagram {
  enum class Kind { Ike, Esp, Keepalive, Malformed, NotIke };
  Kind kind = Kind::NotIke;
  bool non_esp_marker = false;           // IKE arrived behind the 4-byte marker
  std::optional<ike::Message> message;   // for Ike
  std::optional<ike::ParseError> error;  // for Malformed
  uint32_t esp_spi = 0;
  uint32_t esp_seq = 0;
  // With keys: the decrypted content of SK, or of a whole message once its last SKF arrived.
  std::optional<std::vector<ike::Payload>> inner;
  uint16_t reassembled_from = 0;  // fragments behind `inner`, 0 for a plain SK
  std::string decrypt_error;      // why SK/SKF could not be opened (no keys, bad ICV, ...)
  // Extra lines: decoded ME_ENDPOINT notifies, IKE-ME rule violations.
  std::vector<std::string> details;
};

class DatagramDecoder {
 public:
  // With a key table, SK and SKF payloads are decrypted, verified and reassembled.
  explicit DatagramDecoder(const KeyTable* keys = nullptr) : keys_(keys) {}
  DecodedDatagram decode(const UdpDatagram& d);

 private:
  using Endpoint = std::tuple<IpAddress, uint16_t>;
  bool known_flow(const UdpDatagram& d) const;
  void remember_flow(const UdpDatagram& d);
  DecodedDatagram decode_ike(const UdpDatagram& d, ByteView message, bool marker);
  void decrypt(ByteView raw, DecodedDatagram& out);
  void describe(const std::vector<ike::Payload>& payloads, const ike::Header& h,
                DecodedDatagram& out) const;

  const KeyTable* keys_;
  std::set<std::pair<Endpoint, Endpoint>> ike_flows_;
  // One reassembly per (SPIi, SPIr, message ID, response flag).
  std::map<std::tuple<uint64_t, uint64_t, uint32_t, bool>, ike::FragmentAssembler> fragments_;
};

// One output line: "  0.135059 192.0.2.100[4500] -> 192.0.2.1[1137]  ME_CONNECT response 2 [ SK ]"
// followed by indented detail lines. `t0_ns` is the time of the capture's first datagram.
std::string format_decoded(const UdpDatagram& d, const DecodedDatagram& decoded, int64_t t0_ns,
                           bool verbose);

}  // namespace ikeme::ctl

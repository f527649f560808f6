#pragma once
// Datagram framing on the IKE ports (RFC 3948 §2, RFC 7296 §2.23):
// - port 500 carries IKE messages as they are;
// - port 4500 multiplexes: a 4-byte zero non-ESP marker precedes IKE, a non-zero first word is an
//   ESP SPI, and a single 0xFF byte is a NAT-keepalive.

#include <cstdint>

#include "ike/codec/bytes.hpp"

namespace ikeme::ike {

enum class DatagramKind : uint8_t { Ike, Esp, Keepalive, Invalid };

struct Framed {
  DatagramKind kind = DatagramKind::Invalid;
  ByteView payload;         // the IKE message (marker removed) or the whole ESP packet
  uint32_t esp_spi = 0;     // for Esp
  uint32_t esp_seq = 0;     // for Esp
  const char* reason = "";  // for Invalid: why
};

inline constexpr size_t kNonEspMarkerSize = 4;

// Classifies a datagram that arrived on (or was sent to) a NAT-T port such as 4500.
Framed classify_nat_t(ByteView datagram);
// A datagram on port 500: always an IKE message, no marker.
Framed classify_ike_port(ByteView datagram);

// Prepends the non-ESP marker to an encoded IKE message for sending on a NAT-T port.
Bytes add_non_esp_marker(ByteView ike_message);

}  // namespace ikeme::ike

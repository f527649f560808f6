#include "ike/codec/framing.hpp"

#include <algorithm>

namespace ikeme::ike {

Framed classify_nat_t(ByteView d) {
  Framed f;
  if (d.size() == 1 && d[0] == 0xFF) {
    f.kind = DatagramKind::Keepalive;
    return f;
  }
  if (d.size() < kNonEspMarkerSize) {
    f.reason = "datagram shorter than a non-ESP marker";
    return f;
  }
  ByteReader r(d);
  uint32_t first = 0;
  (void)r.u32(first);
  if (first == 0) {
    f.kind = DatagramKind::Ike;
    f.payload = d.subspan(kNonEspMarkerSize);
    return f;
  }
  // RFC 4303: SPI and sequence number; SPI values 1..255 are reserved by IANA.
  if (!r.u32(f.esp_seq)) {
    f.reason = "ESP packet shorter than SPI and sequence number";
    return f;
  }
  if (first < 256) {
    f.reason = "reserved ESP SPI";
    return f;
  }
  f.kind = DatagramKind::Esp;
  f.esp_spi = first;
  f.payload = d;
  return f;
}

Framed classify_ike_port(ByteView d) {
  Framed f;
  f.kind = DatagramKind::Ike;
  f.payload = d;
  return f;
}

Bytes add_non_esp_marker(ByteView ike_message) {
  // Sized once and copied into (g++ 12 at -O2 warns falsely about insert() after a fill).
  Bytes out(kNonEspMarkerSize + ike_message.size(), 0);
  std::copy(ike_message.begin(), ike_message.end(), out.begin() + kNonEspMarkerSize);
  return out;
}

}  // namespace ikeme::ike

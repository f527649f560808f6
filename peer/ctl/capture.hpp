#pragma once
// Reads UDP datagrams out of a pcap or pcapng capture (via libpcap), for `ikemectl decode` and
// the vector tests. Handles Ethernet (with VLAN tags), Linux cooked v1/v2, raw IP and BSD
// loopback link types, IPv4 and IPv6.

#include <cstdint>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/ip_address.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ctl {

struct UdpDatagram {
  size_t frame = 0;     // 1-based frame number in the capture
  int64_t time_ns = 0;  // capture timestamp, nanoseconds since the epoch
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  Bytes payload;
};

struct Capture {
  std::vector<UdpDatagram> datagrams;
  size_t frames = 0;          // all frames read
  size_t skipped_frames = 0;  // not UDP over IP, IP fragments, or truncated
};

Result<Capture, std::string> read_capture(const std::string& path);

}  // namespace ikeme::ctl

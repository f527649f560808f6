#pragma once
// The Internet checksum (RFC 1071) over byte spans, for the segments the userspace data plane
// cuts out of GSO packets and for the TCP segments it coalesces: sums are accumulated in the
// machine's byte order (RFC 1071 §2(B): the one's complement sum is byte-order independent) and
// converted only when the folded value is read or stored.

#include <cstdint>
#include <span>

namespace ikeme::esp {

class InetChecksum {
 public:
  // Adds `data`; every span but the last one added must have an even length (16-bit words must
  // not straddle two spans).
  InetChecksum& add(std::span<const uint8_t> data);
  // Adds a big-endian 16-bit word (a length, a protocol number).
  InetChecksum& add16(uint16_t value);
  // The IPv4/IPv6 pseudo header of TCP/UDP (RFC 9293 §3.1, RFC 8200 §8.1): both addresses
  // (4 or 16 bytes each), the protocol and the transport length.
  InetChecksum& add_pseudo_header(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                                  uint8_t protocol, uint32_t length);

  // The folded sum as the big-endian value of the 16-bit field (not complemented): what a
  // CHECKSUM_PARTIAL packet carries in its checksum field.
  uint16_t folded() const;
  // The checksum to store (~folded), with 0 sent as 0xffff (the same value in one's complement;
  // for UDP 0 would mean "no checksum", RFC 768).
  uint16_t final_value() const;

 private:
  uint64_t sum_ = 0;
};

// Checksum helpers on packets (big-endian fields).
uint16_t load16(const uint8_t* p);
void store16(uint8_t* p, uint16_t value);
uint32_t load32(const uint8_t* p);
void store32(uint8_t* p, uint32_t value);
// Recomputes an IPv4 header's checksum (the header is `ihl` bytes at `ip`).
void fix_ipv4_header_checksum(uint8_t* ip, size_t ihl);

}  // namespace ikeme::esp

#include "esp-kernel/userspace/inet_checksum.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace ikeme::esp {

InetChecksum& InetChecksum::add(std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  // 32-bit words into a 64-bit accumulator: no carry is lost for any packet size we handle.
  uint64_t s = sum_;
  while (n >= 16) {
    uint32_t w[4];
    std::memcpy(w, p, 16);
    s += uint64_t{w[0]} + w[1] + w[2] + w[3];
    p += 16;
    n -= 16;
  }
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    s += w;
    p += 4;
    n -= 4;
  }
  if (n) {
    // The tail, padded with zero bytes in memory order (an odd last byte is the high half of a
    // big-endian word).
    uint8_t tail[4] = {0, 0, 0, 0};
    std::memcpy(tail, p, n);
    uint32_t w;
    std::memcpy(&w, tail, 4);
    s += w;
  }
  sum_ = s;
  return *this;
}

InetChecksum& InetChecksum::add16(uint16_t value) {
  uint8_t b[2] = {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  uint16_t w;
  std::memcpy(&w, b, 2);
  sum_ += w;
  return *this;
}

InetChecksum& InetChecksum::add_pseudo_header(std::span<const uint8_t> src,
                                              std::span<const uint8_t> dst, uint8_t protocol,
                                              uint32_t length) {
  add(src);
  add(dst);
  add16(static_cast<uint16_t>(length >> 16));
  add16(static_cast<uint16_t>(length));
  return add16(protocol);
}

uint16_t InetChecksum::folded() const {
  uint64_t s = sum_;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  // s holds the sum of words as loaded in machine order; the field's big-endian value is the
  // network-to-host conversion of those two bytes.
  return ntohs(static_cast<uint16_t>(s));
}

uint16_t InetChecksum::final_value() const {
  const uint16_t v = static_cast<uint16_t>(~folded());
  return v == 0 ? 0xffff : v;
}

uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

void store16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

void store32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

void fix_ipv4_header_checksum(uint8_t* ip, size_t ihl) {
  store16(ip + 10, 0);
  InetChecksum c;
  c.add(std::span<const uint8_t>(ip, ihl));
  store16(ip + 10, static_cast<uint16_t>(~c.folded()));
}

}  // namespace ikeme::esp

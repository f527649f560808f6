#pragma once
// ESP SPIs as the IKE engine handles them: 32-bit values in host order, four big-endian bytes in
// SA, NOTIFY and DELETE payloads, eight hex digits in logs (strongSwan's "c1a2b3d4_i").

#include <cstdint>
#include <cstdio>
#include <string>

#include "ike/codec/bytes.hpp"

namespace ikeme::ike {

inline Bytes spi_bytes(uint32_t spi) {
  return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
          static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

// 0 unless `b` holds exactly four bytes (0 is never a valid ESP SPI).
inline uint32_t spi_value(const Bytes& b) {
  return b.size() == 4 ? static_cast<uint32_t>(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3] : 0;
}

inline std::string hex32(uint32_t v) {
  char buf[12];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace ikeme::ike

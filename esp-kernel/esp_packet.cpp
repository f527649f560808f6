#include "esp-kernel/esp_packet.hpp"

#include <algorithm>
#include <cstdio>

namespace ikeme::esp {
namespace {

Unexpected<EspError> fail(EspErrorKind kind, std::string detail) {
  return Unexpected{EspError{kind, std::move(detail)}};
}

std::string hex32(uint32_t v) {
  char buf[12];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string n_bytes(size_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

std::string hex8(uint8_t v) {
  char buf[6];
  std::snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

}  // namespace

std::string name(EspErrorKind kind) {
  switch (kind) {
    case EspErrorKind::TooShort:
      return "TooShort";
    case EspErrorKind::ReservedSpi:
      return "ReservedSpi";
    case EspErrorKind::BadPadLength:
      return "BadPadLength";
    case EspErrorKind::BadPadding:
      return "BadPadding";
    case EspErrorKind::BadBlockSize:
      return "BadBlockSize";
  }
  return "EspErrorKind(" + std::to_string(static_cast<unsigned>(kind)) + ")";
}

std::string EspError::to_string() const {
  return name(kind) + ": " + detail;
}

Result<EspHeader, EspError> parse_esp_header(ByteView datagram) {
  if (datagram.size() < kMinEspPacketSize)
    return fail(EspErrorKind::TooShort, "ESP packet of " + n_bytes(datagram.size()) +
                                            ", at least " + n_bytes(kMinEspPacketSize) + " needed");
  ByteReader r(datagram);
  EspHeader h;
  (void)r.u32(h.spi);  // cannot fail: the size was checked above
  (void)r.u32(h.sequence);
  if (h.spi == 0)
    return fail(EspErrorKind::ReservedSpi,
                "SPI 0 is reserved for local use (on UDP port 4500 it is the non-ESP marker)");
  if (h.spi <= 255)
    return fail(EspErrorKind::ReservedSpi,
                "SPI " + hex32(h.spi) + " is in the IANA-reserved range 1..255");
  h.rest = r.rest();
  return h;
}

void write_esp_header(ByteWriter& out, uint32_t spi, uint32_t sequence) {
  out.u32(spi);
  out.u32(sequence);
}

Result<EspPlaintext, EspError> strip_esp_trailer(ByteView decrypted) {
  if (decrypted.size() < 2)
    return fail(EspErrorKind::TooShort, "decrypted payload of " + n_bytes(decrypted.size()) +
                                            " cannot hold the 2-byte trailer");
  EspPlaintext p;
  p.next_header = decrypted[decrypted.size() - 1];
  p.pad_length = decrypted[decrypted.size() - 2];
  const size_t before_trailer = decrypted.size() - 2;
  if (p.pad_length > before_trailer)
    return fail(EspErrorKind::BadPadLength, "pad length " + std::to_string(p.pad_length) +
                                                " exceeds the " + n_bytes(before_trailer) +
                                                " before the trailer");
  const size_t inner_size = before_trailer - p.pad_length;
  for (size_t i = 0; i < p.pad_length; ++i) {
    const uint8_t expected = static_cast<uint8_t>(i + 1);
    const uint8_t got = decrypted[inner_size + i];
    if (got != expected)
      return fail(EspErrorKind::BadPadding, "padding byte " + std::to_string(i + 1) + " is " +
                                                hex8(got) + ", expected " + hex8(expected));
  }
  p.inner = decrypted.first(inner_size);
  return p;
}

size_t esp_padding_length(size_t inner_size, size_t alignment) {
  return (alignment - (inner_size + 2) % alignment) % alignment;
}

Result<Bytes, EspError> build_esp_plaintext(ByteView inner, uint8_t next_header,
                                            size_t block_size) {
  const bool power_of_two = block_size != 0 && (block_size & (block_size - 1)) == 0;
  if (!power_of_two || block_size > 256)
    return fail(EspErrorKind::BadBlockSize,
                "block size " + std::to_string(block_size) + " is not a power of two in 1..256");
  const size_t alignment = std::max<size_t>(block_size, 4);
  const size_t pad = esp_padding_length(inner.size(), alignment);  // < alignment <= 256
  Bytes out;
  out.reserve(inner.size() + pad + 2);
  out.insert(out.end(), inner.begin(), inner.end());
  for (size_t i = 1; i <= pad; ++i) out.push_back(static_cast<uint8_t>(i));
  out.push_back(static_cast<uint8_t>(pad));
  out.push_back(next_header);
  return out;
}

}  // namespace ikeme::esp

#pragma once
// RFC 4303 ESP wire format, sans-IO: the cleartext header, and the encrypted trailer as it looks
// once decrypted. Cipher and integrity handling live elsewhere; this file only knows the layout
//
//   SPI:u32 | Sequence Number:u32 | [IV] ciphertext [ICV]          <- parse_esp_header
//   ciphertext decrypts to:  payload | padding | pad length:u8 | next header:u8
//                                                                  <- strip_esp_trailer /
//                                                                  build_esp_plaintext

#include <cstddef>
#include <cstdint>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::esp {

inline constexpr size_t kEspHeaderSize = 8;
// The smallest possible ESP packet: the header plus the shortest trailer (pad length + next
// header, padded to the 4-byte alignment RFC 4303 §2.4 always requires), even with NULL
// encryption and no ICV.
inline constexpr size_t kMinEspPacketSize = kEspHeaderSize + 4;
// IPv6-NoNxt (RFC 4303 §2.6): a dummy packet for traffic flow confidentiality; the receiver
// must discard it after decryption.
inline constexpr uint8_t kNextHeaderDummy = 59;
// Next header values of the inner packets we carry in tunnel mode.
inline constexpr uint8_t kNextHeaderIpv4 = 4;
inline constexpr uint8_t kNextHeaderIpv6 = 41;

enum class EspErrorKind : uint8_t {
  TooShort,      // fewer bytes than the header or trailer needs
  ReservedSpi,   // SPI 0 (local use; the non-ESP marker on port 4500) or 1..255 (IANA reserved)
  BadPadLength,  // pad length larger than the bytes in front of the trailer
  BadPadding,    // padding bytes not 1, 2, 3, ... (RFC 4303 §2.4)
  BadBlockSize,  // build: a block size that is not a power of two in 1..256
};

struct EspError {
  EspErrorKind kind = EspErrorKind::TooShort;
  std::string detail;  // which field, what value, what was expected

  std::string to_string() const;  // "BadPadding: padding byte 3 is 0x07, expected 0x03"
};

std::string name(EspErrorKind kind);

struct EspHeader {
  uint32_t spi = 0;
  uint32_t sequence = 0;  // low 32 bits of the sequence number (the ESN high half is not sent)
  ByteView rest;          // IV, ciphertext and ICV: a view into the parsed datagram
};

// Splits a datagram (the UDP payload after any non-ESP demux, or the IP payload) into header and
// rest. Refuses packets shorter than kMinEspPacketSize and reserved SPIs (0..255, RFC 4303 §2.1).
// Sequence number 0 is not refused here: with ESN its low half legitimately wraps to 0; replay
// checking belongs to the SA.
Result<EspHeader, EspError> parse_esp_header(ByteView datagram);

void write_esp_header(ByteWriter& out, uint32_t spi, uint32_t sequence);

struct EspPlaintext {
  ByteView inner;  // the payload: the inner IP packet, or anything for a dummy packet
  uint8_t next_header = 0;
  uint8_t pad_length = 0;

  // A dummy packet (next header 59) carries nothing to deliver (RFC 4303 §2.6).
  bool is_dummy() const { return next_header == kNextHeaderDummy; }
};

// Validates and strips the trailer of decrypted ESP payload bytes. The padding must be the
// monotonic sequence 1, 2, 3, ... (RFC 4303 §2.4 lets a receiver check this; we do, as a cheap
// sanity check after decryption). Alignment is not checked: the cipher layer already knows the
// ciphertext was a whole number of blocks.
Result<EspPlaintext, EspError> strip_esp_trailer(ByteView decrypted);

// The number of padding bytes build_esp_plaintext adds to `inner_size` payload bytes.
size_t esp_padding_length(size_t inner_size, size_t alignment);

// payload | 1, 2, 3, ... | pad length | next header, padded so the total is a multiple of
// max(block_size, 4): the cipher's block size (16 for AES-CBC; 1 for AES-GCM and other counter
// modes) or ESP's own 4-byte alignment, whichever is larger. block_size must be a power of two
// in 1..256 (so the padding always fits the one-byte pad length field).
Result<Bytes, EspError> build_esp_plaintext(ByteView inner, uint8_t next_header, size_t block_size);

}  // namespace ikeme::esp

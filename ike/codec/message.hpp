#pragma once
// IKEv2 messages: the fixed header (RFC 7296 §3.1) and the payload chain. parse_message() is
// strict and bounds-checked; encode_message() recomputes every Next Payload and Length field.

#include <cstdint>
#include <string>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/parse_error.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike {

inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kGenericPayloadHeaderSize = 4;
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;
inline constexpr uint8_t kVersion2_0 = 0x20;

struct Header {
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  PayloadType next_payload = PayloadType::NONE;  // as read; recomputed on encode
  uint8_t version = kVersion2_0;
  ExchangeType exchange = ExchangeType::IKE_SA_INIT;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // as read; recomputed on encode

  bool initiator() const { return flags & kFlagInitiator; }
  bool response() const { return flags & kFlagResponse; }
  uint8_t major_version() const { return version >> 4; }
};

struct Message {
  Header header;
  std::vector<Payload> payloads;

  // The first payload of a type, or nullptr.
  const Payload* find(PayloadType type) const;
  // The first notify of a type, or nullptr.
  const NotifyPayload* find_notify(NotifyType type) const;
  std::vector<const NotifyPayload*> notifies(NotifyType type) const;
};

struct EncodeError {
  std::string detail;
};

// Parses just the 28-byte header, checking version and that the length field matches the datagram.
Result<Header, ParseError> parse_header(ByteView datagram);

// Parses a whole IKE message (without any non-ESP marker). Never reads out of bounds.
Result<Message, ParseError> parse_message(ByteView datagram);

// Parses a payload chain starting with `first` that must fill `data` exactly. Used for a message
// body and for the decrypted content of SK/SKF. `base_offset` only shifts reported offsets.
Result<std::vector<Payload>, ParseError> parse_payload_chain(PayloadType first, ByteView data,
                                                             size_t base_offset = 0);

// Encodes a message; header.next_payload and header.length are derived from the payloads.
Result<Bytes, EncodeError> encode_message(const Message& message);

// Encodes a payload chain (for the plaintext inside SK). `first` receives the type of the first
// payload, which belongs in the SK payload's Next Payload field.
Result<Bytes, EncodeError> encode_payload_chain(const std::vector<Payload>& payloads,
                                                PayloadType& first);

}  // namespace ikeme::ike

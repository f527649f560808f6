#pragma once
// The codec's error model. Every parse failure says what was wrong, where, and how an IKEv2
// implementation should react: which error notify to answer with, or to drop the datagram silently.

#include <cstddef>
#include <cstdint>
#include <string>

#include "ike/codec/constants.hpp"

namespace ikeme::ike {

enum class ParseErrorKind : uint8_t {
  Truncated,           // fewer bytes than a length field or fixed structure promises
  LengthMismatch,      // a length field disagrees with its container or with a fixed size
  TrailingData,        // bytes left over after a structure that must end there
  BadValue,            // a field holds a value the protocol forbids (e.g. inverted TS range)
  UnsupportedVersion,  // IKE major version above 2
  Ikev1Message,        // IKE major version 1: not ours to answer
  UnsupportedCriticalPayload,
  BadPayloadOrder,  // e.g. a payload after SK, or SK not last
};

// "No notify": the datagram is dropped without an answer. NotifyType value 0 is reserved in IANA.
inline constexpr NotifyType kNoNotify = static_cast<NotifyType>(0);

struct ParseError {
  ParseErrorKind kind = ParseErrorKind::BadValue;
  NotifyType answer = NotifyType::INVALID_SYNTAX;  // kNoNotify = drop silently
  PayloadType payload = PayloadType::NONE;         // NONE when the IKE header itself is at fault
  size_t offset = 0;                               // byte offset of the faulty structure
  uint8_t critical_payload_type = 0;  // data of UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 §3.10.1)
  std::string detail;                 // human-readable: which field, what value, what was expected

  // e.g. "INVALID_SYNTAX at offset 40 in KE payload: data length 31 does not match group ..."
  std::string to_string() const;
};

std::string name(ParseErrorKind kind);

}  // namespace ikeme::ike

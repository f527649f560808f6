#pragma once
// Internal: parsing of one payload body (the bytes after the generic payload header).

#include "ike/codec/parse_error.hpp"
#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike::detail {

// `offset` is the message offset of the body, for error reports. For SK/SKF, `next` is the
// payload's Next Payload field (the first inner payload type).
Result<PayloadBody, ParseError> parse_payload_body(PayloadType type, PayloadType next,
                                                   ByteView body, size_t offset);

// Whether the codec knows the payload type (others are skipped or refused as critical).
bool is_known_payload(PayloadType type);

// Notify data and SPI rules per notify type (lengths, protocol, ME_ENDPOINT structure).
Status<ParseError> check_notify(const NotifyPayload& notify, size_t offset);

}  // namespace ikeme::ike::detail

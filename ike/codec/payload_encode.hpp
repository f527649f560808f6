#pragma once
// Internal: encoding of one payload body (the bytes after the generic payload header).

#include "ike/codec/message.hpp"

namespace ikeme::ike::detail {

Status<EncodeError> encode_payload_body(const Payload& payload, ByteWriter& w);

// The Next Payload value of an SK/SKF payload: the type of the first payload inside it.
PayloadType first_inner_type(const Payload& encrypted);

}  // namespace ikeme::ike::detail

#pragma once
// The IKE-ME connectivity check on the wire (docs/ike-me-protocol.md, "Connectivity checks"):
// an unprotected IKEv2 INFORMATIONAL with SPIi = SPIr = 0, the Initiator flag on a request and the
// Response flag on a response, Message ID = the requester's pair number, and exactly three
// notifies: ME_CONNECTID, ME_ENDPOINT and ME_CONNECTAUTH (in strongSwan's order). A request's
// endpoint is PEER_REFLEXIVE without an address; a response's endpoint is the address:port the
// request came from (how the requester learns its mapped, peer-reflexive address).
// Built and parsed with ike/codec; ME_CONNECTAUTH comes from ice/connect_auth.hpp.

#include <cstdint>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/parse_error.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ice {

// strongSwan's limits on the notify data (larger connect IDs are refused before any hashing).
inline constexpr size_t kMinConnectIdSize = 4;
inline constexpr size_t kMaxConnectIdSize = 16;

struct CheckMessage {
  bool response = false;
  uint32_t message_id = 0;
  Bytes connect_id;
  ike::MeEndpoint endpoint;
  Bytes endpoint_data;  // the ME_ENDPOINT data as on the wire: what ME_CONNECTAUTH covers
  Bytes auth;           // ME_CONNECTAUTH, kConnectAuthSize bytes
};

// Parses an IKE message (non-ESP marker already removed) as a connectivity check. Strict: the
// header must be a check's, each of the three notifies must appear exactly once with a valid
// size, a response's endpoint must carry an address, and no payload other than notifies and
// Vendor IDs may appear. Errors never ask for an answer (answer = kNoNotify): a bad check is
// dropped silently, as strongSwan does.
Result<CheckMessage, ike::ParseError> parse_check(ByteView ike_message);

// Encodes a check (without non-ESP marker) and signs it with `key`, the sender's own connect key.
Bytes build_check(bool response, uint32_t message_id, ByteView connect_id,
                  const ike::MeEndpoint& endpoint, ByteView key);

// Framing, as charon's socket does it: a check sent from (or received on) a socket whose port is
// not the plain IKE port (500) carries the 4-byte zero non-ESP marker (RFC 3948).
bool needs_non_esp_marker(uint16_t local_port, uint16_t ike_port = 500);
Bytes frame_check(ByteView ike_message, uint16_t local_port, uint16_t ike_port = 500);
// The IKE message inside a datagram received on `local_port`, or why it is not one.
Result<ByteView, std::string> unframe_check(ByteView datagram, uint16_t local_port,
                                            uint16_t ike_port = 500);

// "request 2 [ N(ME_CID) N(ME_EP) N(ME_CAUTH) ] PEER_REFLEXIVE (no address) prio 0x0080ffff"
std::string describe(const CheckMessage& check);

}  // namespace ikeme::ice

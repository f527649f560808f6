#pragma once
// The parts of an ME_CONNECT request a mediation server reads (docs/ike-me-protocol.md), and the
// requests it builds from them: the relay to the requested peer, the relayed response and the
// callback. Endpoints are carried as received (their data checked, never rewritten).

#include <optional>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"

namespace ikeme::mediator {

struct MeConnect {
  std::optional<ike::IdPayload> peer;  // IDp
  std::optional<Bytes> connect_id, connect_key;
  std::vector<Bytes> endpoints;  // ME_ENDPOINT data, in order
  bool callback = false;         // N(ME_CALLBACK)
  bool response = false;         // N(ME_RESPONSE)
  bool failed = false;           // N(ME_CONNECT_FAILED): a peer reports that every pair failed
  bool signals_failure = false;  // Vendor ID kFailureSignalVendorId: the sender takes them
  std::string bad_endpoint;      // why an ME_ENDPOINT's data is refused (empty: all fine)
};

MeConnect parse_me_connect(const std::vector<ike::Payload>& payloads);

// ikeme's Vendor ID in its ME_CONNECT requests (and ME_RESPONSEs): "I send and understand the
// failure signal below". strongSwan never sends it, and ignores it (its message rules allow
// Vendor IDs in ME_CONNECT). docs/ike-me-protocol.md, "The failure signal".
extern const Bytes kFailureSignalVendorId;
ike::Payload failure_signal_vendor_id();

// The failure signal, peer -> MS and MS -> the other peer: an ME_CONNECT request with
// N(ME_CONNECTID) of the transaction, N(ME_CONNECT_FAILED) and IDp (the other peer's pseudonym
// towards the MS; the sender's when the MS relays it). No ME_CONNECTKEY, no ME_ENDPOINT: a
// strongSwan mediator answers INVALID_SYNTAX and relays nothing, and a strongSwan peer, were it
// to get one, could not take it for a new transaction.
std::vector<ike::Payload> failure_request(const Bytes& connect_id, const ike::IdPayload& peer);

// MS -> B: A's request as received, with IDp(A).
std::vector<ike::Payload> relay_request(const MeConnect& from_a, const ike::IdPayload& a);
// MS -> A: B's response (N(ME_RESPONSE) first, as strongSwan), with IDp(B).
std::vector<ike::Payload> relay_response(const MeConnect& from_b, const ike::IdPayload& b);
// MS -> A: B has registered; A should start over.
std::vector<ike::Payload> callback_request(const ike::IdPayload& b);

}  // namespace ikeme::mediator

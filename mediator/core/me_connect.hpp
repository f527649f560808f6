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
  std::string bad_endpoint;      // why an ME_ENDPOINT's data is refused (empty: all fine)
};

MeConnect parse_me_connect(const std::vector<ike::Payload>& payloads);

// MS -> B: A's request as received, with IDp(A).
std::vector<ike::Payload> relay_request(const MeConnect& from_a, const ike::IdPayload& a);
// MS -> A: B's response (N(ME_RESPONSE) first, as strongSwan), with IDp(B).
std::vector<ike::Payload> relay_response(const MeConnect& from_b, const ike::IdPayload& b);
// MS -> A: B has registered; A should start over.
std::vector<ike::Payload> callback_request(const ike::IdPayload& b);

}  // namespace ikeme::mediator

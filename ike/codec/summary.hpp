#pragma once
// One-line message summaries in the style of strongSwan's logs, e.g.
//   IKE_AUTH request 1 [ IDi AUTH SA TSi TSr N(ME_EP) ]
// so operators can read ikeme logs and `ikemectl decode` output with the habits they have.

#include <string>
#include <vector>

#include "ike/codec/message.hpp"

namespace ikeme::ike {

// "[ SA KE No N(NATD_S_IP) ]"
std::string summarize_payloads(const std::vector<Payload>& payloads);
// "IKE_SA_INIT request 0 [ SA KE No ... ]"
std::string summarize(const Message& message);
// The short token for one payload: "SA", "No", "N(ME_EP)", "EF(1/2)", "CPRQ(ADDR DNS)".
std::string payload_token(const Payload& payload);

}  // namespace ikeme::ike

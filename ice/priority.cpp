#include "ice/priority.hpp"

#include <cstdio>

namespace ikeme::ice {

// The wire constants in the codec and the formula here must never drift apart.
static_assert(endpoint_priority(ike::EndpointType::HOST) == ike::kPriorityHost);
static_assert(endpoint_priority(ike::EndpointType::PEER_REFLEXIVE) == ike::kPriorityPeerReflexive);
static_assert(endpoint_priority(ike::EndpointType::SERVER_REFLEXIVE) ==
              ike::kPriorityServerReflexive);
static_assert(endpoint_priority(ike::EndpointType::RELAYED) == ike::kPriorityRelayed);

std::string pair_priority_hex(uint64_t priority) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(priority));
  return buf;
}

}  // namespace ikeme::ice

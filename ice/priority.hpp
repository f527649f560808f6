#pragma once
// Candidate (endpoint) and candidate-pair priorities as strongSwan's IKE-ME computes them
// (docs/ike-me-protocol.md; ICE's formulas, RFC 8445 §5.1.2 and §6.1.2.3, without the
// component ID, which IKE-ME does not have).

#include <concepts>
#include <cstdint>
#include <string>

#include "ike/codec/me_endpoint.hpp"

namespace ikeme::ice {

// strongSwan's type preferences: a HOST address beats anything learned, a PEER_REFLEXIVE mapping
// (learned from the peer's checks) beats one reported by the mediation server, and RELAYED is the
// last resort.
constexpr uint8_t type_preference(ike::EndpointType type) {
  switch (type) {
    case ike::EndpointType::HOST:
      return 255;
    case ike::EndpointType::PEER_REFLEXIVE:
      return 128;
    case ike::EndpointType::SERVER_REFLEXIVE:
      return 64;
    case ike::EndpointType::RELAYED:
      return 0;
  }
  return 0;  // not reachable for a parsed endpoint (the codec refuses other type values)
}

// strongSwan always uses the maximum local preference: it does not rank its own interfaces.
inline constexpr uint16_t kLocalPreference = 65535;

// priority = (type preference << 16) + local preference.
constexpr uint32_t endpoint_priority(ike::EndpointType type,
                                     uint16_t local_preference = kLocalPreference) {
  return static_cast<uint32_t>(type_preference(type)) << 16 | local_preference;
}

// Pair priority = 2^32 * min(pI, pR) + 2 * max(pI, pR) + (pI > pR ? 1 : 0), where pI is the
// priority of the ME_CONNECT initiator's endpoint of the pair and pR the responder's, so both
// sides compute the same value for the same pair. Computed exactly in 64 bits: it fits for every
// input except pI = pR = 2^32-1 (2^64 + 2^32 - 2), which saturates to UINT64_MAX. (ICE keeps
// priorities below 2^31; IKE-ME's wire field is a full u32 a peer may fill as it likes.)
// strongSwan computes it in double precision and can be off by a few units; see
// tests/unit/ice_priority_test.cpp for why that does not matter for interoperability.
constexpr uint64_t pair_priority(uint32_t initiator_priority, uint32_t responder_priority) {
  const uint64_t lo =
      initiator_priority < responder_priority ? initiator_priority : responder_priority;
  const uint64_t hi =
      initiator_priority < responder_priority ? responder_priority : initiator_priority;
  if (lo == UINT32_MAX) return UINT64_MAX;
  return (lo << 32) + 2 * hi + (initiator_priority > responder_priority ? 1 : 0);
}

// For logs ("why was this pair chosen"): 16 hex digits, "0x0040ffff01ffffff". In hex the high
// half reads as min(pI, pR) directly (strongSwan's decimal "%d" log shows only a mangled low half).
std::string pair_priority_hex(uint64_t priority);

// Anything with a pair priority: a bare uint64_t, or a pair type with a `priority` member.
template <class P>
concept HasPairPriority = std::same_as<P, uint64_t> || requires(const P& p) {
  { p.priority } -> std::convertible_to<uint64_t>;
};

// Orders pairs by descending priority, the check list's order. Use it with std::stable_sort:
// like strongSwan's insert-after-equal list, pairs of equal priority then keep insertion order.
struct HigherPriorityFirst {
  template <HasPairPriority P>
  bool operator()(const P& a, const P& b) const {
    return priority_of(a) > priority_of(b);
  }

 private:
  static uint64_t priority_of(uint64_t p) { return p; }
  template <class P>
  static uint64_t priority_of(const P& p) {
    return p.priority;
  }
};

}  // namespace ikeme::ice

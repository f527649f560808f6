#pragma once
// What the mediation server counts (ikemectl stats, Prometheus metrics). Every refusal has a
// reason; each is logged where it happens and counted here.

#include <array>
#include <cstdint>
#include <string_view>

namespace ikeme::mediator {

enum class Refusal {
  NoMediation,        // IKE_SA_INIT without N(ME_MEDIATION)
  SourceRateLimited,  // too many IKE_SA_INITs from one address
  NotInDirectory,     // authenticated, but the pseudonym is not (or no longer) listed
  TooManyRegistrations,
  PeerRateLimited,  // too many ME_CONNECTs from one pseudonym
  InvalidSyntax,    // ME_CONNECT without IDp, CONNECTID, CONNECTKEY or endpoints
  TooManyEndpoints,
  TooManyPending,
  Offline,             // the requested pseudonym is not registered
  Unauthorized,        // not allowed by the directory (answered exactly like Offline)
  UnexpectedResponse,  // ME_RESPONSE without a relay waiting for it
  RelayFailed,         // the other SA could not take the relayed request
  AuthFailed,          // IKE_AUTH refused (unknown pseudonym, wrong PSK or certificate, ...)
  ChildSa,             // a CHILD_SA requested on a mediation connection (refused, SA kept)
  UnknownTransaction,  // ME_CONNECT_FAILED naming no endpoint exchange the server relayed
  Count
};
inline constexpr size_t kRefusalCount = static_cast<size_t>(Refusal::Count);

constexpr std::string_view name(Refusal r) {
  constexpr std::string_view kNames[] = {"no_me_mediation",
                                         "source_rate_limited",
                                         "not_in_directory",
                                         "too_many_registrations",
                                         "peer_rate_limited",
                                         "invalid_syntax",
                                         "too_many_endpoints",
                                         "too_many_pending",
                                         "offline",
                                         "unauthorized",
                                         "unexpected_response",
                                         "relay_failed",
                                         "auth_failed",
                                         "child_sa",
                                         "unknown_transaction"};
  static_assert(std::size(kNames) == kRefusalCount);
  return kNames[static_cast<size_t>(r)];
}

struct MediatorStats {
  uint64_t registrations = 0;      // accepted registrations (IKE SAs)
  uint64_t replaced = 0;           // ... that replaced an older SA of the same pseudonym
  uint64_t unregistrations = 0;    // registrations that ended
  uint64_t connect_requests = 0;   // ME_CONNECT requests received
  uint64_t relays = 0;             // requests relayed to the requested peer
  uint64_t relayed_responses = 0;  // ME_RESPONSEs relayed back: endpoint exchanges completed
  uint64_t callbacks_stored = 0;
  uint64_t callbacks_sent = 0;
  uint64_t callbacks_expired = 0;
  uint64_t relays_expired = 0;
  uint64_t directory_removed = 0;
  // ME_CONNECT_FAILED from peers (every pair failed): received, relayed to the other peer, and
  // withheld because the other peer did not announce that it takes them (strongSwan peers).
  uint64_t failure_signals = 0;
  uint64_t failures_relayed = 0;
  uint64_t failures_withheld = 0;  // registrations closed because a reload removed the pseudonym
  std::array<uint64_t, kRefusalCount> refusals{};

  void refuse(Refusal r) { ++refusals[static_cast<size_t>(r)]; }
  uint64_t refused(Refusal r) const { return refusals[static_cast<size_t>(r)]; }
};

}  // namespace ikeme::mediator

#pragma once
// The check list: candidate pairs in priority order, as strongSwan's connect manager builds it
// (build_pairs/prune_pairs in connect_manager.c), plus the per-pair state the agent keeps.
// - A pair is (local candidate's BASE, remote candidate's address) of the same family: a SRFLX
//   candidate is never a source, it only makes its base's pairs appear twice.
// - Priority from ice/priority.hpp, with the ME_CONNECT initiator's endpoint as pI on both sides.
// - Stable order (pairs of equal priority keep strongSwan's insertion order: initiator's endpoints
//   outer, responder's inner), duplicates (same base and remote) pruned keeping the first, then
//   numbered 1..n: the number is the check's Message ID.
// - At most `max_pairs` kept (the lowest-priority ones are dropped and reported).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ice/candidates.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::ice {

// Who sent ME_CONNECT. The initiator nominates (strongSwan: the initiator sends IKE_SA_INIT).
enum class Role : uint8_t { Initiator, Responder };

enum class PairState : uint8_t { Waiting, InProgress, Succeeded, Failed };
const char* name(PairState state);
const char* name(Role role);

struct CandidatePair {
  uint32_t id = 0;  // the checks' Message ID
  uint64_t priority = 0;
  ike::Endpoint local;  // the base checks are sent from
  ike::Endpoint remote;
  ike::EndpointType local_type = ike::EndpointType::HOST;  // of the best candidate behind it
  ike::EndpointType remote_type = ike::EndpointType::HOST;
  bool learned = false;  // created from a peer's check (a peer-reflexive remote)

  PairState state = PairState::Waiting;
  unsigned requests = 0;     // every request sent, retransmissions included
  unsigned retransmits = 0;  // since the last fresh (ordinary or triggered) check
  unsigned responses = 0;    // valid responses received
  std::optional<ike::Timestamp> first_sent;
  ike::Timestamp last_sent{0};
  ike::Timestamp next_retransmit{0};
  std::optional<ike::Timestamp> succeeded_at;
  ike::Duration rtt{0};
  std::optional<ike::Endpoint> mapped;  // our address as the peer saw it (from its response)
  std::string note;                     // why it failed, or what was odd about it
  Bytes request;                        // the encoded request (retransmitted as is)

  std::string to_string() const;  // "#2 10.1.0.10[4500] - 192.0.2.2[1268] HOST-SERVER_REFLEXIVE"
};

struct BuiltCheckList {
  std::vector<CandidatePair> pairs;  // ordered, numbered
  std::vector<std::string> notes;    // pruned and dropped pairs, for the log
};

BuiltCheckList build_check_list(const std::vector<Candidate>& local,
                                const std::vector<Candidate>& remote, Role role, size_t max_pairs);

// Inserts a pair learned from a peer's check at its priority position (after equal ones).
void insert_by_priority(std::vector<CandidatePair>& pairs, CandidatePair pair);

}  // namespace ikeme::ice

#include "ice/check_list.hpp"

#include <algorithm>

#include "ice/priority.hpp"

namespace ikeme::ice {

const char* name(PairState s) {
  switch (s) {
    case PairState::Waiting:
      return "waiting";
    case PairState::InProgress:
      return "in progress";
    case PairState::Succeeded:
      return "succeeded";
    case PairState::Failed:
      return "failed";
  }
  return "?";
}

const char* name(Role r) {
  return r == Role::Initiator ? "initiator" : "responder";
}

std::string CandidatePair::to_string() const {
  return "#" + std::to_string(id) + " " + local.to_string() + " - " + remote.to_string() + " " +
         ike::name(local_type) + "-" + ike::name(remote_type);
}

BuiltCheckList build_check_list(const std::vector<Candidate>& local,
                                const std::vector<Candidate>& remote, Role role, size_t max_pairs) {
  BuiltCheckList out;
  auto make = [&](const Candidate& l, const Candidate& r) {
    if (l.base.address.family() != r.address.address.family()) return;
    uint32_t pi = role == Role::Initiator ? l.priority : r.priority;
    uint32_t pr = role == Role::Initiator ? r.priority : l.priority;
    CandidatePair p;
    p.priority = pair_priority(pi, pr);
    p.local = l.base;
    p.remote = r.address;
    p.local_type = l.type;
    p.remote_type = r.type;
    out.pairs.push_back(std::move(p));
  };
  // strongSwan's insertion order: the initiator's endpoints outer, the responder's inner.
  if (role == Role::Initiator) {
    for (const auto& l : local)
      for (const auto& r : remote) make(l, r);
  } else {
    for (const auto& r : remote)
      for (const auto& l : local) make(l, r);
  }
  std::stable_sort(out.pairs.begin(), out.pairs.end(), HigherPriorityFirst{});
  std::vector<CandidatePair> kept;
  for (auto& p : out.pairs) {
    bool dup = std::any_of(kept.begin(), kept.end(), [&](const CandidatePair& k) {
      return k.local == p.local && k.remote == p.remote;
    });
    if (dup) {
      out.notes.push_back("pruning pair " + p.local.to_string() + " - " + p.remote.to_string() +
                          " " + ike::name(p.local_type) + "-" + ike::name(p.remote_type) +
                          " priority " + pair_priority_hex(p.priority) +
                          " (same base and remote as a better pair)");
      continue;
    }
    if (kept.size() >= max_pairs) {
      out.notes.push_back("dropping pair " + p.local.to_string() + " - " + p.remote.to_string() +
                          ": over the limit of " + std::to_string(max_pairs) + " pairs");
      continue;
    }
    kept.push_back(std::move(p));
  }
  for (size_t i = 0; i < kept.size(); ++i) kept[i].id = static_cast<uint32_t>(i + 1);
  out.pairs = std::move(kept);
  return out;
}

void insert_by_priority(std::vector<CandidatePair>& pairs, CandidatePair pair) {
  auto at = std::find_if(pairs.begin(), pairs.end(),
                         [&](const CandidatePair& p) { return p.priority < pair.priority; });
  pairs.insert(at, std::move(pair));
}

}  // namespace ikeme::ice

#include "ice/agent.hpp"

#include <mbedtls/platform_util.h>

#include <algorithm>
#include <cmath>

#include "ice/connect_auth.hpp"
#include "ice/priority.hpp"

namespace ikeme::ice {
namespace {

using ike::Duration;
using ike::Timestamp;

std::string ms(Duration d) {
  return std::to_string(d.count()) + " ms";
}

void wipe(Bytes& b) {
  if (!b.empty()) mbedtls_platform_zeroize(b.data(), b.size());
  b.clear();
}

ike::MeEndpoint request_endpoint() {
  // strongSwan: endpoint_notify_create_from_host(PEER_REFLEXIVE, NULL, NULL).
  return ike::MeEndpoint{ike::kPriorityPeerReflexive, ike::EndpointType::PEER_REFLEXIVE, 0,
                         std::nullopt};
}

constexpr int kQuietDropLogs = 5;

}  // namespace

std::string Nomination::to_string() const {
  std::string s = "pair " + local.to_string() + " - " + remote.to_string() + " (" +
                  ike::name(local_type) + "-" + ike::name(remote_type) + ")";
  if (mapped) s += ", mapped " + mapped->to_string();
  if (by_peer) return s + ", chosen by the peer";
  s += ", rtt " + ms(rtt) + ", " + reason;
  if (timings.first_success)
    s += ", first success after " + ms(*timings.first_success - timings.started) +
         ", nominated after " + ms(timings.finished - timings.started);
  return s;
}

std::string PairReport::to_string() const {
  std::string s = "#" + std::to_string(id) + " " + local.to_string() + " - " + remote.to_string() +
                  " " + ike::name(local_type) + "-" + ike::name(remote_type) + " " + name(state) +
                  " (" + std::to_string(requests) + " requests, " + std::to_string(responses) +
                  " responses)";
  if (!note.empty()) s += ": " + note;
  return s;
}

const char* name(FailureReason r) {
  switch (r) {
    case FailureReason::NoPairs:
      return "no candidate pairs";
    case FailureReason::AllPairsFailed:
      return "all pairs failed";
    case FailureReason::Timeout:
      return "timeout";
    case FailureReason::PeerReported:
      return "the peer reported that every pair failed";
  }
  return "?";
}

std::string Failure::to_string() const {
  return std::string(name(reason)) + " after " + ms(timings.finished - timings.started) + ": " +
         detail + " (" + std::to_string(pairs.size()) + " pairs tried)";
}

IceAgent::IceAgent(AgentConfig config, SessionParams params)
    : config_(config), params_(std::move(params)) {}

IceAgent::~IceAgent() {
  wipe(params_.local_key);
  wipe(params_.remote_key);
}

void IceAgent::log(AgentOutput& out, int level, std::string text) const {
  out.logs.push_back(ike::LogLine{ike::Subsystem::ICE, level, 0, params_.name, std::move(text)});
}

void IceAgent::send(AgentOutput& out, const ike::Endpoint& from, const ike::Endpoint& to,
                    const Bytes& msg) {
  out.sends.push_back(ike::SendDatagram{from, to, frame_check(msg, from.port, config_.ike_port)});
}

void IceAgent::start(Timestamp now, AgentOutput& out) {
  if (state_ != State::Idle) return;
  state_ = State::Checking;
  timings_.started = now;
  deadline_ = now + config_.transaction_timeout;
  tokens_ = config_.unverified_checks_burst;
  tokens_at_ = now;
  std::string cid;
  for (uint8_t b : params_.connect_id) {
    static const char* hex = "0123456789abcdef";
    if (!cid.empty()) cid += ':';
    cid += hex[b >> 4];
    cid += hex[b & 15];
  }
  log(out, 1,
      "starting connectivity checks " + cid + " as " + name(params_.role) + " with " +
          std::to_string(params_.local.size()) + " local and " +
          std::to_string(params_.remote.size()) + " remote endpoints");
  for (const auto& ep : params_.remote) {
    if (remote_.size() >= config_.max_remote_candidates) {
      log(out, 1,
          "ignoring remote endpoint " + ep.to_string() + ": over the limit of " +
              std::to_string(config_.max_remote_candidates));
      continue;
    }
    auto c = remote_candidate(ep, config_.allow_loopback);
    if (!c) {
      log(out, 1, "ignoring remote endpoint " + ep.to_string() + ": " + c.error());
      continue;
    }
    bool dup = std::any_of(remote_.begin(), remote_.end(),
                           [&](const Candidate& r) { return r.address == c->address; });
    if (!dup) remote_.push_back(*c);
  }
  auto built = build_check_list(params_.local, remote_, params_.role, config_.max_pairs);
  for (auto& note : built.notes) log(out, 2, std::move(note));
  pairs_ = std::move(built.pairs);
  next_pair_id_ = static_cast<uint32_t>(pairs_.size() + 1);
  for (const auto& p : pairs_)
    log(out, 1, "pair " + p.to_string() + " priority " + pair_priority_hex(p.priority));
  if (pairs_.empty()) {
    fail(FailureReason::NoPairs, "no local and remote endpoints of the same family", now, out);
    return;
  }
  next_pace_ = now;
  pace(now, out);
}

bool IceAgent::take_token(Timestamp now) {
  double elapsed = std::chrono::duration<double>(now - tokens_at_).count();
  tokens_at_ = now;
  tokens_ = std::min(config_.unverified_checks_burst,
                     tokens_ + std::max(0.0, elapsed) * config_.unverified_checks_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool IceAgent::handle_datagram(const ike::Endpoint& local, const ike::Endpoint& remote,
                               ByteView datagram, Timestamp now, AgentOutput& out) {
  auto msg = unframe_check(datagram, local.port, config_.ike_port);
  if (!msg) return false;
  auto check = parse_check(*msg);
  if (!check) return false;  // not a (valid) check: maybe other IKE traffic
  if (check->connect_id != params_.connect_id) return false;
  handle_check(local, remote, *check, now, out);
  return true;
}

void IceAgent::handle_check(const ike::Endpoint& local, const ike::Endpoint& remote,
                            const CheckMessage& check, Timestamp now, AgentOutput& out) {
  if (state_ != State::Checking && state_ != State::Nominated) return;
  if (check.connect_id != params_.connect_id) return;
  ++counters_.checks_received;
  if (!take_token(now)) {
    ++counters_.rate_limited;
    if (quiet_drops_logged_++ < kQuietDropLogs)
      log(out, 1,
          "dropping check from " + remote.to_string() + ": over " +
              std::to_string(static_cast<int>(config_.unverified_checks_per_second)) +
              " unverified checks/s");
    return;
  }
  auto expected = compute_connect_auth(check.message_id, check.connect_id, check.endpoint_data,
                                       params_.remote_key);
  if (!connect_auth_matches(check.auth, expected)) {
    ++counters_.auth_failures;
    if (quiet_drops_logged_++ < kQuietDropLogs)
      log(out, 1,
          "connectivity check " + describe(check) + " from " + remote.to_string() +
              " failed verification (ME_CONNECTAUTH)");
    return;
  }
  log(out, 2,
      "received " + describe(check) + " on " + local.to_string() + " from " + remote.to_string());
  if (check.response)
    process_response(local, remote, check, now, out);
  else
    process_request(local, remote, check, now, out);
  evaluate(now, out);
}

CandidatePair* IceAgent::pair_by_id(uint32_t id) {
  for (auto& p : pairs_)
    if (p.id == id) return &p;
  return nullptr;
}

CandidatePair* IceAgent::pair_by_endpoints(const ike::Endpoint& local,
                                           const ike::Endpoint& remote) {
  for (auto& p : pairs_)
    if (p.local == local && p.remote == remote) return &p;
  return nullptr;
}

const Candidate* IceAgent::local_candidate_at(const ike::Endpoint& base) const {
  for (const auto& c : params_.local)
    if (c.base == base && c.type == ike::EndpointType::HOST) return &c;
  return nullptr;
}

void IceAgent::process_request(const ike::Endpoint& local, const ike::Endpoint& remote,
                               const CheckMessage& check, Timestamp now, AgentOutput& out) {
  // Answer first: the response's endpoint is where the request came from (its mapped address),
  // with the priority the requester gave, signed with our key, from where it arrived.
  ike::MeEndpoint mapped{check.endpoint.priority, ike::EndpointType::PEER_REFLEXIVE, remote.port,
                         remote.address};
  send(out, local, remote,
       build_check(true, check.message_id, params_.connect_id, mapped, params_.local_key));
  ++counters_.responses_sent;
  if (state_ != State::Checking) return;  // lingering after nomination: answer only

  // A source we did not know is a peer-reflexive candidate of the peer.
  bool known = std::any_of(remote_.begin(), remote_.end(),
                           [&](const Candidate& c) { return c.address == remote; });
  if (!known) {
    if (remote_.size() >= config_.max_remote_candidates) {
      log(out, 1,
          "not learning peer-reflexive " + remote.to_string() + ": over the limit of " +
              std::to_string(config_.max_remote_candidates) + " remote endpoints");
      return;
    }
    uint32_t prio = check.endpoint.priority;
    remote_.push_back(Candidate{ike::EndpointType::PEER_REFLEXIVE, remote, remote, prio});
    log(out, 1, "learned peer-reflexive remote endpoint " + remote.to_string());
  }
  CandidatePair* pair = pair_by_endpoints(local, remote);
  if (!pair) {
    if (pairs_.size() >= config_.max_pairs) {
      log(out, 1,
          "no new pair " + local.to_string() + " - " + remote.to_string() + ": over the limit of " +
              std::to_string(config_.max_pairs) + " pairs");
      return;
    }
    // As strongSwan: our side is the HOST candidate at the address the request arrived on.
    const Candidate* lc = local_candidate_at(local);
    uint32_t local_prio = lc ? lc->priority : endpoint_priority(ike::EndpointType::HOST);
    const Candidate* rc = nullptr;
    for (const auto& c : remote_)
      if (c.address == remote) rc = &c;
    uint32_t remote_prio = rc ? rc->priority : check.endpoint.priority;
    CandidatePair p;
    p.id = next_pair_id_++;
    p.priority = params_.role == Role::Initiator ? pair_priority(local_prio, remote_prio)
                                                 : pair_priority(remote_prio, local_prio);
    p.local = local;
    p.remote = remote;
    p.local_type = ike::EndpointType::HOST;
    p.remote_type = rc ? rc->type : ike::EndpointType::PEER_REFLEXIVE;
    p.learned = true;
    uint32_t id = p.id;
    log(out, 1,
        "new pair " + p.to_string() + " priority " + pair_priority_hex(p.priority) +
            " from the peer's check");
    insert_by_priority(pairs_, std::move(p));
    pair = pair_by_id(id);
  }
  trigger(*pair, now, out);
}

ike::Duration IceAgent::triggered_holdoff() const {
  if (config_.triggered_holdoff.count() == 0 || !rtt_hint_) return config_.triggered_holdoff;
  // A little more than a round trip: the answer to a request that crossed the peer's.
  return std::clamp(*rtt_hint_ + ike::Duration(2), ike::Duration(2), config_.triggered_holdoff);
}

void IceAgent::trigger(CandidatePair& pair, Timestamp now, AgentOutput& out) {
  switch (pair.state) {
    case PairState::Succeeded:
      return;
    case PairState::InProgress:
      // Our earlier request was probably dropped by the peer's NAT before the peer opened it:
      // check again now that it has (strongSwan: a triggered check replaces the retransmissions).
      // The pair already had its pacing slot, so like a retransmission this goes out at once
      // (strongSwan waits for the next slot, up to 25 ms). With a holdoff, not if our fresh
      // request left less than that ago: both checks probably crossed and its answer is on the
      // way; if it does not come, the retransmission, brought forward to the end of the holdoff,
      // repeats the request. That saves a request and a response each way when both sides
      // checked the pair at the same moment.
      if (ike::Duration holdoff = triggered_holdoff();
          pair.retransmits == 0 && now - pair.last_sent < holdoff) {
        pair.next_retransmit = std::min(pair.next_retransmit, pair.last_sent + holdoff);
        log(out, 2,
            "triggered check on pair #" + std::to_string(pair.id) + " held back until " +
                std::to_string(holdoff.count()) + " ms after our request: it may have crossed");
        return;
      }
      send_request(pair, now, out, "triggered");
      return;
    case PairState::Waiting:
    case PairState::Failed:
      break;
  }
  pair.state = PairState::Waiting;
  if (std::find(triggered_.begin(), triggered_.end(), pair.id) == triggered_.end())
    triggered_.push_back(pair.id);
  log(out, 2, "queued triggered check for pair #" + std::to_string(pair.id));
  if (!next_pace_ || *next_pace_ > now) {
    Timestamp slot = paced_once_ ? last_paced_ + config_.check_interval : now;
    next_pace_ = std::max(now, slot);
  }
  pace(now, out);
}

void IceAgent::process_response(const ike::Endpoint& local, const ike::Endpoint& remote,
                                const CheckMessage& check, Timestamp now, AgentOutput& out) {
  if (state_ != State::Checking) return;
  CandidatePair* pair = pair_by_id(check.message_id);
  if (!pair) {
    log(out, 1, "response " + std::to_string(check.message_id) + " for no pair of ours");
    return;
  }
  if (pair->local != local || pair->remote != remote) {
    // RFC 8445 §7.2.5.2.1: a response over other addresses proves nothing about this pair.
    pair->note = "response arrived on " + local.to_string() + " from " + remote.to_string() +
                 " (not symmetric)";
    log(out, 1, "pair #" + std::to_string(pair->id) + ": " + pair->note);
    return;
  }
  ++pair->responses;
  if (check.endpoint.address)
    pair->mapped = ike::Endpoint{*check.endpoint.address, check.endpoint.port};
  if (pair->state == PairState::Succeeded) return;
  pair->state = PairState::Succeeded;
  pair->succeeded_at = now;
  pair->rtt = now - pair->last_sent;
  pair->note.clear();
  if (!timings_.first_success) timings_.first_success = now;
  std::string mapped = pair->mapped ? ", mapped " + pair->mapped->to_string() : "";
  log(out, 1, "pair " + pair->to_string() + " is valid, rtt " + ms(pair->rtt) + mapped);
  // Our mapped address, if new, is a peer-reflexive candidate of ours (for reports; IKE-ME has no
  // way to tell the peer, and pairs are formed from bases, so it adds no pair).
  if (pair->mapped) {
    bool known = std::any_of(params_.local.begin(), params_.local.end(),
                             [&](const Candidate& c) { return c.address == *pair->mapped; });
    if (!known) {
      params_.local.push_back(Candidate{ike::EndpointType::PEER_REFLEXIVE, *pair->mapped,
                                        pair->local, check.endpoint.priority});
      log(out, 1, "learned peer-reflexive local endpoint " + pair->mapped->to_string());
    }
  }
}

void IceAgent::send_request(CandidatePair& pair, Timestamp now, AgentOutput& out, const char* why) {
  if (pair.request.empty())
    pair.request =
        build_check(false, pair.id, params_.connect_id, request_endpoint(), params_.local_key);
  send(out, pair.local, pair.remote, pair.request);
  ++counters_.requests_sent;
  ++pair.requests;
  pair.state = PairState::InProgress;
  pair.retransmits = 0;
  if (!pair.first_sent) pair.first_sent = now;
  pair.last_sent = now;
  pair.next_retransmit = now + rto(1);
  if (!timings_.first_check) timings_.first_check = now;
  log(out, 2, std::string(why) + " check on pair " + pair.to_string());
}

void IceAgent::pace(Timestamp now, AgentOutput& out) {
  if (state_ != State::Checking || !next_pace_ || *next_pace_ > now) return;
  CandidatePair* pick = nullptr;
  const char* why = "triggered";
  while (!triggered_.empty() && !pick) {
    CandidatePair* p = pair_by_id(triggered_.front());
    triggered_.pop_front();
    if (p && p->state == PairState::Waiting) pick = p;
  }
  if (!pick) {
    why = "ordinary";
    for (auto& p : pairs_)
      if (p.state == PairState::Waiting) {
        pick = &p;
        break;
      }
  }
  if (!pick) {
    next_pace_.reset();  // idle until a triggered check arrives
    return;
  }
  send_request(*pick, now, out, why);
  last_paced_ = now;
  paced_once_ = true;
  next_pace_ = now + config_.check_interval;
}

Duration IceAgent::rto(unsigned retransmission) const {
  if (retransmission <= config_.boost_retransmits) return config_.initial_rto;
  double factor = std::pow(config_.backoff, retransmission - config_.boost_retransmits);
  return Duration(static_cast<int64_t>(static_cast<double>(config_.initial_rto.count()) * factor));
}

void IceAgent::retransmit_due(Timestamp now, AgentOutput& out) {
  for (auto& p : pairs_) {
    if (p.state != PairState::InProgress || p.next_retransmit > now) continue;
    if (p.retransmits + 1 > config_.max_retransmits) {
      p.state = PairState::Failed;
      p.note = "no response to " + std::to_string(p.requests) + " requests in " +
               ms(now - *p.first_sent);
      log(out, 1, "pair " + p.to_string() + " failed: " + p.note);
      continue;
    }
    send(out, p.local, p.remote, p.request);
    ++counters_.requests_sent;
    ++counters_.retransmissions;
    ++p.requests;
    ++p.retransmits;
    p.last_sent = now;
    p.next_retransmit = now + rto(p.retransmits + 1);
    log(out, 2,
        "retransmit " + std::to_string(p.retransmits) + " of pair #" + std::to_string(p.id));
  }
}

Duration IceAgent::patience(const CandidatePair& best) const {
  return std::max(config_.nomination_patience_min,
                  best.rtt * static_cast<int64_t>(config_.nomination_rtt_factor));
}

// When the initiator should nominate: now-or-earlier means "now". nullopt: nothing succeeded.
std::optional<Timestamp> IceAgent::nomination_due() const {
  const CandidatePair* best = nullptr;
  for (const auto& p : pairs_)
    if (p.state == PairState::Succeeded) {
      best = &p;
      break;
    }
  if (!best) return std::nullopt;
  Timestamp latest = *timings_.first_success + config_.nomination_wait_max;
  Timestamp due = Timestamp::min();
  for (const auto& p : pairs_) {
    if (&p == best) break;  // pairs before it have a higher priority
    if (p.state != PairState::Waiting && p.state != PairState::InProgress) continue;
    if (!p.first_sent) return latest;  // not even checked yet: it will be, soon
    due = std::max(due, *p.first_sent + patience(*best));
  }
  return std::min(due, latest);
}

void IceAgent::evaluate(Timestamp now, AgentOutput& out) {
  if (state_ != State::Checking) return;
  bool all_failed = !pairs_.empty() && std::all_of(pairs_.begin(), pairs_.end(), [](const auto& p) {
    return p.state == PairState::Failed;
  });
  if (all_failed) {
    fail(FailureReason::AllPairsFailed, "no pair got a valid response", now, out);
    return;
  }
  if (params_.role != Role::Initiator) return;
  auto due = nomination_due();
  if (!due || *due > now) return;
  const CandidatePair* best = nullptr;
  bool better_open = false;
  for (const auto& p : pairs_) {
    if (p.state == PairState::Succeeded) {
      best = &p;
      break;
    }
    if (p.state == PairState::Waiting || p.state == PairState::InProgress) better_open = true;
  }
  std::string reason;
  if (!better_open)
    reason = "the best possible pair succeeded";
  else if (now >= *timings_.first_success + config_.nomination_wait_max)
    reason = "waited " + ms(now - *timings_.first_success) + " for better pairs";
  else
    reason = "better pairs unanswered after " + ms(patience(*best));
  nominate(*best, std::move(reason), now, out);
}

void IceAgent::nominate(const CandidatePair& p, std::string reason, Timestamp now,
                        AgentOutput& out) {
  Nomination n;
  n.connect_id = params_.connect_id;
  n.local = p.local;
  n.remote = p.remote;
  n.local_type = p.local_type;
  n.remote_type = p.remote_type;
  n.mapped = p.mapped;
  n.pair_id = p.id;
  n.priority = p.priority;
  n.rtt = p.rtt;
  n.reason = std::move(reason);
  timings_.finished = now;
  n.timings = timings_;
  log(out, 1, "nominated " + n.to_string());
  out.nomination = std::move(n);
  state_ = State::Nominated;
  linger_until_ = now + config_.linger_after_nomination;
  triggered_.clear();
  next_pace_.reset();
}

void IceAgent::peer_nominated(const ike::Endpoint& local, const ike::Endpoint& remote,
                              Timestamp now, AgentOutput& out) {
  if (state_ != State::Checking) return;
  Nomination n;
  n.connect_id = params_.connect_id;
  n.local = local;
  n.remote = remote;
  n.by_peer = true;
  n.reason = "chosen by the peer";
  n.local_type = ike::EndpointType::HOST;
  n.remote_type = ike::EndpointType::PEER_REFLEXIVE;
  for (const auto& c : remote_)
    if (c.address == remote) n.remote_type = c.type;
  if (const CandidatePair* p = pair_by_endpoints(local, remote)) {
    n.pair_id = p->id;
    n.priority = p->priority;
    n.rtt = p->rtt;
    n.local_type = p->local_type;
    n.mapped = p->mapped;
  }
  timings_.finished = now;
  n.timings = timings_;
  log(out, 1, "peer nominated " + n.to_string());
  out.nomination = std::move(n);
  close(now);
}

void IceAgent::fail(FailureReason reason, std::string detail, Timestamp now, AgentOutput& out) {
  Failure f;
  f.connect_id = params_.connect_id;
  f.reason = reason;
  f.detail = std::move(detail);
  f.pairs = report();
  timings_.finished = now;
  f.timings = timings_;
  log(out, 1, "connectivity checks failed: " + f.to_string());
  for (const auto& p : f.pairs) log(out, 1, "  " + p.to_string());
  out.failure = std::move(f);
  close(now);
}

std::vector<PairReport> IceAgent::report() const {
  std::vector<PairReport> r;
  for (const auto& p : pairs_) {
    PairReport x{p.id,       p.local, p.remote,   p.local_type, p.remote_type,
                 p.priority, p.state, p.requests, p.responses,  p.note};
    if (x.note.empty()) {
      if (p.state == PairState::Waiting && p.requests == 0) x.note = "never checked";
      if (p.state == PairState::InProgress)
        x.note = "no response yet to " + std::to_string(p.requests) + " requests";
      if (p.state == PairState::Succeeded && params_.role == Role::Responder)
        x.note = "valid, but the initiator never sent IKE_SA_INIT";
    }
    r.push_back(std::move(x));
  }
  return r;
}

void IceAgent::stop(Timestamp now, AgentOutput& out) {
  if (state_ == State::Closed) return;
  log(out, 1, "connectivity checks stopped");
  close(now);
}

void IceAgent::peer_failed(Timestamp now, AgentOutput& out) {
  if (state_ == State::Closed) return;
  fail(FailureReason::PeerReported, "ME_CONNECT_FAILED relayed by the mediation server", now, out);
}

void IceAgent::close(Timestamp now) {
  if (timings_.finished == Timestamp{0}) timings_.finished = now;
  state_ = State::Closed;
  pairs_.clear();
  pairs_.shrink_to_fit();
  remote_.clear();
  triggered_.clear();
  next_pace_.reset();
  wipe(params_.local_key);
  wipe(params_.remote_key);
}

void IceAgent::handle_timeout(Timestamp now, AgentOutput& out) {
  switch (state_) {
    case State::Idle:
    case State::Closed:
      return;
    case State::Nominated:
      if (now >= linger_until_) {
        log(out, 2, "connectivity checks finished");
        close(now);
      }
      return;
    case State::Checking:
      break;
  }
  if (now >= deadline_) {
    std::string detail =
        params_.role == Role::Initiator
            ? "no pair succeeded within " + ms(config_.transaction_timeout)
            : "no IKE_SA_INIT from the initiator within " + ms(config_.transaction_timeout);
    fail(FailureReason::Timeout, std::move(detail), now, out);
    return;
  }
  retransmit_due(now, out);
  pace(now, out);
  evaluate(now, out);
}

std::optional<Timestamp> IceAgent::next_timeout() const {
  switch (state_) {
    case State::Idle:
    case State::Closed:
      return std::nullopt;
    case State::Nominated:
      return linger_until_;
    case State::Checking:
      break;
  }
  Timestamp t = deadline_;
  if (next_pace_) t = std::min(t, *next_pace_);
  for (const auto& p : pairs_)
    if (p.state == PairState::InProgress) t = std::min(t, p.next_retransmit);
  if (params_.role == Role::Initiator)
    if (auto due = nomination_due()) t = std::min(t, *due);
  return t;
}

}  // namespace ikeme::ice

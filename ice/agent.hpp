#pragma once
// The sans-IO ICE agent for one IKE-ME connection attempt (one ME_CONNECTID): connectivity checks
// as strongSwan's connect manager runs them, so that an ikeme peer and a strongSwan peer punch
// through NATs together, with these differences (docs/architecture.md, "ICE agent"):
// - nomination as soon as the best possible pair has succeeded, instead of a fixed 1 s wait: a
//   better pair still in progress is waited for only while an answer is plausible (a few RTTs of
//   the pair that worked) and never longer than `nomination_wait_max`;
// - an overall transaction timeout, after which all state is cleaned up and a Failure lists every
//   pair with what happened to it; the same report as soon as every pair has failed;
// - limits on remote candidates, pairs, and on checks hashed before they are authenticated;
// - a triggered check on a pair already in progress goes out at once, like a retransmission, and
//   one on a new or waiting pair as soon as the pacing slot is free (strongSwan always waits for
//   the next slot).
//
// Use: gather candidates (ice/candidates.hpp), send ME_CONNECT (engine), and once both sides'
// ME_ENDPOINTs and keys are known create the agent and call start(). Then feed it every
// connectivity check received on the IKE sockets (handle_datagram; ice/sessions.hpp demultiplexes
// several agents by connect ID) and call handle_timeout(now) whenever next_timeout() has passed.
// Carry out what AgentOutput says: send the datagrams; on a Nomination (initiator) send
// IKE_SA_INIT with N(ME_CONNECTID) from nomination.local to nomination.remote; on a Failure send
// ME_CONNECT_FAILED / retry. A responder calls peer_nominated() when the initiator's IKE_SA_INIT
// with our ME_CONNECTID arrives.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "ice/candidates.hpp"
#include "ice/check_list.hpp"
#include "ice/check_message.hpp"
#include "ike/sa/actions.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::ice {

struct AgentConfig {
  // strongSwan's pacing and retransmission (connect_manager.c: ME_INTERVAL, ME_BOOST,
  // ME_RETRANS_BASE, ME_MAX_RETRANS): a new check every 25 ms; a check is retransmitted after
  // 25, 25, then 25 * 1.8^(n-2) ms, 13 times, so a pair fails ~65 s after its first check.
  ike::Duration check_interval{25};
  ike::Duration initial_rto{25};
  unsigned boost_retransmits = 2;
  double backoff = 1.8;
  unsigned max_retransmits = 13;
  // Nomination (initiator): a better pair still in progress is worth waiting for until
  // max(nomination_patience_min, nomination_rtt_factor * RTT of the best succeeded pair) after
  // its first check, and never longer than nomination_wait_max after the first success.
  ike::Duration nomination_patience_min{15};
  unsigned nomination_rtt_factor = 3;
  ike::Duration nomination_wait_max{250};
  // A request from the peer on a pair whose check is in progress triggers a check at once,
  // unless our own request on it left less than this ago (then its retransmission will do):
  // 0 = always at once (fastest when the first check was dropped by the peer's NAT); the
  // initial RTO saves packets when both sides checked the pair at the same moment.
  // With an RTT hint (IceAgent::set_rtt_hint), that round trip plus 2 ms, at most this.
  ike::Duration triggered_holdoff{0};
  // The whole attempt: after this, without a nomination, the agent fails and forgets everything.
  ike::Duration transaction_timeout{30000};
  // After nominating, the initiator still answers the peer's checks this long (the peer may still
  // be checking when our IKE_SA_INIT is in flight); then the agent closes.
  ike::Duration linger_after_nomination{2000};
  // Limits against a peer (or anyone who knows the connect ID) that would make us work.
  size_t max_remote_candidates = 16;
  size_t max_pairs = 64;
  // Checks whose ME_CONNECTAUTH we compute: each costs a SHA-1; a token bucket.
  double unverified_checks_per_second = 100;
  double unverified_checks_burst = 20;
  uint16_t ike_port = 500;      // checks from any other local port carry the non-ESP marker
  bool allow_loopback = false;  // single-host tests only
};

struct Timings {
  ike::Timestamp started{0};
  std::optional<ike::Timestamp> first_check;
  std::optional<ike::Timestamp> first_success;
  ike::Timestamp finished{0};
};

struct Nomination {
  Bytes connect_id;      // which attempt
  ike::Endpoint local;   // send IKE_SA_INIT from here (the pair's base) ...
  ike::Endpoint remote;  // ... to here
  ike::EndpointType local_type = ike::EndpointType::HOST;
  ike::EndpointType remote_type = ike::EndpointType::HOST;  // host/srflx/prflx: how we reach it
  std::optional<ike::Endpoint> mapped;  // our address as the peer saw it, when known
  uint32_t pair_id = 0;
  uint64_t priority = 0;
  ike::Duration rtt{0};
  bool by_peer = false;  // responder: the pair the initiator's IKE_SA_INIT came over
  std::string reason;    // why now: "best possible pair", "better pairs unanswered", ...
  Timings timings;
  std::string to_string() const;
};

struct PairReport {
  uint32_t id = 0;
  ike::Endpoint local, remote;
  ike::EndpointType local_type = ike::EndpointType::HOST;
  ike::EndpointType remote_type = ike::EndpointType::HOST;
  uint64_t priority = 0;
  PairState state = PairState::Waiting;
  unsigned requests = 0, responses = 0;
  std::string note;
  std::string to_string() const;
};

// PeerReported: the peer's own checks for this attempt failed and it said so (ME_CONNECT_FAILED
// relayed by the mediation server); ours stop at once.
enum class FailureReason : uint8_t { NoPairs, AllPairsFailed, Timeout, PeerReported };
const char* name(FailureReason reason);

struct Failure {
  Bytes connect_id;
  FailureReason reason = FailureReason::Timeout;
  std::string detail;
  std::vector<PairReport> pairs;  // everything that was tried, and why it did not work
  Timings timings;
  std::string to_string() const;  // one line; pairs follow in their own lines
};

struct AgentOutput {
  std::vector<ike::SendDatagram> sends;
  std::vector<ike::LogLine> logs;
  std::optional<Nomination> nomination;
  std::optional<Failure> failure;
};

struct SessionParams {
  std::string name;  // for logs: the mediated connection's name
  Role role = Role::Initiator;
  Bytes connect_id;                     // ME_CONNECTID (4..16 bytes)
  Bytes local_key;                      // our ME_CONNECTKEY: signs what we send
  Bytes remote_key;                     // the peer's: verifies what we receive
  std::vector<Candidate> local;         // gather_candidates()
  std::vector<ike::MeEndpoint> remote;  // the peer's ME_ENDPOINTs, as received
};

class IceAgent {
 public:
  enum class State : uint8_t { Idle, Checking, Nominated, Closed };

  IceAgent(AgentConfig config, SessionParams params);
  ~IceAgent();
  IceAgent(const IceAgent&) = delete;
  IceAgent& operator=(const IceAgent&) = delete;

  // Builds the check list and sends the first check at once (or fails with NoPairs).
  void start(ike::Timestamp now, AgentOutput& out);

  // A datagram received on `local` (our address and port, e.g. from IP_PKTINFO) from `remote`.
  // Returns false if it is not a connectivity check for this agent (wrong framing, not a check,
  // another connect ID); everything else (bad auth, rate limit) is consumed and logged.
  bool handle_datagram(const ike::Endpoint& local, const ike::Endpoint& remote, ByteView datagram,
                       ike::Timestamp now, AgentOutput& out);
  // The same for a check already parsed (ice/sessions.hpp parses once to find the agent).
  void handle_check(const ike::Endpoint& local, const ike::Endpoint& remote,
                    const CheckMessage& check, ike::Timestamp now, AgentOutput& out);

  void handle_timeout(ike::Timestamp now, AgentOutput& out);
  std::optional<ike::Timestamp> next_timeout() const;

  // Responder: the initiator's IKE_SA_INIT with our ME_CONNECTID arrived on local from remote.
  // Reports the Nomination (by_peer) and closes the agent.
  void peer_nominated(const ike::Endpoint& local, const ike::Endpoint& remote, ike::Timestamp now,
                      AgentOutput& out);
  // The caller gives up (connection deleted, daemon stopping): everything is forgotten.
  void stop(ike::Timestamp now, AgentOutput& out);
  // The peer reported that every pair failed on its side: a Failure (PeerReported) with our
  // pairs as they stand, then everything is forgotten.
  void peer_failed(ike::Timestamp now, AgentOutput& out);

  // An estimate of the round trip to the peer (e.g. of the ME_CONNECT exchange with the
  // mediation server): shortens AgentConfig::triggered_holdoff.
  void set_rtt_hint(ike::Duration rtt) { rtt_hint_ = rtt; }

  State state() const { return state_; }
  Role role() const { return params_.role; }
  const Bytes& connect_id() const { return params_.connect_id; }
  const std::vector<CandidatePair>& pairs() const { return pairs_; }
  const std::vector<Candidate>& remote_candidates() const { return remote_; }
  const std::vector<Candidate>& local_candidates() const { return params_.local; }

  struct Counters {
    uint64_t requests_sent = 0, responses_sent = 0, retransmissions = 0;
    uint64_t checks_received = 0, auth_failures = 0, rate_limited = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  void log(AgentOutput& out, int level, std::string text) const;
  void send(AgentOutput& out, const ike::Endpoint& from, const ike::Endpoint& to,
            const Bytes& ike_message);
  bool take_token(ike::Timestamp now);
  CandidatePair* pair_by_id(uint32_t id);
  CandidatePair* pair_by_endpoints(const ike::Endpoint& local, const ike::Endpoint& remote);
  const Candidate* local_candidate_at(const ike::Endpoint& base) const;
  void process_request(const ike::Endpoint& local, const ike::Endpoint& remote,
                       const CheckMessage& check, ike::Timestamp now, AgentOutput& out);
  void process_response(const ike::Endpoint& local, const ike::Endpoint& remote,
                        const CheckMessage& check, ike::Timestamp now, AgentOutput& out);
  void trigger(CandidatePair& pair, ike::Timestamp now, AgentOutput& out);
  ike::Duration triggered_holdoff() const;
  void pace(ike::Timestamp now, AgentOutput& out);
  void send_request(CandidatePair& pair, ike::Timestamp now, AgentOutput& out, const char* why);
  ike::Duration rto(unsigned retransmission) const;
  void retransmit_due(ike::Timestamp now, AgentOutput& out);
  void evaluate(ike::Timestamp now, AgentOutput& out);
  std::optional<ike::Timestamp> nomination_due() const;
  ike::Duration patience(const CandidatePair& best) const;
  void nominate(const CandidatePair& pair, std::string reason, ike::Timestamp now,
                AgentOutput& out);
  void fail(FailureReason reason, std::string detail, ike::Timestamp now, AgentOutput& out);
  void close(ike::Timestamp now);
  std::vector<PairReport> report() const;

  AgentConfig config_;
  SessionParams params_;
  State state_ = State::Idle;
  std::vector<Candidate> remote_;
  std::vector<CandidatePair> pairs_;
  std::deque<uint32_t> triggered_;  // pair ids, oldest first
  uint32_t next_pair_id_ = 1;
  std::optional<ike::Timestamp> next_pace_;  // set while there may be something to send
  ike::Timestamp last_paced_{0};
  bool paced_once_ = false;
  ike::Timestamp deadline_{0};
  ike::Timestamp linger_until_{0};
  Timings timings_;
  double tokens_ = 0;
  ike::Timestamp tokens_at_{0};
  Counters counters_;
  int quiet_drops_logged_ = 0;
  std::optional<ike::Duration> rtt_hint_;  // unauthenticated noise is logged only a few times
};

}  // namespace ikeme::ice

#pragma once
// Several ICE agents behind one set of IKE sockets, found by the ME_CONNECTID of each check.
// The daemon hands every datagram that may be a connectivity check (an INFORMATIONAL with zero
// SPIs) to handle_datagram(); a check for an unknown connect ID is dropped after parsing only,
// before any hashing, so stray or forged checks cost no SHA-1. Closed agents are removed in
// handle_timeout(). Outputs of all agents go to one AgentOutput; Nomination and Failure carry
// their connect ID. With several outcomes in one call (rare: timeouts of several agents at the
// same millisecond), handle_timeout reports them one per call (the rest stay due).

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ice/agent.hpp"

namespace ikeme::ice {

class IceSessions {
 public:
  explicit IceSessions(AgentConfig config, size_t max_sessions = 64)
      : config_(config), max_sessions_(max_sessions) {}

  // Creates and starts an agent. Refuses a connect ID already in use or more than max_sessions.
  Result<IceAgent*, std::string> start(SessionParams params, ike::Timestamp now, AgentOutput& out);
  void set_config(AgentConfig config) { config_ = config; }  // agents started from now on
  IceAgent* find(ByteView connect_id);
  void remove(ByteView connect_id);
  size_t size() const { return agents_.size(); }

  // True if the datagram was a connectivity check for one of our agents.
  bool handle_datagram(const ike::Endpoint& local, const ike::Endpoint& remote, ByteView datagram,
                       ike::Timestamp now, AgentOutput& out);
  void handle_timeout(ike::Timestamp now, AgentOutput& out);
  // Responder: an IKE_SA_INIT carrying N(ME_CONNECTID) arrived on `local` from `remote`. Reports
  // the Nomination of that attempt and removes it. False if no attempt has that connect ID
  // (then the IKE_SA_INIT is not one we expect).
  bool peer_nominated(ByteView connect_id, const ike::Endpoint& local, const ike::Endpoint& remote,
                      ike::Timestamp now, AgentOutput& out);
  // The peer reported that every pair of this attempt failed: reports the Failure
  // (PeerReported) and removes the agent. False if no attempt has that connect ID.
  bool peer_failed(ByteView connect_id, ike::Timestamp now, AgentOutput& out);
  std::optional<ike::Timestamp> next_timeout() const;

  uint64_t unknown_connect_id() const { return unknown_connect_id_; }

 private:
  AgentConfig config_;
  size_t max_sessions_;
  std::map<Bytes, std::unique_ptr<IceAgent>> agents_;
  uint64_t unknown_connect_id_ = 0;
};

}  // namespace ikeme::ice

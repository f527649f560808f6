#include "ice/sessions.hpp"

namespace ikeme::ice {

Result<IceAgent*, std::string> IceSessions::start(SessionParams params, ike::Timestamp now,
                                                  AgentOutput& out) {
  if (params.connect_id.size() < kMinConnectIdSize || params.connect_id.size() > kMaxConnectIdSize)
    return Unexpected{std::string("connect ID of ") + std::to_string(params.connect_id.size()) +
                      " bytes"};
  if (agents_.count(params.connect_id)) return Unexpected{std::string("connect ID already in use")};
  if (agents_.size() >= max_sessions_)
    return Unexpected{"more than " + std::to_string(max_sessions_) + " concurrent attempts"};
  Bytes id = params.connect_id;
  auto agent = std::make_unique<IceAgent>(config_, std::move(params));
  IceAgent* raw = agent.get();
  agents_.emplace(std::move(id), std::move(agent));
  raw->start(now, out);
  return raw;
}

IceAgent* IceSessions::find(ByteView connect_id) {
  auto it = agents_.find(Bytes(connect_id.begin(), connect_id.end()));
  return it == agents_.end() ? nullptr : it->second.get();
}

void IceSessions::remove(ByteView connect_id) {
  agents_.erase(Bytes(connect_id.begin(), connect_id.end()));
}

bool IceSessions::handle_datagram(const ike::Endpoint& local, const ike::Endpoint& remote,
                                  ByteView datagram, ike::Timestamp now, AgentOutput& out) {
  auto msg = unframe_check(datagram, local.port, config_.ike_port);
  if (!msg) return false;
  auto check = parse_check(*msg);
  if (!check) return false;
  IceAgent* agent = find(check->connect_id);
  if (!agent) {
    ++unknown_connect_id_;
    return false;
  }
  agent->handle_check(local, remote, *check, now, out);
  return true;
}

void IceSessions::handle_timeout(ike::Timestamp now, AgentOutput& out) {
  for (auto it = agents_.begin(); it != agents_.end();) {
    IceAgent& a = *it->second;
    auto due = a.next_timeout();
    // One outcome per call: a second agent due now is handled by the caller's next call.
    if (due && *due <= now && !out.nomination && !out.failure) a.handle_timeout(now, out);
    if (a.state() == IceAgent::State::Closed)
      it = agents_.erase(it);  // its outcome, if any, is already in `out`
    else
      ++it;
  }
}

bool IceSessions::peer_nominated(ByteView connect_id, const ike::Endpoint& local,
                                 const ike::Endpoint& remote, ike::Timestamp now,
                                 AgentOutput& out) {
  IceAgent* agent = find(connect_id);
  if (!agent || agent->role() != Role::Responder) return false;
  agent->peer_nominated(local, remote, now, out);
  remove(connect_id);
  return true;
}

bool IceSessions::peer_failed(ByteView connect_id, ike::Timestamp now, AgentOutput& out) {
  IceAgent* agent = find(connect_id);
  if (!agent) return false;
  agent->peer_failed(now, out);
  remove(connect_id);
  return true;
}

std::optional<ike::Timestamp> IceSessions::next_timeout() const {
  std::optional<ike::Timestamp> t;
  for (const auto& [id, a] : agents_) {
    auto due = a->next_timeout();
    if (!due && a->state() == IceAgent::State::Closed) return ike::Timestamp{0};  // to reap it
    if (due && (!t || *due < *t)) t = due;
  }
  return t;
}

}  // namespace ikeme::ice

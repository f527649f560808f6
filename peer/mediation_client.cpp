#include "peer/mediation_client.hpp"

#include <algorithm>

#include "ike/codec/me_endpoint.hpp"
#include "mediator/core/me_connect.hpp"

namespace ikeme::peer {

using ike::Actions;
using ike::Duration;
using ike::Endpoint;
using ike::NotifyType;
using ike::Payload;
using ike::Subsystem;
using ike::Timestamp;

namespace {

constexpr size_t kConnectIdSize = 4;    // as strongSwan
constexpr size_t kConnectKeySize = 16;  // as strongSwan

Duration next_backoff(Duration current, Duration min, Duration max) {
  if (current.count() == 0) return min;
  return std::min(max, current * 2);
}

bool has_notify(const std::vector<Payload>& payloads, NotifyType type) {
  for (const Payload& p : payloads)
    if (const auto* n = p.as<ike::NotifyPayload>(); n && n->type == type) return true;
  return false;
}

const char* phase_name(int phase) {
  static const char* const kNames[] = {"idle",     "registering", "requested",   "awaiting peer",
                                       "checking", "connecting",  "established", "backoff"};
  return kNames[phase];
}

std::string seconds(Duration d) {
  return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + " s";
}

}  // namespace

const char* name_of(ike::EndpointType type) {
  switch (type) {
    case ike::EndpointType::HOST:
      return "host";
    case ike::EndpointType::SERVER_REFLEXIVE:
      return "srflx";
    case ike::EndpointType::PEER_REFLEXIVE:
      return "prflx";
    case ike::EndpointType::RELAYED:
      return "relay";
  }
  return "?";
}

MediationClient::MediationClient(ike::IkeEngine& engine, ike::crypto::Rng& rng,
                                 MediationClientConfig config)
    : engine_(engine), rng_(rng), config_(std::move(config)), sessions_(config_.agent) {
  engine_.set_mediation_hooks(this);
}

MediationClient::~MediationClient() {
  engine_.set_mediation_hooks(nullptr);
}

void MediationClient::log(Actions& out, int level, const std::string& connection,
                          std::string text) const {
  out.log(Subsystem::MED, level, 0, connection, std::move(text));
}

const ike::ConnectionConfig* MediationClient::config_of(const std::string& connection) const {
  for (const auto& c : engine_.config().connections)
    if (c.name == connection) return &c;
  return nullptr;
}

bool MediationClient::is_mediated(const std::string& connection) const {
  const auto* c = config_of(connection);
  return c && !c->mediated_by.empty();
}

bool MediationClient::is_mediation(const std::string& connection) const {
  const auto* c = config_of(connection);
  return c && c->mediation;
}

MediationClient::Registration& MediationClient::registration(const std::string& connection) {
  auto& r = registrations_[connection];
  r.connection = connection;
  return r;
}

MediationClient::Mediated& MediationClient::mediated(const std::string& connection) {
  auto& m = mediated_[connection];
  m.connection = connection;
  return m;
}

MediationClient::Mediated* MediationClient::by_connect_id(ByteView connect_id) {
  for (auto& [name, m] : mediated_)
    if (!m.connect_id.empty() &&
        std::equal(m.connect_id.begin(), m.connect_id.end(), connect_id.begin(), connect_id.end()))
      return &m;
  return nullptr;
}

const ike::IkeSa* MediationClient::registration_sa(const Registration& r) const {
  if (!r.up) return nullptr;
  const ike::IkeSa* sa = engine_.find_sa(r.spi);
  return sa && sa->state() == ike::IkeSa::State::Established ? sa : nullptr;
}

// --- datagrams and time

void MediationClient::handle_datagram(const Endpoint& local, const Endpoint& remote,
                                      ByteView datagram, Timestamp now, Actions& out) {
  ice::AgentOutput ice_out;
  if (sessions_.handle_datagram(local, remote, datagram, now, ice_out)) {
    take(ice_out, now, out);
  } else {
    engine_.handle_datagram(local, remote, datagram, now, out);
  }
  run_deferred(now, out);
}

std::optional<Timestamp> MediationClient::next_timeout() const {
  std::optional<Timestamp> t = engine_.next_timeout();
  auto consider = [&t](std::optional<Timestamp> x) {
    if (x && (!t || *x < *t)) t = x;
  };
  consider(sessions_.next_timeout());
  for (const auto& [name, r] : registrations_) consider(r.retry_at);
  for (const auto& [name, m] : mediated_) consider(m.retry_at);
  return t;
}

void MediationClient::handle_timeout(Timestamp now, Actions& out) {
  if (auto t = engine_.next_timeout(); t && *t <= now) engine_.handle_timeout(now, out);
  run_deferred(now, out);
  // IceSessions reports one outcome per call.
  for (int i = 0; i < 64; ++i) {
    auto t = sessions_.next_timeout();
    if (!t || *t > now) break;
    ice::AgentOutput ice_out;
    sessions_.handle_timeout(now, ice_out);
    bool outcome = ice_out.nomination || ice_out.failure;
    take(ice_out, now, out);
    if (!outcome) break;
  }
  for (auto& [name, r] : registrations_)
    if (r.retry_at && *r.retry_at <= now) {
      r.retry_at.reset();
      if (r.wanted) register_now(r, now, out);
    }
  for (auto& [name, m] : mediated_)
    if (m.retry_at && *m.retry_at <= now) {
      m.retry_at.reset();
      if (m.wanted) begin(m, now, out);
    }
  run_deferred(now, out);
}

void MediationClient::run_deferred(Timestamp now, Actions& out) {
  for (int round = 0; !deferred_.empty() && round < 8; ++round) {
    auto work = std::move(deferred_);
    deferred_.clear();
    for (auto& f : work) f(now, out);
  }
}

// --- commands

Status<std::string> MediationClient::initiate(const std::string& connection, Timestamp now,
                                              Actions& out) {
  const auto* c = config_of(connection);
  if (!c) return Unexpected{"no connection named '" + connection + "'"};
  if (c->mediation) {
    Registration& r = registration(connection);
    r.wanted = true;
    if (!registration_sa(r)) register_now(r, now, out);
    run_deferred(now, out);
    return {};
  }
  if (c->mediated_by.empty()) return Unexpected{"connection '" + connection + "' is not mediated"};
  const auto* med = config_of(c->mediated_by);
  if (!med || !med->mediation)
    return Unexpected{"connection '" + connection + "': mediated_by '" + c->mediated_by +
                      "' is not a mediation connection"};
  if (!c->mediation_peer)
    return Unexpected{"connection '" + connection + "' has no mediation_peer"};
  Mediated& m = mediated(connection);
  m.wanted = true;
  m.backoff = Duration{0};
  m.retry_at.reset();
  if (m.phase == Phase::Idle || m.phase == Phase::Backoff) begin(m, now, out);
  run_deferred(now, out);
  return {};
}

void MediationClient::forget(const std::string& connection) {
  if (auto it = mediated_.find(connection); it != mediated_.end()) {
    if (!it->second.connect_id.empty()) sessions_.remove(it->second.connect_id);
    it->second.wanted = false;
    it->second.retry_at.reset();
    it->second.phase = Phase::Idle;
  }
  if (auto it = registrations_.find(connection); it != registrations_.end()) {
    it->second.wanted = false;
    it->second.retry_at.reset();
  }
}

void MediationClient::forget_all() {
  for (auto& [name, m] : mediated_) forget(name);
  for (auto& [name, r] : registrations_) forget(name);
}

// --- registration

void MediationClient::register_now(Registration& r, Timestamp now, Actions& out) {
  for (const auto& info : engine_.list_sas())
    if (info.connection == r.connection && info.state != "DEAD" && info.state != "DELETING")
      return;  // already (being) set up
  const auto* c = config_of(r.connection);
  if (!c) return;
  std::optional<IpAddress> source;
  if (config_.source_for) source = config_.source_for(*c);
  log(out, 1, r.connection, "registering at the mediation server (" + r.connection + ")");
  auto st = engine_.initiate(r.connection, "", now, out, source);
  if (!st) {
    r.last_problem = st.error();
    r.backoff = next_backoff(r.backoff, config_.register_min, config_.register_max);
    r.retry_at = now + r.backoff;
    log(out, 0, r.connection,
        "registration failed: " + st.error() + "; retrying in " + seconds(r.backoff));
  }
}

void MediationClient::registration_lost(Registration& r, const std::string& why, Timestamp now,
                                        Actions& out) {
  r.up = false;
  r.spi = 0;
  r.sent.clear();
  r.reregister_when_idle = false;
  r.last_problem = why;
  for (auto& [name, m] : mediated_) {
    const auto* c = config_of(name);
    if (!c || c->mediated_by != r.connection) continue;
    if (m.phase == Phase::Requested || m.phase == Phase::AwaitingPeer) {
      m.phase = Phase::Idle;
      if (m.wanted) m.phase = Phase::Registering;
    }
  }
  if (!r.wanted) return;
  r.backoff = next_backoff(r.backoff, config_.register_min, config_.register_max);
  r.retry_at = now + r.backoff;
  log(out, 0, r.connection,
      "mediation connection down (" + why + "), registering again in " + seconds(r.backoff));
}

void MediationClient::on_established(const ike::IkeSa& sa, Timestamp now, Actions& out) {
  const auto conn = sa.connection();
  if (conn->mediation && sa.initiator()) {
    Registration& r = registration(conn->name);
    r.up = true;
    r.spi = sa.our_spi();
    r.backoff = Duration{0};
    r.retry_at.reset();
    r.sent.clear();
    r.reregister_when_idle = false;
    std::string srflx =
        sa.server_reflexive() ? sa.server_reflexive()->to_string() : "none (no NAT)";
    log(out, 1, conn->name,
        "registered as '" + sa.local_id().to_string() + "' at " + sa.remote().to_string() +
            ", server-reflexive endpoint " + srflx);
    // Mediated connections that waited for the registration go on (after this engine call).
    for (auto& [name, m] : mediated_) {
      const auto* c = config_of(name);
      if (!c || c->mediated_by != conn->name || !m.wanted) continue;
      if (m.phase == Phase::Registering || m.phase == Phase::Idle)
        deferred_.push_back([this, name](Timestamp t, Actions& o) {
          if (auto it = mediated_.find(name); it != mediated_.end()) begin(it->second, t, o);
        });
    }
    return;
  }
  if (conn->mediated_by.empty()) return;
  Mediated& m = mediated(conn->name);
  const uint64_t older = m.sa_spi;
  m.phase = Phase::Established;
  m.sa_id = sa.id();
  m.sa_spi = sa.our_spi();
  if (older && older != m.sa_spi) retire_replaced(m, older, sa, out);
  m.backoff = Duration{0};
  m.retry_at.reset();
  m.last_problem.clear();
  m.to_established = now - m.started;
  log(out, 0, conn->name,
      "mediated connection with '" + sa.remote_id().to_string() + "' established directly, " +
          sa.local().to_string() + " - " + sa.remote().to_string() + ", " +
          std::to_string(m.to_established->count()) + " ms after ME_CONNECT");
}

void MediationClient::on_sa_removed(const ike::IkeSa& sa, Timestamp now, Actions& out) {
  const auto conn = sa.connection();
  if (!conn) return;
  if (conn->mediation && sa.initiator()) {
    auto it = registrations_.find(conn->name);
    if (it == registrations_.end()) return;
    Registration& r = it->second;
    if (r.up && r.spi != sa.our_spi()) return;  // an older SA
    registration_lost(r,
                      sa.was_established() ? "the IKE SA with the server went away"
                                           : "the server could not be reached",
                      now, out);
    return;
  }
  if (conn->mediated_by.empty()) return;
  auto it = mediated_.find(conn->name);
  if (it == mediated_.end()) return;
  Mediated& m = it->second;
  if (m.sa_spi == sa.our_spi()) m.sa_spi = 0;
  if (m.sa_id != sa.id()) return;  // e.g. the SA a new attempt replaces
  m.sa_id = 0;
  std::string why = sa.was_established() ? "the direct IKE SA went away"
                                         : "the direct IKE SA could not be set up";
  m.phase = Phase::Idle;
  if (m.wanted)
    attempt_failed(m, why, now, out);
  else
    m.last_problem = why;
  if (sa.was_established() && sa.failed()) refresh_by_registering(m, out);  // e.g. DPD
}

// --- ME_CONNECT

void MediationClient::begin(Mediated& m, Timestamp now, Actions& out) {
  const auto* c = config_of(m.connection);
  if (!c) return;
  Registration& r = registration(c->mediated_by);
  r.wanted = true;
  if (!registration_sa(r)) {
    m.phase = Phase::Registering;
    if (!r.retry_at) register_now(r, now, out);
    return;
  }
  if (!m.connect_id.empty()) sessions_.remove(m.connect_id);
  m.role = ice::Role::Initiator;
  m.connect_id = rng_.bytes(kConnectIdSize);
  m.key = rng_.bytes(kConnectKeySize);
  m.nomination.reset();
  m.started = now;
  m.to_checks.reset();
  m.to_nomination.reset();
  m.to_established.reset();
  ++m.attempts;
  send_connect(m, r, false, *c->mediation_peer, now, out);
}

std::vector<ice::Candidate> MediationClient::gather(const ike::IkeSa& sa, Actions& out,
                                                    const std::string& connection) const {
  ice::GatherInput in;
  if (config_.host_addresses) in.hosts = config_.host_addresses();
  if (in.hosts.empty()) in.hosts.push_back(ice::HostAddress{sa.local().address, ""});
  in.port = sa.local().port;
  in.server_reflexive = sa.server_reflexive();
  in.server_reflexive_base = sa.local();
  in.allow_loopback = config_.agent.allow_loopback;
  ice::Gathered g = ice::gather_candidates(in, config_.exclusions, config_.max_candidates);
  for (const std::string& s : g.skipped) log(out, 2, connection, "not disclosed: " + s);
  return g.candidates;
}

void MediationClient::send_connect(Mediated& m, Registration& r, bool response,
                                   const ike::Identity& peer, Timestamp now, Actions& out) {
  const ike::IkeSa* sa = registration_sa(r);
  if (!sa) return;
  m.local = gather(*sa, out, m.connection);
  std::vector<Payload> p;
  if (response) p.push_back(ike::make_notify(NotifyType::ME_RESPONSE));
  p.push_back(ike::make_notify(NotifyType::ME_CONNECTID, m.connect_id));
  p.push_back(ike::make_notify(NotifyType::ME_CONNECTKEY, m.key));
  if (!response) p.push_back(ike::make_notify(NotifyType::ME_CALLBACK));
  for (const ike::MeEndpoint& e : ice::to_me_endpoints(m.local))
    p.push_back(ike::make_notify(NotifyType::ME_ENDPOINT, ike::encode_me_endpoint(e)));
  p.push_back(ike::make_id(ike::PayloadType::IDp, peer.type(), peer.data()));
  p.push_back(mediator::failure_signal_vendor_id());  // we send and take ME_CONNECT_FAILED
  log(out, 1, m.connection,
      std::string(response ? "answering" : "sending") + " ME_CONNECT " +
          (response ? "from '" : "to '") + peer.to_string() + "' with " +
          std::to_string(m.local.size()) + " endpoints, connect ID " + to_hex(m.connect_id));
  if (!engine_.send_request(r.spi, ike::ExchangeType::ME_CONNECT, std::move(p), now, out)) {
    attempt_failed(m, "the mediation SA cannot take the ME_CONNECT request", now, out);
    return;
  }
  r.sent.emplace_back(m.connect_id,
                      response ? Registration::Sent::Response : Registration::Sent::Request);
  m.peer = peer;
  m.phase = Phase::Requested;
  m.connect_sent = now;
  m.server_rtt.reset();
}

void MediationClient::on_me_connect_response(const ike::IkeSa& sa,
                                             const std::vector<Payload>& payloads, Timestamp now,
                                             Actions& out) {
  auto rit = registrations_.find(sa.connection_name());
  if (rit == registrations_.end() || rit->second.sent.empty()) return;
  auto [connect_id, kind] = rit->second.sent.front();
  rit->second.sent.pop_front();
  reregister_if_idle(rit->second);
  if (kind == Registration::Sent::Failure) {
    failure_signal_answered(rit->first, connect_id, payloads, out);
    return;
  }
  const bool response = kind == Registration::Sent::Response;
  Mediated* m = by_connect_id(connect_id);
  if (!m || m->phase != Phase::Requested) return;  // superseded meanwhile
  m->server_rtt = now - m->connect_sent;
  if (has_notify(payloads, NotifyType::ME_CONNECT_FAILED)) {
    // Offline and unauthorized look the same from here (the server does not tell them apart).
    const auto* c = config_of(m->connection);
    attempt_failed(*m,
                   "the mediation server answered ME_CONNECT_FAILED: peer '" +
                       (c && c->mediation_peer ? c->mediation_peer->to_string() : "?") +
                       "' is offline or we are not authorized to reach it",
                   now, out);
    return;
  }
  if (has_notify(payloads, NotifyType::INVALID_SYNTAX)) {
    attempt_failed(*m, "the mediation server refused our ME_CONNECT (INVALID_SYNTAX)", now, out);
    return;
  }
  if (response) {
    // Responder: the server acknowledged our answer; the initiator checks as soon as it has it.
    auto it = pending_remote_.find(m->connect_id);
    if (it == pending_remote_.end()) return;
    auto [key, endpoints] = std::move(it->second);
    pending_remote_.erase(it);
    start_checks(*m, key, endpoints, now, out);
    return;
  }
  m->phase = Phase::AwaitingPeer;
  log(out, 2, m->connection, "mediation server accepted ME_CONNECT, waiting for the peer's answer");
}

std::vector<Payload> MediationClient::on_me_connect(const ike::IkeSa& sa,
                                                    const std::vector<Payload>& request,
                                                    Timestamp now, Actions& out) {
  if (!sa.initiator()) return {};  // we are no mediation server
  mediator::MeConnect c = mediator::parse_me_connect(request);
  if (!c.peer) {
    log(out, 1, sa.connection_name(), "ME_CONNECT from the server without IDp ignored");
    return {};
  }
  const ike::Identity peer = ike::Identity::from_payload(*c.peer);
  // The mediated connection for this peer on this mediation connection.
  std::string name;
  for (const auto& conn : engine_.config().connections)
    if (conn.mediated_by == sa.connection_name() && conn.mediation_peer &&
        conn.mediation_peer->matches(peer)) {
      name = conn.name;
      break;
    }
  if (c.callback && !c.connect_id) {
    auto wanted = mediated_.find(name);
    if (name.empty() || wanted == mediated_.end() || !wanted->second.wanted) {
      log(out, 1, sa.connection_name(),
          "ME_CALLBACK for '" + peer.to_string() + "' ignored: no connection wants it");
      return {};
    }
    log(out, 1, name, "ME_CALLBACK: '" + peer.to_string() + "' registered, connecting again");
    Mediated& m = mediated(name);
    m.retry_at.reset();
    m.phase = Phase::Idle;
    deferred_.push_back([this, name](Timestamp t, Actions& o) {
      if (auto it = mediated_.find(name); it != mediated_.end()) begin(it->second, t, o);
    });
    return {};
  }
  if (c.failed && !c.response) {
    if (!c.connect_id) {
      log(out, 1, sa.connection_name(), "relayed ME_CONNECT_FAILED without ME_CONNECTID ignored");
      return {};
    }
    peer_reported_failure(sa, name, peer, *c.connect_id, now, out);
    return {};
  }
  if (!c.connect_id || !c.connect_key || !c.bad_endpoint.empty()) {
    log(out, 1, sa.connection_name(),
        "relayed ME_CONNECT ignored: " +
            (!c.bad_endpoint.empty() ? "invalid ME_ENDPOINT: " + c.bad_endpoint
                                     : std::string("ME_CONNECTID or ME_CONNECTKEY missing")));
    return {};
  }
  if (c.connect_id->size() < ice::kMinConnectIdSize ||
      c.connect_id->size() > ice::kMaxConnectIdSize) {
    log(out, 1, sa.connection_name(), "relayed ME_CONNECT with a bad ME_CONNECTID size ignored");
    return {};
  }
  std::vector<ike::MeEndpoint> endpoints;
  for (const Bytes& e : c.endpoints)
    if (auto ep = ike::parse_me_endpoint(e, ike::FamilyNone::Forbidden)) endpoints.push_back(*ep);
  if (c.response) {
    // Initiator: the peer's answer, relayed. Check now.
    Mediated* m = by_connect_id(*c.connect_id);
    if (!m || m->role != ice::Role::Initiator ||
        (m->phase != Phase::AwaitingPeer && m->phase != Phase::Requested)) {
      log(out, 1, sa.connection_name(),
          "relayed ME_CONNECT response for unknown connect ID " + to_hex(*c.connect_id) +
              " ignored");
      return {};
    }
    start_checks(*m, *c.connect_key, endpoints, now, out);
    return {};
  }
  // Responder: the peer wants us.
  if (name.empty()) {
    log(out, 1, sa.connection_name(),
        "ME_CONNECT from '" + peer.to_string() +
            "' refused: no connection has it as mediation_peer via " + sa.connection_name());
    return {};
  }
  Mediated& m = mediated(name);
  if (m.phase == Phase::Established) {
    log(out, 1, name, "ME_CONNECT from '" + peer.to_string() + "' while established: accepting");
  }
  if (keep_ours(m, *c.connect_id)) {
    log(out, 1, name,
        "both sides sent ME_CONNECT: ours (connect ID " + to_hex(m.connect_id) +
            ", the lower) goes on, the peer's (" + to_hex(*c.connect_id) +
            ") stays unanswered; the peer answers ours");
    return {};
  }
  if (m.role == ice::Role::Initiator &&
      (m.phase == Phase::Requested || m.phase == Phase::AwaitingPeer))
    log(out, 1, name,
        "both sides sent ME_CONNECT: the peer's (connect ID " + to_hex(*c.connect_id) +
            ", the lower) goes on, ours (" + to_hex(m.connect_id) + ") is dropped; answering");
  if (!m.connect_id.empty()) sessions_.remove(m.connect_id);
  m.role = ice::Role::Responder;
  m.connect_id = *c.connect_id;
  m.key = rng_.bytes(kConnectKeySize);
  m.nomination.reset();
  m.started = now;
  m.to_checks.reset();
  m.to_nomination.reset();
  m.to_established.reset();
  m.retry_at.reset();
  ++m.attempts;
  pending_remote_[m.connect_id] = {*c.connect_key, endpoints};
  std::string conn_name = sa.connection_name();
  deferred_.push_back([this, name, conn_name, peer](Timestamp t, Actions& o) {
    auto it = mediated_.find(name);
    if (it == mediated_.end()) return;
    send_connect(it->second, registration(conn_name), true, peer, t, o);
  });
  return {};
}

// --- checks and the direct IKE SA

void MediationClient::start_checks(Mediated& m, const Bytes& remote_key,
                                   const std::vector<ike::MeEndpoint>& remote, Timestamp now,
                                   Actions& out) {
  ice::SessionParams params;
  params.name = m.connection;
  params.role = m.role;
  params.connect_id = m.connect_id;
  params.local_key = m.key;
  params.remote_key = remote_key;
  params.local = m.local;
  params.remote = remote;
  ice::AgentOutput ice_out;
  auto started = sessions_.start(std::move(params), now, ice_out);
  if (!started) {
    attempt_failed(m, "connectivity checks could not start: " + started.error(), now, out);
    return;
  }
  if (m.server_rtt) (*started)->set_rtt_hint(*m.server_rtt);
  m.phase = Phase::Checking;
  m.to_checks = now - m.started;
  take(ice_out, now, out);
}

void MediationClient::take(ice::AgentOutput& ice_out, Timestamp now, Actions& out) {
  for (auto& s : ice_out.sends) out.sends.push_back(std::move(s));
  for (auto& l : ice_out.logs) out.logs.push_back(std::move(l));
  if (ice_out.nomination) {
    ice::Nomination nom = std::move(*ice_out.nomination);
    Mediated* m = by_connect_id(nom.connect_id);
    if (!m) return;
    m->nomination = nom;
    m->to_nomination = now - m->started;
    m->phase = Phase::Connecting;
    if (!nom.by_peer) {
      std::string name = m->connection;
      deferred_.push_back([this, name, nom](Timestamp t, Actions& o) {
        auto it = mediated_.find(name);
        if (it == mediated_.end() || it->second.connect_id != nom.connect_id) return;
        Mediated& mm = it->second;
        const auto* c = config_of(name);
        std::string child = c && !c->children.empty() ? c->children.front().name : "";
        auto id =
            engine_.initiate_mediated(name, child, nom.local, nom.remote, nom.connect_id, t, o);
        if (!id) {
          attempt_failed(mm, "the direct IKE SA could not be started: " + id.error(), t, o);
          return;
        }
        mm.sa_id = *id;
      });
    }
  }
  if (ice_out.failure) {
    ice::Failure f = std::move(*ice_out.failure);
    Mediated* m = by_connect_id(f.connect_id);
    if (!m) return;
    m->last_failure = f;
    if (f.reason == ice::FailureReason::PeerReported) {
      attempt_failed(*m, "the peer reported that every pair failed", now, out);
      return;
    }
    // The peer may still be checking: tell it through the server (ignored by strongSwan's).
    signal_failure(*m);
    attempt_failed(*m, std::string("connectivity checks failed: ") + f.to_string(), now, out);
    refresh_by_registering(*m, out);
  }
}

bool MediationClient::accept_mediated_init(ByteView connect_id, const Endpoint& local,
                                           const Endpoint& remote, Timestamp now, Actions& out) {
  ice::AgentOutput ice_out;
  if (!sessions_.peer_nominated(connect_id, local, remote, now, ice_out)) {
    // A retransmitted IKE_SA_INIT (the agent is gone once nominated) is the engine's: it finds
    // the half-open SA before asking us. Anything else is not ours.
    return false;
  }
  take(ice_out, now, out);
  return true;
}

void MediationClient::attempt_failed(Mediated& m, const std::string& why, Timestamp now,
                                     Actions& out) {
  ++m.failures;
  m.last_problem = why;
  if (!m.connect_id.empty()) {
    sessions_.remove(m.connect_id);
    pending_remote_.erase(m.connect_id);
  }
  if (!m.wanted) {
    m.phase = Phase::Idle;
    log(out, 0, m.connection, why);
    return;
  }
  m.backoff = next_backoff(m.backoff, config_.retry_min, config_.retry_max);
  m.retry_at = now + m.backoff;
  m.phase = Phase::Backoff;
  log(out, 0, m.connection, why + "; trying again in " + seconds(m.backoff));
}

// --- status

MediatedStatus MediationClient::describe(const Mediated& m) const {
  MediatedStatus s;
  s.connection = m.connection;
  if (const auto* c = config_of(m.connection)) {
    s.mediated_by = c->mediated_by;
    if (c->mediation_peer) s.peer_pseudonym = c->mediation_peer->to_string();
    if (auto it = registrations_.find(c->mediated_by); it != registrations_.end())
      if (const ike::IkeSa* sa = registration_sa(it->second))
        s.own_pseudonym = sa->local_id().to_string();
  }
  s.initiating = m.role == ice::Role::Initiator;
  s.phase = phase_name(static_cast<int>(m.phase));
  s.connect_id = to_hex(m.connect_id);
  s.ike_sa_id = m.sa_id;
  s.nomination = m.nomination;
  s.last_failure = m.last_failure;
  s.last_problem = m.last_problem;
  s.attempts = m.attempts;
  s.failures = m.failures;
  s.rebinds = m.rebinds;
  s.retry_at = m.retry_at;
  s.started = m.started;
  s.to_checks = m.to_checks;
  s.to_nomination = m.to_nomination;
  s.to_established = m.to_established;
  return s;
}

std::vector<MediatedStatus> MediationClient::status() const {
  std::vector<MediatedStatus> out;
  for (const auto& [name, m] : mediated_) out.push_back(describe(m));
  return out;
}

std::optional<MediatedStatus> MediationClient::status(const std::string& connection) const {
  auto it = mediated_.find(connection);
  if (it == mediated_.end()) return std::nullopt;
  return describe(it->second);
}

std::string MediationClient::explain(const std::string& connection, Timestamp now) const {
  const auto* c = config_of(connection);
  if (!c) return "no connection named '" + connection + "'";
  if (c->mediation) {
    auto it = registrations_.find(connection);
    if (it == registrations_.end() || !it->second.wanted)
      return connection + " is a mediation connection that nothing has asked to register";
    const Registration& r = it->second;
    if (registration_sa(r)) return connection + " is registered at the mediation server";
    std::string s = connection + " is not registered";
    if (!r.last_problem.empty()) s += ": " + r.last_problem;
    if (r.retry_at) s += "; next attempt in " + seconds(*r.retry_at - now);
    return s;
  }
  if (c->mediated_by.empty()) return connection + " is not a mediated connection";
  auto it = mediated_.find(connection);
  std::string peer = c->mediation_peer ? c->mediation_peer->to_string() : "?";
  if (it == mediated_.end())
    return connection + " has not been initiated and no ME_CONNECT from '" + peer +
           "' has arrived (start_action: start or ikemectl initiate " + connection + ")";
  const Mediated& m = it->second;
  std::string s;
  switch (m.phase) {
    case Phase::Established:
      return connection + " is up: direct IKE SA #" + std::to_string(m.sa_id) + " with '" + peer +
             "'";
    case Phase::Registering: {
      s = connection + " waits for the registration at mediation connection " + c->mediated_by;
      auto r = registrations_.find(c->mediated_by);
      if (r != registrations_.end() && !r->second.last_problem.empty())
        s += " (" + r->second.last_problem + ")";
      break;
    }
    case Phase::Requested:
      s = connection + ": ME_CONNECT to '" + peer + "' sent, the mediation server has not answered";
      break;
    case Phase::AwaitingPeer:
      s = connection + ": the mediation server relayed ME_CONNECT to '" + peer +
          "', its answer has not arrived";
      break;
    case Phase::Checking:
      s = connection + ": connectivity checks with '" + peer + "' are running";
      break;
    case Phase::Connecting:
      s = connection + ": a pair was nominated, the direct IKE SA is being set up";
      break;
    case Phase::Idle:
    case Phase::Backoff:
      s = connection + " is down";
      if (!m.last_problem.empty()) s += ": " + m.last_problem;
      break;
  }
  if (m.retry_at) s += "\nnext attempt in " + seconds(*m.retry_at - now);
  if (m.last_failure && m.phase != Phase::Checking) {
    s += "\nlast connectivity checks (" + std::string(ice::name(m.last_failure->reason)) + "):";
    for (const ice::PairReport& p : m.last_failure->pairs) s += "\n  " + p.to_string();
  }
  s += "\nattempts " + std::to_string(m.attempts) + ", failures " + std::to_string(m.failures);
  return s;
}

}  // namespace ikeme::peer

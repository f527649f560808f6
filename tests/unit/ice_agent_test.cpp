// The ICE agent over a simulated network with NATs (tests/unit/ice_sim.*): the double NAT of the
// strongSwan capture, full-cone, address-dependent, symmetric and shared NATs, a NAT that rebinds,
// loss, forged checks, limits, pacing, retransmission and the failure report.

#include <catch2/catch.hpp>

#include <algorithm>

#include "ice/agent.hpp"
#include "ice/connect_auth.hpp"
#include "ice/sessions.hpp"
#include "ice_sim.hpp"

using namespace ikeme;
using namespace std::chrono_literals;
using icesim::Filtering;
using icesim::Mapping;
using icesim::NatConfig;
using ike::Duration;
using ike::Endpoint;
using ike::EndpointType;
using ike::Timestamp;

namespace {

Endpoint ep(const std::string& addr, uint16_t port) {
  return Endpoint{*IpAddress::parse(addr), port};
}

const Endpoint kServer = ep("192.0.2.100", 4500);
const Bytes kConnectId{0xf1, 0xdd, 0x03, 0xae};
const Bytes kKeyA(16, 0xA1), kKeyB(16, 0xB2);

struct Scenario {
  icesim::Network net;
  ice::AgentConfig config;
  Duration start_gap{3};  // B starts when the server acknowledges; A when the relay arrives
  // Extra endpoints to disclose besides the host address and the SRFLX one.
  std::vector<ike::MeEndpoint> extra_a, extra_b;
  Timestamp a_started{0}, b_started{0};
  // Runs between registration (the SRFLX endpoints are known) and the checks.
  std::function<void()> after_registration;

  static ice::GatherInput input(icesim::Network& net, const std::string& name,
                                std::optional<Endpoint> srflx) {
    ice::GatherInput in;
    in.hosts.push_back({net.host(name).address, "eth0"});
    in.port = 4500;
    in.server_reflexive = srflx;
    in.server_reflexive_base = Endpoint{net.host(name).address, 4500};
    return in;
  }

  // Registration (SRFLX), the ME_CONNECT exchange's outcome, then the checks.
  void start() {
    auto srflx_a = net.register_at("a", 4500, kServer);
    auto srflx_b = net.register_at("b", 4500, kServer);
    if (after_registration) after_registration();
    auto la = ice::gather_candidates(input(net, "a", srflx_a), {}, 8).candidates;
    auto lb = ice::gather_candidates(input(net, "b", srflx_b), {}, 8).candidates;
    auto ea = ice::to_me_endpoints(la), eb = ice::to_me_endpoints(lb);
    ea.insert(ea.end(), extra_a.begin(), extra_a.end());
    eb.insert(eb.end(), extra_b.begin(), extra_b.end());
    net.host("a").agent = std::make_unique<ice::IceAgent>(
        config, ice::SessionParams{"peer", ice::Role::Initiator, kConnectId, kKeyA, kKeyB, la, eb});
    net.host("b").agent = std::make_unique<ice::IceAgent>(
        config, ice::SessionParams{"peer", ice::Role::Responder, kConnectId, kKeyB, kKeyA, lb, ea});
    b_started = net.now();
    ice::AgentOutput out;
    net.host("b").agent->start(net.now(), out);
    net.apply(net.host("b"), out);
    net.run_until(net.now() + start_gap);
    a_started = net.now();
    net.host("a").agent->start(net.now(), out);
    net.apply(net.host("a"), out);
  }

  // Runs until both sides have an outcome; A's nomination makes A send a stand-in for its
  // IKE_SA_INIT over the nominated pair, and B reports the pair it arrived over.
  void run(Duration limit = 70s) {
    bool init_sent = false;
    Timestamp end = net.now() + limit;
    auto& a = net.host("a");
    auto& b = net.host("b");
    while (net.now() < end) {
      net.run_until(net.now() + 1ms);
      if (a.nomination && !init_sent) {
        init_sent = true;
        ike::SendDatagram d{a.nomination->local, a.nomination->remote, Bytes{0, 0, 0, 0, 0x99}};
        net.send("a", d);
      }
      if (!b.non_check.empty() && !b.nomination && !b.failure) {
        ice::AgentOutput out;
        b.agent->peer_nominated(b.non_check.front().first, b.non_check.front().second, net.now(),
                                out);
        net.apply(b, out);
      }
      bool a_done = a.nomination || a.failure;
      bool b_done = b.nomination || b.failure;
      if (a_done && b_done) break;
    }
  }
};

void double_nat(Scenario& s, NatConfig a, NatConfig b) {
  s.net.add_site("internet", std::nullopt);
  s.net.add_site("alice", a);
  s.net.add_site("bob", b);
  s.net.add_host("a", "alice", "10.1.0.10");
  s.net.add_host("b", "bob", "10.2.0.10");
}

NatConfig moon() {
  return NatConfig{"192.0.2.1", Mapping::EndpointIndependent, Filtering::AddressPortDependent, 1100,
                   1200};
}
NatConfig sun() {
  return NatConfig{"192.0.2.2", Mapping::EndpointIndependent, Filtering::AddressPortDependent, 1200,
                   1300};
}

}  // namespace

TEST_CASE("ice: double port-restricted NAT (the capture's topology) punches through fast",
          "[ice][sim]") {
  Scenario s;
  double_nat(s, moon(), sun());
  s.start();
  s.run();
  auto& a = s.net.host("a");
  auto& b = s.net.host("b");
  REQUIRE(a.nomination);
  REQUIRE(b.nomination);
  CHECK(a.nomination->local == ep("10.1.0.10", 4500));
  CHECK(a.nomination->remote.address == *IpAddress::parse("192.0.2.2"));
  CHECK(a.nomination->remote_type == EndpointType::SERVER_REFLEXIVE);
  CHECK(a.nomination->pair_id == 2);  // pair 1 is the unroutable host-host pair
  REQUIRE(a.nomination->mapped);
  CHECK(a.nomination->mapped->address == *IpAddress::parse("192.0.2.1"));
  CHECK(a.nomination->reason.find("unanswered") != std::string::npos);
  // The pair the IKE_SA_INIT arrived over, on B's side.
  CHECK(b.nomination->by_peer);
  CHECK(b.nomination->local == ep("10.2.0.10", 4500));
  CHECK(b.nomination->remote.address == *IpAddress::parse("192.0.2.1"));
  CHECK(b.nomination->remote_type == EndpointType::SERVER_REFLEXIVE);
  // strongSwan needs 1000 ms more than its first success; we nominate within a few pacing slots.
  Duration took = a.nomination->timings.finished - s.a_started;
  INFO("nominated after " << took.count() << " ms, " << s.net.public_datagrams << " datagrams");
  CHECK(took < 60ms);
  CHECK(s.net.public_datagrams <= 8);  // strongSwan's checks alone: 5 on the public segment
  // Both agents are closed (A after lingering), nothing left to do.
  s.net.run_until(s.net.now() + 3s);
  CHECK(a.agent->state() == ice::IceAgent::State::Closed);
  CHECK(b.agent->state() == ice::IceAgent::State::Closed);
  CHECK_FALSE(a.agent->next_timeout());
  CHECK_FALSE(b.agent->next_timeout());
  CHECK(a.agent->pairs().empty());
}

TEST_CASE("ice: both peers behind the same NAT without hairpinning use their host addresses",
          "[ice][sim]") {
  Scenario s;
  s.net.add_site("internet", std::nullopt);
  s.net.add_site("home", moon());
  s.net.add_host("a", "home", "10.1.0.10");
  s.net.add_host("b", "home", "10.1.0.20");
  s.start();
  s.run();
  auto& a = s.net.host("a");
  REQUIRE(a.nomination);
  CHECK(a.nomination->remote == ep("10.1.0.20", 4500));
  CHECK(a.nomination->remote_type == EndpointType::HOST);
  CHECK(a.nomination->pair_id == 1);
  CHECK(a.nomination->reason == "the best possible pair succeeded");
  CHECK(a.nomination->timings.finished - s.a_started < 10ms);
  REQUIRE(s.net.host("b").nomination);
  CHECK(s.net.host("b").nomination->remote == ep("10.1.0.10", 4500));
  CHECK(s.net.public_datagrams == 0);  // never left the site
}

TEST_CASE("ice: full-cone NAT on one side, symmetric NAT on the other: peer-reflexive wins",
          "[ice][sim]") {
  Scenario s;
  NatConfig sym = moon();
  sym.mapping = Mapping::Symmetric;
  NatConfig cone = sun();
  cone.filtering = Filtering::EndpointIndependent;
  double_nat(s, sym, cone);
  s.start();
  s.run();
  auto& a = s.net.host("a");
  auto& b = s.net.host("b");
  REQUIRE(a.nomination);
  // A reaches B's SRFLX (full cone lets the first check in); A's mapping towards B is a new port,
  // which A learns from B's response.
  CHECK(a.nomination->remote.address == *IpAddress::parse("192.0.2.2"));
  REQUIRE(a.nomination->mapped);
  REQUIRE(b.nomination);
  CHECK(b.nomination->remote == *a.nomination->mapped);
  CHECK(b.nomination->remote_type == EndpointType::PEER_REFLEXIVE);
  CHECK(b.logged("learned peer-reflexive remote endpoint"));
}

TEST_CASE("ice: address-dependent filtering on both sides punches through", "[ice][sim]") {
  Scenario s;
  NatConfig x = moon(), y = sun();
  x.filtering = y.filtering = Filtering::AddressDependent;
  double_nat(s, x, y);
  s.start();
  s.run();
  REQUIRE(s.net.host("a").nomination);
  REQUIRE(s.net.host("b").nomination);
  CHECK(s.net.host("a").nomination->remote_type == EndpointType::SERVER_REFLEXIVE);
}

TEST_CASE("ice: symmetric NATs on both sides fail with a report of every pair", "[ice][sim]") {
  Scenario s;
  NatConfig x = moon(), y = sun();
  x.mapping = y.mapping = Mapping::Symmetric;
  double_nat(s, x, y);
  s.config.transaction_timeout = 5s;
  s.start();
  s.run(10s);
  auto& a = s.net.host("a");
  auto& b = s.net.host("b");
  REQUIRE(a.failure);
  REQUIRE(b.failure);
  CHECK_FALSE(a.nomination);
  CHECK(a.failure->reason == ice::FailureReason::Timeout);
  CHECK(a.failure->timings.finished - a.failure->timings.started == 5s);
  REQUIRE(a.failure->pairs.size() == 2);
  for (const auto& p : a.failure->pairs) {
    INFO(p.to_string());
    CHECK(p.state == ice::PairState::InProgress);
    CHECK(p.requests >= 8);
    CHECK(p.responses == 0);
    CHECK(p.note.find("no response yet") != std::string::npos);
  }
  CHECK(a.logged("connectivity checks failed: timeout"));
  // Everything is forgotten.
  CHECK(a.agent->state() == ice::IceAgent::State::Closed);
  CHECK(a.agent->pairs().empty());
  CHECK(a.agent->remote_candidates().empty());
  CHECK_FALSE(a.agent->next_timeout());
  CHECK_FALSE(b.agent->next_timeout());
}

TEST_CASE("ice: every pair failing ends the attempt at strongSwan's retransmission limit",
          "[ice][sim]") {
  Scenario s;
  NatConfig x = moon(), y = sun();
  x.mapping = y.mapping = Mapping::Symmetric;
  double_nat(s, x, y);
  s.config.transaction_timeout = 120s;
  s.start();
  s.run(120s);
  auto& a = s.net.host("a");
  REQUIRE(a.failure);
  CHECK(a.failure->reason == ice::FailureReason::AllPairsFailed);
  for (const auto& p : a.failure->pairs) {
    CHECK(p.state == ice::PairState::Failed);
    CHECK(p.requests == 14);  // the first check and 13 retransmissions
  }
  // 25 + 25 + 25*(1.8 + 1.8^2 + ... + 1.8^12) truncated per step: about 65 s after pair 2's start.
  Duration took = a.failure->timings.finished - a.failure->timings.started;
  CHECK(took > 64s);
  CHECK(took < 67s);
}

TEST_CASE("ice: a NAT that rebinds after registration: a full cone peer learns the new mapping",
          "[ice][sim]") {
  Scenario s;
  NatConfig cone = sun();
  cone.filtering = Filtering::EndpointIndependent;
  double_nat(s, moon(), cone);
  std::optional<Endpoint> stale;
  s.after_registration = [&] { s.net.nat("alice").rebind(); };  // alice's SRFLX is now stale
  s.start();
  for (const auto& c : s.net.host("a").agent->local_candidates())
    if (c.type == EndpointType::SERVER_REFLEXIVE) stale = c.address;
  REQUIRE(stale);
  s.run();
  auto& a = s.net.host("a");
  auto& b = s.net.host("b");
  REQUIRE(a.nomination);
  REQUIRE(b.nomination);
  // bob reached alice at her new mapping, learned from her check (peer-reflexive).
  CHECK(b.nomination->remote != *stale);
  CHECK(b.nomination->remote.address == stale->address);
  CHECK(b.nomination->remote_type == EndpointType::PEER_REFLEXIVE);
  CHECK(a.nomination->mapped == b.nomination->remote);
}

TEST_CASE("ice: a rebinding behind two port-restricted NATs fails: the SRFLX must be refreshed",
          "[ice][sim]") {
  // bob only ever sends to alice's stale mapping, so bob's NAT never lets alice's new one in.
  // (The peer agent must re-learn the SRFLX endpoint when the mapping changes; strongSwan never
  // does.)
  Scenario s;
  double_nat(s, moon(), sun());
  s.config.transaction_timeout = 3s;
  s.after_registration = [&] { s.net.nat("alice").rebind(); };
  s.start();
  s.run(5s);
  REQUIRE(s.net.host("a").failure);
  CHECK(s.net.host("a").failure->reason == ice::FailureReason::Timeout);
  REQUIRE(s.net.host("b").failure);
}

TEST_CASE("ice: lost checks are retransmitted on strongSwan's schedule", "[ice][sim]") {
  Scenario s;
  double_nat(s, moon(), sun());
  std::vector<Timestamp> a_sent;
  int to_drop = 3;
  s.net.drop = [&](const Endpoint& from, const Endpoint&, ByteView) {
    if (from.address != *IpAddress::parse("192.0.2.1")) return false;
    a_sent.push_back(s.net.now());
    return to_drop-- > 0;  // alice's first three datagrams to bob vanish
  };
  s.start();
  s.run();
  REQUIRE(s.net.host("a").nomination);
  REQUIRE(s.net.host("b").nomination);
  CHECK(s.net.host("a").agent->counters().retransmissions >= 1);
}

TEST_CASE("ice: pacing is one new check per interval, retransmissions follow 25/25/x1.8",
          "[ice][sim]") {
  // One side only, nobody answers: the schedule is the agent's alone.
  ice::AgentConfig cfg;
  cfg.transaction_timeout = 120s;  // longer than the ~65 s of retransmissions
  std::vector<ice::Candidate> local{
      {EndpointType::HOST, ep("10.1.0.10", 4500), ep("10.1.0.10", 4500), ike::kPriorityHost}};
  std::vector<ike::MeEndpoint> remote;
  for (int i = 1; i <= 3; ++i)
    remote.push_back(ike::MeEndpoint{ike::kPriorityHost, EndpointType::HOST, 4500,
                                     IpAddress::parse("198.51.100." + std::to_string(i))});
  ice::IceAgent agent(cfg, {"peer", ice::Role::Initiator, kConnectId, kKeyA, kKeyB, local, remote});
  std::map<std::string, std::vector<int64_t>> sent;  // destination -> send times
  ice::AgentOutput out;
  Timestamp now{1000};
  agent.start(now, out);
  for (int steps = 0; steps < 100000 && agent.next_timeout(); ++steps) {
    for (const auto& d : out.sends)
      sent[d.to.to_string()].push_back((now - Timestamp{1000}).count());
    out = {};
    now = *agent.next_timeout();
    agent.handle_timeout(now, out);
  }
  for (const auto& d : out.sends) sent[d.to.to_string()].push_back((now - Timestamp{1000}).count());
  REQUIRE(sent.size() == 3);
  CHECK(sent["198.51.100.1[4500]"].front() == 0);
  CHECK(sent["198.51.100.2[4500]"].front() == 25);
  CHECK(sent["198.51.100.3[4500]"].front() == 50);
  const auto& t = sent["198.51.100.1[4500]"];
  REQUIRE(t.size() == 14);
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < t.size(); ++i) gaps.push_back(t[i] - t[i - 1]);
  // strongSwan: (u_int32_t)(25 * pow(1.8, n - 2)) for retransmission n > 2.
  std::vector<int64_t> expected{25, 25, 45, 81, 145, 262, 472, 850, 1530, 2754, 4958, 8926, 16067};
  CHECK(gaps == expected);
  CHECK(agent.state() == ice::IceAgent::State::Closed);
}

namespace {

// One agent on its own, fed by hand.
struct Solo {
  ice::AgentConfig cfg;
  std::unique_ptr<ice::IceAgent> agent;
  ice::AgentOutput out;
  Endpoint base = ep("10.1.0.10", 4500);

  void start(ice::Role role, std::vector<ike::MeEndpoint> remote, Timestamp now = Timestamp{0}) {
    std::vector<ice::Candidate> local{{EndpointType::HOST, base, base, ike::kPriorityHost}};
    agent = std::make_unique<ice::IceAgent>(
        cfg, ice::SessionParams{"peer", role, kConnectId, kKeyA, kKeyB, local, std::move(remote)});
    agent->start(now, out);
  }
  // A request as the peer (key B) would send it.
  static Bytes peer_request(uint32_t mid, const Bytes& key = kKeyB) {
    return ice::frame_check(
        ice::build_check(false, mid, kConnectId,
                         ike::MeEndpoint{ike::kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE,
                                         0, std::nullopt},
                         key),
        4500);
  }
  static Bytes peer_response(uint32_t mid, const Endpoint& mapped) {
    return ice::frame_check(
        ice::build_check(true, mid, kConnectId,
                         ike::MeEndpoint{ike::kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE,
                                         mapped.port, mapped.address},
                         kKeyB),
        4500);
  }
  bool logged(const std::string& f) const {
    for (const auto& l : out.logs)
      if (l.text.find(f) != std::string::npos) return true;
    return false;
  }
};

ike::MeEndpoint remote_host(const std::string& addr, uint16_t port = 4500,
                            uint32_t prio = ike::kPriorityHost,
                            EndpointType type = EndpointType::HOST) {
  return ike::MeEndpoint{prio, type, port, IpAddress::parse(addr)};
}

}  // namespace

TEST_CASE("ice: forged checks are dropped, and hashing them is rate limited", "[ice]") {
  Solo s;
  s.cfg.unverified_checks_per_second = 10;
  s.cfg.unverified_checks_burst = 5;
  s.start(ice::Role::Responder, {remote_host("198.51.100.2")});
  s.out = {};
  Bytes forged = Solo::peer_request(1, Bytes(16, 0x00));  // wrong key
  for (int i = 0; i < 100; ++i)
    CHECK(s.agent->handle_datagram(s.base, ep("203.0.113.66", 999), forged, Timestamp{1}, s.out));
  CHECK(s.out.sends.empty());
  CHECK(s.agent->counters().auth_failures == 5);  // the burst
  CHECK(s.agent->counters().rate_limited == 95);
  CHECK(s.agent->remote_candidates().size() == 1);  // nothing learned from forgeries
  CHECK(s.out.logs.size() <= 6);                    // noise is logged only a few times
  // A second later the bucket has refilled: a genuine check is verified and answered.
  s.out = {};
  CHECK(s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), Solo::peer_request(1),
                                 Timestamp{1001}, s.out));
  REQUIRE_FALSE(s.out.sends.empty());
  auto resp = ice::parse_check(*ice::unframe_check(s.out.sends[0].data, 4500));
  REQUIRE(resp.ok());
  CHECK(resp->response);
  CHECK(resp->message_id == 1);
  CHECK(s.out.sends[0].from == s.base);
  CHECK(s.out.sends[0].to == ep("198.51.100.2", 4500));
  // Signed with our key, covering the mapped address of the requester.
  CHECK(ice::connect_auth_matches(
      resp->auth, ice::compute_connect_auth(1, kConnectId, resp->endpoint_data, kKeyA)));
  CHECK(resp->endpoint.address == IpAddress::parse("198.51.100.2"));
}

TEST_CASE("ice: checks for another connect ID or of another kind are not ours", "[ice]") {
  Solo s;
  s.start(ice::Role::Responder, {remote_host("198.51.100.2")});
  Bytes other = ice::frame_check(
      ice::build_check(false, 1, Bytes{9, 9, 9, 9},
                       ike::MeEndpoint{ike::kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, 0,
                                       std::nullopt},
                       kKeyB),
      4500);
  CHECK_FALSE(
      s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), other, Timestamp{1}, s.out));
  CHECK_FALSE(
      s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), Bytes{0xff}, Timestamp{1}, s.out));
  CHECK_FALSE(s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), Bytes(40, 0), Timestamp{1},
                                       s.out));
  // Without its non-ESP marker on the NAT-T port it is not parsed as a check.
  Bytes unmarked = ice::build_check(
      false, 1, kConnectId,
      ike::MeEndpoint{ike::kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, 0, std::nullopt},
      kKeyB);
  CHECK_FALSE(
      s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), unmarked, Timestamp{1}, s.out));
  CHECK(s.agent->counters().checks_received == 0);
}

TEST_CASE("ice: a request from an unknown source adds a peer-reflexive pair and a triggered check",
          "[ice]") {
  Solo s;
  s.start(ice::Role::Responder, {remote_host("198.51.100.2")});
  REQUIRE(s.out.sends.size() == 1);  // the first ordinary check, at once
  s.out = {};
  Endpoint mapped = ep("203.0.113.5", 40001);
  s.agent->handle_datagram(s.base, mapped, Solo::peer_request(7), Timestamp{30}, s.out);
  // The response, then the triggered check (the pacing slot from t=0 is free at t=30).
  REQUIRE(s.out.sends.size() == 2);
  CHECK(s.out.sends[0].to == mapped);
  CHECK(s.out.sends[1].to == mapped);
  auto trig = ice::parse_check(*ice::unframe_check(s.out.sends[1].data, 4500));
  REQUIRE(trig.ok());
  CHECK_FALSE(trig->response);
  CHECK(trig->message_id == 2);  // a new pair number
  REQUIRE(s.agent->pairs().size() == 2);
  const auto& learned = s.agent->remote_candidates().back();
  CHECK(learned.type == EndpointType::PEER_REFLEXIVE);
  CHECK(learned.address == mapped);
  CHECK(learned.priority == ike::kPriorityPeerReflexive);  // the request's endpoint priority
  // Its response makes the pair valid; for a responder that is no nomination yet.
  s.out = {};
  s.agent->handle_datagram(s.base, mapped, Solo::peer_response(2, ep("192.0.2.1", 1137)),
                           Timestamp{35}, s.out);
  CHECK_FALSE(s.out.nomination);
  bool valid = false;
  for (const auto& p : s.agent->pairs())
    if (p.id == 2) valid = p.state == ice::PairState::Succeeded && p.rtt == 5ms;
  CHECK(valid);
  // The initiator's IKE_SA_INIT then arrives over that pair.
  s.agent->peer_nominated(s.base, mapped, Timestamp{60}, s.out);
  REQUIRE(s.out.nomination);
  CHECK(s.out.nomination->by_peer);
  CHECK(s.out.nomination->remote_type == EndpointType::PEER_REFLEXIVE);
  CHECK(s.out.nomination->pair_id == 2);
  CHECK(s.agent->state() == ice::IceAgent::State::Closed);
}

TEST_CASE("ice: a request on an in-progress pair re-checks it at once", "[ice]") {
  Solo s;
  Endpoint peer = ep("198.51.100.2", 4500);
  s.start(ice::Role::Initiator, {remote_host("198.51.100.2")});
  REQUIRE(s.out.sends.size() == 1);
  s.out = {};
  s.agent->handle_datagram(s.base, peer, Solo::peer_request(1), Timestamp{26}, s.out);
  REQUIRE(s.out.sends.size() == 2);  // response + the re-check
  CHECK(s.agent->pairs()[0].requests == 2);
  CHECK(s.agent->pairs()[0].retransmits == 0);
  // A response from elsewhere proves nothing about the pair.
  s.out = {};
  s.agent->handle_datagram(s.base, ep("198.51.100.3", 4500), Solo::peer_response(1, s.base),
                           Timestamp{27}, s.out);
  CHECK(s.agent->pairs()[0].state == ice::PairState::InProgress);
  CHECK(s.logged("not symmetric"));
  s.agent->handle_datagram(s.base, peer, Solo::peer_response(1, s.base), Timestamp{28}, s.out);
  REQUIRE(s.out.nomination);
  CHECK(s.out.nomination->reason == "the best possible pair succeeded");
  CHECK(s.out.nomination->rtt == 2ms);
  // While lingering the initiator still answers, but checks nothing new.
  s.out = {};
  s.agent->handle_datagram(s.base, peer, Solo::peer_request(1), Timestamp{40}, s.out);
  CHECK(s.out.sends.size() == 1);
  CHECK(s.agent->state() == ice::IceAgent::State::Nominated);
  CHECK(s.agent->next_timeout() == Timestamp{28 + 2000});
  s.agent->handle_timeout(Timestamp{2028}, s.out);
  CHECK(s.agent->state() == ice::IceAgent::State::Closed);
}

TEST_CASE("ice: nomination waits for a better pair only while an answer is plausible", "[ice]") {
  // Pair 1 (HOST) goes unanswered, pair 2 (SRFLX) is answered with an RTT of 4 ms.
  auto run = [](ice::AgentConfig cfg, Timestamp answer_at, Duration rtt) {
    Solo s;
    s.cfg = cfg;
    s.start(ice::Role::Initiator, {remote_host("198.51.100.2"),
                                   remote_host("203.0.113.2", 1268, ike::kPriorityServerReflexive,
                                               EndpointType::SERVER_REFLEXIVE)});
    Timestamp now{0};
    Endpoint srflx = ep("203.0.113.2", 1268);
    bool answered = false;
    while (!s.out.nomination && now < Timestamp{5000}) {
      auto next = *s.agent->next_timeout();
      if (!answered && answer_at <= next) {
        now = answer_at;
        answered = true;
        s.agent->handle_datagram(s.base, srflx, Solo::peer_response(2, ep("192.0.2.1", 1137)), now,
                                 s.out);
        continue;
      }
      now = next;
      s.agent->handle_timeout(now, s.out);
    }
    (void)rtt;
    REQUIRE(s.out.nomination);
    return *s.out.nomination;
  };
  ice::AgentConfig cfg;
  // Pair 2 is first sent at 25 ms; its answer at 29 ms (rtt 4): pair 1 has been out for 29 ms,
  // more than max(15, 3*4) ms: nominate at once.
  auto n = run(cfg, Timestamp{29}, 4ms);
  CHECK(n.pair_id == 2);
  CHECK(n.timings.finished == Timestamp{29});
  CHECK(n.reason.find("unanswered") != std::string::npos);
  // With a patience of 20 RTTs (80 ms after pair 1's first check), the decision waits until then.
  cfg.nomination_rtt_factor = 20;
  n = run(cfg, Timestamp{29}, 4ms);
  CHECK(n.timings.finished == Timestamp{80});
  // ... but never longer than nomination_wait_max after the first success.
  cfg.nomination_rtt_factor = 1000;
  cfg.nomination_wait_max = 100ms;
  n = run(cfg, Timestamp{29}, 4ms);
  CHECK(n.timings.finished == Timestamp{129});
  CHECK(n.reason == "waited 100 ms for better pairs");
}

TEST_CASE("ice: a better pair answered within the patience is the one nominated", "[ice]") {
  // Pair 2 (SRFLX, first sent at 25 ms) is answered at 27 ms; pair 1 (HOST, sent at 0) is slower
  // and answers at 35 ms, within a patience of 50 ms: pair 1 is nominated when it succeeds.
  Solo s;
  s.cfg.nomination_patience_min = 50ms;
  s.start(ice::Role::Initiator, {remote_host("198.51.100.2"),
                                 remote_host("203.0.113.2", 1268, ike::kPriorityServerReflexive,
                                             EndpointType::SERVER_REFLEXIVE)});
  s.agent->handle_timeout(Timestamp{25}, s.out);
  s.agent->handle_datagram(s.base, ep("203.0.113.2", 1268),
                           Solo::peer_response(2, ep("192.0.2.1", 1137)), Timestamp{27}, s.out);
  CHECK_FALSE(s.out.nomination);
  CHECK(s.agent->next_timeout() == Timestamp{50});  // the retransmission of pair 1 comes first
  s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500),
                           Solo::peer_response(1, ep("10.1.0.10", 4500)), Timestamp{35}, s.out);
  REQUIRE(s.out.nomination);
  CHECK(s.out.nomination->pair_id == 1);
  CHECK(s.out.nomination->remote_type == EndpointType::HOST);
  CHECK(s.out.nomination->reason == "the best possible pair succeeded");
  CHECK(s.out.nomination->timings.first_success == Timestamp{27});
}

TEST_CASE("ice: limits on remote endpoints and pairs hold against a chatty peer", "[ice]") {
  Solo s;
  s.cfg.max_remote_candidates = 4;
  s.cfg.max_pairs = 6;
  s.cfg.unverified_checks_burst = 1000;
  std::vector<ike::MeEndpoint> many;
  for (int i = 1; i <= 10; ++i) many.push_back(remote_host("198.51.100." + std::to_string(i)));
  s.start(ice::Role::Responder, many);
  CHECK(s.agent->remote_candidates().size() == 4);
  CHECK(s.agent->pairs().size() == 4);
  for (int i = 1; i <= 50; ++i)
    s.agent->handle_datagram(s.base, ep("203.0.113.1", static_cast<uint16_t>(2000 + i)),
                             Solo::peer_request(static_cast<uint32_t>(i)), Timestamp{i}, s.out);
  CHECK(s.agent->remote_candidates().size() == 4);
  CHECK(s.agent->pairs().size() <= 6);
  CHECK(s.logged("over the limit of 4 remote endpoints"));
}

TEST_CASE("ice: no usable pair fails at once; stop() forgets everything", "[ice]") {
  Solo s;
  s.start(ice::Role::Initiator, {remote_host("2001:db8::2"), remote_host("127.0.0.1")});
  REQUIRE(s.out.failure);
  CHECK(s.out.failure->reason == ice::FailureReason::NoPairs);
  CHECK(s.out.failure->pairs.empty());
  CHECK(s.logged("address is loopback"));
  CHECK(s.agent->state() == ice::IceAgent::State::Closed);

  Solo t;
  t.start(ice::Role::Initiator, {remote_host("198.51.100.2")});
  CHECK(t.agent->next_timeout());
  t.agent->stop(Timestamp{5}, t.out);
  CHECK_FALSE(t.agent->next_timeout());
  CHECK(t.agent->pairs().empty());
  // Nothing more happens, whatever arrives.
  t.out = {};
  t.agent->handle_datagram(t.base, ep("198.51.100.2", 4500), Solo::peer_request(1), Timestamp{6},
                           t.out);
  CHECK(t.out.sends.empty());
}

TEST_CASE("ice: a responder that never sees IKE_SA_INIT times out with the valid pair noted",
          "[ice]") {
  Solo s;
  s.cfg.transaction_timeout = 2s;
  s.start(ice::Role::Responder, {remote_host("198.51.100.2")});
  s.agent->handle_datagram(s.base, ep("198.51.100.2", 4500), Solo::peer_response(1, s.base),
                           Timestamp{3}, s.out);
  while (auto t = s.agent->next_timeout()) s.agent->handle_timeout(*t, s.out);
  REQUIRE(s.out.failure);
  CHECK(s.out.failure->reason == ice::FailureReason::Timeout);
  CHECK(s.out.failure->detail == "no IKE_SA_INIT from the initiator within 2000 ms");
  REQUIRE(s.out.failure->pairs.size() == 1);
  CHECK(s.out.failure->pairs[0].state == ice::PairState::Succeeded);
  CHECK(s.out.failure->pairs[0].note == "valid, but the initiator never sent IKE_SA_INIT");
}

TEST_CASE("ice: sessions route checks by connect ID and reap closed agents", "[ice]") {
  ice::IceSessions sessions(ice::AgentConfig{}, 2);
  Endpoint base = ep("10.1.0.10", 4500), peer = ep("198.51.100.2", 4500);
  std::vector<ice::Candidate> local{{EndpointType::HOST, base, base, ike::kPriorityHost}};
  ice::AgentOutput out;
  auto params = [&](Bytes id, ice::Role role) {
    return ice::SessionParams{
        "peer", role, std::move(id), kKeyA, kKeyB, local, {remote_host("198.51.100.2")}};
  };
  REQUIRE(sessions.start(params(kConnectId, ice::Role::Initiator), Timestamp{0}, out).ok());
  REQUIRE(sessions.start(params(Bytes{1, 2, 3, 4}, ice::Role::Responder), Timestamp{0}, out).ok());
  CHECK(
      sessions.start(params(Bytes{1, 2, 3, 4}, ice::Role::Responder), Timestamp{0}, out).error() ==
      "connect ID already in use");
  CHECK(
      sessions.start(params(Bytes{5, 6, 7, 8}, ice::Role::Responder), Timestamp{0}, out).error() ==
      "more than 2 concurrent attempts");
  CHECK(sessions.start(params(Bytes{5, 6, 7}, ice::Role::Responder), Timestamp{0}, out).error() ==
        "connect ID of 3 bytes");
  out = {};
  // A check for an unknown attempt is dropped before hashing.
  Bytes stray = ice::frame_check(
      ice::build_check(true, 1, Bytes{9, 9, 9, 9},
                       ike::MeEndpoint{ike::kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE,
                                       4500, base.address},
                       kKeyB),
      4500);
  CHECK_FALSE(sessions.handle_datagram(base, peer, stray, Timestamp{1}, out));
  CHECK(sessions.unknown_connect_id() == 1);
  // The response to the initiator's pair 1 nominates it.
  CHECK(sessions.handle_datagram(base, peer, Solo::peer_response(1, base), Timestamp{2}, out));
  REQUIRE(out.nomination);
  CHECK(out.nomination->connect_id == kConnectId);
  CHECK(sessions.find(kConnectId)->state() == ice::IceAgent::State::Nominated);
  // Both agents end (linger, transaction timeout) and are reaped.
  int failures = 0;
  for (int i = 0; i < 10000 && sessions.next_timeout(); ++i) {
    out = {};
    sessions.handle_timeout(*sessions.next_timeout(), out);
    failures += out.failure.has_value();
  }
  CHECK(failures == 1);  // the responder's timeout
  CHECK(sessions.size() == 0);
}

TEST_CASE("ice: sessions hand the initiator's IKE_SA_INIT to the responder's attempt", "[ice]") {
  ice::IceSessions sessions(ice::AgentConfig{});
  Endpoint base = ep("10.2.0.10", 4500), peer = ep("192.0.2.1", 1137);
  std::vector<ice::Candidate> local{{EndpointType::HOST, base, base, ike::kPriorityHost}};
  ice::AgentOutput out;
  REQUIRE(sessions
              .start({"peer",
                      ice::Role::Responder,
                      kConnectId,
                      kKeyB,
                      kKeyA,
                      local,
                      {remote_host("192.0.2.1", 1137, ike::kPriorityServerReflexive,
                                   EndpointType::SERVER_REFLEXIVE)}},
                     Timestamp{0}, out)
              .ok());
  out = {};
  CHECK_FALSE(sessions.peer_nominated(Bytes{9, 9, 9, 9}, base, peer, Timestamp{40}, out));
  CHECK(sessions.peer_nominated(kConnectId, base, peer, Timestamp{40}, out));
  REQUIRE(out.nomination);
  CHECK(out.nomination->by_peer);
  CHECK(out.nomination->connect_id == kConnectId);
  CHECK(out.nomination->remote_type == EndpointType::SERVER_REFLEXIVE);
  CHECK(sessions.size() == 0);
}

TEST_CASE("ice: IPv6 pairs form and check like IPv4 ones, never across families", "[ice]") {
  Solo s;
  s.base = ep("2001:db8:1::10", 4500);
  std::vector<ice::Candidate> local{
      {EndpointType::HOST, s.base, s.base, ike::kPriorityHost},
      {EndpointType::HOST, ep("10.1.0.10", 4500), ep("10.1.0.10", 4500), ike::kPriorityHost}};
  s.agent =
      std::make_unique<ice::IceAgent>(s.cfg, ice::SessionParams{"peer",
                                                                ice::Role::Initiator,
                                                                kConnectId,
                                                                kKeyA,
                                                                kKeyB,
                                                                local,
                                                                {remote_host("2001:db8:2::20")}});
  s.agent->start(Timestamp{0}, s.out);
  REQUIRE(s.agent->pairs().size() == 1);  // the IPv4 host has no IPv6 partner
  REQUIRE(s.out.sends.size() == 1);
  CHECK(s.out.sends[0].from == s.base);
  Endpoint peer = ep("2001:db8:2::20", 4500);
  s.agent->handle_datagram(s.base, peer, Solo::peer_response(1, s.base), Timestamp{3}, s.out);
  REQUIRE(s.out.nomination);
  CHECK(s.out.nomination->remote == peer);
  CHECK(s.out.nomination->mapped == s.base);
}

TEST_CASE("ice: the peer's report that every pair failed ends the agent with our pairs", "[ice]") {
  Solo s;
  s.start(ice::Role::Responder, {remote_host("198.51.100.2"), remote_host("198.51.100.3")});
  s.agent->handle_timeout(Timestamp{30}, s.out);
  REQUIRE_FALSE(s.out.failure);
  s.agent->peer_failed(Timestamp{40}, s.out);
  REQUIRE(s.out.failure);
  CHECK(s.out.failure->reason == ice::FailureReason::PeerReported);
  CHECK(s.out.failure->pairs.size() == 2);  // what our side had tried, for explain
  CHECK(s.out.failure->timings.finished == Timestamp{40});
  CHECK(s.out.failure->to_string().find("the peer reported that every pair failed after") == 0);
  CHECK(s.agent->state() == ice::IceAgent::State::Closed);
  CHECK_FALSE(s.agent->next_timeout());
  // Once closed, another report changes nothing.
  s.out = {};
  s.agent->peer_failed(Timestamp{50}, s.out);
  CHECK_FALSE(s.out.failure);
}

TEST_CASE("ice: IceSessions::peer_failed finds the attempt by connect ID and removes it", "[ice]") {
  ice::IceSessions sessions{ice::AgentConfig{}};
  ice::AgentOutput out;
  ice::SessionParams p;
  p.name = "peer";
  p.role = ice::Role::Initiator;
  p.connect_id = {1, 2, 3, 4};
  p.local_key = Bytes(16, 1);
  p.remote_key = Bytes(16, 2);
  p.local = {
      {EndpointType::HOST, ep("10.1.0.10", 4500), ep("10.1.0.10", 4500), ike::kPriorityHost}};
  p.remote = {remote_host("198.51.100.2")};
  REQUIRE(sessions.start(p, Timestamp{0}, out).ok());
  CHECK_FALSE(sessions.peer_failed(Bytes{9, 9, 9, 9}, Timestamp{1}, out));
  CHECK(sessions.size() == 1);
  CHECK(sessions.peer_failed(Bytes{1, 2, 3, 4}, Timestamp{2}, out));
  REQUIRE(out.failure);
  CHECK(out.failure->reason == ice::FailureReason::PeerReported);
  CHECK(out.failure->connect_id == Bytes{1, 2, 3, 4});
  CHECK(sessions.size() == 0);
}

// The peer side of IKE-ME over the simulated network: an ikeme mediation server and two ikeme
// peers (IkeEngine + MediationClient with its ICE agents), each peer behind its own NAT, private
// addresses unreachable from the other site. Registration, ME_CONNECT relay, connectivity checks,
// nomination and the direct IKE SA with its CHILD_SA; the offline peer (ME_CONNECT_FAILED, then
// ME_CALLBACK); re-registration after the server went away.

#include <catch2/catch.hpp>

#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"
#include "mediator/core/mediation_server.hpp"
#include "peer/mediation_client.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using mediator::Directory;
using mediator::DirectoryEntry;
using mediator::MediationServer;
using peer::MediationClient;

namespace {

const std::string kServerId = "carol@strongswan.org";
const std::string kAlice = "6cu1UTVw@medsrv.org";
const std::string kBob = "av9oEPMz@medsrv.org";

DirectoryEntry entry(const std::string& pseudonym, const std::string& secret,
                     std::vector<std::string> may_connect) {
  DirectoryEntry e;
  e.identity = *Identity::parse(pseudonym);
  e.pseudonym = e.identity.to_string();
  e.psk = Bytes(secret.begin(), secret.end());
  e.may_connect = std::move(may_connect);
  return e;
}

EngineConfig server_config() {
  ConnectionConfig c;
  c.name = "medsrv";
  c.mediation = true;
  c.proposals = {*parse_proposal("aes128-sha256-x25519", ProtocolId::IKE)};
  c.local.id = *Identity::parse(kServerId);
  EngineConfig e;
  e.connections = {c};
  return e;
}

// A peer: its mediation connection "medsrv" and the mediated connection "peer".
EngineConfig peer_config(const std::string& pseudonym, const std::string& secret,
                         const std::string& me, const std::string& other,
                         const std::string& other_pseudonym, const std::string& local_net,
                         const std::string& remote_net) {
  auto med = sim::psk_connection("medsrv", pseudonym, kServerId, "192.0.2.100",
                                 "aes128-sha256-x25519", "aes128gcm16");
  med.children.clear();
  med.mediation = true;
  auto p = sim::psk_connection("peer", me, other, "", "aes256-sha256-x25519", "aes256gcm16");
  p.mediated_by = "medsrv";
  p.mediation_peer = *Identity::parse(other_pseudonym);
  // The sites' networks: the IKE SA's own addresses are NATed, so they cannot be the selectors.
  p.children.front().local_ts = {**parse_traffic_selector(local_net)};
  p.children.front().remote_ts = {**parse_traffic_selector(remote_net)};
  EngineConfig e = sim::engine_config({med, p}, secret, {pseudonym});
  SharedSecret direct;
  direct.ids = {*Identity::parse("alice@strongswan.org"), *Identity::parse("bob@strongswan.org")};
  direct.secret = Bytes{'d', 'i', 'r', 'e', 'c', 't'};
  e.ike_secrets.push_back(direct);
  return e;
}

struct Peer {
  std::unique_ptr<crypto::DeterministicRng> rng;
  std::unique_ptr<IkeEngine> engine;
  std::unique_ptr<MediationClient> client;
  sim::Node* node = nullptr;
};

struct Fixture {
  sim::Network net;
  crypto::DeterministicRng rng{7};
  std::unique_ptr<MediationServer> ms;
  std::map<std::string, Peer> peers;

  Fixture() {
    ms = std::make_unique<MediationServer>(
        server_config(),
        Directory({entry(kAlice, "alice-secret", {kBob}), entry(kBob, "bob-secret", {kAlice})}, {}),
        mediator::Limits{}, rng);
    sim::Driver d;
    d.datagram = [this](Endpoint l, Endpoint r, ByteView b, Timestamp now, Actions& out) {
      ms->handle_datagram(l, r, b, now, out);
    };
    d.next_timeout = [this] { return ms->next_timeout(); };
    d.timeout = [this](Timestamp now, Actions& out) { ms->handle_timeout(now, out); };
    net.add_driven("ms", "192.0.2.100", std::move(d));
    add_peer("alice", "10.1.0.10", "192.0.2.1",
             peer_config(kAlice, "alice-secret", "alice@strongswan.org", "bob@strongswan.org", kBob,
                         "10.1.0.0/16", "10.2.0.0/16"));
    add_peer("bob", "10.2.0.10", "192.0.2.2",
             peer_config(kBob, "bob-secret", "bob@strongswan.org", "alice@strongswan.org", kAlice,
                         "10.2.0.0/16", "10.1.0.0/16"));
    // Each site's private addresses are reachable only from that site.
    net.drop = [this](const sim::InFlight& f) {
      if (f.to.address.to_string().rfind("10.", 0) != 0) return false;
      const auto& sender = net.node(f.sender).address.to_string();
      return sender.substr(0, 5) != f.to.address.to_string().substr(0, 5);
    };
  }

  void add_peer(const std::string& name, const std::string& address, const std::string& nat,
                EngineConfig config) {
    Peer& p = peers[name];
    p.rng = std::make_unique<crypto::DeterministicRng>(std::hash<std::string>{}(name));
    p.engine = std::make_unique<IkeEngine>(std::move(config), *p.rng);
    peer::MediationClientConfig mc;
    IpAddress own = *IpAddress::parse(address);
    mc.source_for = [own](const ConnectionConfig&) { return std::optional<IpAddress>(own); };
    p.client = std::make_unique<MediationClient>(*p.engine, *p.rng, mc);
    MediationClient* client = p.client.get();
    IkeEngine* engine = p.engine.get();
    sim::Driver d;
    d.datagram = [client](Endpoint l, Endpoint r, ByteView b, Timestamp now, Actions& out) {
      client->handle_datagram(l, r, b, now, out);
    };
    d.next_timeout = [client] { return client->next_timeout(); };
    d.timeout = [client](Timestamp now, Actions& out) { client->handle_timeout(now, out); };
    p.node = &net.add_driven(name, address, std::move(d), nat);
    (void)engine;
  }

  void initiate(const std::string& name, const std::string& connection) {
    Actions a;
    auto st = peers.at(name).client->initiate(connection, net.now(), a);
    REQUIRE(st.ok());
    net.apply(*peers.at(name).node, a);
    net.run();
  }

  std::optional<IkeSaInfo> sa(const std::string& name, const std::string& connection) {
    for (const auto& s : peers.at(name).engine->list_sas())
      if (s.connection == connection && s.state == "ESTABLISHED") return s;
    return std::nullopt;
  }
  bool established(const std::string& name, const std::string& connection) {
    return sa(name, connection).has_value();
  }
  void dump(const std::string& name) {
    for (const auto& l : peers.at(name).node->log) UNSCOPED_INFO(name << ": " << l);
  }
  bool logged(const std::string& name, const std::string& fragment) {
    return peers.at(name).node->logged(fragment);
  }
};

}  // namespace

TEST_CASE("mediated: two peers behind NATs register, punch through and set up the direct SA",
          "[mediated]") {
  Fixture f;
  f.initiate("bob", "medsrv");  // bob registers (start_action: start on its mediation conn)
  f.net.advance(Duration(100));
  REQUIRE(f.established("bob", "medsrv"));
  CHECK(f.logged("bob", "server-reflexive endpoint 192.0.2.2["));

  f.initiate("alice", "peer");  // registers first, then ME_CONNECT
  f.net.advance(Duration(2000));
  REQUIRE(f.established("alice", "medsrv"));
  REQUIRE(f.established("alice", "peer"));
  REQUIRE(f.established("bob", "peer"));
  CHECK(f.logged("alice", "sending ME_CONNECT to '" + kBob + "'"));
  CHECK(f.logged("bob", "answering ME_CONNECT from '" + kAlice + "'"));

  // The direct SA goes between the two NATs' public addresses (host pairs cannot work).
  auto a = f.sa("alice", "peer");
  CHECK(a->remote.address == *IpAddress::parse("192.0.2.2"));
  CHECK(a->remote_id == "bob@strongswan.org");
  CHECK(a->initiator);
  REQUIRE(a->children.size() == 1);
  CHECK(a->children.front().udp_encapsulation);
  auto b = f.sa("bob", "peer");
  CHECK(b->remote.address == *IpAddress::parse("192.0.2.1"));
  CHECK(b->remote_id == "alice@strongswan.org");
  CHECK_FALSE(b->initiator);

  auto st = f.peers.at("alice").client->status("peer");
  REQUIRE(st);
  CHECK(st->phase == "established");
  CHECK(st->initiating);
  CHECK(st->own_pseudonym == kAlice);
  CHECK(st->peer_pseudonym == kBob);
  REQUIRE(st->nomination);
  CHECK(st->nomination->remote_type == EndpointType::SERVER_REFLEXIVE);
  CHECK(st->to_checks);
  CHECK(st->to_nomination);
  CHECK(st->to_established);
  auto bs = f.peers.at("bob").client->status("peer");
  REQUIRE(bs);
  CHECK(bs->phase == "established");
  CHECK_FALSE(bs->initiating);
  REQUIRE(bs->nomination);
  CHECK(bs->nomination->by_peer);
  CHECK(f.peers.at("alice").client->explain("peer", f.net.now()).find("is up") !=
        std::string::npos);
}

TEST_CASE("mediated: an offline peer gets ME_CONNECT_FAILED, then the callback connects",
          "[mediated]") {
  Fixture f;
  f.initiate("alice", "peer");
  f.net.advance(Duration(100));
  REQUIRE(f.established("alice", "medsrv"));
  CHECK(f.logged("alice", "answered ME_CONNECT_FAILED"));
  CHECK_FALSE(f.established("alice", "peer"));
  std::string why = f.peers.at("alice").client->explain("peer", f.net.now());
  CHECK(why.find("offline or we are not authorized") != std::string::npos);
  CHECK(why.find("next attempt in") != std::string::npos);
  // bob comes up later: the server calls alice back, which starts over at once.
  f.initiate("bob", "medsrv");
  f.net.advance(Duration(500));
  CHECK(f.logged("alice", "ME_CALLBACK: '" + kBob + "' registered"));
  CHECK(f.established("alice", "peer"));
  CHECK(f.established("bob", "peer"));
}

TEST_CASE("mediated: a peer without a connection for the requester refuses; checks never start",
          "[mediated]") {
  Fixture f;
  // bob has no connection whose mediation_peer is alice.
  auto cfg = peer_config(kBob, "bob-secret", "bob@strongswan.org", "alice@strongswan.org",
                         "someone@medsrv.org", "10.2.0.0/16", "10.1.0.0/16");
  f.peers.at("bob").engine->reload(cfg);
  f.initiate("bob", "medsrv");
  f.initiate("alice", "peer");
  f.net.advance(Duration(1000));
  CHECK(f.logged("bob", "refused: no connection has it as mediation_peer"));
  CHECK_FALSE(f.established("alice", "peer"));
  CHECK(f.peers.at("alice").client->explain("peer", f.net.now()).find("answer has not arrived") !=
        std::string::npos);
}

TEST_CASE("mediated: the registration comes back after the server went away", "[mediated]") {
  Fixture f;
  f.initiate("alice", "medsrv");
  f.net.advance(Duration(100));
  REQUIRE(f.established("alice", "medsrv"));
  // The server deletes every SA (restart): alice registers again after the back-off.
  Actions a;
  f.ms->terminate_all(f.net.now(), a);
  f.net.apply(f.net.node("ms"), a);
  f.net.run();
  CHECK_FALSE(f.established("alice", "medsrv"));
  CHECK(f.logged("alice", "mediation connection down"));
  f.net.advance(Duration(1500));
  CHECK(f.established("alice", "medsrv"));
}

TEST_CASE("mediated: an IKE_SA_INIT with an unknown ME_CONNECTID is dropped", "[mediated]") {
  Fixture f;
  Actions a;
  // bob starts a direct SA to alice's host address with a connect ID alice never checked.
  auto id = f.peers.at("bob").engine->initiate_mediated(
      "peer", "", Endpoint{*IpAddress::parse("10.2.0.10"), 4500},
      Endpoint{*IpAddress::parse("10.1.0.10"), 4500}, Bytes{1, 2, 3, 4}, f.net.now(), a);
  REQUIRE(id.ok());
  f.net.drop = nullptr;
  f.net.apply(*f.peers.at("bob").node, a);
  f.net.run();
  CHECK(f.logged("alice", "IKE_SA_INIT with an unknown ME_CONNECTID from 192.0.2.2["));
  CHECK(f.peers.at("alice").engine->sa_count() == 0);
}

TEST_CASE("mediated: when every pair fails, explain lists the pairs and a retry follows",
          "[mediated]") {
  Fixture f;
  // Nothing gets from one site to the other: private addresses, and the NATs' public ones.
  f.net.drop = [&f](const sim::InFlight& in) {
    const std::string to = in.to.address.to_string();
    const std::string from = f.net.node(in.sender).name;
    if (from == "ms" || to == "192.0.2.100") return false;
    return true;
  };
  f.initiate("bob", "medsrv");
  f.initiate("alice", "peer");
  f.net.advance(Duration(31000));  // the agents' transaction timeout is 30 s
  CHECK_FALSE(f.established("alice", "peer"));
  std::string why = f.peers.at("alice").client->explain("peer", f.net.now());
  INFO(why);
  CHECK(why.find("connectivity checks failed") != std::string::npos);
  CHECK(why.find("last connectivity checks (") != std::string::npos);
  CHECK(why.find("192.0.2.2[") != std::string::npos);  // the SRFLX pair that was tried
  CHECK(why.find("next attempt in") != std::string::npos);
  auto st = f.peers.at("alice").client->status("peer");
  REQUIRE(st);
  CHECK(st->failures == 1);
  REQUIRE(st->last_failure);
  CHECK_FALSE(st->last_failure->pairs.empty());
  // The network heals: the retry (2 s later) connects.
  f.net.drop = nullptr;
  f.net.advance(Duration(3000));
  CHECK(f.established("alice", "peer"));
  CHECK(f.established("bob", "peer"));
}

TEST_CASE("mediated: a silent server is found dead by DPD and registered at again with back-off",
          "[mediated]") {
  Fixture f;
  auto cfg = peer_config(kAlice, "alice-secret", "alice@strongswan.org", "bob@strongswan.org", kBob,
                         "10.1.0.0/16", "10.2.0.0/16");
  cfg.connections[0].dpd_delay = Duration(2000);
  cfg.connections[0].dpd_timeout = Duration(5000);
  cfg.retransmit.timeout = Duration(1000);
  cfg.retransmit.tries = 2;
  f.peers.at("alice").engine->reload(cfg);
  f.initiate("alice", "medsrv");
  f.net.advance(Duration(100));
  REQUIRE(f.established("alice", "medsrv"));
  f.net.drop = [](const sim::InFlight& in) { return in.to.address.to_string() == "192.0.2.100"; };
  f.net.advance(Duration(12000));
  CHECK_FALSE(f.established("alice", "medsrv"));
  CHECK(f.logged("alice", "mediation connection down"));
  std::string why = f.peers.at("alice").client->explain("medsrv", f.net.now());
  CHECK(why.find("medsrv is not registered") != std::string::npos);
  f.net.drop = nullptr;
  f.net.advance(Duration(40000));  // the back-off has grown while the server was away
  CHECK(f.established("alice", "medsrv"));
  CHECK(f.peers.at("alice").client->explain("medsrv", f.net.now()) ==
        "medsrv is registered at the mediation server");
}

TEST_CASE("mediated: a local address that disappears restarts what used it", "[mediated]") {
  Fixture f;
  f.initiate("bob", "medsrv");
  f.net.advance(Duration(100));
  f.initiate("alice", "peer");
  f.net.advance(Duration(2000));
  REQUIRE(f.established("alice", "peer"));
  REQUIRE(f.established("bob", "peer"));
  const uint32_t first = f.sa("alice", "peer")->id;
  const uint32_t registration = f.sa("alice", "medsrv")->id;
  auto gone = [&](const std::string& name, const std::string& address) {
    Actions a;
    f.peers.at(name).client->host_addresses_changed({*IpAddress::parse(address)}, f.net.now(), a);
    f.net.apply(*f.peers.at(name).node, a);
    f.net.run();
  };
  auto attempts = [&](const std::string& name) {
    return f.peers.at(name).client->status("peer")->attempts;
  };

  // An address nothing uses changes nothing.
  gone("alice", "10.1.9.9");
  f.net.advance(Duration(100));
  CHECK(f.sa("alice", "peer")->id == first);
  CHECK(f.sa("alice", "medsrv")->id == registration);
  CHECK(attempts("alice") == 1);

  // alice's address went away (in the simulation the node keeps it, as if it came back at once):
  // the mediation SA registers again, the direct SA is replaced through a new ME_CONNECT.
  gone("alice", "10.1.0.10");
  CHECK(f.logged("alice",
                 "local address 10.1.0.10 of the mediation connection disappeared; registering "
                 "again"));
  CHECK(f.logged(
      "alice",
      "the direct IKE SA's local address 10.1.0.10 disappeared; sending a new ME_CONNECT"));
  f.net.advance(Duration(3000));
  REQUIRE(f.established("alice", "peer"));
  CHECK(f.sa("alice", "peer")->id != first);
  CHECK(f.sa("alice", "medsrv")->id != registration);
  CHECK(attempts("alice") == 2);
  CHECK(f.peers.at("alice").client->status("peer")->failures == 0);  // a restart, not a failure
  CHECK(f.established("bob", "peer"));

  // bob only answered, but the SA it lost is its to bring back (alice cannot know): bob sends
  // ME_CONNECT; its INITIAL_CONTACT ends alice's stale SA.
  const uint32_t bobs = f.sa("bob", "peer")->id;
  gone("bob", "10.2.0.10");
  CHECK(f.logged(
      "bob", "the direct IKE SA's local address 10.2.0.10 disappeared; sending a new ME_CONNECT"));
  f.net.advance(Duration(3000));
  REQUIRE(f.established("bob", "peer"));
  CHECK(f.sa("bob", "peer")->id != bobs);
  CHECK(f.sa("bob", "peer")->initiator);
  REQUIRE(f.established("alice", "peer"));
  CHECK_FALSE(f.sa("alice", "peer")->initiator);
  size_t alices = 0;
  for (const auto& s : f.peers.at("alice").engine->list_sas()) alices += s.connection == "peer";
  CHECK(alices == 1);
}

namespace {

// Nothing gets from one site to the other (private addresses, NATs' public ones); the
// mediation server stays reachable.
void cut_sites(Fixture& f) {
  f.net.drop = [&f](const sim::InFlight& in) {
    return f.net.node(in.sender).name != "ms" && in.to.address.to_string() != "192.0.2.100";
  };
}

}  // namespace

TEST_CASE(
    "mediated: every pair failed: the initiator signals ME_CONNECT_FAILED, the responder "
    "stops at once",
    "[mediated][failure]") {
  Fixture f;
  cut_sites(f);
  // alice gives up after 5 s; bob would keep checking for 30 s.
  f.peers.at("alice").client->set_transaction_timeout(Duration(5000));
  f.initiate("bob", "medsrv");
  f.initiate("alice", "peer");
  const Timestamp t0 = f.net.now();
  f.net.advance(Duration(4900));
  REQUIRE(f.peers.at("bob").client->sessions().size() == 1);  // bob is checking
  f.net.advance(Duration(200));
  CHECK(f.logged("alice", "telling '" + kBob + "' that every pair failed (ME_CONNECT_FAILED"));
  CHECK(f.logged("alice", "the mediation server relayed our ME_CONNECT_FAILED"));
  CHECK(f.logged("bob", "'" + kAlice + "' reports that every pair failed"));
  CHECK(f.ms->stats().failure_signals == 1);
  CHECK(f.ms->stats().failures_relayed == 1);
  // bob stopped at once, long before its own 30 s: no agent left, the failure explained.
  CHECK(f.peers.at("bob").client->sessions().size() == 0);
  auto bs = f.peers.at("bob").client->status("peer");
  REQUIRE(bs);
  CHECK(bs->last_problem == "the peer reported that every pair failed");
  REQUIRE(bs->last_failure);
  CHECK(bs->last_failure->reason == ice::FailureReason::PeerReported);
  CHECK(bs->last_failure->timings.finished - t0 < Duration(5100));
  CHECK_FALSE(bs->last_failure->pairs.empty());  // what bob's checks saw
  CHECK_FALSE(bs->retry_at);                     // bob does not want the connection itself
  std::string why = f.peers.at("bob").client->explain("peer", f.net.now());
  INFO(why);
  CHECK(why.find("peer is down: the peer reported that every pair failed") != std::string::npos);
  CHECK(why.find("last connectivity checks (the peer reported that every pair failed)") !=
        std::string::npos);
  // alice keeps her retry policy: another ME_CONNECT after the back-off (2 s, doubling).
  auto as = f.peers.at("alice").client->status("peer");
  REQUIRE(as);
  CHECK(as->last_failure->reason == ice::FailureReason::Timeout);
  REQUIRE(as->retry_at);
  CHECK(*as->retry_at - f.net.now() <= Duration(2000));
  // No signal goes back: bob's failure was the reported one.
  CHECK_FALSE(f.logged("bob", "telling '" + kAlice + "'"));
  // The network heals: alice's retry connects.
  f.net.drop = nullptr;
  f.net.advance(Duration(3000));
  CHECK(f.established("alice", "peer"));
  CHECK(f.established("bob", "peer"));
}

TEST_CASE("mediated: the responder's failure is signalled to the initiator, which retries",
          "[mediated][failure]") {
  Fixture f;
  cut_sites(f);
  f.peers.at("bob").client->set_transaction_timeout(Duration(3000));
  f.initiate("bob", "medsrv");
  f.initiate("alice", "peer");
  f.net.advance(Duration(3200));
  CHECK(f.logged("bob", "telling '" + kAlice + "' that every pair failed"));
  CHECK(f.logged("alice", "'" + kBob + "' reports that every pair failed"));
  CHECK(f.peers.at("alice").client->sessions().size() == 0);
  auto as = f.peers.at("alice").client->status("peer");
  REQUIRE(as);
  CHECK(as->last_problem == "the peer reported that every pair failed");
  CHECK(as->phase == "backoff");
  REQUIRE(as->retry_at);
  CHECK(f.peers.at("alice").client->explain("peer", f.net.now()).find("next attempt in") !=
        std::string::npos);
}

TEST_CASE("mediated: a relayed ME_CONNECT_FAILED for another connect ID changes nothing",
          "[mediated][failure]") {
  Fixture f;
  cut_sites(f);
  f.initiate("bob", "medsrv");
  f.initiate("alice", "peer");
  f.net.advance(Duration(500));
  REQUIRE(f.peers.at("alice").client->sessions().size() == 1);
  // What the server would relay for an attempt alice never made.
  const ike::IkeSa* sa = nullptr;
  for (const auto& s : f.peers.at("alice").engine->list_sas())
    if (s.connection == "medsrv") sa = f.peers.at("alice").engine->find_sa(s.spi_i);
  REQUIRE(sa);
  Identity bob = *Identity::parse(kBob);
  Actions a;
  auto response = f.peers.at("alice").client->on_me_connect(
      *sa,
      mediator::failure_request(Bytes{9, 9, 9, 9},
                                *make_id(PayloadType::IDp, bob.type(), bob.data()).as<IdPayload>()),
      f.net.now(), a);
  CHECK(response.empty());
  bool logged = false;
  for (const auto& l : a.logs)
    logged |= l.text.find("for unknown connect ID 09090909 ignored") != std::string::npos;
  CHECK(logged);
  CHECK(f.peers.at("alice").client->sessions().size() == 1);
  CHECK(f.peers.at("alice").client->status("peer")->phase == "checking");
}

TEST_CASE("mediated: simultaneous ME_CONNECT: the lower connect ID goes on, one direct SA",
          "[mediated][simultaneous]") {
  Fixture f;
  f.initiate("alice", "medsrv");
  f.initiate("bob", "medsrv");
  f.net.advance(Duration(100));
  REQUIRE(f.established("alice", "medsrv"));
  REQUIRE(f.established("bob", "medsrv"));
  // Both want each other at the same moment: each request is on its way before either arrives.
  for (const char* name : {"alice", "bob"}) {
    Actions a;
    REQUIRE(f.peers.at(name).client->initiate("peer", f.net.now(), a).ok());
    f.net.apply(*f.peers.at(name).node, a);
  }
  f.net.run();
  f.net.advance(Duration(2000));
  REQUIRE(f.established("alice", "peer"));
  REQUIRE(f.established("bob", "peer"));
  CHECK(f.ms->stats().relays == 2);
  CHECK(f.ms->stats().relayed_responses == 1);  // exactly one transaction went on
  // Each side decided, neither retried, and there is one direct IKE SA on each side.
  CHECK(f.logged("alice", "both sides sent ME_CONNECT"));
  CHECK(f.logged("bob", "both sides sent ME_CONNECT"));
  const bool alice_won = f.logged("alice", "the lower) goes on, the peer's");
  CHECK(alice_won != f.logged("bob", "the lower) goes on, the peer's"));
  CHECK(f.logged(alice_won ? "bob" : "alice", "is dropped; answering"));
  for (const char* name : {"alice", "bob"}) {
    size_t direct = 0;
    for (const auto& s : f.peers.at(name).engine->list_sas())
      if (s.connection == "peer") ++direct;
    CHECK(direct == 1);
    auto st = f.peers.at(name).client->status("peer");
    REQUIRE(st);
    CHECK(st->failures == 0);
    const bool winner = (std::string(name) == "alice") == alice_won;
    CHECK(st->initiating == winner);
  }
  CHECK(f.sa(alice_won ? "alice" : "bob", "peer")->initiator);
}

// --- NAT rebinding (mediation_client_rebind.cpp, ike_sa_srflx.cpp)

namespace {

std::optional<Endpoint> srflx_of(Fixture& f, const std::string& name) {
  auto s = f.sa(name, "medsrv");
  return s ? s->server_reflexive : std::nullopt;
}

std::vector<IkeSaInfo> sas_of(Fixture& f, const std::string& name, const std::string& conn) {
  std::vector<IkeSaInfo> out;
  for (const auto& s : f.peers.at(name).engine->list_sas())
    if (s.connection == conn) out.push_back(s);
  return out;
}

// Advances in steps of `step` until `done` or `limit` passed; the time it took.
Duration advance_until(Fixture& f, const std::function<bool()>& done, Duration limit,
                       Duration step = Duration(10)) {
  const Timestamp start = f.net.now();
  while (!done() && f.net.now() - start < limit) f.net.advance(step);
  return f.net.now() - start;
}

// Both peers registered behind port-restricted NATs, the direct SA up.
void connect_restricted(Fixture& f) {
  f.net.restricted_nats = true;
  f.initiate("bob", "medsrv");
  f.net.advance(Duration(100));
  f.initiate("alice", "peer");
  f.net.advance(Duration(2000));
  REQUIRE(f.established("alice", "peer"));
  REQUIRE(f.established("bob", "peer"));
}

}  // namespace

TEST_CASE("mediated: alice's NAT rebinds: the SRFLX refresh notices it, the direct SA is replaced",
          "[mediated][rebind]") {
  Fixture f;
  connect_restricted(f);
  const auto before = srflx_of(f, "alice");
  REQUIRE(before);
  const uint32_t old_a = f.sa("alice", "peer")->id;
  const uint32_t old_b = f.sa("bob", "peer")->id;

  f.net.rebind("alice");
  // The default srflx_refresh is 60 s: the query goes out of the new mapping, the server follows
  // the authenticated request and reports what it sees.
  Duration noticed = advance_until(
      f, [&] { return f.logged("alice", "NAT mapping changed"); }, Duration(61000), Duration(100));
  f.dump("alice");
  REQUIRE(f.logged("alice", "[MED] NAT mapping changed: server-reflexive endpoint " +
                                before->to_string() + " -> 192.0.2.1["));
  CHECK(noticed <= Duration(60000));
  const auto after = srflx_of(f, "alice");
  REQUIRE(after);
  CHECK(after->address == before->address);
  CHECK(after->port != before->port);
  // The mediator lists the endpoint it sees now, not the one of the registration.
  bool listed = false;
  for (const auto& p : f.ms->list_peers(f.net.now()))
    if (p.pseudonym == kAlice) listed = p.endpoint == *after;
  CHECK(listed);

  // A new ME_CONNECT, checks and direct SA; the old SA is deleted over the new path.
  Duration recovered = advance_until(
      f,
      [&] {
        auto a = f.sa("alice", "peer");
        auto b = f.sa("bob", "peer");
        return a && b && a->id != old_a && b->id != old_b;
      },
      Duration(10000));
  CHECK(recovered < Duration(1000));
  f.net.advance(Duration(500));
  auto a = sas_of(f, "alice", "peer");
  auto b = sas_of(f, "bob", "peer");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a.front().id != old_a);
  CHECK(a.front().state == "ESTABLISHED");
  CHECK(b.front().id != old_b);
  CHECK(b.front().remote == *after);  // bob now talks to alice's new mapping
  CHECK(f.logged("alice", "our NAT mapping changed (" + before->to_string() + " -> " +
                              after->to_string() + "): connecting again with fresh endpoints"));
  CHECK(f.logged("alice", "replaces #" + std::to_string(old_a) + ", deleting the old one"));
  CHECK(f.logged("bob", "the peer deletes the old one"));
  auto st = f.peers.at("alice").client->status("peer");
  REQUIRE(st);
  CHECK(st->phase == "established");
  CHECK(st->rebinds == 1);
  CHECK(st->failures == 0);
  // The old CHILD_SAs were removed, the new ones installed, on both sides.
  size_t deleted = 0;
  for (const auto& e : f.peers.at("bob").node->children)
    if (e.kind == ChildSaEvent::Kind::Deleted) ++deleted;
  CHECK(deleted == 1);
}

TEST_CASE("mediated: bob's NAT rebinds: bob connects again and deletes the old SA at once",
          "[mediated][rebind]") {
  Fixture f;
  connect_restricted(f);
  const uint32_t old_a = f.sa("alice", "peer")->id;
  const uint32_t old_b = f.sa("bob", "peer")->id;
  f.net.rebind("bob");
  advance_until(
      f, [&] { return f.logged("bob", "NAT mapping changed"); }, Duration(61000), Duration(100));
  REQUIRE(f.logged("bob", "NAT mapping changed"));
  advance_until(
      f,
      [&] {
        auto a = f.sa("alice", "peer");
        auto b = f.sa("bob", "peer");
        return a && b && a->id != old_a && b->id != old_b;
      },
      Duration(10000));
  // bob initiated the new SA: bob deletes the old one. alice's old SA was the initiator and
  // keeps its endpoints behind its NAT, yet it answers the DELETE where it came from (RFC 7296
  // §2.11), so bob's old SA is gone at once instead of retransmitting into the stale mapping.
  f.net.advance(Duration(300));
  auto a = sas_of(f, "alice", "peer");
  auto b = sas_of(f, "bob", "peer");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a.front().id != old_a);
  CHECK_FALSE(a.front().initiator);  // the roles turned
  CHECK(b.front().initiator);
  CHECK(f.logged("bob", "replaces #" + std::to_string(old_b) + ", deleting the old one"));
  CHECK(f.logged("alice", "received DELETE for IKE_SA peer[" + std::to_string(old_a) + "]"));
}

TEST_CASE("mediated: srflx_refresh 0 asks only in IKE_AUTH, as strongSwan", "[mediated][rebind]") {
  Fixture f;
  auto cfg = peer_config(kAlice, "alice-secret", "alice@strongswan.org", "bob@strongswan.org", kBob,
                         "10.1.0.0/16", "10.2.0.0/16");
  cfg.connections[0].srflx_refresh = Duration(0);
  f.peers.at("alice").engine->reload(cfg);
  connect_restricted(f);
  const uint32_t old_a = f.sa("alice", "peer")->id;
  f.net.rebind("alice");
  f.net.advance(Duration(70000));
  CHECK_FALSE(f.logged("alice", "NAT mapping changed"));
  CHECK_FALSE(f.logged("alice", "asking the mediation server for our server-reflexive endpoint"));
  // Nothing noticed the rebinding: the direct SA is the old one (its path is dead).
  auto a = f.sa("alice", "peer");
  REQUIRE(a);
  CHECK(a->id == old_a);
}

TEST_CASE(
    "mediated: a server that does not refresh (strongSwan): DPD, registering again, "
    "a new SA",
    "[mediated][rebind]") {
  Fixture f;
  // The server answers refresh queries empty, like charon.
  auto server = server_config();
  server.connections[0].srflx_refresh = Duration(0);
  Actions ignored;
  f.ms->reload(server, f.ms->registry().directory(), mediator::Limits{}, f.net.now(), ignored);
  auto cfg = peer_config(kAlice, "alice-secret", "alice@strongswan.org", "bob@strongswan.org", kBob,
                         "10.1.0.0/16", "10.2.0.0/16");
  cfg.connections[0].srflx_refresh = Duration(5000);
  cfg.connections[1].dpd_delay = Duration(5000);
  cfg.connections[1].dpd_timeout = Duration(10000);
  f.peers.at("alice").engine->reload(cfg);
  connect_restricted(f);
  const auto before = srflx_of(f, "alice");
  const uint32_t old_a = f.sa("alice", "peer")->id;
  f.net.rebind("alice");
  f.net.advance(Duration(8000));
  // Queries went out (and were answered empty): nothing was learned.
  CHECK(f.logged("alice", "asking the mediation server for our server-reflexive endpoint"));
  CHECK_FALSE(f.logged("alice", "NAT mapping changed"));
  CHECK(f.established("alice", "medsrv"));
  // DPD finds the direct path dead; the retry registers first and so discloses the new mapping.
  Duration recovered = advance_until(
      f,
      [&] {
        auto a = f.sa("alice", "peer");
        return a && a->id != old_a && f.established("bob", "peer");
      },
      Duration(30000), Duration(100));
  CHECK(recovered < Duration(30000));
  CHECK(f.logged("alice",
                 "registering at the mediation server again: it does not refresh our "
                 "server-reflexive endpoint " +
                     before->to_string()));
  const auto after = srflx_of(f, "alice");
  REQUIRE(after);
  CHECK(after->port != before->port);
  auto b = f.sa("bob", "peer");
  REQUIRE(b);
  CHECK(b->remote == *after);
}

TEST_CASE("mediated: both NATs rebind at once: both connect again, one attempt wins",
          "[mediated][rebind]") {
  Fixture f;
  connect_restricted(f);
  const uint32_t old_a = f.sa("alice", "peer")->id;
  const uint32_t old_b = f.sa("bob", "peer")->id;
  f.net.rebind("alice");
  f.net.rebind("bob");
  auto both_noticed = [&] {
    return f.logged("alice", "NAT mapping changed") && f.logged("bob", "NAT mapping changed");
  };
  const Timestamp t0 = f.net.now();
  advance_until(
      f, [&] { return f.logged("alice", "NAT mapping changed"); }, Duration(61000), Duration(100));
  const Duration alice_noticed = f.net.now() - t0;
  advance_until(f, both_noticed, Duration(61000), Duration(100));
  const Duration bob_noticed = f.net.now() - t0;
  INFO("alice noticed after " << alice_noticed.count() << " ms, bob after " << bob_noticed.count());
  REQUIRE(both_noticed());
  // Both restart; the simultaneous ME_CONNECTs resolve to one attempt (the lower connect ID)
  // on both sides, also on bob, which does not want the connection itself.
  Duration recovered = advance_until(
      f,
      [&] {
        auto a = f.sa("alice", "peer");
        auto b = f.sa("bob", "peer");
        return a && b && a->id != old_a && b->id != old_b;
      },
      Duration(60000));
  // 3.9 s here: the server relayed alice's ME_CONNECT to bob's stale mapping before bob's own
  // refresh moved bob's registration, and retransmitted it after 4 s (the retransmit timeout).
  CHECK(recovered < Duration(5000));
  CHECK((f.logged("alice", "both sides sent ME_CONNECT") ||
         f.logged("bob", "both sides sent ME_CONNECT")));
  // The old SA is deleted over the new SA's path: its own is stale at both ends.
  f.net.advance(Duration(200));
  CHECK(sas_of(f, "alice", "peer").size() == 1);
  CHECK(sas_of(f, "bob", "peer").size() == 1);
  CHECK((f.logged("alice", "moving IKE_SA peer[") || f.logged("bob", "moving IKE_SA peer[")));
}

// EngineConfig::defer_key_exchange: a responder answers IKE_SA_INIT at once and hands its DH
// shared secret to the caller as a KeyExchangeJob; messages that arrive before the job comes back
// (IkeEngine::complete_key_exchange) are kept and handled then. Jobs run here on other threads,
// as the mediator daemon runs them on libuv's pool (mediator/key_exchange_worker.hpp). Also
// KeyExchange::duplicate, which the jobs compute with.

#include <catch2/catch.hpp>
#include <thread>

#include "ike/sa/proposals.hpp"
#include "mediator/core/mediation_server.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

constexpr const char* kPsk = "a shared secret of some length";

// alice (a plain engine) initiates to bob, whose engine defers its key exchanges; bob's jobs are
// collected in `jobs` instead of being computed.
struct Deferred {
  sim::Network net;
  crypto::DeterministicRng rng{7};
  std::unique_ptr<IkeEngine> bob;
  sim::Node* bob_node = nullptr;
  sim::Node* alice = nullptr;
  std::vector<KeyExchangeJob> jobs;

  explicit Deferred(const std::string& ike = "aes128-sha256-x25519", Duration ke_reuse = {}) {
    auto ca = sim::psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2", ike,
                                  "aes128gcm16");
    auto cb =
        sim::psk_connection("home", "bob@example.org", "alice@example.org", "", ike, "aes128gcm16");
    std::vector<std::string> ids = {"alice@example.org", "bob@example.org"};
    EngineConfig eb = sim::engine_config({cb}, kPsk, ids);
    eb.defer_key_exchange = true;
    eb.ke_reuse_lifetime = ke_reuse;
    bob = std::make_unique<IkeEngine>(eb, rng);
    sim::Driver d;
    d.datagram = [this](Endpoint l, Endpoint r, ByteView b, Timestamp now, Actions& out) {
      bob->handle_datagram(l, r, b, now, out);
      take_jobs(out);
    };
    d.next_timeout = [this] { return bob->next_timeout(); };
    d.timeout = [this](Timestamp now, Actions& out) {
      bob->handle_timeout(now, out);
      take_jobs(out);
    };
    bob_node = &net.add_driven("bob", "192.0.2.2", std::move(d));
    alice = &net.add("alice", "192.0.2.1", sim::engine_config({ca}, kPsk, ids));
  }

  void take_jobs(Actions& out) {
    for (KeyExchangeJob& j : out.key_exchanges) jobs.push_back(std::move(j));
    out.key_exchanges.clear();
  }

  void initiate() {
    Actions a;
    REQUIRE(alice->engine->initiate("home", "", net.now(), a, alice->address).ok());
    net.apply(*alice, a);
    net.run();
  }

  // Computes the job on a thread of its own, as a daemon's worker pool would.
  static Result<Bytes, crypto::CryptoError> compute_elsewhere(const KeyExchangeJob& job) {
    std::optional<Result<Bytes, crypto::CryptoError>> result;
    std::thread t([&] { result.emplace(job.compute()); });
    t.join();
    return std::move(*result);
  }

  void complete(const KeyExchangeJob& job, Result<Bytes, crypto::CryptoError> shared) {
    Actions a;
    bob->complete_key_exchange(job, std::move(shared), net.now(), a);
    take_jobs(a);
    net.apply(*bob_node, a);
    net.run();
  }

  std::string bob_state() const {
    auto sas = bob->list_sas();
    return sas.size() == 1 ? sas[0].state : std::to_string(sas.size()) + " SAs";
  }
};

}  // namespace

TEST_CASE(
    "a deferring responder answers IKE_SA_INIT and keeps IKE_AUTH until its key exchange "
    "is computed",
    "[sa][mediator]") {
  for (const char* ike :
       {"aes128-sha256-x25519", "aes128-sha256-ecp256", "aes128-sha256-modp2048"}) {
    INFO(ike);
    Deferred d(ike);
    d.initiate();
    // IKE_SA_INIT answered, alice's IKE_AUTH arrived and waits: nothing answered it yet.
    REQUIRE(d.jobs.size() == 1);
    CHECK(d.net.delivered() == 3);
    CHECK(d.bob_state() == "CONNECTING");
    CHECK(d.alice->sas().at(0).state == "CONNECTING");
    CHECK(
        d.bob_node->logged("IKE_AUTH from 192.0.2.1[500] kept until the key exchange is computed"));
    KeyExchangeJob job = d.jobs[0];
    CHECK(job.sa_id == d.bob->list_sas().at(0).id);
    CHECK(job.spi == d.bob->list_sas().at(0).spi_r);
    d.complete(job, Deferred::compute_elsewhere(job));
    CHECK(d.bob_state() == "ESTABLISHED");
    REQUIRE(d.alice->sas().size() == 1);
    CHECK(d.alice->sas()[0].state == "ESTABLISHED");
    CHECK(d.net.delivered() == 4);
    // Both derived the same keys: the CHILD_SA's keys match crosswise.
    REQUIRE(d.alice->children.size() == 1);
    CHECK(d.bob->stats().ike_established == 1);
    CHECK(d.jobs.size() == 1);  // no second job
  }
}

TEST_CASE("a deferred key exchange that comes back before IKE_AUTH leaves nothing to replay",
          "[sa][mediator]") {
  Deferred d;
  // alice's first IKE_AUTH is lost, so the job comes back first; her retransmission finds bob
  // with keys.
  bool dropped = false;
  d.net.drop = [&](const sim::InFlight& f) {
    if (f.sender != "alice" || dropped || d.jobs.empty()) return false;
    dropped = true;
    return true;
  };
  d.initiate();
  REQUIRE(dropped);
  REQUIRE(d.jobs.size() == 1);
  d.complete(d.jobs[0], d.jobs[0].compute());
  CHECK(d.bob_state() == "CONNECTING");  // keys ready, IKE_AUTH not yet here
  d.net.advance(Duration(10000));        // alice retransmits IKE_AUTH
  CHECK(d.bob_state() == "ESTABLISHED");
  CHECK(d.alice->sas().at(0).state == "ESTABLISHED");
}

TEST_CASE("a failed deferred key exchange fails the SA; a late one for a gone SA is discarded",
          "[sa][mediator]") {
  SECTION("failure") {
    Deferred d;
    d.initiate();
    REQUIRE(d.jobs.size() == 1);
    d.complete(d.jobs[0], Unexpected{crypto::CryptoError{"CURVE_25519: test failure"}});
    CHECK(d.bob->sa_count() == 0);
    CHECK(d.bob->stats().ike_failed == 1);
    CHECK(d.bob_node->logged("key exchange failed: CURVE_25519: test failure"));
  }
  SECTION("the SA timed out meanwhile") {
    Deferred d;
    d.initiate();
    REQUIRE(d.jobs.size() == 1);
    d.net.advance(d.bob->config().half_open_timeout + Duration(1000));
    REQUIRE(d.bob->sa_count() == 0);
    size_t sent = d.bob_node->sent.size();
    d.complete(d.jobs[0], d.jobs[0].compute());
    CHECK(d.bob->sa_count() == 0);
    CHECK(d.bob_node->sent.size() == sent);
    CHECK(d.bob_node->logged("computed for an SA that is gone, discarded"));
  }
}

TEST_CASE("deferred key exchanges with a reused DH value run concurrently on duplicates",
          "[sa][mediator]") {
  // One private value (ke_reuse) shared by several SAs; their jobs compute at the same time on
  // several threads, each on its own duplicate, and every SA gets the right keys.
  Deferred d("aes128-sha256-x25519", Duration(60000));
  // Four initiators, each its own connection from its own address, to the same bob.
  std::vector<sim::Node*> peers;
  for (int i = 0; i < 4; ++i) {
    std::string addr = "192.0.2." + std::to_string(10 + i);
    auto c = sim::psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2",
                                 "aes128-sha256-x25519", "aes128gcm16");
    peers.push_back(
        &d.net.add("p" + std::to_string(i), addr,
                   sim::engine_config({c}, kPsk, {"alice@example.org", "bob@example.org"})));
    Actions a;
    REQUIRE(peers.back()->engine->initiate("home", "", d.net.now(), a, peers.back()->address).ok());
    d.net.apply(*peers.back(), a);
  }
  d.net.run();
  REQUIRE(d.jobs.size() == 4);
  CHECK(d.bob->key_exchanges_generated() == 1);
  std::vector<std::optional<Result<Bytes, crypto::CryptoError>>> results(d.jobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < d.jobs.size(); ++i)
    threads.emplace_back([&, i] { results[i].emplace(d.jobs[i].compute()); });
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < d.jobs.size(); ++i) {
    REQUIRE(results[i]->ok());
    d.complete(d.jobs[i], std::move(*results[i]));
  }
  for (sim::Node* p : peers) {
    REQUIRE(p->sas().size() == 1);
    CHECK(p->sas()[0].state == "ESTABLISHED");
  }
  CHECK(d.bob->stats().ike_established == 4);
}

TEST_CASE("KeyExchange::duplicate has the same private value and blinding of its own",
          "[crypto][mediator]") {
  crypto::DeterministicRng rng(3);
  for (DhGroup g : {DhGroup::CURVE_25519, DhGroup::ECP_256, DhGroup::ECP_384, DhGroup::MODP_2048}) {
    INFO(name(g));
    auto ours = crypto::KeyExchange::create(g, rng);
    auto peer = crypto::KeyExchange::create(g, rng);
    REQUIRE(ours.ok());
    REQUIRE(peer.ok());
    auto copy = (*ours)->duplicate(rng);
    REQUIRE(copy.ok());
    CHECK((*copy)->group() == g);
    CHECK((*copy)->public_value() == (*ours)->public_value());
    auto expected = (*peer)->shared_secret((*ours)->public_value());
    REQUIRE(expected.ok());
    auto from_copy = (*copy)->shared_secret((*peer)->public_value());
    auto from_original = (*ours)->shared_secret((*peer)->public_value());
    REQUIRE(from_copy.ok());
    REQUIRE(from_original.ok());
    CHECK(*from_copy == *expected);
    CHECK(*from_original == *expected);
    // The copy outlives the original (a job may finish after the SA is gone).
    ours->reset();
    auto again = (*copy)->shared_secret((*peer)->public_value());
    REQUIRE(again.ok());
    CHECK(*again == *expected);
  }
}

TEST_CASE("a mediation server with deferred key exchanges registers peers when the jobs return",
          "[mediator]") {
  using mediator::Directory;
  using mediator::DirectoryEntry;
  const std::string server_id = "carol@strongswan.org", alice_id = "alice@medsrv.org";
  DirectoryEntry e;
  e.identity = *Identity::parse(alice_id);
  e.pseudonym = e.identity.to_string();
  e.psk = Bytes{'s', 'e', 'c', 'r', 'e', 't', '-', 'a', 'l', 'i', 'c', 'e'};
  ConnectionConfig sc;
  sc.name = "medsrv";
  sc.mediation = true;
  sc.proposals = {*parse_proposal("aes128-sha256-x25519", ProtocolId::IKE)};
  sc.local.id = *Identity::parse(server_id);
  EngineConfig se;
  se.connections = {sc};
  se.defer_key_exchange = true;
  crypto::DeterministicRng rng(9);
  mediator::MediationServer ms(se, Directory({e}, {}), {}, rng);
  std::vector<KeyExchangeJob> jobs;
  sim::Network net;
  sim::Driver d;
  d.datagram = [&](Endpoint l, Endpoint r, ByteView b, Timestamp now, Actions& out) {
    ms.handle_datagram(l, r, b, now, out);
    for (KeyExchangeJob& j : out.key_exchanges) jobs.push_back(std::move(j));
    out.key_exchanges.clear();
  };
  d.next_timeout = [&] { return ms.next_timeout(); };
  d.timeout = [&](Timestamp now, Actions& out) { ms.handle_timeout(now, out); };
  sim::Node& server = net.add_driven("ms", "192.0.2.100", std::move(d));
  auto c = sim::psk_connection("medsrv", alice_id, server_id, "192.0.2.100", "aes128-sha256-x25519",
                               "aes128gcm16");
  c.children.clear();
  c.mediation = true;
  sim::Node& alice = net.add("alice", "10.1.0.10",
                             sim::engine_config({c}, "secret-alice", {alice_id}), "192.0.2.1");
  Actions a;
  REQUIRE(alice.engine->initiate("medsrv", "", net.now(), a, alice.address).ok());
  net.apply(alice, a);
  net.run();
  REQUIRE(jobs.size() == 1);
  CHECK(ms.registry().registrations().empty());
  Actions done;
  ms.complete_key_exchange(jobs[0], jobs[0].compute(), net.now(), done);
  net.apply(server, done);
  net.run();
  CHECK(ms.registry().registrations().count(alice_id) == 1);
  REQUIRE(alice.sas().size() == 1);
  CHECK(alice.sas()[0].state == "ESTABLISHED");
  // The server-reflexive endpoint is the NAT's address, as without deferral.
  auto peers = ms.list_peers(net.now());
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].endpoint.address == *IpAddress::parse("192.0.2.1"));
}

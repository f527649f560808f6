// The mediation server core (mediator/core) over the simulated network: registrations, the
// four-message ME_CONNECT relay, callbacks, replacement, expiry, authorization and limits. The
// peers are ikeme engines with a mediation connection; their ME_CONNECT requests are sent with
// IkeEngine::send_request, and what the server relays is read from their logs.

#include <catch2/catch.hpp>

#include "ike/codec/me_endpoint.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/trust_store.hpp"
#include "ike/sa/proposals.hpp"
#include "mediator/core/mediation_server.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using mediator::Directory;
using mediator::DirectoryEntry;
using mediator::Limits;
using mediator::MediationServer;
using mediator::Refusal;

namespace {

const std::string kServerId = "carol@strongswan.org";
const std::string kAlice = "6cu1UTVw@medsrv.org";
const std::string kBob = "av9oEPMz@medsrv.org";
const std::string kEve = "eve@medsrv.org";

DirectoryEntry psk_entry(const std::string& pseudonym, const std::string& secret,
                         std::vector<std::string> may_connect) {
  DirectoryEntry e;
  e.identity = *Identity::parse(pseudonym);
  e.pseudonym = e.identity.to_string();
  e.psk = Bytes(secret.begin(), secret.end());
  e.may_connect = std::move(may_connect);
  return e;
}

Directory default_directory() {
  return Directory({psk_entry(kAlice, "alice-secret", {"friends"}),
                    psk_entry(kBob, "bob-secret", {kAlice}), psk_entry(kEve, "eve-secret", {})},
                   {{"friends", {kBob}}});
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

EngineConfig client_config(const std::string& pseudonym, const std::string& secret) {
  auto c = sim::psk_connection("medsrv", pseudonym, kServerId, "192.0.2.100",
                               "aes128-sha256-x25519", "aes128gcm16");
  c.children.clear();
  c.mediation = true;
  return sim::engine_config({c}, secret, {pseudonym});
}

struct Fixture {
  sim::Network net;
  crypto::DeterministicRng rng{42};
  std::unique_ptr<MediationServer> ms;
  sim::Node* server = nullptr;

  explicit Fixture(Limits limits = {}, Directory dir = default_directory(),
                   EngineConfig server_engine = server_config()) {
    ms = std::make_unique<MediationServer>(std::move(server_engine), std::move(dir), limits, rng);
    sim::Driver d;
    d.datagram = [this](Endpoint l, Endpoint r, ByteView b, Timestamp now, Actions& out) {
      ms->handle_datagram(l, r, b, now, out);
    };
    d.next_timeout = [this] { return ms->next_timeout(); };
    d.timeout = [this](Timestamp now, Actions& out) { ms->handle_timeout(now, out); };
    server = &net.add_driven("ms", "192.0.2.100", std::move(d));
    net.add("alice", "10.1.0.10", client_config(kAlice, "alice-secret"), "192.0.2.1");
    net.add("bob", "10.2.0.10", client_config(kBob, "bob-secret"), "192.0.2.2");
    net.add("eve", "10.3.0.10", client_config(kEve, "eve-secret"), "192.0.2.3");
  }

  void start(const std::string& name) {
    Actions a;
    auto st = net.node(name).engine->initiate("medsrv", "", net.now(), a, net.node(name).address);
    REQUIRE(st.ok());
    net.apply(net.node(name), a);
    net.run();
  }
  bool registered(const std::string& pseudonym) const {
    return ms->registry().registrations().count(pseudonym) > 0;
  }
  uint64_t spi_of(const std::string& name) {
    auto sas = net.node(name).engine->list_sas();
    REQUIRE(sas.size() == 1);
    REQUIRE(sas.front().state == "ESTABLISHED");
    return sas.front().spi_i;
  }
  // Sends an ME_CONNECT request from `name`'s mediation SA.
  void send(const std::string& name, std::vector<Payload> payloads) {
    Actions a;
    REQUIRE(net.node(name).engine->send_request(spi_of(name), ExchangeType::ME_CONNECT,
                                                std::move(payloads), net.now(), a));
    net.apply(net.node(name), a);
    net.run();
  }
  size_t count(const std::string& name, const std::string& fragment) {
    size_t n = 0;
    for (const auto& l : net.node(name).log)
      if (l.find(fragment) != std::string::npos) ++n;
    return n;
  }
  void clear_logs() {
    for (const char* n : {"alice", "bob", "eve"}) net.node(n).log.clear();
    server->log.clear();
  }
};

Bytes endpoint(const std::string& addr, uint16_t port, EndpointType type) {
  uint32_t prio = type == EndpointType::HOST ? kPriorityHost : kPriorityServerReflexive;
  return encode_me_endpoint(MeEndpoint{prio, type, port, *IpAddress::parse(addr)});
}

Payload idp(const std::string& pseudonym) {
  Identity id = *Identity::parse(pseudonym);
  return make_id(PayloadType::IDp, id.type(), id.data());
}

std::vector<Payload> connect_request(const std::string& to, Bytes cid = {1, 2, 3, 4},
                                     size_t endpoints = 2, bool callback = true) {
  std::vector<Payload> p{make_notify(NotifyType::ME_CONNECTID, cid),
                         make_notify(NotifyType::ME_CONNECTKEY, Bytes(16, 0xAA))};
  if (callback) p.push_back(make_notify(NotifyType::ME_CALLBACK));
  for (size_t i = 0; i < endpoints; ++i)
    p.push_back(
        make_notify(NotifyType::ME_ENDPOINT,
                    endpoint("10.1.0.10", static_cast<uint16_t>(4500 + i), EndpointType::HOST)));
  p.push_back(idp(to));
  return p;
}

std::vector<Payload> connect_response(const std::string& to, Bytes cid = {1, 2, 3, 4}) {
  return {make_notify(NotifyType::ME_CONNECTID, cid),
          make_notify(NotifyType::ME_CONNECTKEY, Bytes(16, 0xBB)),
          make_notify(NotifyType::ME_RESPONSE),
          make_notify(NotifyType::ME_ENDPOINT, endpoint("10.2.0.10", 4500, EndpointType::HOST)),
          make_notify(NotifyType::ME_ENDPOINT,
                      endpoint("192.0.2.2", 1101, EndpointType::SERVER_REFLEXIVE)),
          idp(to)};
}

}  // namespace

TEST_CASE("mediator: registration indexes the pseudonym and reports the server-reflexive endpoint",
          "[mediator]") {
  Fixture f;
  f.start("alice");
  REQUIRE(f.registered(kAlice));
  CHECK(f.net.node("alice").logged("received SERVER_REFLEXIVE 192.0.2.1["));
  auto peers = f.ms->list_peers(f.net.now());
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].pseudonym == kAlice);
  CHECK(peers[0].endpoint.address == *IpAddress::parse("192.0.2.1"));
  CHECK(f.ms->stats().registrations == 1);
}

TEST_CASE("mediator: the four-message ME_CONNECT relay", "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  f.clear_logs();
  f.send("alice", connect_request(kBob));
  // A's request is acknowledged with an empty response and relayed to B with IDp(A).
  CHECK(f.net.node("alice").logged("parsed ME_CONNECT response 2 [ ]"));
  CHECK(f.net.node("bob").logged(
      "parsed ME_CONNECT request 0 [ N(ME_CID) N(ME_CKEY) N(ME_EP) N(ME_EP) IDp ]"));
  CHECK(f.ms->registry().pending_relays() == 1);
  // B answers with ME_RESPONSE; the server acknowledges and relays it to A with IDp(B). alice
  // is no ikeme peer (no Vendor ID), and bob answered at once: the relay waits until 20 ms after
  // alice's own answer, so that strongSwan has taken that in first (Registry::kRelayPacing).
  f.send("bob", connect_response(kAlice));
  CHECK(f.net.node("bob").logged("parsed ME_CONNECT response 2 [ ]"));
  CHECK(f.ms->registry().delayed_relays() == 1);
  CHECK_FALSE(f.net.node("alice").logged("parsed ME_CONNECT request 0"));
  CHECK(f.server->logged("in 20 ms (after its own ME_CONNECT's answer)"));
  f.net.advance(Duration(19));
  CHECK_FALSE(f.net.node("alice").logged("parsed ME_CONNECT request 0"));
  f.net.advance(Duration(1));
  CHECK(f.ms->registry().delayed_relays() == 0);
  CHECK(f.net.node("alice").logged(
      "parsed ME_CONNECT request 0 [ N(ME_R) N(ME_CID) N(ME_CKEY) N(ME_EP) N(ME_EP) IDp ]"));
  CHECK(f.ms->registry().pending_relays() == 0);
  CHECK(f.ms->stats().relays == 1);
  CHECK(f.ms->stats().relayed_responses == 1);
}

TEST_CASE("mediator: the relay to an ikeme peer, or a late one, is not held back", "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  SECTION("an ikeme requester (Vendor ID) takes messages in order") {
    auto request = connect_request(kBob);
    request.push_back(mediator::failure_signal_vendor_id());
    f.send("alice", request);
  }
  SECTION("an answer that comes after the pacing interval") {
    f.send("alice", connect_request(kBob));
    f.net.advance(Duration(25));
  }
  f.clear_logs();
  f.send("bob", connect_response(kAlice));
  CHECK(f.ms->registry().delayed_relays() == 0);
  CHECK(f.net.node("alice").logged("parsed ME_CONNECT request 0 [ N(ME_R)"));
}

TEST_CASE("mediator: offline and unauthorized peers get the same ME_CONNECT_FAILED", "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("eve");
  f.clear_logs();
  f.send("eve", connect_request(kAlice, {9, 9, 9, 9}, 1, false));  // registered, not allowed
  f.send("eve", connect_request("nobody@medsrv.org", {8, 8, 8, 8}, 1, false));  // unknown
  f.send("alice", connect_request(kBob));                                       // allowed, offline
  CHECK(f.count("eve", "parsed ME_CONNECT response 2 [ N(ME_CONN_FAIL) ]") == 1);
  CHECK(f.count("eve", "parsed ME_CONNECT response 3 [ N(ME_CONN_FAIL) ]") == 1);
  CHECK(f.count("alice", "parsed ME_CONNECT response 2 [ N(ME_CONN_FAIL) ]") == 1);
  CHECK(f.ms->stats().refused(Refusal::Unauthorized) == 2);
  CHECK(f.ms->stats().refused(Refusal::Offline) == 1);
  CHECK(f.server->logged("refused (unauthorized): may not reach '" + kAlice + "'"));
  CHECK(f.ms->stats().relays == 0);
}

TEST_CASE("mediator: ME_CALLBACK when the requested peer registers later, and expiry",
          "[mediator]") {
  Fixture f;
  f.start("alice");
  f.send("alice", connect_request(kBob));
  CHECK(f.ms->registry().pending_callbacks() == 1);
  SECTION("bob registers: alice is called back") {
    f.clear_logs();
    f.start("bob");
    CHECK(f.net.node("alice").logged("parsed ME_CONNECT request 0 [ N(ME_CB) IDp ]"));
    CHECK(f.ms->stats().callbacks_sent == 1);
    CHECK(f.ms->registry().pending_callbacks() == 0);
  }
  SECTION("the callback expires") {
    f.net.advance(Limits{}.callback_timeout + Duration(2000));
    CHECK(f.ms->registry().pending_callbacks() == 0);
    CHECK(f.ms->stats().callbacks_expired == 1);
    f.clear_logs();
    f.start("bob");
    CHECK_FALSE(f.net.node("alice").logged("N(ME_CB)"));
  }
}

TEST_CASE("mediator: a new registration replaces the old SA of the same pseudonym", "[mediator]") {
  Fixture f;
  f.start("alice");
  uint32_t first = f.ms->registry().registrations().at(kAlice).sa_id;
  // alice's daemon restarts: a fresh engine, a new SA; the server keeps one registration.
  // Without INITIAL_CONTACT (which would end the old SA anyway), the registry deletes it.
  bool initial_contact = GENERATE(true, false);
  auto cfg = client_config(kAlice, "alice-secret");
  cfg.connections[0].send_initial_contact = initial_contact;
  f.net.node("alice").engine = std::make_unique<IkeEngine>(cfg, *f.net.node("alice").rng);
  f.start("alice");
  REQUIRE(f.registered(kAlice));
  CHECK(f.ms->registry().registrations().at(kAlice).sa_id != first);
  CHECK(f.ms->registry().registrations().size() == 1);
  // The old SA's DELETE goes unanswered (its peer state is gone): it ends after the retransmits.
  f.net.advance(Duration(200000));
  CHECK(f.ms->engine().sa_count() == 1);
  CHECK(f.registered(kAlice));
  CHECK(f.ms->stats().unregistrations == 0);
  CHECK(f.ms->stats().replaced == 1);
  if (!initial_contact)
    CHECK(f.server->logged("registered again in IKE_SA [2], replacing IKE_SA [1]"));
}

TEST_CASE("mediator: incomplete requests get INVALID_SYNTAX", "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  f.clear_logs();
  auto no_key = connect_request(kBob);
  no_key.erase(no_key.begin() + 1);
  f.send("alice", no_key);
  f.send("alice", connect_request(kBob, {1, 2, 3, 4}, 0));  // no endpoints
  CHECK(f.count("alice", "[ N(INVAL_SYN) ]") == 2);
  CHECK(f.ms->stats().refused(Refusal::InvalidSyntax) == 2);
  CHECK(f.ms->stats().relays == 0);
  // The SA survives: a complete request is relayed.
  f.send("alice", connect_request(kBob));
  CHECK(f.ms->stats().relays == 1);
}

TEST_CASE("mediator: limits on endpoints, pending relays and request rate", "[mediator]") {
  Limits limits;
  limits.max_endpoints = 3;
  limits.max_pending_per_peer = 2;
  limits.connects_per_second = 1;
  limits.connects_burst = 4;
  Fixture f(limits);
  f.start("alice");
  f.start("bob");
  f.send("alice", connect_request(kBob, {1, 0, 0, 0}, 4));
  CHECK(f.ms->stats().refused(Refusal::TooManyEndpoints) == 1);
  f.send("alice", connect_request(kBob, {2, 0, 0, 0}));
  f.send("alice", connect_request(kBob, {3, 0, 0, 0}));
  f.send("alice", connect_request(kBob, {4, 0, 0, 0}));
  CHECK(f.ms->stats().relays == 2);
  CHECK(f.ms->stats().refused(Refusal::TooManyPending) == 1);
  f.send("alice", connect_request(kBob, {5, 0, 0, 0}));
  CHECK(f.ms->stats().refused(Refusal::PeerRateLimited) == 1);
  // Unanswered relays expire, freeing the slots.
  f.net.advance(Limits{}.relay_timeout + Duration(2000));
  CHECK(f.ms->registry().pending_relays() == 0);
  CHECK(f.ms->stats().relays_expired == 2);
}

TEST_CASE("mediator: ME_RESPONSE without a relayed request is refused", "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  f.clear_logs();
  f.send("bob", connect_response(kAlice, {7, 7, 7, 7}));
  CHECK(f.net.node("bob").logged("[ N(ME_CONN_FAIL) ]"));
  CHECK_FALSE(f.net.node("alice").logged("parsed ME_CONNECT request"));
  CHECK(f.ms->stats().refused(Refusal::UnexpectedResponse) == 1);
}

TEST_CASE("mediator: CHILD_SA requests and non-mediation IKE SAs are refused", "[mediator]") {
  Fixture f;
  SECTION("no ME_MEDIATION") {
    auto cfg = client_config(kAlice, "alice-secret");
    cfg.connections[0].mediation = false;
    cfg.connections[0].children = sim::psk_connection("x", kAlice, kServerId, "192.0.2.100",
                                                      "aes128-sha256-x25519", "aes128gcm16")
                                      .children;
    f.net.node("alice").engine = std::make_unique<IkeEngine>(cfg, *f.net.node("alice").rng);
    f.start("alice");
    CHECK(f.net.node("alice").logged("NO_PROPOSAL_CHOSEN"));
    CHECK(f.ms->stats().refused(Refusal::NoMediation) == 1);
    CHECK_FALSE(f.registered(kAlice));
  }
  SECTION("a CHILD_SA in IKE_AUTH") {
    auto cfg = client_config(kAlice, "alice-secret");
    cfg.connections[0].children = sim::psk_connection("x", kAlice, kServerId, "192.0.2.100",
                                                      "aes128-sha256-x25519", "aes128gcm16")
                                      .children;
    f.net.node("alice").engine = std::make_unique<IkeEngine>(cfg, *f.net.node("alice").rng);
    f.start("alice");
    CHECK(f.registered(kAlice));
    CHECK(f.server->logged("CHILD_SA refused: mediation connections carry no CHILD_SAs"));
    CHECK(f.net.node("alice").children.empty());
    CHECK(f.ms->stats().refused(Refusal::ChildSa) == 1);
  }
}

TEST_CASE("mediator: per-source IKE_SA_INIT rate limit", "[mediator]") {
  Limits limits;
  limits.inits_per_second = 1;
  limits.inits_burst = 1;
  Fixture f(limits);
  f.start("alice");
  REQUIRE(f.registered(kAlice));
  // A second peer behind the same public address within the same second is dropped.
  f.net.add("mallory", "10.1.0.11", client_config(kEve, "eve-secret"), "192.0.2.1");
  f.start("mallory");
  CHECK(f.ms->stats().refused(Refusal::SourceRateLimited) == 1);
  CHECK_FALSE(f.registered(kEve));
  f.net.advance(Duration(5000));  // its retransmission comes after the bucket refilled
  CHECK(f.registered(kEve));
}

TEST_CASE("mediator: a directory reload closes registrations of removed pseudonyms only",
          "[mediator]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  Actions a;
  f.ms->reload(server_config(), Directory({psk_entry(kAlice, "alice-secret", {})}, {}), Limits{},
               f.net.now(), a);
  f.net.apply(*f.server, a);
  f.net.run();
  CHECK(f.registered(kAlice));
  CHECK_FALSE(f.registered(kBob));
  CHECK(f.ms->stats().directory_removed == 1);
  CHECK(f.net.node("bob").logged("parsed INFORMATIONAL request 0 [ D ]"));
  // alice may no longer reach bob: same answer as for an offline peer.
  f.send("alice", connect_request(kBob));
  CHECK(f.ms->stats().refused(Refusal::Unauthorized) == 1);
}

TEST_CASE("mediator: a pseudonym outside the directory cannot register", "[mediator]") {
  Fixture f;
  f.net.add("zed", "10.4.0.10", client_config("zed@medsrv.org", "zed-secret"), "192.0.2.4");
  f.start("zed");
  CHECK_FALSE(f.registered("zed@medsrv.org"));
  CHECK(f.server->logged("IKE_AUTH refused"));
  CHECK(f.ms->stats().refused(Refusal::AuthFailed) == 1);
  CHECK(f.server->logged("registration of 'zed@medsrv.org' from 192.0.2.4["));
}

namespace {

const std::string kPki = std::string(IKEME_TEST_DATA_DIR) + "/pki/";

std::shared_ptr<const pki::Certificate> test_cert(const std::string& file) {
  auto c = pki::Certificate::load(kPki + file);
  REQUIRE(c.ok());
  return std::make_shared<const pki::Certificate>(std::move(*c));
}

std::shared_ptr<const crypto::PrivateKey> test_key(const std::string& file) {
  auto data = pki::read_file(kPki + file);
  REQUIRE(data.ok());
  auto k = crypto::PrivateKey::load(*data);
  REQUIRE(k.ok());
  return std::make_shared<const crypto::PrivateKey>(std::move(*k));
}

// A peer authenticating its mediation connection with a certificate of the test PKI.
EngineConfig cert_client(const std::string& id, const std::string& cert, const std::string& key,
                         std::shared_ptr<const pki::TrustStore> trust,
                         std::vector<std::string> intermediates = {}) {
  auto cfg = client_config(id, "unused-secret");
  ConnectionConfig& c = cfg.connections[0];
  c.local.method = AuthMethodConfig::Pubkey;
  c.local.cert = test_cert(cert);
  c.local.key = test_key(key);
  for (const auto& i : intermediates) c.local.intermediates.push_back(test_cert(i));
  c.remote.method = AuthMethodConfig::Pubkey;
  c.remote.id = *Identity::parse("sun.ikeme.test");
  cfg.trust_store = std::move(trust);
  cfg.ike_secrets.clear();
  return cfg;
}

}  // namespace

TEST_CASE("mediator: pubkey pseudonyms register with a certificate; unlisted ones cannot",
          "[mediator]") {
  const pki::TimePoint now = pki::utc_time(2027, 6, 1);
  pki::TrustStore store;
  REQUIRE(store.add_ca_file(kPki + "rootCa.pem").ok());
  auto trust = std::make_shared<const pki::TrustStore>(std::move(store));
  // The server authenticates with sun's certificate; moon is listed with auth: pubkey.
  EngineConfig server = server_config();
  server.connections[0].local.method = AuthMethodConfig::Pubkey;
  server.connections[0].local.id = *Identity::parse("sun.ikeme.test");
  server.connections[0].local.cert = test_cert("sunCert.pem");
  server.connections[0].local.key = test_key("sunKey.pem");
  server.connections[0].local.intermediates = {test_cert("interCa.pem")};
  server.trust_store = trust;
  DirectoryEntry moon;
  moon.identity = *Identity::parse("moon.ikeme.test");
  moon.pseudonym = moon.identity.to_string();
  moon.credential = config::CredentialKind::Pubkey;
  Fixture f({}, Directory({moon}, {}), server);
  f.ms->engine().set_wall_clock(now);
  f.net.add("moon", "10.5.0.10",
            cert_client("moon.ikeme.test", "moonCert.pem", "moonKey.pem", trust), "192.0.2.5");
  f.net.add("long", "10.6.0.10",
            cert_client("long.ikeme.test", "longCert.pem", "testKey.pem", trust, {"interCa.pem"}),
            "192.0.2.6");
  for (const char* n : {"moon", "long"}) f.net.node(n).engine->set_wall_clock(now);
  f.start("moon");
  CHECK(f.registered("moon.ikeme.test"));
  f.start("long");
  CHECK_FALSE(f.registered("long.ikeme.test"));
  CHECK(f.ms->stats().refused(Refusal::AuthFailed) == 1);
  // A valid certificate is not enough: only the directory's pubkey pseudonyms have a connection.
  CHECK(f.server->logged("registration of 'long.ikeme.test' from 192.0.2.6["));
  CHECK(f.server->logged("IKE_AUTH refused: peer 'long.ikeme.test' uses "));
  CHECK(f.server->logged("authentication; a pre-shared key is configured"));
}

namespace {

// A completed endpoint exchange between alice (A) and bob (B), each announcing (or not) that it
// takes the failure signal with ikeme's Vendor ID.
void exchange(Fixture& f, bool alice_signals, bool bob_signals, Bytes cid = {1, 2, 3, 4}) {
  const uint64_t before = f.ms->stats().relayed_responses;
  auto request = connect_request(kBob, cid);
  if (alice_signals) request.push_back(mediator::failure_signal_vendor_id());
  f.send("alice", request);
  auto response = connect_response(kAlice, cid);
  if (bob_signals) response.push_back(mediator::failure_signal_vendor_id());
  f.send("bob", response);
  REQUIRE(f.ms->stats().relayed_responses == before + 1);
}

std::vector<Payload> failure(const std::string& to, Bytes cid = {1, 2, 3, 4}) {
  return mediator::failure_request(cid, *idp(to).as<IdPayload>());
}

}  // namespace

TEST_CASE("mediator: ME_CONNECT_FAILED is relayed to the other peer of the transaction",
          "[mediator][failure]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  exchange(f, true, true);
  f.clear_logs();
  SECTION("from the initiator to the responder") {
    f.send("alice", failure(kBob));
    CHECK(f.net.node("alice").logged("parsed ME_CONNECT response 3 [ ]"));
    CHECK(
        f.net.node("bob").logged("parsed ME_CONNECT request 1 [ N(ME_CID) N(ME_CONN_FAIL) IDp ]"));
    CHECK(f.server->logged("relaying ME_CONNECT_FAILED from '" + kAlice + "' to '" + kBob +
                           "' (connect ID 01020304): every pair failed"));
  }
  SECTION("from the responder to the initiator") {
    f.send("bob", failure(kAlice));
    CHECK(f.net.node("bob").logged("parsed ME_CONNECT response 3 [ ]"));
    CHECK(f.net.node("alice").logged(
        "parsed ME_CONNECT request 1 [ N(ME_CID) N(ME_CONN_FAIL) IDp ]"));
  }
  CHECK(f.ms->stats().failure_signals == 1);
  CHECK(f.ms->stats().failures_relayed == 1);
  // One signal per transaction: the other side's (both timed out at once) names nothing now.
  f.send("alice", failure(kBob));
  CHECK(f.ms->stats().refused(Refusal::UnknownTransaction) == 1);
  CHECK(f.ms->stats().failures_relayed == 1);
  CHECK(f.ms->registry().remembered_transactions() == 0);
}

TEST_CASE("mediator: ME_CONNECT_FAILED is withheld from a peer that did not announce it",
          "[mediator][failure]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  exchange(f, true, false);  // bob is, say, strongSwan: no Vendor ID in its ME_RESPONSE
  f.clear_logs();
  f.send("alice", failure(kBob));
  CHECK(f.net.node("alice").logged("parsed ME_CONNECT response 3 [ N(ME_CONN_FAIL) ]"));
  CHECK_FALSE(f.net.node("bob").logged("N(ME_CONN_FAIL)"));
  CHECK(f.ms->stats().failures_withheld == 1);
  CHECK(f.ms->stats().failures_relayed == 0);
  CHECK(f.server->logged("did not announce that it takes it"));
}

TEST_CASE("mediator: ME_CONNECT_FAILED naming no transaction, offline or unauthorized peers",
          "[mediator][failure]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  f.start("eve");
  exchange(f, true, true);
  f.clear_logs();
  // eve was no party to it; a wrong connect ID; a transaction never relayed.
  f.send("eve", failure(kAlice));
  f.send("bob", failure(kAlice, {9, 9, 9, 9}));
  CHECK(f.ms->stats().refused(Refusal::UnknownTransaction) == 2);
  CHECK(f.count("eve", "[ N(ME_CONN_FAIL) ]") == 1);
  CHECK_FALSE(f.net.node("alice").logged("N(ME_CONN_FAIL)"));
  SECTION("the other peer went offline") {
    Actions a;
    f.net.node("alice").engine->terminate_all(f.net.now(), a);
    f.net.apply(f.net.node("alice"), a);
    f.net.run();
    REQUIRE_FALSE(f.registered(kAlice));
    f.send("bob", failure(kAlice));
    CHECK(f.ms->stats().refused(Refusal::Offline) == 1);
  }
  SECTION("a reload removed the authorization") {
    Actions a;
    f.ms->reload(server_config(),
                 Directory({psk_entry(kAlice, "alice-secret", {}),
                            psk_entry(kBob, "bob-secret", {}), psk_entry(kEve, "eve-secret", {})},
                           {}),
                 Limits{}, f.net.now(), a);
    f.send("bob", failure(kAlice));
    CHECK(f.ms->stats().refused(Refusal::Unauthorized) == 1);
  }
  CHECK(f.ms->stats().failures_relayed == 0);
  CHECK(f.ms->stats().failure_signals == 3);
}

TEST_CASE("mediator: ME_CONNECT_FAILED counts against the ME_CONNECT rate limit",
          "[mediator][failure]") {
  Limits limits;
  limits.connects_per_second = 0.01;
  limits.connects_burst = 1;
  Fixture f(limits);
  f.start("alice");
  f.start("bob");
  exchange(f, true, true);  // takes alice's only token
  f.send("alice", failure(kBob));
  CHECK(f.ms->stats().refused(Refusal::PeerRateLimited) == 1);
  CHECK(f.ms->stats().failures_relayed == 0);
  CHECK_FALSE(f.net.node("bob").logged("N(ME_CONN_FAIL)"));
}

TEST_CASE("mediator: remembered transactions expire", "[mediator][failure]") {
  Fixture f;
  f.start("alice");
  f.start("bob");
  exchange(f, true, false);
  CHECK(f.ms->registry().remembered_transactions() == 1);
  f.net.advance(Duration(125000));
  CHECK(f.ms->registry().remembered_transactions() == 0);
  exchange(f, false, false, {5, 5, 5, 5});  // neither takes a signal: nothing to remember
  CHECK(f.ms->registry().remembered_transactions() == 0);
}

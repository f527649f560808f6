// The IKE engine end to end over a simulated network: two ikeme engines negotiate IKE SAs and
// CHILD_SAs with PSK, through loss, NAT, cookies, INVALID_KE_PAYLOAD, DPD and DELETE.

#include <catch2/catch.hpp>

#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

constexpr const char* kPsk = "a shared secret of some length";

struct Pair {
  Network net;
  Node* a;  // initiator, 192.0.2.1 (or behind a NAT)
  Node* b;  // responder, 192.0.2.2
};

std::unique_ptr<Pair> make_pair(const std::string& ike_a, const std::string& esp_a,
                                const std::string& ike_b, const std::string& esp_b,
                                bool nat = false) {
  auto p = std::make_unique<Pair>();
  std::string a_addr = nat ? "10.1.0.10" : "192.0.2.1";
  auto ca =
      psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2", ike_a, esp_a);
  auto cb = psk_connection("home", "bob@example.org", "alice@example.org", "", ike_b, esp_b);
  p->a = &p->net.add("alice", a_addr,
                     engine_config({ca}, kPsk, {"alice@example.org", "bob@example.org"}),
                     nat ? std::optional<std::string>("198.51.100.1") : std::nullopt);
  p->b = &p->net.add("bob", "192.0.2.2",
                     engine_config({cb}, kPsk, {"alice@example.org", "bob@example.org"}));
  return p;
}

void initiate(Pair& p) {
  Actions a;
  REQUIRE(p.a->engine->initiate("home", "", p.net.now(), a, p.a->address).ok());
  p.net.apply(*p.a, a);
  p.net.run();
}

const ChildSaEvent* installed(const Node& n) {
  for (const auto& c : n.children)
    if (c.kind == ChildSaEvent::Kind::Installed) return &c;
  return nullptr;
}

void require_established_with_child(Pair& p) {
  INFO("alice log:\n"
       << [&] {
            std::string s;
            for (auto& l : p.a->log) s += l + "\n";
            return s;
          }());
  INFO("bob log:\n"
       << [&] {
            std::string s;
            for (auto& l : p.b->log) s += l + "\n";
            return s;
          }());
  auto sa_a = p.a->sas(), sa_b = p.b->sas();
  REQUIRE(sa_a.size() == 1);
  REQUIRE(sa_b.size() == 1);
  CHECK(sa_a[0].state == "ESTABLISHED");
  CHECK(sa_b[0].state == "ESTABLISHED");
  CHECK(sa_a[0].spi_i == sa_b[0].spi_i);
  CHECK(sa_a[0].spi_r == sa_b[0].spi_r);
  CHECK(sa_a[0].algorithms == sa_b[0].algorithms);
  CHECK(sa_a[0].remote_id == "bob@example.org");
  CHECK(sa_b[0].remote_id == "alice@example.org");
  const ChildSaEvent* ca = installed(*p.a);
  const ChildSaEvent* cb = installed(*p.b);
  REQUIRE(ca);
  REQUIRE(cb);
  CHECK(ca->params.spi_in == cb->params.spi_out);
  CHECK(ca->params.spi_out == cb->params.spi_in);
  CHECK(ca->params.encr_key_out == cb->params.encr_key_in);
  CHECK(ca->params.encr_key_in == cb->params.encr_key_out);
  CHECK(ca->params.integ_key_out == cb->params.integ_key_in);
  CHECK(ca->params.encr_key_out != ca->params.encr_key_in);
  CHECK_FALSE(ca->params.encr_key_out.empty());
  CHECK(sa_a[0].children.size() == 1);
  CHECK(sa_b[0].children.size() == 1);
}

}  // namespace

TEST_CASE("PSK IKE SA with a CHILD_SA for each proposal set", "[sa][sim]") {
  const char* const sets[][2] = {
      {"aes128-sha256-x25519", "aes128gcm16-x25519"},
      {"aes256gcm16-prfsha384-ecp384", "aes256gcm16-ecp384"},
      {"aes256-sha512-modp3072", "aes256-sha512-modp3072"},
      {"chacha20poly1305-prfsha256-x25519", "chacha20poly1305"},
      {"aes128-sha256-ecp256", "aes128-sha256"},
  };
  for (const auto& s : sets) {
    INFO(s[0] << " / " << s[1]);
    auto p = make_pair(s[0], s[1], s[0], s[1]);
    initiate(*p);
    require_established_with_child(*p);
    auto child = installed(*p->a)->params;
    auto esp = parse_proposal(s[1], ProtocolId::ESP);
    CHECK(child.algorithms.encr == static_cast<EncrId>(*transform_of(*esp, TransformType::ENCR)));
    CHECK_FALSE(child.udp_encapsulation);
    CHECK(p->net.delivered() == 4);  // IKE_SA_INIT and IKE_AUTH, nothing more
  }
}

TEST_CASE("the responder narrows traffic selectors, or refuses disjoint ones", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  // alice asks for 10.1.0.0/16 behind bob; bob grants only 10.1.0.0/24.
  auto wide = parse_traffic_selector("10.1.0.0/16");
  auto narrow_ts = parse_traffic_selector("10.1.0.0/24");
  auto ca = p->a->engine->config();
  ca.connections[0].children[0].remote_ts = {**wide};
  p->a->engine->reload(ca);
  auto cb = p->b->engine->config();
  cb.connections[0].children[0].local_ts = {**narrow_ts};
  p->b->engine->reload(cb);
  initiate(*p);
  require_established_with_child(*p);
  CHECK(to_string(installed(*p->a)->params.remote_ts) == "10.1.0.0/24");
  CHECK(to_string(installed(*p->b)->params.local_ts) == "10.1.0.0/24");

  auto q = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cq = q->b->engine->config();
  cq.connections[0].children[0].local_ts = {**parse_traffic_selector("172.16.0.0/12")};
  cq.connections[0].children[0].remote_ts = {**parse_traffic_selector("172.16.0.0/12")};
  q->b->engine->reload(cq);
  initiate(*q);
  REQUIRE(q->a->sas().size() == 1);
  CHECK(q->a->sas()[0].state == "ESTABLISHED");
  CHECK(q->a->sas()[0].children.empty());
  CHECK(q->a->logged("not created: peer answered TS_UNACCEPTABLE"));
  CHECK(q->b->logged("no acceptable traffic selectors found"));
}

TEST_CASE("INVALID_KE_PAYLOAD makes the initiator retry with the requested group", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519-ecp256", "aes128gcm16", "aes128-sha256-ecp256",
                     "aes128gcm16");
  initiate(*p);
  require_established_with_child(*p);
  CHECK(p->a->logged("peer didn't accept DH group CURVE_25519, it requested ECP_256"));
  CHECK(p->b->logged("refusing IKE_SA_INIT"));
  // The responder logs each IKE_SA_INIT request it takes up, the refused one included.
  CHECK(p->b->logged("parsed IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP)"));
  CHECK(p->a->sas()[0].algorithms.find("ECP_256") != std::string::npos);
}

TEST_CASE("no common proposal fails cleanly on both sides", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes256gcm16-prfsha384-ecp384",
                     "aes128gcm16");
  initiate(*p);
  CHECK(p->a->sas().empty());
  CHECK(p->b->sas().empty());
  CHECK(p->a->logged("peer answered IKE_SA_INIT with NO_PROPOSAL_CHOSEN"));
  CHECK(p->b->logged("no acceptable proposal"));
  CHECK(p->a->engine->stats().ike_failed == 1);
}

TEST_CASE("a wrong pre-shared key is refused with AUTHENTICATION_FAILED", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cb = p->b->engine->config();
  cb.ike_secrets[0].secret = Bytes{'w', 'r', 'o', 'n', 'g'};
  p->b->engine->reload(cb);
  initiate(*p);
  CHECK(p->a->sas().empty());
  CHECK(p->b->sas().empty());
  CHECK(p->b->logged("pre-shared key authentication of 'alice@example.org' failed"));
  CHECK(p->a->logged("peer answered IKE_AUTH with AUTHENTICATION_FAILED"));
  CHECK(p->a->children.empty());
  CHECK(p->b->children.empty());
}

TEST_CASE("an unknown peer identity is refused", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cb = p->b->engine->config();
  cb.connections[0].remote.id = *Identity::parse("carol@example.org");
  p->b->engine->reload(cb);
  initiate(*p);
  CHECK(p->b->sas().empty());
  CHECK(p->b->logged("no connection matches peer identity 'alice@example.org'"));
}

TEST_CASE("lost messages are retransmitted and duplicates answered from the cache", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  int auth_responses_dropped = 0;
  p->net.drop = [&](const InFlight& d) {
    // Drop bob's first IKE_AUTH response: alice retransmits, bob answers from its cache.
    if (d.sender == "bob" && d.data.size() > 4 && d.data.size() < 400 &&
        auth_responses_dropped == 0 && p->b->sas().size() == 1 &&
        p->b->sas()[0].state == "ESTABLISHED") {
      ++auth_responses_dropped;
      return true;
    }
    return false;
  };
  initiate(*p);
  CHECK(auth_responses_dropped == 1);
  CHECK(p->a->sas()[0].state == "CONNECTING");
  p->net.advance(std::chrono::seconds(5));
  require_established_with_child(*p);
  CHECK(p->a->logged("retransmit 1 of request with message ID 1"));
  CHECK(p->b->logged("received retransmit of request with ID 1, retransmitting response"));
  CHECK(p->b->children.size() == 1);  // installed once, not twice
}

TEST_CASE("an unreachable responder makes the initiator give up after its retransmits",
          "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  p->net.drop = [](const InFlight& d) { return d.sender == "alice"; };
  initiate(*p);
  p->net.advance(std::chrono::seconds(100));
  CHECK_FALSE(p->a->sas().empty());  // 4 + 7.2 + 13 + 23.3 + 42 s = 89.5 s of retransmits so far
  p->net.advance(std::chrono::seconds(100));
  CHECK(p->a->sas().empty());
  CHECK(p->a->logged("giving up after 5 retransmits of IKE_SA_INIT request 0"));
  size_t sends = p->a->sent.size();
  CHECK(sends == 6);
}

TEST_CASE("the responder demands a cookie above its half-open threshold", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cb = p->b->engine->config();
  cb.cookie_threshold = 0;  // every IKE_SA_INIT needs a cookie
  p->b->engine->reload(cb);
  initiate(*p);
  require_established_with_child(*p);
  CHECK(p->b->engine->stats().cookies_sent == 1);
  CHECK(p->a->logged("received COOKIE, restarting IKE_SA_INIT with it"));
  // The responder logs the request it accepted, COOKIE first.
  CHECK(p->b->logged("parsed IKE_SA_INIT request 0 [ N(COOKIE) SA KE No"));
}

TEST_CASE("behind a NAT both sides move to port 4500 and encapsulate ESP", "[sa][sim]") {
  auto p =
      make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16", true);
  // In tunnel mode a NAT'ed peer's inner address must be configured (like the capture's
  // remote_ts = 10.1.0.10): "dynamic" would mean the NAT's public address.
  auto cb = p->b->engine->config();
  cb.connections[0].children[0].remote_ts = {**parse_traffic_selector("10.1.0.10")};
  p->b->engine->reload(cb);
  initiate(*p);
  require_established_with_child(*p);
  auto a = p->a->sas()[0], b = p->b->sas()[0];
  CHECK(a.nat_local);
  CHECK_FALSE(a.nat_remote);
  CHECK(b.nat_remote);
  CHECK_FALSE(b.nat_local);
  CHECK(a.local.port == 4500);
  CHECK(a.remote.port == 4500);
  CHECK(b.local.port == 4500);
  CHECK(b.remote.address.to_string() == "198.51.100.1");
  CHECK(installed(*p->a)->params.udp_encapsulation);
  CHECK(installed(*p->b)->params.udp_encapsulation);
  // IKE_AUTH went out on 4500 behind the non-ESP marker.
  const auto& auth = p->a->sent.back();
  CHECK(auth.from.port == 4500);
  CHECK(Bytes(auth.data.begin(), auth.data.begin() + 4) == Bytes{0, 0, 0, 0});
  // The NAT'ed side keeps its mapping alive.
  size_t before = p->a->sent.size();
  p->net.advance(std::chrono::seconds(21));
  REQUIRE(p->a->sent.size() == before + 1);
  CHECK(p->a->sent.back().data == Bytes{0xFF});
}

TEST_CASE("liveness checks keep a live peer and detect a dead one", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto ca = p->a->engine->config();
  ca.connections[0].dpd_delay = std::chrono::seconds(10);
  ca.connections[0].dpd_timeout = std::chrono::seconds(30);
  p->a->engine->reload(ca);
  initiate(*p);
  require_established_with_child(*p);
  p->net.advance(std::chrono::seconds(11));
  CHECK(p->a->logged("sending DPD request"));
  CHECK(p->b->logged("parsed INFORMATIONAL request 2 [ ]"));
  CHECK(p->a->sas().size() == 1);
  p->net.drop = [](const InFlight& d) { return d.sender == "bob"; };  // bob goes silent
  p->net.advance(std::chrono::seconds(45));
  CHECK(p->a->sas().empty());
  CHECK(p->a->logged("liveness check timed out after 30 s, peer is dead"));
  CHECK(p->a->children.back().kind == ChildSaEvent::Kind::Deleted);
}

TEST_CASE("terminate deletes the IKE SA and its CHILD_SAs on both sides", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  initiate(*p);
  require_established_with_child(*p);
  Actions a;
  REQUIRE(p->b->engine->terminate("home", 0, p->net.now(), a).ok());
  p->net.apply(*p->b, a);
  p->net.run();
  CHECK(p->a->sas().empty());
  CHECK(p->b->sas().empty());
  CHECK(p->a->children.back().kind == ChildSaEvent::Kind::Deleted);
  CHECK(p->b->children.back().kind == ChildSaEvent::Kind::Deleted);
  CHECK(p->a->logged("received DELETE for IKE_SA home"));
  CHECK_FALSE(p->b->engine->terminate("home", 0, p->net.now(), a).ok());
}

TEST_CASE("large IKE_AUTH messages are fragmented and reassembled", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  for (Node* n : {p->a, p->b}) {
    auto c = n->engine->config();
    c.fragment_size = 200;
    n->engine->reload(c);
  }
  initiate(*p);
  require_established_with_child(*p);
  CHECK(p->a->logged("fragments)"));
  CHECK(p->b->logged("reassembled"));
  // IKE_SA_INIT cannot be fragmented; every later message fits the limit.
  REQUIRE(p->a->sent.size() > 2);
  for (size_t i = 1; i < p->a->sent.size(); ++i) CHECK(p->a->sent[i].data.size() <= 200);
}

TEST_CASE("engine rejects unknown connections and children", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  Actions a;
  auto r = p->a->engine->initiate("nope", "", p->net.now(), a);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "no connection named 'nope'");
  auto c = p->a->engine->initiate("home", "nochild", p->net.now(), a);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error() == "connection 'home' has no child 'nochild'");
  auto resp = p->b->engine->initiate("home", "", p->net.now(), a);
  REQUIRE_FALSE(resp.ok());
  CHECK(resp.error() == "connection 'home' has no remote_addrs to initiate to");
}

TEST_CASE("keyingtries retries a failed setup, then gives up", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto ca = p->a->engine->config();
  ca.connections[0].keyingtries = 3;
  ca.retransmit.tries = 1;
  ca.retransmit.timeout = std::chrono::seconds(1);
  p->a->engine->reload(ca);
  p->net.drop = [](const InFlight& d) { return d.sender == "bob"; };
  initiate(*p);
  p->net.advance(std::chrono::seconds(3));
  CHECK(p->a->logged("scheduling keying attempt 2 of 3"));
  p->net.drop = nullptr;  // bob becomes reachable: attempt 2 succeeds
  p->net.advance(std::chrono::seconds(5));
  CHECK(p->b->sas().size() == 2);  // attempt 1 is still half-open at bob...
  p->net.advance(std::chrono::seconds(30));
  require_established_with_child(*p);  // ...until its half-open timeout
  CHECK(p->b->logged("half-open IKE SA timed out after 30 s"));
  CHECK(p->a->engine->stats().retries == 1);

  auto q = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cq = q->a->engine->config();
  cq.connections[0].keyingtries = 2;
  cq.retransmit.tries = 0;
  q->a->engine->reload(cq);
  q->net.drop = [](const InFlight& d) { return d.sender == "bob"; };
  initiate(*q);
  q->net.advance(std::chrono::seconds(30));
  CHECK(q->a->logged("giving up after 2 keying attempts"));
  CHECK(q->a->sas().empty());
}

TEST_CASE("dpd_action=restart re-creates the tunnel after the peer was lost", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto ca = p->a->engine->config();
  ca.connections[0].dpd_delay = std::chrono::seconds(5);
  ca.connections[0].dpd_timeout = std::chrono::seconds(10);
  ca.connections[0].children[0].dpd_action = DpdAction::Restart;
  p->a->engine->reload(ca);
  initiate(*p);
  require_established_with_child(*p);
  uint64_t first_spi = p->a->sas()[0].spi_i;
  // bob restarts and forgets everything: alice's liveness check goes unanswered.
  auto cb = p->b->engine->config();
  p->b->engine = std::make_unique<IkeEngine>(cb, *p->b->rng);
  p->net.advance(std::chrono::seconds(20));
  CHECK(p->a->logged("restarting CHILD_SA home after the peer was lost (dpd_action=restart)"));
  REQUIRE(p->a->sas().size() == 1);
  CHECK(p->a->sas()[0].state == "ESTABLISHED");
  CHECK(p->a->sas()[0].spi_i != first_spi);
  CHECK(p->b->sas().size() == 1);
}

TEST_CASE("INITIAL_CONTACT replaces the peer's old IKE SA", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  initiate(*p);
  require_established_with_child(*p);
  // alice restarts (loses her state) and connects again.
  auto ca = p->a->engine->config();
  p->a->engine = std::make_unique<IkeEngine>(ca, *p->a->rng);
  initiate(*p);
  REQUIRE(p->b->sas().size() == 1);
  CHECK(p->b->sas()[0].state == "ESTABLISHED");
  CHECK(p->b->logged("sent INITIAL_CONTACT"));
  CHECK(p->b->children.size() == 3);  // installed, deleted with the old SA, installed again
}

TEST_CASE("a request for an unknown IKE SA is answered with INVALID_IKE_SPI", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  initiate(*p);
  require_established_with_child(*p);
  auto cb = p->b->engine->config();
  p->b->engine = std::make_unique<IkeEngine>(cb, *p->b->rng);  // bob forgets the SA
  Actions a;
  REQUIRE(p->a->engine->terminate("home", 0, p->net.now(), a).ok());
  p->net.apply(*p->a, a);
  p->net.run();
  CHECK(p->b->logged("INFORMATIONAL request 2 for unknown IKE SA"));
  CHECK(p->b->engine->stats().unknown_spi == 1);
  REQUIRE(p->b->sent.size() >= 1);
  auto reply = parse_message(ByteView(p->b->sent.back().data));
  REQUIRE(reply.ok());
  CHECK(reply->header.response());
  CHECK(reply->find_notify(NotifyType::INVALID_IKE_SPI) != nullptr);
}

TEST_CASE("transport mode is negotiated when both sides want it", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  for (Node* n : {p->a, p->b}) {
    auto c = n->engine->config();
    c.connections[0].children[0].mode = ChildMode::Transport;
    n->engine->reload(c);
  }
  initiate(*p);
  require_established_with_child(*p);
  CHECK(installed(*p->a)->params.mode == ChildMode::Transport);
  CHECK(installed(*p->b)->params.mode == ChildMode::Transport);
}

TEST_CASE("a NAT'ed peer cannot claim arbitrary inner addresses with dynamic selectors",
          "[sa][sim]") {
  auto p =
      make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16", true);
  initiate(*p);
  REQUIRE(p->b->sas().size() == 1);
  CHECK(p->b->sas()[0].children.empty());
  CHECK(p->b->logged("no acceptable traffic selectors found for 10.1.0.10/32 === 192.0.2.2/32"));
  CHECK(p->a->logged("not created: peer answered TS_UNACCEPTABLE"));
}

TEST_CASE("the initiator tells the responder when it refuses the responder's authentication",
          "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  // bob identifies by his address (no local id configured); alice insists on bob@example.org.
  auto cb = p->b->engine->config();
  cb.connections[0].local.id = Identity::any();
  p->b->engine->reload(cb);
  initiate(*p);
  CHECK(
      p->a->logged("IKE_AUTH response refused: peer identity '192.0.2.2' is not the configured "
                   "'bob@example.org'"));
  CHECK(p->a->sas().empty());
  // bob had established and installed; the notice makes it tear down at once.
  CHECK(p->b->logged("peer refused our authentication (AUTHENTICATION_FAILED)"));
  CHECK(p->b->sas().empty());
  REQUIRE_FALSE(p->b->children.empty());
  CHECK(p->b->children.back().kind == ChildSaEvent::Kind::Deleted);
}

TEST_CASE("towards a peer port other than 500 the initiator uses the NAT-T port and marker",
          "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto ca = p->a->engine->config();
  ca.connections[0].remote_port = 4500;
  p->a->engine->reload(ca);
  initiate(*p);
  require_established_with_child(*p);
  const auto& first = p->a->sent.front();
  CHECK(first.from.port == 4500);
  CHECK(first.to.port == 4500);
  CHECK(Bytes(first.data.begin(), first.data.begin() + 4) == Bytes{0, 0, 0, 0});
}

TEST_CASE("initiating without any local address is refused", "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes128gcm16", "aes128-sha256-x25519", "aes128gcm16");
  Actions a;
  auto r = p->a->engine->initiate("home", "", p->net.now(), a);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "connection 'home': no local address to initiate from (set local_addrs)");
}

TEST_CASE("the responder tries every fitting child config until an ESP proposal matches",
          "[sa][sim]") {
  auto p = make_pair("aes128-sha256-x25519", "aes256gcm16", "aes128-sha256-x25519", "aes128gcm16");
  auto cb = p->b->engine->config();
  ChildConfig second = cb.connections[0].children[0];
  second.name = "second";
  second.esp_proposals = {*parse_proposal("aes256gcm16", ProtocolId::ESP)};
  cb.connections[0].children.push_back(second);
  p->b->engine->reload(cb);
  initiate(*p);
  require_established_with_child(*p);
  CHECK(p->b->logged("CHILD_SA config home fits the traffic selectors but no ESP proposal"));
  CHECK(installed(*p->b)->params.child == "second");
}

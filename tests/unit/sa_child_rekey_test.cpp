// CHILD_SA rekeying with CREATE_CHILD_SA (ike/sa/ike_sa_rekey.cpp) between two ikeme engines on
// the simulated network: either end rekeys, with and without PFS, INVALID_KE_PAYLOAD, refusals,
// both ends at once (RFC 7296 §2.8.1), a request for a CHILD_SA that is gone, and the jittered
// soft lifetime.

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

#include "ike/sa/proposals.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

constexpr const char* kPsk = "a shared secret of some length";

struct Pair {
  Network net;
  Node* a = nullptr;  // IKE initiator, 192.0.2.1
  Node* b = nullptr;  // IKE responder, 192.0.2.2
};

std::unique_ptr<Pair> established_pair(const std::string& esp_a, const std::string& esp_b,
                                       uint64_t seed_a = 0, uint64_t seed_b = 0) {
  auto p = std::make_unique<Pair>();
  const std::string ike = "aes128-sha256-x25519";
  auto ca = psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2", ike, esp_a);
  auto cb = psk_connection("home", "bob@example.org", "alice@example.org", "", ike, esp_b);
  const std::vector<std::string> ids = {"alice@example.org", "bob@example.org"};
  p->a = &p->net.add("alice", "192.0.2.1", engine_config({ca}, kPsk, ids), std::nullopt, seed_a);
  p->b = &p->net.add("bob", "192.0.2.2", engine_config({cb}, kPsk, ids), std::nullopt, seed_b);
  Actions a;
  REQUIRE(p->a->engine->initiate("home", "", p->net.now(), a, p->a->address).ok());
  p->net.apply(*p->a, a);
  p->net.run();
  REQUIRE(p->a->sas().size() == 1);
  REQUIRE(p->a->sas()[0].state == "ESTABLISHED");
  REQUIRE(p->a->sas()[0].children.size() == 1);
  REQUIRE(p->b->sas()[0].children.size() == 1);
  return p;
}

std::string logs(const Node& n) {
  std::string s;
  for (const auto& l : n.log) s += l + "\n";
  return s;
}

// The CHILD_SAs a node's events leave installed (Installed and not Deleted since).
std::vector<ChildSaParams> live_children(const Node& n) {
  std::vector<ChildSaParams> live;
  for (const ChildSaEvent& e : n.children) {
    if (e.kind == ChildSaEvent::Kind::Installed) {
      live.push_back(e.params);
    } else {
      std::erase_if(live,
                    [&](const ChildSaParams& c) { return c.unique_id == e.params.unique_id; });
    }
  }
  return live;
}

size_t count(const Node& n, ChildSaEvent::Kind kind) {
  return std::count_if(n.children.begin(), n.children.end(),
                       [&](const ChildSaEvent& e) { return e.kind == kind; });
}

Status<std::string> rekey(Pair& p, Node& n, uint32_t unique_id) {
  Actions a;
  auto st = n.engine->rekey_child(unique_id, p.net.now(), a);
  p.net.apply(n, a);
  return st;
}

// Both ends hold exactly one CHILD_SA, the same one seen from either side, and it is not `old_a`.
void require_one_matching_child(const Pair& p, uint32_t old_a_id) {
  INFO("alice log:\n" << logs(*p.a) << "bob log:\n" << logs(*p.b));
  auto la = live_children(*p.a), lb = live_children(*p.b);
  REQUIRE(la.size() == 1);
  REQUIRE(lb.size() == 1);
  CHECK(la[0].unique_id != old_a_id);
  CHECK(la[0].spi_in == lb[0].spi_out);
  CHECK(la[0].spi_out == lb[0].spi_in);
  CHECK(la[0].encr_key_out == lb[0].encr_key_in);
  CHECK(la[0].encr_key_in == lb[0].encr_key_out);
  CHECK(la[0].integ_key_out == lb[0].integ_key_in);
  CHECK(la[0].integ_key_in == lb[0].integ_key_out);
  CHECK(la[0].encr_key_out != la[0].encr_key_in);
  auto sa = p.a->sas(), sb = p.b->sas();
  REQUIRE(sa.size() == 1);
  REQUIRE(sb.size() == 1);
  REQUIRE(sa[0].children.size() == 1);
  REQUIRE(sb[0].children.size() == 1);
  CHECK(sa[0].children[0].unique_id == la[0].unique_id);
  CHECK(sa[0].children[0].state == "INSTALLED");
  CHECK(sb[0].children[0].state == "INSTALLED");
}

uint8_t exchange_of(const InFlight& d) {
  return d.data.size() > 18 ? d.data[18] : 0;
}
bool is_response(const InFlight& d) {
  return d.data.size() > 19 && (d.data[19] & 0x20) != 0;
}
constexpr uint8_t kCreateChildSa = 36, kInformational = 37;

// Makes the network lose the first datagram `sender` sends of `exchange` (request or response);
// returns the flag that says whether it happened.
std::shared_ptr<bool> lose_first(Network& net, const std::string& sender, uint8_t exchange,
                                 bool response) {
  auto lost = std::make_shared<bool>(false);
  net.drop = [=](const InFlight& d) {
    if (*lost || d.sender != sender || exchange_of(d) != exchange || is_response(d) != response)
      return false;
    return *lost = true;
  };
  return lost;
}

}  // namespace

TEST_CASE("the IKE initiator rekeys its CHILD_SA; the old one is deleted on both ends",
          "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16", "aes128gcm16");
  const ChildSaParams old_a = live_children(*p->a).at(0);
  const ChildSaParams old_b = live_children(*p->b).at(0);
  const auto ike_before = p->a->sas()[0];
  const size_t before = p->net.delivered();
  REQUIRE(rekey(*p, *p->a, old_a.unique_id).ok());
  // The second report of the same soft expiry (XFRM: one per direction) changes nothing.
  CHECK_FALSE(rekey(*p, *p->a, old_a.unique_id).ok());
  CHECK(p->a->sas()[0].children[0].state == "REKEYING");
  p->net.run();
  require_one_matching_child(*p, old_a.unique_id);
  // CREATE_CHILD_SA and the INFORMATIONAL with the DELETE: four datagrams.
  CHECK(p->net.delivered() - before == 4);
  const ChildSaParams now_a = live_children(*p->a).at(0);
  CHECK(now_a.spi_in != old_a.spi_in);
  CHECK(now_a.encr_key_out != old_a.encr_key_out);
  CHECK(now_a.child == old_a.child);
  CHECK(now_a.local_ts == old_a.local_ts);
  CHECK(now_a.remote_ts == old_a.remote_ts);
  CHECK(count(*p->a, ChildSaEvent::Kind::Deleted) == 1);
  CHECK(count(*p->b, ChildSaEvent::Kind::Deleted) == 1);
  CHECK(p->a->logged("rekeying CHILD_SA home{" + std::to_string(old_a.unique_id) + "}"));
  CHECK(p->a->logged("rekeyed as home{"));
  CHECK(p->b->logged("CHILD_SA home{" + std::to_string(old_b.unique_id) +
                     "} rekeyed by the peer as home{"));
  CHECK(p->b->logged("CHILD_SA home{" + std::to_string(old_b.unique_id) + "} closed"));
  // A rekeying is not a reauthentication: the same IKE SA.
  const auto ike_after = p->a->sas()[0];
  CHECK(ike_after.id == ike_before.id);
  CHECK(ike_after.spi_i == ike_before.spi_i);
  CHECK(ike_after.spi_r == ike_before.spi_r);
  // And again, a second generation.
  REQUIRE(rekey(*p, *p->a, now_a.unique_id).ok());
  p->net.run();
  require_one_matching_child(*p, now_a.unique_id);
  CHECK(count(*p->a, ChildSaEvent::Kind::Installed) == 3);
}

TEST_CASE("the IKE responder rekeys; keys follow the exchange's initiator", "[sa][sim][rekey]") {
  auto p = established_pair("aes256-sha256", "aes256-sha256");
  const ChildSaParams old_b = live_children(*p->b).at(0);
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  REQUIRE(rekey(*p, *p->b, old_b.unique_id).ok());
  p->net.run();
  require_one_matching_child(*p, old_a);
  const ChildSaParams now_b = live_children(*p->b).at(0);
  CHECK(now_b.algorithms.integ == IntegId::HMAC_SHA2_256_128);
  CHECK_FALSE(now_b.integ_key_out.empty());
  CHECK(p->b->logged("rekeyed as home{"));
  CHECK(p->a->logged("rekeyed by the peer as home{"));
}

TEST_CASE("rekeying with PFS sends KE payloads and mixes in the DH secret", "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16-x25519", "aes128gcm16-x25519");
  // IKE_AUTH created the first CHILD_SA without the group (RFC 7296 §1.2).
  CHECK(p->a->sas()[0].children[0].algorithms.find("CURVE_25519") == std::string::npos);
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  REQUIRE(rekey(*p, *p->a, old_a).ok());
  p->net.run();
  require_one_matching_child(*p, old_a);
  CHECK(p->a->logged("with PFS group CURVE_25519"));
  CHECK(p->a->sas()[0].children[0].algorithms.find("CURVE_25519") != std::string::npos);
  CHECK(p->b->sas()[0].children[0].algorithms.find("CURVE_25519") != std::string::npos);
}

TEST_CASE("INVALID_KE_PAYLOAD: the rekeying is retried with the group the peer wants",
          "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16-x25519-ecp256", "aes128gcm16-ecp256");
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  REQUIRE(rekey(*p, *p->a, old_a).ok());
  p->net.run();
  require_one_matching_child(*p, old_a);
  CHECK(p->b->logged("answering INVALID_KE_PAYLOAD"));
  CHECK(p->a->logged("the peer wants group ECP_256, retrying"));
  CHECK(p->a->sas()[0].children[0].algorithms.find("ECP_256") != std::string::npos);
}

TEST_CASE("a refused rekeying leaves the old CHILD_SA as it was", "[sa][sim][rekey]") {
  // alice insists on PFS, bob has no group configured: no proposal matches.
  auto p = established_pair("aes128gcm16-x25519", "aes128gcm16");
  const ChildSaParams old_a = live_children(*p->a).at(0);
  REQUIRE(rekey(*p, *p->a, old_a.unique_id).ok());
  p->net.run();
  INFO(logs(*p->a) << logs(*p->b));
  CHECK(
      p->a->logged("failed: the peer answered NO_PROPOSAL_CHOSEN; it lives on until its "
                   "life_time"));
  auto la = live_children(*p->a);
  REQUIRE(la.size() == 1);
  CHECK(la[0].unique_id == old_a.unique_id);
  CHECK(live_children(*p->b).size() == 1);
  CHECK(p->a->sas()[0].children[0].state == "INSTALLED");
  // It can be tried again (and fails the same way), it is not stuck "rekeying".
  CHECK(rekey(*p, *p->a, old_a.unique_id).ok());
}

TEST_CASE("both ends rekey the same CHILD_SA at once: one new CHILD_SA survives",
          "[sa][sim][rekey]") {
  // Different seeds give different nonces, so either end's exchange may hold the lowest one.
  bool alice_redundant = false, bob_redundant = false;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    auto p = established_pair("aes128gcm16", "aes128gcm16", seed, seed + 100);
    const uint32_t old_a = live_children(*p->a).at(0).unique_id;
    const uint32_t old_b = live_children(*p->b).at(0).unique_id;
    REQUIRE(rekey(*p, *p->a, old_a).ok());
    REQUIRE(rekey(*p, *p->b, old_b).ok());
    p->net.run();
    require_one_matching_child(*p, old_a);
    const bool a_red = p->a->logged("has the lowest nonce and is redundant");
    const bool b_red = p->b->logged("has the lowest nonce and is redundant");
    CHECK(a_red != b_red);  // exactly one end gives up its new CHILD_SA
    alice_redundant = alice_redundant || a_red;
    bob_redundant = bob_redundant || b_red;
    // Three CHILD_SAs existed on each end (old, ours, theirs); two were deleted.
    CHECK(count(*p->a, ChildSaEvent::Kind::Deleted) == 2);
    CHECK(count(*p->b, ChildSaEvent::Kind::Deleted) == 2);
  }
  CHECK(alice_redundant);
  CHECK(bob_redundant);
}

TEST_CASE("a rekeying request for a CHILD_SA that is gone gets CHILD_SA_NOT_FOUND",
          "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16", "aes128gcm16");
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  const uint32_t old_b = live_children(*p->b).at(0).unique_id;
  // bob's first CREATE_CHILD_SA request is lost; alice's rekeying completes meanwhile and
  // deletes the old CHILD_SA, so bob's retransmission names one alice no longer has.
  auto lost = lose_first(p->net, "bob", kCreateChildSa, false);
  REQUIRE(rekey(*p, *p->b, old_b).ok());
  REQUIRE(rekey(*p, *p->a, old_a).ok());
  p->net.run();
  p->net.advance(Duration(10000));
  REQUIRE(*lost);
  require_one_matching_child(*p, old_a);
  CHECK(p->a->logged("answering CHILD_SA_NOT_FOUND"));
  // alice's DELETE came first (bob retransmits after 4 s), so bob's CHILD_SA is already gone.
  CHECK(p->b->logged("rekeying CHILD_SA home{" + std::to_string(old_b) +
                     "}: it was deleted meanwhile; the peer answered CHILD_SA_NOT_FOUND"));
  CHECK(p->a->sas()[0].state == "ESTABLISHED");
  CHECK(p->b->sas()[0].state == "ESTABLISHED");
}

TEST_CASE("rekey_child refuses what it cannot rekey", "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16", "aes128gcm16");
  Actions a;
  auto st = p->a->engine->rekey_child(9999, p->net.now(), a);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error() == "no CHILD_SA with id 9999");
  // A hard expiry of the current CHILD_SA is not one of a replaced CHILD_SA.
  const uint32_t id = live_children(*p->a).at(0).unique_id;
  CHECK_FALSE(p->a->engine->expire_replaced_child(id, p->net.now(), a));
  CHECK(a.children.empty());
}

TEST_CASE("the responder's replaced CHILD_SA goes at its hard expiry if no DELETE came",
          "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16", "aes128gcm16");
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  const uint32_t old_b = live_children(*p->b).at(0).unique_id;
  // alice's DELETE for the old CHILD_SA never reaches bob.
  p->net.drop = [&](const InFlight& d) {
    return d.sender == "alice" && exchange_of(d) == kInformational && !is_response(d);
  };
  REQUIRE(rekey(*p, *p->a, old_a).ok());
  p->net.run();
  REQUIRE(live_children(*p->b).size() == 2);
  CHECK(p->b->sas()[0].children[0].state == "REKEYED");
  Actions a;
  CHECK(p->b->engine->expire_replaced_child(old_b, p->net.now(), a));
  p->net.apply(*p->b, a);
  p->net.drop = nullptr;
  p->net.run();
  require_one_matching_child(*p, old_a);
}

TEST_CASE("the soft lifetime is rekey_time with up to 10 % jitter", "[sa][sim][rekey]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto p = established_pair("aes128gcm16", "aes128gcm16", seed, seed + 50);
    for (Node* n : {p->a, p->b}) {
      const ChildSaParams c = live_children(*n).at(0);
      CHECK(c.rekey_time_s <= 3600);
      CHECK(c.rekey_time_s >= 3240);
      CHECK(c.life_time_s == 3960);
    }
  }
}

TEST_CASE("the old CHILD_SA keeps taking packets until the peer confirms its DELETE",
          "[sa][sim][rekey]") {
  auto p = established_pair("aes128gcm16", "aes128gcm16");
  const uint32_t old_a = live_children(*p->a).at(0).unique_id;
  const uint32_t old_b = live_children(*p->b).at(0).unique_id;
  // bob's first answer to the DELETE is lost; alice retransmits after 4 s.
  auto lost = lose_first(p->net, "bob", kInformational, true);
  REQUIRE(rekey(*p, *p->a, old_a).ok());
  p->net.run();
  REQUIRE(*lost);
  // alice sends on the new CHILD_SA; the old one still decrypts what bob sent before.
  auto la = live_children(*p->a);
  REQUIRE(la.size() == 2);
  const ChildSaParams& fresh_a = la[1];
  CHECK(fresh_a.replaces == old_a);
  CHECK_FALSE(fresh_a.outbound_after_replaced);
  auto sa = p->a->sas()[0];
  REQUIRE(sa.children.size() == 2);
  CHECK(sa.children[0].state == "INSTALLED");
  CHECK(sa.children[1].state == "DELETING");
  // bob, the responder, sends on the new CHILD_SA only once the old one is removed.
  auto lb = live_children(*p->b);
  REQUIRE(lb.size() == 1);
  CHECK(lb[0].replaces == old_b);
  CHECK(lb[0].outbound_after_replaced);
  p->net.advance(Duration(5000));
  require_one_matching_child(*p, old_a);
  CHECK_FALSE(p->a->logged("did not confirm"));
}

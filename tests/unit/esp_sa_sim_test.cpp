// The engine's CHILD_SA keys carried into userspace ESP SAs: two engines negotiate over the
// simulated network, and each side's outbound SA must be the other side's inbound SA (key
// ordering and lengths from ike/crypto/key_derivation, GCM/ChaCha salts at the end). Also
// `encap: yes` (faked NAT detection) on either side.

#include <catch2/catch.hpp>
#include <cstring>

#include "esp-kernel/esp_packet.hpp"
#include "esp-kernel/userspace/esp_sa.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

constexpr const char* kPsk = "another shared secret of some length";

struct Negotiated {
  Network net;
  Node* a = nullptr;
  Node* b = nullptr;
};

std::unique_ptr<Negotiated> negotiate(const std::string& esp, bool encap_a, bool encap_b) {
  auto n = std::make_unique<Negotiated>();
  auto ca = psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2",
                           "aes128-sha256-x25519", esp);
  auto cb = psk_connection("home", "bob@example.org", "alice@example.org", "",
                           "aes128-sha256-x25519", esp);
  ca.encap = encap_a;
  cb.encap = encap_b;
  n->a = &n->net.add("alice", "192.0.2.1",
                     engine_config({ca}, kPsk, {"alice@example.org", "bob@example.org"}));
  n->b = &n->net.add("bob", "192.0.2.2",
                     engine_config({cb}, kPsk, {"alice@example.org", "bob@example.org"}));
  Actions a;
  REQUIRE(n->a->engine->initiate("home", "", n->net.now(), a, n->a->address).ok());
  n->net.apply(*n->a, a);
  n->net.run();
  return n;
}

const ChildSaParams* child_of(const Node& n) {
  for (const auto& c : n.children)
    if (c.kind == ChildSaEvent::Kind::Installed) return &c.params;
  return nullptr;
}

// `from`'s outbound SA seals, `to`'s inbound SA opens.
void check_direction(const ChildSaParams& from, const ChildSaParams& to) {
  ike::crypto::DeterministicRng rng(11);
  auto out = esp::OutboundSa::create(from.spi_out, from.algorithms, from.encr_key_out,
                                     from.integ_key_out, rng);
  auto in = esp::InboundSa::create(to.spi_in, to.algorithms, to.encr_key_in, to.integ_key_in);
  REQUIRE(out.ok());
  REQUIRE(in.ok());
  const Bytes inner = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 10, 10, 2, 0, 10};
  std::vector<uint8_t> buf((*out)->headroom() + inner.size() + (*out)->tailroom());
  std::memcpy(buf.data() + (*out)->headroom(), inner.data(), inner.size());
  auto n = (*out)->seal(buf, inner.size(), esp::kNextHeaderIpv4);
  REQUIRE(n.ok());
  buf.resize(*n);
  CHECK(esp::esp_spi(buf) == to.spi_in);
  auto opened = (*in)->open(buf);
  REQUIRE(opened.ok());
  CHECK(Bytes(opened->payload.begin(), opened->payload.end()) == inner);
}

}  // namespace

TEST_CASE("userspace ESP SAs from negotiated CHILD_SA keys interoperate in both directions",
          "[esp][sim]") {
  for (const char* esp : {"aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256",
                          "aes256-sha384", "aes192-sha512", "aes128gcm16-esn"}) {
    INFO(esp);
    auto n = negotiate(esp, false, false);
    const ChildSaParams* a = child_of(*n->a);
    const ChildSaParams* b = child_of(*n->b);
    REQUIRE(a);
    REQUIRE(b);
    check_direction(*a, *b);
    check_direction(*b, *a);
  }
}

TEST_CASE("encap: yes fakes NAT detection: both sides move to 4500 and encapsulate ESP",
          "[esp][sim]") {
  for (auto [encap_a, encap_b] : {std::pair{true, false}, std::pair{false, true}}) {
    INFO("encap on " << (encap_a ? "initiator" : "responder"));
    auto n = negotiate("aes128gcm16", encap_a, encap_b);
    const ChildSaParams* a = child_of(*n->a);
    const ChildSaParams* b = child_of(*n->b);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->udp_encapsulation);
    CHECK(b->udp_encapsulation);
    CHECK(a->local.port == 4500);
    CHECK(a->remote.port == 4500);
    CHECK(b->local.port == 4500);
    Node& faker = encap_a ? *n->a : *n->b;
    Node& other = encap_a ? *n->b : *n->a;
    CHECK(faker.logged("faking NAT situation to enforce UDP encapsulation"));
    CHECK(other.logged("remote host is behind NAT"));
    // No real NAT: the faking side sees none in front of itself, and sends no keepalives.
    CHECK_FALSE(faker.sas()[0].nat_local);
  }
  auto plain = negotiate("aes128gcm16", false, false);
  REQUIRE(child_of(*plain->a));
  CHECK_FALSE(child_of(*plain->a)->udp_encapsulation);
  CHECK(child_of(*plain->a)->local.port == 500);
}

// Raw public key authentication (AuthConfig::pubkeys, swanctl `pubkeys`) end to end over the
// simulated network: RSA and ECDSA keys on both sides, no CERT or CERTREQ payloads, and a peer
// signing with a key other than the configured one refused with AUTHENTICATION_FAILED.
// Keys: tests/data/pki.

#include <catch2/catch.hpp>

#include "ike/pki/certificate.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

const std::string kPki = std::string(IKEME_TEST_DATA_DIR) + "/pki/";

std::shared_ptr<const crypto::PrivateKey> private_key(const std::string& file) {
  auto data = pki::read_file(kPki + file);
  REQUIRE(data.ok());
  auto k = crypto::PrivateKey::load(*data);
  REQUIRE(k.ok());
  return std::make_shared<const crypto::PrivateKey>(std::move(*k));
}

std::shared_ptr<const crypto::PublicKey> public_key(const std::string& private_file) {
  auto k = private_key(private_file)->public_key();
  REQUIRE(k.ok());
  return std::make_shared<const crypto::PublicKey>(std::move(*k));
}

// One side: its identity, the key it signs with, and the key its peer is told to expect.
struct Side {
  std::string id;
  std::string key_file;
  std::string known_as;  // the private key whose public half the peer configures
};

AuthConfig local_auth(const Side& s) {
  AuthConfig c;
  c.method = AuthMethodConfig::Pubkey;
  c.id = *Identity::parse(s.id);
  c.key = private_key(s.key_file);
  c.pubkeys = {public_key(s.key_file)};
  return c;
}

AuthConfig remote_auth(const Side& s) {
  AuthConfig c;
  c.method = AuthMethodConfig::Pubkey;
  c.id = *Identity::parse(s.id);
  c.pubkeys = {public_key(s.known_as)};
  return c;
}

struct Pair {
  Network net;
  Node* a;  // initiator
  Node* b;  // responder
};

std::unique_ptr<Pair> make_pair(const Side& a, const Side& b) {
  auto p = std::make_unique<Pair>();
  auto ca = psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2",
                           "aes128-sha256-x25519", "aes128gcm16");
  auto cb = psk_connection("home", "bob@example.org", "alice@example.org", "",
                           "aes128-sha256-x25519", "aes128gcm16");
  ca.local = local_auth(a);
  ca.remote = remote_auth(b);
  cb.local = local_auth(b);
  cb.remote = remote_auth(a);
  // No trust store and no shared key: nothing but the raw keys can authenticate anyone.
  auto ea = engine_config({ca}, "", {});
  auto eb = engine_config({cb}, "", {});
  ea.ike_secrets.clear();
  eb.ike_secrets.clear();
  p->a = &p->net.add("alice", "192.0.2.1", ea);
  p->b = &p->net.add("bob", "192.0.2.2", eb);
  return p;
}

std::string logs(const Node& n) {
  std::string s;
  for (const auto& l : n.log) s += l + "\n";
  return s;
}

void initiate(Pair& p) {
  Actions a;
  REQUIRE(p.a->engine->initiate("home", "", p.net.now(), a, p.a->address).ok());
  p.net.apply(*p.a, a);
  p.net.run();
}

void require_established(Pair& p, const std::string& a_id, const std::string& b_id) {
  INFO("alice log:\n" << logs(*p.a));
  INFO("bob log:\n" << logs(*p.b));
  auto sa_a = p.a->sas(), sa_b = p.b->sas();
  REQUIRE(sa_a.size() == 1);
  REQUIRE(sa_b.size() == 1);
  CHECK(sa_a[0].state == "ESTABLISHED");
  CHECK(sa_b[0].state == "ESTABLISHED");
  CHECK(sa_a[0].remote_id == b_id);
  CHECK(sa_b[0].remote_id == a_id);
  CHECK(sa_a[0].children.size() == 1);
  CHECK(sa_b[0].children.size() == 1);
  // Neither side sent or asked for a certificate.
  for (const Node* n : {p.a, p.b}) {
    CHECK_FALSE(n->logged("CERTREQ"));
    CHECK_FALSE(n->logged(" CERT "));
  }
}

}  // namespace

TEST_CASE("raw public key authentication: RSA keys on both sides", "[sa][sim][pubkeys]") {
  auto p = make_pair({"moon.ikeme.test", "moonKey.pem", "moonKey.pem"},
                     {"root.ikeme.test", "rootCaKey.pem", "rootCaKey.pem"});
  initiate(*p);
  require_established(*p, "moon.ikeme.test", "root.ikeme.test");
  CHECK(p->b->logged("authentication of 'moon.ikeme.test' with DIGITAL_SIGNATURE (RSASSA-PSS"));
  CHECK(p->b->logged("successful (raw public key RSA 2048)"));
  CHECK(p->a->logged("successful (raw public key RSA 3072)"));
}

TEST_CASE("raw public key authentication: ECDSA keys on both sides", "[sa][sim][pubkeys]") {
  auto p = make_pair({"sun.ikeme.test", "sunKey.pem", "sunKey.pem"},
                     {"inter.ikeme.test", "interCaKey.pem", "interCaKey.pem"});
  initiate(*p);
  require_established(*p, "sun.ikeme.test", "inter.ikeme.test");
  CHECK(p->b->logged(
      "authentication of 'sun.ikeme.test' with DIGITAL_SIGNATURE (ecdsa-with-SHA256) successful "
      "(raw public key ECDSA P-256)"));
  CHECK(
      p->a->logged("with DIGITAL_SIGNATURE (ecdsa-with-SHA384) successful (raw public key "
                   "ECDSA P-384)"));
}

TEST_CASE("raw public key authentication: a signature by another key is refused",
          "[sa][sim][pubkeys]") {
  SECTION("the initiator signs with another key than the responder knows") {
    auto p = make_pair({"sun.ikeme.test", "sunKey.pem", "testKey.pem"},
                       {"moon.ikeme.test", "moonKey.pem", "moonKey.pem"});
    initiate(*p);
    INFO("alice log:\n" << logs(*p->a));
    INFO("bob log:\n" << logs(*p->b));
    CHECK(
        p->b->logged("IKE_AUTH refused: signature verification of 'sun.ikeme.test' failed: no "
                     "configured public key (pubkeys) verifies its DIGITAL_SIGNATURE AUTH"));
    CHECK(p->a->logged("peer answered IKE_AUTH with AUTHENTICATION_FAILED"));
    CHECK(p->a->sas().empty());
    CHECK(p->b->sas().empty());
    CHECK(p->b->children.empty());
  }
  SECTION("the responder signs with a key of another type than the initiator knows") {
    auto p = make_pair({"sun.ikeme.test", "sunKey.pem", "sunKey.pem"},
                       {"moon.ikeme.test", "moonKey.pem", "testKey.pem"});
    initiate(*p);
    INFO("alice log:\n" << logs(*p->a));
    INFO("bob log:\n" << logs(*p->b));
    CHECK(
        p->a->logged("IKE_AUTH response refused: signature verification of 'moon.ikeme.test' "
                     "failed: no configured public key (pubkeys) verifies"));
    CHECK(p->a->sas().empty());
    CHECK(p->b->sas().empty());
  }
  SECTION("our private key is not the half of our configured public key: nothing is sent") {
    auto p = make_pair({"sun.ikeme.test", "sunKey.pem", "sunKey.pem"},
                       {"moon.ikeme.test", "moonKey.pem", "moonKey.pem"});
    auto cfg = p->a->engine->config();
    cfg.connections[0].local.pubkeys = {public_key("testKey.pem")};
    p->a->engine->reload(cfg);
    Actions a;
    CHECK_FALSE(p->a->engine->initiate("home", "", p->net.now(), a, p->a->address).ok());
    p->net.apply(*p->a, a);
    INFO(logs(*p->a));
    CHECK(
        p->a->logged("cannot authenticate with a raw public key: private key does not belong "
                     "to the configured public key"));
    CHECK(p->a->sent.empty());
  }
}

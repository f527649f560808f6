// Certificate (public key) authentication in IKE_AUTH end to end over the simulated network:
// RSA and ECDSA certificates, mixed PSK/certificate, refusals (expired, revoked, identity not in
// the certificate, untrusted CA) and a fragmented cert-bearing IKE_AUTH. Test PKI: tests/data/pki.

#include <catch2/catch.hpp>

#include "ike/pki/certificate.hpp"
#include "ike/pki/trust_store.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

const std::string kPki = std::string(IKEME_TEST_DATA_DIR) + "/pki/";
constexpr const char* kPsk = "a shared secret of some length";
const pki::TimePoint kNow = pki::utc_time(2027, 6, 1);

std::shared_ptr<const pki::Certificate> cert(const std::string& file) {
  auto c = pki::Certificate::load(kPki + file);
  INFO(file << ": " << (c ? "" : c.error().message()));
  REQUIRE(c.ok());
  return std::make_shared<const pki::Certificate>(std::move(*c));
}

std::shared_ptr<const crypto::PrivateKey> key(const std::string& file) {
  auto data = pki::read_file(kPki + file);
  REQUIRE(data.ok());
  auto k = crypto::PrivateKey::load(*data);
  REQUIRE(k.ok());
  return std::make_shared<const crypto::PrivateKey>(std::move(*k));
}

std::shared_ptr<const pki::TrustStore> trust() {
  pki::TrustStore store;
  REQUIRE(store.add_ca_file(kPki + "rootCa.pem").ok());
  REQUIRE(store.add_crl_file(kPki + "rootCrl.pem").ok());
  return std::make_shared<const pki::TrustStore>(std::move(store));
}

// One side's authentication: a certificate (with its key and intermediates) or a PSK identity.
struct Auth {
  std::string id;  // configured identity ("" = %any: the certificate's DN)
  std::string cert_file, key_file;
  std::vector<std::string> intermediates;
  bool psk() const { return cert_file.empty(); }
};

Auth moon() {
  return {"moon.ikeme.test", "moonCert.pem", "moonKey.pem", {}};
}
Auth sun() {
  return {"sun.ikeme.test", "sunCert.pem", "sunKey.pem", {"interCa.pem"}};
}
Auth long_cert() {
  return {"long.ikeme.test", "longCert.pem", "testKey.pem", {"interCa.pem"}};
}
Auth psk(const std::string& id) {
  return {id, "", "", {}};
}

AuthConfig local_auth(const Auth& a) {
  AuthConfig c;
  c.id = a.id.empty() ? Identity::any() : *Identity::parse(a.id);
  if (a.psk()) return c;
  c.method = AuthMethodConfig::Pubkey;
  c.cert = cert(a.cert_file);
  c.key = key(a.key_file);
  for (const auto& f : a.intermediates) c.intermediates.push_back(cert(f));
  return c;
}

AuthConfig remote_auth(const Auth& a, const std::string& id) {
  AuthConfig c;
  c.id = id.empty() ? Identity::any() : *Identity::parse(id);
  if (!a.psk()) c.method = AuthMethodConfig::Pubkey;
  return c;
}

struct Pair {
  Network net;
  Node* a;  // initiator, 192.0.2.1
  Node* b;  // responder, 192.0.2.2
};

// `a_expects`/`b_expects`: the identity each side configures for its peer ("" = %any).
std::unique_ptr<Pair> make_pair(const Auth& a, const Auth& b, const std::string& a_expects,
                                const std::string& b_expects, size_t fragment_size = 1280) {
  auto p = std::make_unique<Pair>();
  auto ca = psk_connection("home", "alice@example.org", "bob@example.org", "192.0.2.2",
                           "aes128-sha256-x25519", "aes128gcm16");
  auto cb = psk_connection("home", "bob@example.org", "alice@example.org", "",
                           "aes128-sha256-x25519", "aes128gcm16");
  ca.local = local_auth(a);
  ca.remote = remote_auth(b, a_expects);
  cb.local = local_auth(b);
  cb.remote = remote_auth(a, b_expects);
  std::vector<std::string> ids;  // the PSK's owners; none: a wildcard secret nobody uses
  for (const Auth* s : {&a, &b})
    if (s->psk()) ids.push_back(s->id);
  auto ea = engine_config({ca}, kPsk, ids);
  auto eb = engine_config({cb}, kPsk, ids);
  ea.trust_store = eb.trust_store = trust();
  ea.fragment_size = eb.fragment_size = fragment_size;
  p->a = &p->net.add("alice", "192.0.2.1", ea);
  p->b = &p->net.add("bob", "192.0.2.2", eb);
  p->a->engine->set_wall_clock(kNow);
  p->b->engine->set_wall_clock(kNow);
  return p;
}

void initiate(Pair& p) {
  Actions a;
  REQUIRE(p.a->engine->initiate("home", "", p.net.now(), a, p.a->address).ok());
  p.net.apply(*p.a, a);
  p.net.run();
}

std::string logs(const Node& n) {
  std::string s;
  for (const auto& l : n.log) s += l + "\n";
  return s;
}

void require_established(Pair& p, const std::string& a_sees, const std::string& b_sees) {
  INFO("alice log:\n" << logs(*p.a));
  INFO("bob log:\n" << logs(*p.b));
  auto sa_a = p.a->sas(), sa_b = p.b->sas();
  REQUIRE(sa_a.size() == 1);
  REQUIRE(sa_b.size() == 1);
  CHECK(sa_a[0].state == "ESTABLISHED");
  CHECK(sa_b[0].state == "ESTABLISHED");
  CHECK(sa_a[0].remote_id == a_sees);
  if (!b_sees.empty()) CHECK(sa_b[0].remote_id == b_sees);
  CHECK(sa_a[0].children.size() == 1);
  CHECK(sa_b[0].children.size() == 1);
}

void require_refused(Pair& p, const Node& verifier, const std::string& reason) {
  INFO("alice log:\n" << logs(*p.a));
  INFO("bob log:\n" << logs(*p.b));
  CHECK(verifier.logged(reason));
  CHECK(p.a->sas().empty());
  CHECK(p.b->sas().empty());
  // The verifier never installs a CHILD_SA; a responder refused by the initiator installed one
  // and deleted it with its IKE SA.
  CHECK(verifier.children.empty());
  for (const Node* n : {p.a, p.b})
    if (!n->children.empty()) CHECK(n->children.back().kind == ChildSaEvent::Kind::Deleted);
}

}  // namespace

TEST_CASE("certificate authentication: RSA certificates on both sides", "[sa][sim][cert]") {
  // moonCert is the test PKI's only RSA end entity: both sides present it.
  auto p = make_pair(moon(), moon(), "moon.ikeme.test", "moon.ikeme.test");
  initiate(*p);
  require_established(*p, "moon.ikeme.test", "moon.ikeme.test");
  CHECK(p->b->logged("authentication of 'moon.ikeme.test' with DIGITAL_SIGNATURE (RSASSA-PSS"));
  CHECK(p->a->logged("authentication of 'moon.ikeme.test' with DIGITAL_SIGNATURE (RSASSA-PSS"));
}

TEST_CASE("certificate authentication: ECDSA certificates with an intermediate CA",
          "[sa][sim][cert]") {
  auto p = make_pair(sun(), long_cert(), "long.ikeme.test", "sun.ikeme.test");
  initiate(*p);
  require_established(*p, "long.ikeme.test", "sun.ikeme.test");
  CHECK(p->b->logged(
      "authentication of 'sun.ikeme.test' with DIGITAL_SIGNATURE (ecdsa-with-SHA256)"));
  CHECK(p->a->logged("authentication of 'long.ikeme.test' with DIGITAL_SIGNATURE"));
}

TEST_CASE("certificate authentication: RSA against ECDSA, identity from the DN",
          "[sa][sim][cert]") {
  Auth a = moon();
  a.id = "";  // IDi: the certificate's subject DN
  auto p = make_pair(a, sun(), "sun.ikeme.test", "");
  initiate(*p);
  require_established(*p, "sun.ikeme.test", "");
  CHECK(p->b->sas()[0].remote_id.starts_with("ID_DER_ASN1_DN:"));
  CHECK(p->a->sas()[0].local_id == p->b->sas()[0].remote_id);
  CHECK(p->b->logged("successful (certificate \"C=CH, O=ikeme Test, CN=moon.ikeme.test\""));
}

TEST_CASE("mixed authentication: certificate gateway, PSK road warrior, both ways round",
          "[sa][sim][cert]") {
  SECTION("PSK initiator, certificate responder") {
    auto p = make_pair(psk("carol@example.org"), moon(), "moon.ikeme.test", "carol@example.org");
    initiate(*p);
    require_established(*p, "moon.ikeme.test", "carol@example.org");
    CHECK(p->b->logged("authentication of 'carol@example.org' with pre-shared key successful"));
    CHECK(p->a->logged("authentication of 'moon.ikeme.test' with DIGITAL_SIGNATURE"));
  }
  SECTION("certificate initiator, PSK responder") {
    auto p = make_pair(moon(), psk("carol@example.org"), "carol@example.org", "moon.ikeme.test");
    initiate(*p);
    require_established(*p, "carol@example.org", "moon.ikeme.test");
    CHECK(p->a->logged("authentication of 'carol@example.org' with pre-shared key successful"));
    CHECK(p->b->logged("authentication of 'moon.ikeme.test' with DIGITAL_SIGNATURE"));
  }
}

TEST_CASE("certificate authentication: the responder asks for certificates in IKE_SA_INIT",
          "[sa][sim][cert]") {
  // strongSwan sends its certificate only when asked (send_cert = ifasked): a responder that
  // verifies certificates puts CERTREQ in its IKE_SA_INIT response, one that checks a PSK not.
  auto p = make_pair(moon(), moon(), "moon.ikeme.test", "moon.ikeme.test");
  initiate(*p);
  CHECK(
      p->b->logged("generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) "
                   "N(FRAG_SUP) N(HASH_ALG) CERTREQ ]"));
  CHECK(p->b->logged("authentication of 'moon.ikeme.test' (myself) with public key"));
  auto q = make_pair(psk("carol@example.org"), moon(), "moon.ikeme.test", "carol@example.org");
  initiate(*q);
  CHECK(
      q->b->logged("generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) "
                   "N(FRAG_SUP) N(HASH_ALG) ]"));
}

TEST_CASE("certificate authentication: an expired certificate is refused", "[sa][sim][cert]") {
  Auth expired{"expired.ikeme.test", "expiredCert.pem", "testKey.pem", {}};
  SECTION("initiator's certificate, refused by the responder") {
    auto p = make_pair(expired, moon(), "moon.ikeme.test", "");
    initiate(*p);
    require_refused(*p, *p->b, "expired");
    CHECK(p->b->logged("IKE_AUTH refused: certificate validation of 'expired.ikeme.test' failed"));
    CHECK(p->a->logged("AUTHENTICATION_FAILED"));
  }
  SECTION("responder's certificate, refused by the initiator") {
    auto p = make_pair(moon(), expired, "expired.ikeme.test", "");
    initiate(*p);
    require_refused(*p, *p->a, "expired");
    CHECK(p->a->logged(
        "IKE_AUTH response refused: certificate validation of 'expired.ikeme.test' failed"));
  }
}

TEST_CASE("certificate authentication: a revoked certificate is refused", "[sa][sim][cert]") {
  Auth revoked{"revoked.ikeme.test", "revokedCert.pem", "testKey.pem", {}};
  auto p = make_pair(revoked, moon(), "moon.ikeme.test", "");
  initiate(*p);
  require_refused(*p, *p->b, "revoked");
  CHECK(p->b->logged("certificate validation of 'revoked.ikeme.test' failed"));
}

TEST_CASE("certificate authentication: a certificate from an untrusted CA is refused",
          "[sa][sim][cert]") {
  Auth stranger{"moon.ikeme.test", "strangerCert.pem", "testKey.pem", {}};
  auto p = make_pair(moon(), stranger, "moon.ikeme.test", "");
  initiate(*p);
  require_refused(*p, *p->a, "certificate validation of 'moon.ikeme.test' failed");
}

TEST_CASE("certificate authentication: a required CA", "[sa][sim][cert]") {
  SECTION("the peer's chain ends at another CA: refused") {
    auto p = make_pair(sun(), moon(), "moon.ikeme.test", "");
    // Bob trusts the root but wants sun's intermediate as the anchor; the chain ends at the root.
    auto cfg = p->b->engine->config();
    cfg.connections[0].remote.ca = cert("interCa.pem");
    p->b->engine->reload(cfg);
    initiate(*p);
    require_refused(*p, *p->b,
                    "is issued by CA \"C=CH, O=ikeme Test, CN=ikeme Test Root CA\", not "
                    "the required");
  }
  SECTION("the chain ends at the required CA: accepted") {
    auto p = make_pair(sun(), moon(), "moon.ikeme.test", "sun.ikeme.test");
    auto cfg = p->b->engine->config();
    cfg.connections[0].remote.ca = cert("rootCa.pem");
    p->b->engine->reload(cfg);
    initiate(*p);
    require_established(*p, "moon.ikeme.test", "sun.ikeme.test");
  }
}

TEST_CASE("certificate authentication: identity and certificate must match", "[sa][sim][cert]") {
  SECTION("our own identity not in our certificate: the initiator does not start") {
    Auth liar = moon();
    liar.id = "sun.ikeme.test";
    auto p = make_pair(liar, sun(), "sun.ikeme.test", "");
    Actions a;
    CHECK_FALSE(p->a->engine->initiate("home", "", p->net.now(), a, p->a->address).ok());
    p->net.apply(*p->a, a);
    p->net.run();
    INFO(logs(*p->a));
    CHECK(
        p->a->logged("cannot authenticate with a certificate: identity 'sun.ikeme.test' is not "
                     "vouched for by certificate"));
    CHECK(p->a->sent.empty());
    CHECK(p->a->sas().empty());
    CHECK(p->b->sas().empty());
  }
  SECTION("the responder's identity is not in its certificate: the responder refuses") {
    Auth liar = sun();
    liar.id = "moon.ikeme.test";
    auto p = make_pair(moon(), liar, "", "");
    initiate(*p);
    require_refused(*p, *p->b, "identity 'moon.ikeme.test' is not vouched for by certificate");
  }
}

TEST_CASE("certificate authentication: the peer's method or identity is not the configured one",
          "[sa][sim][cert]") {
  SECTION("a PSK where a certificate is expected") {
    auto p = make_pair(moon(), psk("carol@example.org"), "carol@example.org", "moon.ikeme.test");
    auto cfg = p->a->engine->config();
    cfg.connections[0].remote.method = AuthMethodConfig::Pubkey;
    p->a->engine->reload(cfg);
    initiate(*p);
    require_refused(*p, *p->a,
                    "peer 'carol@example.org' uses pre-shared key authentication; public key is "
                    "configured");
  }
  SECTION("a certificate where a PSK is expected") {
    auto p = make_pair(moon(), psk("carol@example.org"), "carol@example.org", "moon.ikeme.test");
    auto cfg = p->b->engine->config();
    cfg.connections[0].remote.method = AuthMethodConfig::Psk;
    p->b->engine->reload(cfg);
    initiate(*p);
    require_refused(*p, *p->b, "peer 'moon.ikeme.test' uses DIGITAL_SIGNATURE authentication");
  }
  SECTION("a valid certificate for another identity than the one configured for the peer") {
    auto p = make_pair(moon(), sun(), "", "long.ikeme.test");
    initiate(*p);
    require_refused(*p, *p->b, "no connection matches peer identity 'moon.ikeme.test'");
  }
}

TEST_CASE("certificate authentication: a fragmented IKE_AUTH carrying certificates",
          "[sa][sim][cert]") {
  auto p = make_pair(moon(), sun(), "sun.ikeme.test", "moon.ikeme.test", 576);
  initiate(*p);
  require_established(*p, "sun.ikeme.test", "moon.ikeme.test");
  // IKE_SA_INIT (2) plus an IKE_AUTH request and response of several fragments each.
  CHECK(p->net.delivered() > 6);
  CHECK(p->a->sent.size() > 2);
  CHECK(p->b->sent.size() > 2);
}

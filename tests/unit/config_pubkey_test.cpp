// Certificate authentication in the peer configuration file (config/peer_config.hpp): local
// `certs`, remote `cacerts`, top-level `cacerts`/`crls`, private<suffix> secrets, every refusal
// with its exact file:line:column, and two loaded configs negotiating over the simulated network.
// Test PKI: tests/data/pki.
#include <catch2/catch.hpp>

#include <string>

#include "config/peer_config.hpp"
#include "ike/pki/certificate_key.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::config;
using ike::AuthMethodConfig;

namespace {

const std::string kPki = std::string(IKEME_TEST_DATA_DIR) + "/pki/";
// Relative file names resolve against the config file's directory: the display name's here.
const std::string kName = kPki + "peer.yaml";

PeerConfig load_ok(const std::string& yaml) {
  auto r = load_peer_config_string(yaml, kName);
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string load_error(const std::string& yaml) {
  auto r = load_peer_config_string(yaml, kName);
  REQUIRE_FALSE(r.ok());
  return r.error().to_string();
}

// sun (ECDSA, issued by the intermediate CA) initiates to moon (RSA, issued by the root).
const std::string kSun = R"(cacerts: rootCa.pem
crls: [rootCrl.pem]
connections:
  home:
    remote_addrs: 192.0.2.2
    proposals: aes128-sha256-x25519
    local:
      auth: pubkey
      id: sun.ikeme.test
      certs: [sunCert.pem, interCa.pem]
    remote:
      auth: pubkey
    children:
      net:
        esp_proposals: aes128gcm16
secrets:
  private-sun:
    file: sunKey.pem
)";

// moon: a DER certificate, its id defaulting to the subject DN, its own trust anchor for the
// peer, and an encrypted key.
const std::string kMoon = R"(connections:
  home:
    proposals: aes128-sha256-x25519
    local:
      auth: pubkey
      certs: moonCert.der
    remote:
      auth: pubkey
      cacerts: [rootCa.der]
    children:
      net:
        esp_proposals: aes128gcm16
secrets:
  private-moon:
    file: moonKeyEnc.pem
    secret: moon-pass
)";

}  // namespace

TEST_CASE("peer config pubkey: certificates, keys and trust anchors round trip",
          "[config][peer][cert]") {
  const PeerConfig sun = load_ok(kSun);
  REQUIRE(sun.engine.connections.size() == 1);
  const ike::AuthConfig& local = sun.engine.connections[0].local;
  CHECK(local.method == AuthMethodConfig::Pubkey);
  CHECK(local.id == *ike::Identity::parse("sun.ikeme.test"));
  REQUIRE(local.cert);
  CHECK(local.cert->subject() == "C=CH, O=ikeme Test, OU=Intermediate, CN=sun.ikeme.test");
  REQUIRE(local.intermediates.size() == 1);
  CHECK(local.intermediates[0]->subject() == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");
  REQUIRE(local.key);
  CHECK(ike::pki::certificate_matches_key(*local.cert, *local.key));
  const ike::AuthConfig& remote = sun.engine.connections[0].remote;
  CHECK(remote.method == AuthMethodConfig::Pubkey);
  CHECK(remote.trust == nullptr);  // the global trust store
  REQUIRE(sun.engine.trust_store);
  CHECK(sun.engine.trust_store->cas().size() == 1);
  CHECK(sun.engine.trust_store->crls().size() == 1);

  const PeerConfig moon = load_ok(kMoon);
  const ike::AuthConfig& m = moon.engine.connections[0].local;
  CHECK(m.id.is_any());  // the engine uses the certificate's subject DN
  REQUIRE(m.cert);
  CHECK(m.cert->subject() == "C=CH, O=ikeme Test, CN=moon.ikeme.test");
  CHECK(m.intermediates.empty());
  REQUIRE(m.key);
  CHECK(ike::pki::certificate_matches_key(*m.cert, *m.key));
  CHECK(moon.engine.trust_store == nullptr);
  REQUIRE(moon.engine.connections[0].remote.trust);
  CHECK(moon.engine.connections[0].remote.trust->cas().size() == 1);

  // Absolute paths are taken as they are; an expired certificate loads (validity is checked
  // when it is used).
  const PeerConfig abs = load_ok("cacerts: " + kPki +
                                 "rootCa.pem\nconnections:\n  c:\n    local:\n      auth: "
                                 "pubkey\n      certs: " +
                                 kPki + "expiredCert.pem\n    remote:\n      auth: pubkey\n" +
                                 "secrets:\n  private:\n    file: " + kPki + "testKey.pem\n");
  CHECK(abs.engine.connections[0].local.cert->subject() ==
        "C=CH, O=ikeme Test, CN=expired.ikeme.test");

  // Mixed: our certificate, the peer's PSK.
  const PeerConfig mixed = load_ok(
      "connections:\n  c:\n    local:\n      auth: pubkey\n      certs: moonCert.pem\n"
      "    remote:\n      auth: psk\n      id: peer.example.org\n"
      "secrets:\n  private-1: {file: moonKey.pem}\n  ike-1: {secret: a secret of some length}\n");
  CHECK(mixed.engine.connections[0].local.key != nullptr);
  CHECK(mixed.engine.connections[0].remote.method == AuthMethodConfig::Psk);

  // ca_id: the peer's chain must end at this trust anchor (named by its subject DN).
  std::string with_ca = kSun;
  const std::string remote_end = "      auth: pubkey\n    children";
  with_ca.replace(with_ca.find(remote_end), remote_end.size(),
                  "      auth: pubkey\n      ca_id: \"C=CH, O=ikeme Test, CN=ikeme Test Root "
                  "CA\"\n    children");
  const PeerConfig pinned = load_ok(with_ca);
  REQUIRE(pinned.engine.connections[0].remote.ca);
  CHECK(pinned.engine.connections[0].remote.ca->subject() ==
        "C=CH, O=ikeme Test, CN=ikeme Test Root CA");
}

TEST_CASE("peer config pubkey: refusals", "[config][peer][cert]") {
  const std::string n = kName;
  const std::string head = "connections:\n  c:\n    local:\n      auth: pubkey\n";
  const std::string remote = "    remote:\n      auth: psk\n";
  const std::string psk = "  ike: {secret: a secret of some length}\n";
  const std::string moon_key = "secrets:\n  private-m: {file: moonKey.pem}\n" + psk;

  // Missing and unreadable files.
  CHECK(load_error(head + "      certs: [moonCert.pem, missing.pem]\n" + remote + moon_key) ==
        n + ":5:29: connections.c.local.certs[1]: cannot read certificate file 'missing.pem': " +
            "cannot open file");
  // Not a certificate.
  CHECK(load_error(head + "      certs: moonKey.pem\n" + remote + moon_key) ==
        n + ":5:14: connections.c.local.certs: 'moonKey.pem' is not a certificate: " + kPki +
            "moonKey.pem: no PEM certificate (X509 - The CRT/CRL/CSR format is invalid, e.g. " +
            "different type expected)");
  CHECK(load_error(head + "      certs: []\n" + remote + moon_key) ==
        n + ":5:14: connections.c.local.certs: at least one file is required");
  // A certificate without its key, and a key without its certificate.
  CHECK(load_error(head + "      certs: [sunCert.pem]\n" + remote + moon_key) ==
        n + ":5:15: connections.c.local.certs[0]: no private key in 'secrets' (private<suffix>, " +
            "rsa<suffix> or ecdsa<suffix> sections) matches certificate 'C=CH, O=ikeme Test, " +
            "OU=Intermediate, " + "CN=sun.ikeme.test'");
  CHECK(load_error(head + "      certs: [moonCert.pem]\n" + remote + moon_key +
                   "  private-s: {file: sunKey.pem}\n") ==
        n + ":11:21: secrets.private-s.file: private key matches no connection's certificate " +
            "or public key (local certs or pubkeys of an auth: pubkey connection)");
  // Wrong and missing passphrase of an encrypted key.
  const std::string enc = "secrets:\n  private-m:\n    file: moonKeyEnc.pem\n";
  const std::string wrong =
      load_error(head + "      certs: moonCert.pem\n" + remote + enc + "    secret: nope\n" + psk);
  CHECK(wrong.starts_with(n + ":11:13: secrets.private-m.secret: cannot load private key " +
                          "'moonKeyEnc.pem': "));
  CHECK(wrong.ends_with(" (wrong passphrase?)"));
  CHECK(load_error(head + "      certs: moonCert.pem\n" + remote + enc + psk)
            .starts_with(n + ":10:11: secrets.private-m.file: cannot load private key " +
                         "'moonKeyEnc.pem': "));
  CHECK(load_error("secrets:\n  private-m: {secret: x}\n") ==
        n + ":2:14: secrets.private-m.file: required field is missing");
  // CA files that are not CAs.
  CHECK(load_error("cacerts: [rootCa.pem, moonCert.pem]\n") ==
        n + ":1:23: cacerts[1]: 'moonCert.pem' is not a CA certificate ('C=CH, O=ikeme Test, " +
            "CN=moon.ikeme.test' lacks the CA basic constraint)");
  CHECK(load_error("connections:\n  c:\n    remote:\n      auth: pubkey\n      cacerts: "
                   "fakeCaNotCa.pem\n") ==
        n + ":5:16: connections.c.remote.cacerts: 'fakeCaNotCa.pem' is not a CA certificate " +
            "('C=CH, O=ikeme Test, CN=ikeme Fake Sub CA' lacks the CA basic constraint)");
  CHECK(load_error("crls: rootCa.pem\n").starts_with(n + ":1:7: crls: 'rootCa.pem' is not a CRL"));
  CHECK(load_error("cacerts: rootCa.pem\nconnections:\n  c:\n    remote:\n      auth: pubkey\n"
                   "      ca_id: \"CN=nobody\"\n") ==
        n + ":6:14: connections.c.remote.ca_id: no trusted CA has subject 'CN=nobody' (ca_id " +
            "names a certificate of the top-level cacerts by its subject DN)");
  CHECK(load_error("connections:\n  c:\n    remote:\n      ca_id: x\n") ==
        n + ":4:14: connections.c.remote.ca_id: 'ca_id' needs auth: pubkey");
  // Keys that need auth: pubkey, and a peer certificate with nothing to verify it.
  CHECK(load_error("connections:\n  c:\n    remote:\n      cacerts: rootCa.pem\n") ==
        n + ":4:16: connections.c.remote.cacerts: 'cacerts' needs auth: pubkey");
  CHECK(load_error(head + "      certs: moonCert.pem\n    remote:\n      auth: pubkey\n" +
                   moon_key) ==
        n + ":7:13: connections.c.remote.auth: the peer's certificate cannot be verified: no " +
            "trusted CA; add 'cacerts' here or at the top level");
}

TEST_CASE("peer config pubkey: two loaded configs negotiate", "[config][peer][cert][sim]") {
  const PeerConfig sun = load_ok(kSun);
  const PeerConfig moon = load_ok(kMoon);
  sim::Network net;
  sim::Node& a = net.add("sun", "192.0.2.1", sun.engine);
  sim::Node& b = net.add("moon", "192.0.2.2", moon.engine);
  const ike::pki::TimePoint now = ike::pki::utc_time(2027, 6, 1);  // inside every test cert
  a.engine->set_wall_clock(now);
  b.engine->set_wall_clock(now);

  ike::Actions actions;
  REQUIRE(a.engine->initiate("home", "", net.now(), actions, a.address).ok());
  net.apply(a, actions);
  net.run();

  std::string log;
  for (const sim::Node* node : {&a, &b})
    for (const auto& l : node->log) log += l + "\n";
  INFO(log);
  auto sa_a = a.sas(), sa_b = b.sas();
  REQUIRE(sa_a.size() == 1);
  REQUIRE(sa_b.size() == 1);
  CHECK(sa_a[0].state == "ESTABLISHED");
  CHECK(sa_b[0].state == "ESTABLISHED");
  CHECK(sa_a[0].remote_id.starts_with("ID_DER_ASN1_DN:"));  // moon's id: its subject DN
  CHECK(sa_b[0].remote_id == "sun.ikeme.test");
  CHECK(sa_a[0].children.size() == 1);
  CHECK(sa_b[0].children.size() == 1);
}

namespace {

// Raw public keys: sun (ECDSA, its key in an ecdsa<suffix> section) and moon (RSA, its key in an
// rsa<suffix> section) know each other's public key; no certificate and no CA anywhere.
const std::string kSunRaw = R"(connections:
  home:
    remote_addrs: 192.0.2.2
    proposals: aes128-sha256-x25519
    local:
      auth: pubkey
      id: sun.ikeme.test
      pubkeys: sunPub.der
    remote:
      auth: pubkey
      id: moon.ikeme.test
      pubkeys: [moonPubRsa.pem]
    children:
      net:
        esp_proposals: aes128gcm16
secrets:
  ecdsa-sun:
    file: sunKey.pem
)";

const std::string kMoonRaw = R"(connections:
  home:
    proposals: aes128-sha256-x25519
    local:
      auth: pubkey
      id: moon.ikeme.test
      pubkeys: moonPub.pem
    remote:
      auth: pubkey
      id: sun.ikeme.test
      pubkeys: [testPub.pem, sunPub.der]
    children:
      net:
        esp_proposals: aes128gcm16
secrets:
  rsa-moon:
    file: moonKeyEnc.pem
    secret: moon-pass
)";

}  // namespace

TEST_CASE("peer config pubkey: raw public keys and rsa/ecdsa key sections",
          "[config][peer][cert]") {
  const PeerConfig sun = load_ok(kSunRaw);
  const ike::AuthConfig& local = sun.engine.connections[0].local;
  CHECK(local.method == AuthMethodConfig::Pubkey);
  CHECK(local.cert == nullptr);
  REQUIRE(local.pubkeys.size() == 1);
  CHECK(local.pubkeys[0]->describe() == "ECDSA P-256");
  REQUIRE(local.key);
  CHECK(local.key->matches(*local.pubkeys[0]));
  const ike::AuthConfig& remote = sun.engine.connections[0].remote;
  REQUIRE(remote.pubkeys.size() == 1);
  CHECK(remote.pubkeys[0]->describe() == "RSA 2048");  // from a PKCS#1 RSAPublicKey file
  CHECK(remote.trust == nullptr);
  CHECK(sun.engine.trust_store == nullptr);

  const PeerConfig moon = load_ok(kMoonRaw);
  REQUIRE(moon.engine.connections[0].remote.pubkeys.size() == 2);
  // The same key written as SubjectPublicKeyInfo and as PKCS#1.
  CHECK(*moon.engine.connections[0].local.pubkeys[0] == *remote.pubkeys[0]);
  REQUIRE(moon.engine.connections[0].local.key);

  // The two configurations negotiate with nothing but the raw keys.
  sim::Network net;
  sim::Node& a = net.add("sun", "192.0.2.1", sun.engine);
  sim::Node& b = net.add("moon", "192.0.2.2", moon.engine);
  ike::Actions actions;
  REQUIRE(a.engine->initiate("home", "", net.now(), actions, a.address).ok());
  net.apply(a, actions);
  net.run();
  std::string log;
  for (const sim::Node* node : {&a, &b})
    for (const auto& l : node->log) log += l + "\n";
  INFO(log);
  REQUIRE(a.sas().size() == 1);
  REQUIRE(b.sas().size() == 1);
  CHECK(a.sas()[0].state == "ESTABLISHED");
  CHECK(b.sas()[0].remote_id == "sun.ikeme.test");
  CHECK(b.logged("successful (raw public key ECDSA P-256)"));
  CHECK(a.logged("successful (raw public key RSA 2048)"));
}

TEST_CASE("peer config pubkey: raw public key and key section refusals", "[config][peer][cert]") {
  const std::string n = kName;
  // A key section whose key is of the other type.
  CHECK(load_error("secrets:\n  rsa-s:\n    file: sunKey.pem\n") ==
        n + ":3:11: secrets.rsa-s.file: 'sunKey.pem' holds an ECDSA P-256 key, but an " +
            "rsa<suffix> section takes only RSA keys (use a private<suffix> section for any key " +
            "type)");
  CHECK(load_error("secrets:\n  ecdsa-m:\n    file: moonKey.pem\n") ==
        n + ":3:11: secrets.ecdsa-m.file: 'moonKey.pem' holds an RSA 2048 key, but an " +
            "ecdsa<suffix> section takes only ECDSA keys (use a private<suffix> section for any " +
            "key type)");
  CHECK(load_error("secrets:\n  rsa-m:\n    file: moonKeyEnc.pem\n    secret: nope\n")
            .ends_with(" (wrong passphrase?)"));

  const std::string remote = "connections:\n  c:\n    remote:\n";
  CHECK(load_error(remote + "      pubkeys: moonPub.pem\n") ==
        n + ":4:16: connections.c.remote.pubkeys: 'pubkeys' needs auth: pubkey");
  CHECK(load_error(remote + "      auth: pubkey\n      pubkeys: moonPub.pem\n") ==
        n + ":5:16: connections.c.remote.pubkeys: a peer authenticated by 'pubkeys' needs a " +
            "configured remote 'id' (not %any): a raw public key vouches for no identity");
  CHECK(
      load_error(remote + "      auth: pubkey\n      id: \"%any\"\n      pubkeys: moonPub.pem\n") ==
      n + ":5:11: connections.c.remote.id: a peer authenticated by 'pubkeys' needs a " +
          "configured remote 'id' (not %any): a raw public key vouches for no identity");
  CHECK(load_error(remote + "      auth: pubkey\n      id: m\n      cacerts: rootCa.pem\n" +
                   "      pubkeys: moonPub.pem\n") ==
        n + ":7:16: connections.c.remote.pubkeys: 'pubkeys' and 'cacerts' cannot be combined; " +
            "ikeme authenticates the peer either by certificate or by raw public key");
  CHECK(load_error(remote + "      auth: pubkey\n      id: m\n      pubkeys: moonPub.pem\n" +
                   "      ca_id: x\n") ==
        n + ":7:14: connections.c.remote.ca_id: 'ca_id' cannot be combined with 'pubkeys' (no " +
            "CA is involved in raw public key authentication)");
  CHECK(load_error(remote + "      auth: pubkey\n      id: m\n      pubkeys: [moonCert.pem]\n")
            .starts_with(n + ":6:17: connections.c.remote.pubkeys[0]: 'moonCert.pem' is not a " +
                         "public key: "));
  CHECK(load_error(remote + "      auth: pubkey\n      id: m\n      pubkeys: [nothere.pem]\n") ==
        n + ":6:17: connections.c.remote.pubkeys[0]: cannot read public key file 'nothere.pem': " +
            "cannot open file");

  const std::string local = "connections:\n  c:\n    local:\n      auth: pubkey\n";
  const std::string psk =
      "    remote:\n      auth: psk\nsecrets:\n  ike: {secret: a secret of "
      "some length}\n";
  CHECK(load_error(local + "      pubkeys: moonPub.pem\n" + psk +
                   "  ecdsa-s: {file: sunKey.pem}\n") ==
        n + ":5:16: connections.c.local.pubkeys: no private key in 'secrets' (private<suffix>, " +
            "rsa<suffix> or ecdsa<suffix> sections) matches public key RSA 2048");
  CHECK(load_error(local + "      pubkeys: [moonPub.pem, sunPub.der]\n" + psk) ==
        n + ":5:16: connections.c.local.pubkeys: local 'pubkeys' takes exactly one public key " +
            "file (2 given)");
  CHECK(load_error(local + "      certs: moonCert.pem\n      pubkeys: moonPub.pem\n" + psk) ==
        n + ":6:16: connections.c.local.pubkeys: 'pubkeys' and 'certs' cannot be combined; " +
            "ikeme authenticates us either by certificate or by raw public key");
  // An rsa<suffix> key for a raw public key side loads like a private<suffix> one.
  const PeerConfig ok =
      load_ok(local + "      pubkeys: moonPub.pem\n" + psk + "  rsa-m: {file: moonKey.pem}\n");
  CHECK(ok.engine.connections[0].local.key != nullptr);
}

// The peer configuration file (config/peer_config.hpp): a full round trip into the engine's
// structs, the defaults, every refusal with its exact file:line:column, a translation of the
// strongSwan vector's swanctl.conf, and the shipped example file.
#include <catch2/catch.hpp>

#include <string>

#include "config/peer_config.hpp"
#include "config/secret.hpp"
#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;
using namespace ikeme::config;
using namespace std::chrono_literals;
using ike::AuthMethodConfig;
using ike::ChildMode;
using ike::DpdAction;
using ike::Identity;
using ike::ProtocolId;
using ike::StartAction;
using ike::Subsystem;

namespace {

PeerConfig load_ok(const std::string& yaml) {
  auto r = load_peer_config_string(yaml, "peer.yaml");
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  return std::move(*r);
}

// The error's "file:line:col: field: message".
std::string load_error(const std::string& yaml) {
  auto r = load_peer_config_string(yaml, "peer.yaml");
  REQUIRE_FALSE(r.ok());
  return r.error().to_string();
}

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

Identity id(const char* text) {
  return *Identity::parse(text);
}

std::vector<ike::Proposal> proposals(std::initializer_list<const char*> texts, ProtocolId p) {
  std::vector<ike::Proposal> out;
  for (const char* t : texts) {
    auto parsed = ike::parse_proposal(t, p);
    REQUIRE(parsed.ok());
    out.push_back(*parsed);
    out.back().number = static_cast<uint8_t>(out.size());
  }
  return out;
}

std::vector<ike::TrafficSelector> selectors(std::initializer_list<const char*> texts) {
  std::vector<ike::TrafficSelector> out;
  for (const char* t : texts) {
    auto parsed = ike::parse_traffic_selector(t);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->has_value());
    out.push_back(**parsed);
  }
  return out;
}

Bytes secret(const char* text) {
  auto b = decode_secret(text);
  REQUIRE(b.ok());
  return *b;
}

// A secret that applies to every identity, so PSK connections in error tests load.
const std::string kAnySecret = "secrets:\n  ike:\n    secret: 12345678\n";

}  // namespace

TEST_CASE("peer config: every key lands in the engine's structs", "[config][peer]") {
  const PeerConfig c = load_ok(R"(daemon:
  listen: [192.0.2.1, "2001:db8::1"]
  port: 500
  port_nat_t: 4501
  control_socket: /tmp/ikeme.sock
  retransmit_timeout: 0.5s
  retransmit_base: 2.5
  retransmit_tries: 3
  cookie_threshold: 20
  half_open_limit: 500
  half_open_timeout: 45s
  keepalive: 15s
  fragment_size: 1400
  esp_backend: userspace
  tun_name: ipsec7
  tun_mtu: 1380
  tun_offload: no
  replay_window: 4096
  install_routes: no
  firewall: yes
  log: { default: 0, ike: 2, net: 3, enc: -1, cfg: 4, chd: 1, knl: 2, med: 3, ice: 0, file: /var/log/x.log }
connections:
  home:
    version: 2
    local_addrs: 192.0.2.1
    remote_addrs: [198.51.100.7, "2001:db8::7"]
    local_port: 500
    remote_port: 4500
    proposals: aes128-sha256-x25519, aes256gcm16-prfsha384-ecp384
    dpd_delay: 30s
    dpd_timeout: 2m
    keyingtries: 3
    fragmentation: force
    mediation: no
    mobike: no
    encap: yes
    local:
      auth: psk
      id: alice@example.org
    remote:
      auth: psk
      id: bob.example.org
    children:
      net:
        local_ts: 10.1.0.0/16, 10.3.0.0/24[tcp/80]
        remote_ts: [10.2.0.0/16]
        esp_proposals: aes128gcm16-x25519
        mode: transport
        start_action: start
        dpd_action: trap
        rekey_time: 30m
        life_time: 40m
      other:
  peer2:
    version: 0
    fragmentation: no
    mediation: yes
    srflx_refresh: 15s
    local_addrs: "%any"
secrets:
  ike-home:
    id: alice@example.org
    id-2: bob.example.org
    secret: 0sBAXz/6cSITttd0CzF9799p859Pi4LPnP
  ike1:
    id: 192.0.2.9
    secret: 0x0102030405060708
)");
  // daemon
  CHECK(c.daemon.listen == std::vector<IpAddress>{ip("192.0.2.1"), ip("2001:db8::1")});
  CHECK(c.daemon.control_socket == "/tmp/ikeme.sock");
  CHECK(c.daemon.log.default_level == 0);
  CHECK(c.daemon.log.levels == std::map<Subsystem, int>{{Subsystem::IKE, 2},
                                                        {Subsystem::NET, 3},
                                                        {Subsystem::ENC, -1},
                                                        {Subsystem::CFG, 4},
                                                        {Subsystem::CHD, 1},
                                                        {Subsystem::KNL, 2},
                                                        {Subsystem::MED, 3},
                                                        {Subsystem::ICE, 0}});
  CHECK(c.daemon.log.file == "/var/log/x.log");
  CHECK(c.daemon.esp_backend == EspBackend::Userspace);
  CHECK(c.daemon.tun_name == "ipsec7");
  CHECK(c.daemon.tun_mtu == 1380);
  CHECK_FALSE(c.daemon.tun_offload);
  CHECK(c.daemon.replay_window == 4096);
  CHECK_FALSE(c.daemon.install_routes);
  CHECK(c.daemon.firewall);
  const ike::EngineConfig& e = c.engine;
  CHECK(e.port == 500);
  CHECK(e.port_nat_t == 4501);
  CHECK(e.retransmit.timeout == 500ms);
  CHECK(e.retransmit.base == 2.5);
  CHECK(e.retransmit.tries == 3);
  CHECK(e.cookie_threshold == 20);
  CHECK(e.half_open_limit == 500);
  CHECK(e.half_open_timeout == 45s);
  CHECK(e.keepalive_interval == 15s);
  CHECK(e.fragment_size == 1400);

  // connections, in document order
  REQUIRE(e.connections.size() == 2);
  const ike::ConnectionConfig& home = e.connections[0];
  CHECK(home.name == "home");
  CHECK(home.local_addrs == std::vector<IpAddress>{ip("192.0.2.1")});
  CHECK(home.remote_addrs == std::vector<IpAddress>{ip("198.51.100.7"), ip("2001:db8::7")});
  CHECK(home.remote_port == 4500);
  CHECK(home.proposals ==
        proposals({"aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384"}, ProtocolId::IKE));
  CHECK(home.proposals[1].number == 2);
  CHECK(home.dpd_delay == 30s);
  CHECK(home.dpd_timeout == 120s);
  CHECK(home.keyingtries == 3);
  CHECK(home.fragmentation);
  CHECK_FALSE(home.mediation);
  CHECK(home.encap);
  CHECK_FALSE(e.connections[1].encap);
  CHECK(home.send_initial_contact);
  CHECK(home.local.method == AuthMethodConfig::Psk);
  CHECK(home.local.id == id("alice@example.org"));
  CHECK(home.local.id.type() == ike::IdType::ID_RFC822_ADDR);
  CHECK(home.remote.method == AuthMethodConfig::Psk);
  CHECK(home.remote.id == id("bob.example.org"));
  CHECK(home.remote.id.type() == ike::IdType::ID_FQDN);
  REQUIRE(home.children.size() == 2);
  const ike::ChildConfig& net = home.children[0];
  CHECK(net.name == "net");
  CHECK(net.local_ts == selectors({"10.1.0.0/16", "10.3.0.0/24[tcp/80]"}));
  CHECK(net.local_ts[1].ip_protocol == 6);
  CHECK(net.remote_ts == selectors({"10.2.0.0/16"}));
  CHECK(net.esp_proposals == proposals({"aes128gcm16-x25519"}, ProtocolId::ESP));
  CHECK(net.mode == ChildMode::Transport);
  CHECK(net.start_action == StartAction::Start);
  CHECK(net.dpd_action == DpdAction::Trap);
  CHECK(net.rekey_time_s == 1800);
  CHECK(net.life_time_s == 2400);
  const ike::ChildConfig& other = home.children[1];  // "other:" with no value: all defaults
  CHECK(other.name == "other");
  CHECK(other.local_ts.empty());
  CHECK(other.remote_ts.empty());
  CHECK(other.esp_proposals == proposals({"aes128gcm16", "aes128-sha256"}, ProtocolId::ESP));
  CHECK(other.mode == ChildMode::Tunnel);
  CHECK(other.start_action == StartAction::None);
  CHECK(other.dpd_action == DpdAction::Clear);
  CHECK(other.rekey_time_s == 3600);
  CHECK(other.life_time_s == 3960);

  const ike::ConnectionConfig& peer2 = e.connections[1];
  CHECK(peer2.name == "peer2");
  CHECK(peer2.local_addrs.empty());  // %any
  CHECK(peer2.remote_addrs.empty());
  CHECK_FALSE(peer2.fragmentation);
  CHECK(peer2.mediation);
  CHECK(peer2.srflx_refresh == 15s);
  CHECK(home.srflx_refresh == 60s);  // the default (used by mediation connections only)
  CHECK(peer2.local.id.is_any());
  CHECK(peer2.remote.id.is_any());
  CHECK(peer2.children.empty());

  // secrets: every id<suffix> key, in order
  REQUIRE(e.ike_secrets.size() == 2);
  CHECK(e.ike_secrets[0].ids ==
        std::vector<Identity>{id("alice@example.org"), id("bob.example.org")});
  CHECK(e.ike_secrets[0].secret == secret("0sBAXz/6cSITttd0CzF9799p859Pi4LPnP"));
  CHECK(e.ike_secrets[0].secret.size() == 24);
  CHECK(e.ike_secrets[1].ids == std::vector<Identity>{id("192.0.2.9")});
  CHECK(e.ike_secrets[1].ids[0].type() == ike::IdType::ID_IPV4_ADDR);
  CHECK(e.ike_secrets[1].secret == Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  // And the engine finds the PSK the way it will at run time.
  CHECK(ike::find_psk(e.ike_secrets, home.local.id, home.remote.id) == &e.ike_secrets[0]);
}

TEST_CASE("peer config: the ice section", "[config][peer]") {
  const PeerConfig c = load_ok(
      "ice:\n  exclude_interfaces: [docker0, wg0]\n"
      "  exclude_addresses: 172.16.0.0/12, 2001:db8::/32, 192.0.2.7\n");
  CHECK(c.ice.exclusions.interfaces == std::vector<std::string>{"docker0", "wg0"});
  REQUIRE(c.ice.exclusions.prefixes.size() == 3);
  CHECK(c.ice.exclusions.prefixes[0].to_string() == "172.16.0.0/12");
  CHECK(c.ice.exclusions.prefixes[2].length == 32);
  CHECK(c.ice.exclusions.reason(ip("172.20.1.1"), "eth0").has_value());
  CHECK(c.ice.exclusions.reason(ip("10.0.0.1"), "docker0").has_value());
  CHECK_FALSE(c.ice.exclusions.reason(ip("10.0.0.1"), "eth0").has_value());
  CHECK(load_ok("").ice.exclusions.interfaces.empty());
  CHECK(load_ok("").ice.disclose_ipv6);
  CHECK_FALSE(load_ok("ice:\n  disclose_ipv6: no\n").ice.disclose_ipv6);
  CHECK(load_error("ice:\n  disclose_ipv6: maybe\n").find("peer.yaml:2:18: ice.disclose_ipv6") ==
        0);
  CHECK(
      load_error("ice:\n  exclude_addresses: [10.0.0.0/33]\n")
          .find("peer.yaml:2:22: ice.exclude_addresses: invalid address or prefix '10.0.0.0/33'") ==
      0);
  CHECK(load_error("ice:\n  exclude: [eth0]\n").find("peer.yaml:2:3: ice.exclude: unknown key") ==
        0);
  CHECK(load_ok("").ice.transaction_timeout == ike::Duration(30000));
  CHECK(load_ok("ice:\n  transaction_timeout: 5s\n").ice.transaction_timeout ==
        ike::Duration(5000));
  CHECK(load_error("ice:\n  transaction_timeout: 0s\n").find("peer.yaml:2:") == 0);
}

TEST_CASE("peer config: defaults", "[config][peer]") {
  SECTION("an empty file is a daemon with no connections") {
    const PeerConfig c = load_ok("");
    CHECK(c.daemon.listen.empty());
    CHECK(c.daemon.control_socket == "/run/ikeme/peer.sock");
    CHECK(c.daemon.log.default_level == 1);
    CHECK(c.daemon.log.levels.empty());
    CHECK(c.daemon.log.file.empty());
    CHECK(c.daemon.esp_backend == EspBackend::Auto);
    CHECK(c.daemon.tun_name == "ikeme0");
    CHECK(c.daemon.tun_mtu == 1400);
    CHECK(c.daemon.tun_offload);
    CHECK(c.daemon.replay_window == 1024);
    CHECK(c.daemon.install_routes);
    CHECK_FALSE(c.daemon.firewall);
    const ike::EngineConfig& e = c.engine;
    const ike::EngineConfig d;
    CHECK(e.connections.empty());
    CHECK(e.ike_secrets.empty());
    CHECK(e.port == 500);
    CHECK(e.port_nat_t == 4500);
    CHECK(e.retransmit.timeout == 4s);
    CHECK(e.retransmit.base == 1.8);
    CHECK(e.retransmit.tries == 5);
    CHECK(e.cookie_threshold == d.cookie_threshold);
    CHECK(e.half_open_limit == d.half_open_limit);
    CHECK(e.half_open_timeout == 30s);
    CHECK(e.keepalive_interval == 20s);
    CHECK(e.fragment_size == 1280);
  }
  SECTION("empty sections") {
    const PeerConfig c = load_ok("daemon:\nconnections:\nsecrets:\n");
    CHECK(c.engine.connections.empty());
    CHECK(c.daemon.control_socket == "/run/ikeme/peer.sock");
  }
  SECTION("a connection with nothing set") {
    const PeerConfig c = load_ok("connections:\n  c:\n    children:\n      ch:\n" + kAnySecret);
    REQUIRE(c.engine.connections.size() == 1);
    const ike::ConnectionConfig& conn = c.engine.connections[0];
    CHECK(conn.name == "c");
    CHECK(conn.local_addrs.empty());
    CHECK(conn.remote_addrs.empty());
    CHECK(conn.remote_port == 500);
    CHECK(conn.proposals == proposals({"aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384",
                                       "aes256-sha512-modp3072"},
                                      ProtocolId::IKE));
    CHECK(conn.dpd_delay == 0s);
    CHECK(conn.dpd_timeout == 150s);
    CHECK(conn.keyingtries == 1);
    CHECK(conn.send_initial_contact);
    CHECK(conn.fragmentation);
    CHECK_FALSE(conn.mediation);
    CHECK(conn.local.method == AuthMethodConfig::Psk);
    CHECK(conn.local.id.is_any());
    CHECK(conn.remote.method == AuthMethodConfig::Psk);
    CHECK(conn.remote.id.is_any());
    REQUIRE(conn.children.size() == 1);
    CHECK(conn.children[0].esp_proposals ==
          proposals({"aes128gcm16", "aes128-sha256"}, ProtocolId::ESP));
    CHECK(conn.children[0].local_ts.empty());
    CHECK(conn.children[0].remote_ts.empty());
    CHECK(conn.children[0].life_time_s == 3960);
  }
  SECTION("life_time follows rekey_time; rekey_time 0 means neither") {
    const PeerConfig c = load_ok(
        "connections:\n  c:\n    children:\n      a: {rekey_time: 20m}\n      b: {rekey_time: "
        "0}\n" +
        kAnySecret);
    CHECK(c.engine.connections[0].children[0].life_time_s == 1320);
    CHECK(c.engine.connections[0].children[1].rekey_time_s == 0);
    CHECK(c.engine.connections[0].children[1].life_time_s == 0);
  }
  SECTION("'default' in a proposal list, 'dynamic', %any and harmless refused keys") {
    const PeerConfig c = load_ok(R"(connections:
  c:
    proposals: [chacha20poly1305-prfsha256-x25519, default]
    remote_addrs: "%any"
    mobike: no
    aggressive: no
    rekey_time: 0
    unique: no
    send_certreq: no
    mediated_by: ""
    local: { round: 0, certs: "" }
    remote: { revocation: relaxed }
    children:
      ch:
        local_ts: dynamic
        remote_ts: dynamic
        esp_proposals: default
        updown:
        policies: yes
        replay_window: 32
        mark_in: 0/0x00000000
        close_action: none
        start_action: none
        dpd_action: none
)" + kAnySecret);
    const ike::ConnectionConfig& conn = c.engine.connections[0];
    CHECK(conn.proposals == proposals({"chacha20poly1305-prfsha256-x25519", "aes128-sha256-x25519",
                                       "aes256gcm16-prfsha384-ecp384", "aes256-sha512-modp3072"},
                                      ProtocolId::IKE));
    CHECK(conn.children[0].esp_proposals ==
          proposals({"aes128gcm16", "aes128-sha256"}, ProtocolId::ESP));
    CHECK(conn.children[0].local_ts.empty());
    CHECK(conn.children[0].dpd_action == DpdAction::Clear);
  }
}

TEST_CASE("peer config: unknown, duplicate and misplaced keys", "[config][peer]") {
  CHECK(load_error("connections:\n  home:\n    remote_adrs: 192.0.2.2\n") ==
        "peer.yaml:3:5: connections.home.remote_adrs: unknown key 'remote_adrs', did you mean "
        "'remote_addrs'?");
  CHECK(load_error("daemon:\n  prot: 500\n") ==
        "peer.yaml:2:3: daemon.prot: unknown key 'prot', did you mean 'port'?");
  CHECK(load_error("conections:\n") ==
        "peer.yaml:1:1: conections: unknown key 'conections', did you mean 'connections'?");
  CHECK(load_error("connections:\n  c:\n    children:\n      ch:\n        local_tss: dynamic\n") ==
        "peer.yaml:5:9: connections.c.children.ch.local_tss: unknown key 'local_tss', did you "
        "mean 'local_ts'?");
  CHECK(load_error("connections:\n  c:\n    local:\n      idd: x\n") ==
        "peer.yaml:4:7: connections.c.local.idd: unknown key 'idd', did you mean 'id'?");
  CHECK(load_error("daemon:\n  log:\n    dmn: 2\n") ==
        "peer.yaml:3:5: daemon.log.dmn: unknown key 'dmn'; allowed keys: default, ike, net, enc, "
        "cfg, chd, knl, med, ice, file");
  CHECK(load_error("secrets:\n  ike:\n    secert: 12345678\n") ==
        "peer.yaml:3:5: secrets.ike.secert: unknown key 'secert', did you mean 'secret'?");
  // Without a close match, the list names the keys ikeme implements (not the refused ones).
  CHECK(load_error("connections:\n  c:\n    local_ts: 10.1.0.0/16\n") ==
        "peer.yaml:3:5: connections.c.local_ts: unknown key 'local_ts'; allowed keys: version, "
        "local_addrs, remote_addrs, local_port, remote_port, proposals, dpd_delay, dpd_timeout, "
        "keyingtries, fragmentation, mediation, mediated_by, mediation_peer, encap, vips, pools, "
        "local, remote, children, srflx_refresh");
  // A refused key is still a typo target.
  CHECK(load_error("connections:\n  c:\n    mobik: no\n") ==
        "peer.yaml:3:5: connections.c.mobik: unknown key 'mobik', did you mean 'mobike'?");
  // Duplicate names: YAML maps cannot hold them, yaml-cpp keeps both, we refuse.
  CHECK(load_error("connections:\n  a:\n  a:\n") ==
        "peer.yaml:3:3: connections.a: duplicate key 'a' (first at line 2)");
  CHECK(load_error("connections:\n  c:\n    children:\n      x:\n      x:\n") ==
        "peer.yaml:5:7: connections.c.children.x: duplicate key 'x' (first at line 4)");
  CHECK(load_error("connections:\n  c:\n    version: 2\n    version: 2\n") ==
        "peer.yaml:4:5: connections.c.version: duplicate key 'version' (first at line 3)");
  CHECK(load_error("secrets:\n  ike-a:\n    secret: 12345678\n  ike-a:\n    secret: 12345678\n") ==
        "peer.yaml:4:3: secrets.ike-a: duplicate key 'ike-a' (first at line 2)");
  CHECK(load_error("secrets:\n  ike:\n    id: a@b\n    id: c@d\n    secret: 12345678\n") ==
        "peer.yaml:4:5: secrets.ike.id: duplicate key 'id' (first at line 3)");
}

TEST_CASE("peer config: shapes", "[config][peer]") {
  CHECK(load_error("- a\n") ==
        "peer.yaml:1:1: expected a mapping with daemon, connections and secrets, found a sequence");
  CHECK(load_error("connections: [a, b]\n") ==
        "peer.yaml:1:14: connections: expected a mapping, found a sequence");
  CHECK(load_error("connections:\n  home: 5\n") ==
        "peer.yaml:2:9: connections.home: a connection must be a mapping of its settings, found a "
        "scalar");
  CHECK(load_error("connections:\n  home:\n    children:\n      net: [1]\n") ==
        "peer.yaml:4:12: connections.home.children.net: a child must be a mapping of its "
        "settings, found a sequence");
  CHECK(load_error("connections:\n  home:\n    local: psk\n") ==
        "peer.yaml:3:12: connections.home.local: expected a mapping, found a scalar");
  CHECK(load_error("daemon:\n  log: 2\n") ==
        "peer.yaml:2:8: daemon.log: expected a mapping, found a scalar");
  CHECK(load_error("secrets:\n  ike: 12345678\n") ==
        "peer.yaml:2:8: secrets.ike: a secret must be a mapping with 'id' and 'secret', found a "
        "scalar");
  CHECK(load_error("connections:\n  c:\n    remote_addrs: [[192.0.2.1]]\n") ==
        "peer.yaml:3:20: connections.c.remote_addrs[0]: expected a string, found a sequence");
  CHECK(load_error("connections:\n  c:\n    remote_addrs:\n      - 192.0.2.1, 192.0.2.2\n") ==
        "peer.yaml:4:9: connections.c.remote_addrs[0]: a list item holds one value; write "
        "'192.0.2.1, 192.0.2.2' as separate items");
  CHECK(load_error("connections:\n  c:\n    remote_addrs: 192.0.2.1,,192.0.2.2\n") ==
        "peer.yaml:3:19: connections.c.remote_addrs: empty item in comma-separated list "
        "'192.0.2.1,,192.0.2.2'");
  // YAML syntax errors carry yaml-cpp's position; a missing file is a file-level error.
  CHECK(load_error("connections:\n  c: [\n").starts_with("peer.yaml:"));
  auto missing = load_peer_config("/nonexistent/ikeme/peer.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().to_string() ==
        "/nonexistent/ikeme/peer.yaml: cannot open: No such file or directory");
}

TEST_CASE("peer config: daemon values", "[config][peer]") {
  CHECK(load_error("daemon:\n  port: 4500\n") ==
        "peer.yaml:2:9: daemon.port: port and port_nat_t must differ (both are 4500)");
  CHECK(load_error("daemon:\n  port_nat_t: 500\n") ==
        "peer.yaml:2:15: daemon.port_nat_t: port and port_nat_t must differ (both are 500)");
  CHECK(load_error("daemon:\n  port: 0\n") ==
        "peer.yaml:2:9: daemon.port: value 0 is out of range 1..65535");
  CHECK(load_error("daemon:\n  listen: 0.0.0.0, localhost\n") ==
        "peer.yaml:2:11: daemon.listen: 'localhost' is not an IP address; hostnames are not "
        "supported, only IP addresses");
  CHECK(load_error("daemon:\n  listen: \"%any\"\n") ==
        "peer.yaml:2:11: daemon.listen: '%any' is not supported; use IP addresses");
  CHECK(load_error("daemon:\n  retransmit_timeout: 0.0005s\n") ==
        "peer.yaml:2:23: daemon.retransmit_timeout: duration '0.0005s' is finer than a "
        "millisecond");
  CHECK(load_error("daemon:\n  retransmit_timeout: 0s\n") ==
        "peer.yaml:2:23: daemon.retransmit_timeout: must be greater than 0");
  CHECK(load_error("daemon:\n  keepalive: 0\n") ==
        "peer.yaml:2:14: daemon.keepalive: must be greater than 0");
  CHECK(load_error("daemon:\n  retransmit_base: fast\n") ==
        "peer.yaml:2:20: daemon.retransmit_base: expected a number like 1.8, got 'fast'");
  CHECK(load_error("daemon:\n  retransmit_base: 0.5\n") ==
        "peer.yaml:2:20: daemon.retransmit_base: value 0.5 is out of range 1..10");
  CHECK(load_error("daemon:\n  fragment_size: 100\n") ==
        "peer.yaml:2:18: daemon.fragment_size: value 100 is out of range 576..65535");
  CHECK(load_error("daemon:\n  log:\n    ike: 5\n") ==
        "peer.yaml:3:10: daemon.log.ike: value 5 is out of range -1..4");
  CHECK(load_error("daemon:\n  control_socket: \"\"\n") ==
        "peer.yaml:2:19: daemon.control_socket: must not be empty");
  CHECK(load_error("daemon:\n  esp_backend: kernel\n") ==
        "peer.yaml:2:16: daemon.esp_backend: expected 'auto', 'xfrm', 'userspace' or 'none', got "
        "'kernel'");
  CHECK(load_ok("daemon:\n  esp_backend: XFRM\n").daemon.esp_backend == EspBackend::Xfrm);
  CHECK(load_ok("daemon:\n  esp_backend: none\n").daemon.esp_backend == EspBackend::None);
  CHECK(load_error("daemon:\n  tun_name: averyveryverylongname\n") ==
        "peer.yaml:2:13: daemon.tun_name: expected an interface name of 1 to 15 characters "
        "without '/', ':' or whitespace, got 'averyveryverylongname'");
  CHECK(load_error("daemon:\n  tun_name: a/b\n").find("daemon.tun_name: expected") !=
        std::string::npos);
  CHECK(load_error("daemon:\n  tun_mtu: 100\n") ==
        "peer.yaml:2:12: daemon.tun_mtu: value 100 is out of range 576..65535");
  CHECK(load_error("daemon:\n  replay_window: 32\n") ==
        "peer.yaml:2:18: daemon.replay_window: value 32 is out of range 64..65536");
  CHECK(load_error("connections:\n  c:\n    encap: maybe\n").find("connections.c.encap") !=
        std::string::npos);
  // Plain seconds and fractions of them, like strongswan.conf's retransmit_timeout = 4.0.
  CHECK(load_ok("daemon:\n  retransmit_timeout: 1.5\n").engine.retransmit.timeout == 1500ms);
  CHECK(load_ok("daemon:\n  retransmit_timeout: 250ms\n").engine.retransmit.timeout == 250ms);
  CHECK(load_ok("daemon:\n  port: 4500\n  port_nat_t: 4501\n").engine.port == 4500);
}

TEST_CASE("peer config: connection values", "[config][peer]") {
  const std::string head = "connections:\n  c:\n";
  CHECK(load_error(head + "    version: 1\n") ==
        "peer.yaml:3:14: connections.c.version: IKEv1 is not supported by ikeme; use version 2 "
        "(or 0, which means 2)");
  CHECK(load_error(head + "    version: 3\n") ==
        "peer.yaml:3:14: connections.c.version: value 3 is out of range 0..2");
  CHECK(load_error(head + "    remote_addrs: vpn.example.org\n") ==
        "peer.yaml:3:19: connections.c.remote_addrs: 'vpn.example.org' is not an IP address; "
        "hostnames are not supported, only IP addresses");
  CHECK(load_error(head + "    local_addrs: [192.0.2.1, 192.0.2.0/24]\n") ==
        "peer.yaml:3:30: connections.c.local_addrs[1]: subnet '192.0.2.0/24': subnets are not "
        "supported, only single IP addresses");
  CHECK(load_error(head + "    remote_addrs: 192.0.2.1-192.0.2.9\n") ==
        "peer.yaml:3:19: connections.c.remote_addrs: range '192.0.2.1-192.0.2.9': address ranges "
        "are not supported, only single IP addresses");
  CHECK(load_error(head + "    remote_addrs: \"%any6\"\n") ==
        "peer.yaml:3:19: connections.c.remote_addrs: '%any6' is not supported; use %any or IP "
        "addresses");
  CHECK(load_error(head + "    remote_addrs: %any\n") ==
        "peer.yaml:3:19: unknown token; a value starting with '%' must be quoted, e.g. \"%any\"");
  CHECK(load_error(head + "    remote_addrs: [\"%any\", 192.0.2.1]\n") ==
        "peer.yaml:3:20: connections.c.remote_addrs[0]: '%any' cannot be combined with "
        "addresses");
  CHECK(load_error("daemon:\n  listen: [192.0.2.1, \"2001:db8::1\"]\n" + head +
                   "    local_addrs: 192.0.2.1, 192.0.2.5\n") ==
        "peer.yaml:5:18: connections.c.local_addrs: 192.0.2.5 is not an address the daemon "
        "listens on (daemon.listen: 192.0.2.1, 2001:db8::1)");
  CHECK(load_ok("daemon:\n  listen: 0.0.0.0\n" + head + "    local_addrs: 192.0.2.5\n" + kAnySecret)
            .engine.connections[0]
            .local_addrs.size() == 1);
  CHECK(load_error(head + "    local_port: 4500\n") ==
        "peer.yaml:3:17: connections.c.local_port: per-connection local ports are not supported "
        "by ikeme: local_port must equal daemon.port (500)");
  CHECK(load_ok("daemon: {port: 1500}\n" + head + "    local_port: 1500\n" + kAnySecret)
            .engine.connections.size() == 1);
  CHECK(load_error(head + "    remote_port: 70000\n") ==
        "peer.yaml:3:18: connections.c.remote_port: value 70000 is out of range 1..65535");
  // A proposal is blamed at its item in a sequence, at the whole string in a comma list.
  CHECK(
      load_error(head + "    proposals:\n      - aes128-sha256-x25519\n      - aes129-sha256\n") ==
      "peer.yaml:5:9: connections.c.proposals[1]: unknown algorithm 'aes129' in proposal "
      "'aes129-sha256'");
  CHECK(load_error(head + "    proposals: aes128-sha256-x25519, aes128-sha256\n") ==
        "peer.yaml:3:16: connections.c.proposals: IKE proposal 'aes128-sha256' needs a key "
        "exchange group");
  CHECK(load_error(head + "    proposals: \"\"\n") ==
        "peer.yaml:3:16: connections.c.proposals: at least one proposal is required");
  CHECK(load_error(head + "    fragmentation: maybe\n") ==
        "peer.yaml:3:20: connections.c.fragmentation: expected 'yes', 'no', 'accept' or 'force', "
        "got 'maybe'");
  CHECK(load_error(head + "    dpd_delay: soon\n")
            .starts_with("peer.yaml:3:16: connections.c.dpd_delay: expected a duration like 0.5s"));
  CHECK(load_error(head + "    mediation: maybe\n") ==
        "peer.yaml:3:16: connections.c.mediation: expected a boolean (true/false, yes/no, "
        "on/off), got 'maybe'");
  for (const char* value : {"yes", "accept", "force", "true"})
    CHECK(load_ok(head + "    fragmentation: " + value + "\n" + kAnySecret)
              .engine.connections[0]
              .fragmentation);
}

TEST_CASE("peer config: authentication", "[config][peer]") {
  const std::string head = "connections:\n  c:\n";
  CHECK(load_error(head + "    local:\n      auth: pubkey\n") ==
        "peer.yaml:4:13: connections.c.local.auth: auth: pubkey needs 'certs': our certificate "
        "file (and any intermediate CA files), or 'pubkeys': our raw public key file");
  CHECK(load_error(head + "    remote:\n      auth: ecdsa-384\n") ==
        "peer.yaml:4:13: connections.c.remote.auth: auth 'ecdsa-384' is not supported by ikeme; "
        "use auth: pubkey (the signature scheme is negotiated)");
  CHECK(load_error(head + "    remote:\n      auth: eap-mschapv2\n") ==
        "peer.yaml:4:13: connections.c.remote.auth: EAP authentication is not supported by "
        "ikeme (auth 'eap-mschapv2'); use auth: psk or auth: pubkey");
  CHECK(load_error(head + "    local:\n      auth: xauth\n") ==
        "peer.yaml:4:13: connections.c.local.auth: XAuth is IKEv1-only and not supported by "
        "ikeme; use auth: psk or auth: pubkey");
  CHECK(load_error(head + "    local:\n      auth: magic\n") ==
        "peer.yaml:4:13: connections.c.local.auth: unknown auth method 'magic'; ikeme supports "
        "'psk' and 'pubkey'");
  CHECK(load_error(head + "    local-2:\n      auth: psk\n") ==
        "peer.yaml:3:5: connections.c.local-2: section 'local-2': multiple authentication "
        "rounds are not supported by ikeme; use one 'local' and one 'remote' section");
  CHECK(load_error(head + "    remote1:\n") ==
        "peer.yaml:3:5: connections.c.remote1: section 'remote1': multiple authentication "
        "rounds are not supported by ikeme; use one 'local' and one 'remote' section");
  CHECK(load_error(head + "    local:\n      id: \"C=CH, O=strongSwan, CN=alice\"\n") ==
        "peer.yaml:4:11: connections.c.local.id: distinguished-name identities are not "
        "supported; use an FQDN, user@FQDN, IP address or @#hex key id");
  CHECK(load_error(head + "    local:\n      id: fqdn:alice.example.org\n") ==
        "peer.yaml:4:11: connections.c.local.id: typed identities like 'fqdn:' are not "
        "supported; write the identity without the prefix");
  CHECK(load_error(head + "    remote:\n      id: \"%any4\"\n") ==
        "peer.yaml:4:11: connections.c.remote.id: unknown special identity '%any4'; only %any");
  CHECK(load_error(head + "    remote:\n      id: \"@#12z4\"\n") ==
        "peer.yaml:4:11: connections.c.remote.id: invalid identity '@#12z4'");
  CHECK(load_error(head + "    remote:\n      id: \"\"\n") ==
        "peer.yaml:4:11: connections.c.remote.id: must not be empty");
  const PeerConfig ok = load_ok(
      head + "    local: {id: \"@#0102\"}\n    remote: {id: \"2001:db8::1\"}\n" + kAnySecret);
  CHECK(ok.engine.connections[0].local.id.type() == ike::IdType::ID_KEY_ID);
  CHECK(ok.engine.connections[0].local.id.data() == Bytes{1, 2});
  CHECK(ok.engine.connections[0].remote.id.type() == ike::IdType::ID_IPV6_ADDR);
}

TEST_CASE("peer config: swanctl keys ikeme does not implement", "[config][peer]") {
  const std::string head = "connections:\n  c:\n";
  CHECK(load_error(head + "    mobike: yes\n") ==
        "peer.yaml:3:5: connections.c.mobike: key 'mobike' is not supported by ikeme (only 'no' "
        "is accepted)");
  CHECK(load_error(head + "    rekey_time: 4h\n") ==
        "peer.yaml:3:5: connections.c.rekey_time: key 'rekey_time' is not supported by ikeme "
        "(only '0s' is accepted)");
  CHECK(load_error(head + "    unique: replace\n") ==
        "peer.yaml:3:5: connections.c.unique: key 'unique' is not supported by ikeme (only 'no' "
        "is accepted)");
  CHECK(load_error(head + "    send_cert: always\n") ==
        "peer.yaml:3:5: connections.c.send_cert: key 'send_cert' is not supported by ikeme (only "
        "'never' is accepted)");
  CHECK(load_error(head + "    mediated_by: medsrv\n") ==
        "peer.yaml:3:18: connections.c.mediated_by: a mediated connection needs mediation_peer: "
        "the peer's identity at the mediation server");
  CHECK(load_error(head + "    mediation_peer: bob@medsrv.org\n") ==
        "peer.yaml:3:21: connections.c.mediation_peer: mediation_peer needs mediated_by");
  CHECK(load_error(head + "    srflx_refresh: 30s\n") ==
        "peer.yaml:3:20: connections.c.srflx_refresh: srflx_refresh is for mediation connections "
        "(mediation: yes) only");
  CHECK(load_error(head + "    local:\n      certs: alice.pem\n") ==
        "peer.yaml:4:14: connections.c.local.certs: 'certs' needs auth: pubkey");
  CHECK(load_error(head + "    local:\n      cert-1:\n        file: a.pem\n") ==
        "peer.yaml:4:7: connections.c.local.cert-1: key 'cert-1' is not supported by ikeme");
  CHECK(load_error(head + "    remote:\n      cacert1: {file: ca.pem}\n") ==
        "peer.yaml:4:7: connections.c.remote.cacert1: key 'cacert1' is not supported by ikeme");
  CHECK(load_error(head + "    remote:\n      revocation: strict\n") ==
        "peer.yaml:4:7: connections.c.remote.revocation: key 'revocation' is not supported by "
        "ikeme (only 'relaxed' is accepted)");
  CHECK(load_error(head + "    children:\n      ch:\n        updown: /usr/lib/ipsec/_updown\n") ==
        "peer.yaml:5:9: connections.c.children.ch.updown: key 'updown' is not supported by ikeme "
        "(only an empty value is accepted)");
  CHECK(load_error(head + "    children:\n      ch:\n        mark_in: 42\n") ==
        "peer.yaml:5:9: connections.c.children.ch.mark_in: key 'mark_in' is not supported by "
        "ikeme (only '0', '0/0' or '0/0x00000000' is accepted)");
  CHECK(load_error(head + "    children:\n      ch:\n        replay_window: 64\n") ==
        "peer.yaml:5:9: connections.c.children.ch.replay_window: key 'replay_window' is not "
        "supported by ikeme (only '32' is accepted)");
  CHECK(load_error("pools:\n  p: {addrs: 10.3.0.0/24, nbns: 10.1.0.1}\n") ==
        "peer.yaml:2:27: pools.p.nbns: key 'nbns' is not supported by ikeme (only an empty value "
        "is accepted)");
}

TEST_CASE("peer config: virtual IPs and pools", "[config][peer][vip]") {
  const std::string secrets = "secrets:\n  ike:\n    secret: a long enough secret\n";
  auto ok = load_ok(
      "pools:\n"
      "  rw:\n"
      "    addrs: 10.3.0.0/28\n"
      "    dns: [10.1.0.53, \"fec1::53\"]\n"
      "  rw6:\n"
      "    addrs: fec3::1-fec3::ff\n"
      "connections:\n"
      "  gw:\n"
      "    pools: rw, rw6, 10.3.9.9\n"
      "  home:\n"
      "    remote_addrs: 192.0.2.1\n"
      "    vips: [0.0.0.0, \"::\"]\n" +
      secrets);
  const auto& e = ok.engine;
  REQUIRE(e.pools.size() == 3);
  CHECK(e.pools[0].name == "rw");
  CHECK(e.pools[0].first == ip("10.3.0.1"));
  CHECK(e.pools[0].last == ip("10.3.0.14"));
  REQUIRE(e.pools[0].dns.size() == 2);
  CHECK(e.pools[0].dns[1] == ip("fec1::53"));
  CHECK(e.pools[1].first == ip("fec3::1"));
  CHECK(e.pools[1].last == ip("fec3::ff"));
  CHECK(e.pools[2].name == "10.3.9.9");  // the fixed address
  CHECK(e.pools[2].first == e.pools[2].last);
  CHECK(e.connections[0].pools == std::vector<std::string>{"rw", "rw6", "10.3.9.9"});
  REQUIRE(e.connections[1].vips.size() == 2);
  CHECK(e.connections[1].vips[1] == ip("::"));

  CHECK(load_error("connections:\n  gw:\n    pools: [rw, nope]\n" + secrets) ==
        "peer.yaml:3:13: connections.gw.pools[0]: unknown pool 'rw'; the top-level 'pools' "
        "section defines none (or write a single IP address to assign that fixed address)");
  CHECK(load_error("pools:\n  rw: {addrs: 10.3.0.0/28}\nconnections:\n  gw:\n    pools: nope\n" +
                   secrets) ==
        "peer.yaml:5:12: connections.gw.pools: unknown pool 'nope'; defined pools: rw (or write "
        "a single IP address to assign that fixed address)");
  CHECK(load_error("pools:\n  rw: {addrs: 10.3.0.1/28}\n") ==
        "peer.yaml:2:15: pools.rw.addrs: pool addresses '10.3.0.1/28': host bits are set; the "
        "subnet starts at a lower address");
  CHECK(load_error("pools:\n  rw: {dns: 10.1.0.53}\n") ==
        "peer.yaml:2:7: pools.rw.addrs: required field is missing");
  CHECK(load_error("pools:\n  rw: 10.3.0.0/28\n") ==
        "peer.yaml:2:7: pools.rw: a pool must be a mapping with 'addrs' (and 'dns'), found a "
        "scalar");
  CHECK(load_error("pools:\n  10.3.0.1: {addrs: 10.3.0.0/28}\n") ==
        "peer.yaml:2:3: pools.10.3.0.1: a pool may not be named like an IP address; such names "
        "in a connection's 'pools' stand for that fixed address");
  CHECK(load_error("connections:\n  c:\n    vips: 0.0.0.0/0\n" + secrets) ==
        "peer.yaml:3:11: connections.c.vips: subnet '0.0.0.0/0': subnets are not supported, only "
        "single IP addresses");
}

TEST_CASE("peer config: children", "[config][peer]") {
  const std::string head =
      "connections:\n  c:\n    remote_addrs: 192.0.2.2\n    children:\n"
      "      ch:\n";
  CHECK(load_error(head + "        local_ts: 10.1.0.0/33\n") ==
        "peer.yaml:6:19: connections.c.children.ch.local_ts: traffic selector '10.1.0.0/33': "
        "prefix length beyond 32");
  CHECK(load_error(head + "        remote_ts: [10.2.0.0/16, bogus]\n") ==
        "peer.yaml:6:34: connections.c.children.ch.remote_ts[1]: traffic selector 'bogus': not "
        "an IP address");
  CHECK(load_error(head + "        local_ts: [10.1.0.0/16, dynamic]\n") ==
        "peer.yaml:6:33: connections.c.children.ch.local_ts[1]: 'dynamic' combined with other "
        "traffic selectors is not supported by ikeme");
  CHECK(load_error(head + "        esp_proposals: aes128gcm16-prfsha256\n") ==
        "peer.yaml:6:24: connections.c.children.ch.esp_proposals: ESP proposal "
        "'aes128gcm16-prfsha256' cannot name a PRF");
  CHECK(load_error(head + "        mode: beet\n") ==
        "peer.yaml:6:15: connections.c.children.ch.mode: mode 'beet' is not supported by ikeme; "
        "use tunnel or transport");
  CHECK(load_error(head + "        mode: tunel\n") ==
        "peer.yaml:6:15: connections.c.children.ch.mode: expected 'tunnel' or 'transport', got "
        "'tunel'");
  CHECK(load_error(head + "        start_action: trap|start\n") ==
        "peer.yaml:6:23: connections.c.children.ch.start_action: start_action 'trap|start' is "
        "not supported by ikeme; use 'start' or 'trap'");
  CHECK(load_error(head + "        start_action: later\n") ==
        "peer.yaml:6:23: connections.c.children.ch.start_action: expected 'none', 'start' or "
        "'trap', got 'later'");
  CHECK(load_error(head + "        dpd_action: hold\n") ==
        "peer.yaml:6:21: connections.c.children.ch.dpd_action: expected 'clear', 'restart', "
        "'trap' or 'none', got 'hold'");
  CHECK(load_error(head + "        rekey_time: 1h\n        life_time: 1h\n") ==
        "peer.yaml:7:20: connections.c.children.ch.life_time: life_time (3600s) must be greater "
        "than rekey_time (3600s)");
  // An initiator needs an address to contact.
  CHECK(load_error("connections:\n  c:\n    children:\n      ch:\n        start_action: start\n") ==
        "peer.yaml:5:23: connections.c.children.ch.start_action: start_action 'start' needs the "
        "connection's remote_addrs: an initiator must know whom to contact");
  CHECK(load_error("connections:\n  c:\n    remote_addrs: \"%any\"\n    children:\n      ch:\n"
                   "        start_action: trap\n") ==
        "peer.yaml:6:23: connections.c.children.ch.start_action: start_action 'trap' needs the "
        "connection's remote_addrs: an initiator must know whom to contact");
  // Mediation connections carry no CHILD_SAs.
  CHECK(load_error("connections:\n  m:\n    mediation: yes\n    children:\n      ch:\n") ==
        "peer.yaml:5:7: connections.m.children: a mediation connection (mediation: yes) carries "
        "no CHILD_SAs; remove 'children'");
}

TEST_CASE("peer config: secrets", "[config][peer]") {
  CHECK(load_error("secrets:\n  ike:\n    secret: 1234567\n") ==
        "peer.yaml:3:13: secrets.ike.secret: pre-shared key of 7 bytes is too weak; at least 8 "
        "are required");
  CHECK(load_error("secrets:\n  ike:\n    secret: 0x01020304\n") ==
        "peer.yaml:3:13: secrets.ike.secret: pre-shared key of 4 bytes is too weak; at least 8 "
        "are required");
  CHECK(load_ok("secrets:\n  ike:\n    secret: 12345678\n").engine.ike_secrets[0].ids.empty());
  CHECK(load_error("secrets:\n  ike:\n    id: a@b\n") ==
        "peer.yaml:3:5: secrets.ike.secret: required field is missing");
  CHECK(load_error("secrets:\n  ike:\n    secret: 0xabc\n") ==
        "peer.yaml:3:13: secrets.ike.secret: invalid hex secret: odd number of hex digits");
  CHECK(load_error("secrets:\n  ike:\n    id: \"%any\"\n    secret: 12345678\n") ==
        "peer.yaml:3:9: secrets.ike.id: '%any' cannot be a secret's id; leave out every id for a "
        "secret that applies to all identities");
  CHECK(load_error("secrets:\n  eap-carol:\n    id: carol\n    secret: x\n") ==
        "peer.yaml:2:3: secrets.eap-carol: secrets of type 'eap' are not supported by ikeme; only "
        "ike<suffix> (pre-shared keys) and private<suffix>, rsa<suffix>, ecdsa<suffix> (private "
        "key files)");
  CHECK(load_error("secrets:\n  pkcs12-key:\n    file: key.p12\n") ==
        "peer.yaml:2:3: secrets.pkcs12-key: secrets of type 'pkcs12' are not supported by ikeme; "
        "only ike<suffix> (pre-shared keys) and private<suffix>, rsa<suffix>, ecdsa<suffix> "
        "(private key files)");
  CHECK(load_error("secrets:\n  home:\n    secret: 12345678\n") ==
        "peer.yaml:2:3: secrets.home: unknown secret section 'home'; IKE pre-shared keys go in "
        "sections named ike<suffix>, e.g. ike-home");
  const PeerConfig c = load_ok(
      "secrets:\n  ike-x:\n    id-a: a@example.org\n    idb: b.example.org\n    id: 192.0.2.1\n"
      "    secret: \"8 chars!\"\n");
  CHECK(c.engine.ike_secrets[0].ids ==
        std::vector<Identity>{id("a@example.org"), id("b.example.org"), id("192.0.2.1")});
  CHECK(c.engine.ike_secrets[0].secret == Bytes{'8', ' ', 'c', 'h', 'a', 'r', 's', '!'});
}

TEST_CASE("peer config: a PSK connection needs a secret that can match", "[config][peer]") {
  const std::string conn =
      "connections:\n  c:\n    local:\n      id: alice@example.org\n    remote:\n"
      "      id: bob@example.org\n";
  // No secret at all: reported at the connection (auth: psk is the default).
  CHECK(load_error(conn) ==
        "peer.yaml:3:5: connections.c: connection 'c' authenticates with a pre-shared key (auth: "
        "psk, the default), but 'secrets' holds no ike<suffix> section");
  CHECK(load_error("connections:\n  c:\n    local:\n      auth: psk\n") ==
        "peer.yaml:4:13: connections.c.local.auth: connection 'c' authenticates with a "
        "pre-shared key (auth: psk), but 'secrets' holds no ike<suffix> section");
  // Secrets exist, but none names either identity and none is a wildcard.
  CHECK(load_error(conn + "secrets:\n  ike:\n    id: carol@example.org\n    secret: 12345678\n") ==
        "peer.yaml:4:11: connections.c.local.id: no secret can apply to this connection: none "
        "lists 'alice@example.org' or 'bob@example.org', and none is without ids");
  // Any of these makes a match possible, as ike::find_psk ranks them.
  for (const char* ids : {"    id: alice@example.org\n", "    id: bob@example.org\n", ""}) {
    const PeerConfig c = load_ok(conn + "secrets:\n  ike:\n" + ids + "    secret: 12345678\n");
    const auto& cc = c.engine.connections[0];
    CHECK(ike::find_psk(c.engine.ike_secrets, cc.local.id, cc.remote.id) != nullptr);
  }
  // With a %any remote, a secret may name the peer's actual identity: not an error.
  CHECK(load_ok("connections:\n  c:\n    local:\n      id: alice@example.org\n"
                "secrets:\n  ike:\n    id: carol@example.org\n    secret: 12345678\n")
            .engine.connections.size() == 1);
}

TEST_CASE("peer config: the strongSwan vector's medsrv connection translates", "[config][peer]") {
  // /work/shared/vectors/strongswan-p2p/conf/alice/swanctl.conf, connection "medsrv" and its
  // secret, line by line.
  const std::string translation = R"(connections:
  medsrv:
    remote_addrs: 192.0.2.100
    local:
      auth: psk
      id: 6cu1UTVw@medsrv.org
    remote:
      auth: pubkey
      id: carol@strongswan.org
    version: 2
    mobike: no
    mediation: yes
    proposals: aes128-sha256-x25519
secrets:
  ike-medsrv:
    id: 6cu1UTVw@medsrv.org
    secret: 0sBAXz/6cSITttd0CzF9799p859Pi4LPnP
)";
  // Carol, the strongSwan mediation server, proves herself with a certificate: refused without
  // a CA to verify it with (swanctl.conf's trust comes from x509ca/), at the exact line.
  CHECK(load_error(translation) ==
        "peer.yaml:8:13: connections.medsrv.remote.auth: the peer's certificate cannot be "
        "verified: no trusted CA; add 'cacerts' here or at the top level");

  // With a mediation server that authenticates with the PSK too, everything else loads.
  std::string psk = translation;
  psk.replace(psk.find("auth: pubkey"), 12, "auth: psk   ");
  const PeerConfig c = load_ok(psk);
  REQUIRE(c.engine.connections.size() == 1);
  const ike::ConnectionConfig& m = c.engine.connections[0];
  CHECK(m.name == "medsrv");
  CHECK(m.local_addrs.empty());
  CHECK(m.remote_addrs == std::vector<IpAddress>{ip("192.0.2.100")});
  CHECK(m.remote_port == 500);
  CHECK(m.mediation);
  CHECK(m.proposals == proposals({"aes128-sha256-x25519"}, ProtocolId::IKE));
  CHECK(m.local.method == AuthMethodConfig::Psk);
  CHECK(m.local.id == id("6cu1UTVw@medsrv.org"));
  CHECK(m.remote.id == id("carol@strongswan.org"));
  CHECK(m.children.empty());
  REQUIRE(c.engine.ike_secrets.size() == 1);
  CHECK(c.engine.ike_secrets[0].ids == std::vector<Identity>{id("6cu1UTVw@medsrv.org")});
  CHECK(c.engine.ike_secrets[0].secret == secret("0sBAXz/6cSITttd0CzF9799p859Pi4LPnP"));
  CHECK(ike::find_psk(c.engine.ike_secrets, m.local.id, m.remote.id) == &c.engine.ike_secrets[0]);

  // The "peer" connection next to it: mediated by medsrv, the peer found by its pseudonym there.
  std::string with_peer = psk;
  with_peer.replace(with_peer.find("secrets:"), 8, R"(  peer:
    local:
      auth: psk
      id: alice@strongswan.org
    remote:
      auth: psk
      id: bob@strongswan.org
    children:
      peer:
        remote_ts: 10.2.0.10
        start_action: start
        esp_proposals: aes128gcm128-x25519
    version: 2
    mobike: no
    mediated_by: medsrv
    mediation_peer: av9oEPMz@medsrv.org
    proposals: aes128-sha256-x25519
secrets:
  ike-peer:
    id-a: alice@strongswan.org
    id-b: bob@strongswan.org
    secret: a-long-enough-secret
secrets-dummy:)");
  with_peer.erase(with_peer.find("secrets-dummy:"), 14);
  const PeerConfig p = load_ok(with_peer);
  REQUIRE(p.engine.connections.size() == 2);
  const ike::ConnectionConfig& pc = p.engine.connections[1];
  CHECK(pc.mediated_by == "medsrv");
  REQUIRE(pc.mediation_peer);
  CHECK(*pc.mediation_peer == id("av9oEPMz@medsrv.org"));
  CHECK(pc.remote_addrs.empty());
  // mediated_by must name a mediation connection.
  std::string wrong = with_peer;
  wrong.replace(wrong.find("mediated_by: medsrv"), 19, "mediated_by: peer  ");
  CHECK(load_error(wrong).find("connections.peer.mediated_by: 'peer' is not a connection with "
                               "mediation: yes") != std::string::npos);
}

TEST_CASE("peer config: the example file loads", "[config][peer]") {
  const std::string path = std::string(IKEME_TEST_DATA_DIR) + "/../../config/examples/peer.yaml";
  auto r = load_peer_config(path);
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  const ike::EngineConfig& e = r->engine;
  REQUIRE(e.connections.size() == 3);
  CHECK(e.connections[0].name == "medsrv");
  CHECK(e.connections[0].mediation);
  CHECK(e.connections[1].name == "home");
  REQUIRE(e.connections[1].children.size() == 1);
  CHECK(e.connections[1].children[0].start_action == StartAction::Start);
  CHECK(e.connections[1].children[0].life_time_s == 3960);
  CHECK(e.connections[2].remote_addrs.empty());
  CHECK(e.connections[2].pools == std::vector<std::string>{"rw_pool"});
  REQUIRE(e.pools.size() == 1);
  CHECK(e.pools[0].last.to_string() == "10.3.0.14");
  CHECK(e.ike_secrets.size() == 3);
  CHECK(r->daemon.log.file == "/var/log/ikeme.log");
  for (size_t i = 0; i < 2; ++i)  // the road warriors' identities are known at run time only
    CHECK(ike::find_psk(e.ike_secrets, e.connections[i].local.id, e.connections[i].remote.id) !=
          nullptr);
}

// Listings: the daemon's JSON for SAs, connections and stats (control_json), the CHILD_SA table,
// and ikemectl's human-readable output of them (listing) and its command lines.

#include <catch2/catch.hpp>

#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"
#include "peer/child_sa_table.hpp"
#include "peer/control_json.hpp"
#include "peer/control_protocol.hpp"
#include "peer/ctl/daemon_commands.hpp"
#include "peer/ctl/listing.hpp"

using namespace ikeme;
using namespace ikeme::peer;

namespace {

ike::IkeSaInfo sample_sa() {
  ike::IkeSaInfo sa;
  sa.id = 3;
  sa.connection = "home";
  sa.state = "ESTABLISHED";
  sa.initiator = true;
  sa.spi_i = 0x8f3a5c2e9b1d4f70;
  sa.spi_r = 0x1c2d3e4f5a6b7c8d;
  sa.local = ike::Endpoint{*IpAddress::parse("127.0.0.1"), 15000};
  sa.remote = ike::Endpoint{*IpAddress::parse("127.0.0.2"), 15002};
  sa.local_id = "moon@example.org";
  sa.remote_id = "sun@example.org";
  sa.algorithms = "AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519";
  sa.nat_remote = true;
  ike::ChildSaInfo c;
  c.name = "net";
  c.unique_id = 1;
  c.spi_in = 0xc1a2b3c4;
  c.spi_out = 0x05d6e7f8;
  c.algorithms = "AES_GCM_16_128/NO_ESN";
  c.local_ts = "10.1.0.0/16";
  c.remote_ts = "10.2.0.0/16 10.3.0.0/24";
  c.udp_encapsulation = true;
  sa.children.push_back(c);
  return sa;
}

ike::ChildSaParams sample_params() {
  ike::ChildSaParams p;
  p.ike_sa_id = 3;
  p.connection = "home";
  p.child = "net";
  p.unique_id = 1;
  p.spi_in = 0xc1a2b3c4;
  p.spi_out = 0x05d6e7f8;
  p.local_ts = {**ike::parse_traffic_selector("10.1.0.0/16")};
  p.remote_ts = {**ike::parse_traffic_selector("10.2.0.0/16")};
  p.local = ike::Endpoint{*IpAddress::parse("127.0.0.1"), 15000};
  p.remote = ike::Endpoint{*IpAddress::parse("127.0.0.2"), 15002};
  p.rekey_time_s = 3600;
  p.life_time_s = 3960;
  p.encr_key_in = Bytes(16, 0xaa);
  return p;
}

}  // namespace

TEST_CASE("peer listing: CHILD_SA table: install and delete events, KNL texts, no keys kept",
          "[peer]") {
  ChildSaTable table;
  ike::ChildSaEvent installed{ike::ChildSaEvent::Kind::Installed, sample_params()};
  CHECK(table.apply(installed, ike::Timestamp(5000)) ==
        "CHILD_SA net{1} SPIs c1a2b3c4_i 05d6e7f8_o, 10.1.0.0/16 === 10.2.0.0/16, "
        "TUNNEL, 127.0.0.1[15000]...127.0.0.2[15002]");
  REQUIRE(table.size() == 1);
  const InstalledChild* k = table.find(1);
  REQUIRE(k != nullptr);
  CHECK(k->installed == ike::Timestamp(5000));
  CHECK(k->spi_out == 0x05d6e7f8);
  ike::ChildSaEvent deleted{ike::ChildSaEvent::Kind::Deleted, sample_params()};
  CHECK(table.apply(deleted, ike::Timestamp(6000)) == "CHILD_SA net{1} SPIs c1a2b3c4_i 05d6e7f8_o");
  CHECK(table.size() == 0);
  CHECK(table.find(1) == nullptr);
}

TEST_CASE("peer listing: list-sas JSON: vici-style members, hex SPIs, lifetimes from the table",
          "[peer]") {
  ChildSaTable table;
  (void)table.apply(ike::ChildSaEvent{ike::ChildSaEvent::Kind::Installed, sample_params()},
                    ike::Timestamp(1000));
  Json j = sa_json(sample_sa(), &table, ike::Timestamp(5500));
  CHECK(j["name"] == "home");
  CHECK(j["uniqueid"] == 3);
  CHECK(j["state"] == "ESTABLISHED");
  CHECK(j["initiator-spi"] == "8f3a5c2e9b1d4f70");
  CHECK(j["responder-spi"] == "1c2d3e4f5a6b7c8d");
  CHECK(j["local-host"] == "127.0.0.1");
  CHECK(j["remote-port"] == 15002);
  CHECK(j["nat-local"] == false);
  CHECK(j["nat-remote"] == true);
  REQUIRE(j["child-sas"].size() == 1);
  const Json& c = j["child-sas"][0];
  CHECK(c["spi-in"] == "c1a2b3c4");
  CHECK(c["spi-out"] == "05d6e7f8");
  CHECK(c["encap"] == true);
  CHECK(c["remote-ts"] == Json::array({"10.2.0.0/16", "10.3.0.0/24"}));
  CHECK(c["install-time"] == 4);
  CHECK(c["rekey-time"] == 3596);
  CHECK(c["life-time"] == 3956);
  CHECK(c["dataplane"] == "none");
  // Without the table there are no times.
  CHECK_FALSE(
      sa_json(sample_sa(), nullptr, ike::Timestamp(0))["child-sas"][0].contains("install-time"));
}

TEST_CASE("peer listing: list-conns JSON: addresses, proposals, auth and children", "[peer]") {
  ike::ConnectionConfig c;
  c.name = "home";
  c.remote_addrs = {*IpAddress::parse("192.0.2.1")};
  c.proposals = {*ike::parse_proposal("aes128gcm16-prfsha256-x25519", ike::ProtocolId::IKE)};
  c.local.id = *ike::Identity::parse("moon@example.org");
  ike::ChildConfig ch;
  ch.name = "net";
  ch.start_action = ike::StartAction::Start;
  ch.remote_ts = {**ike::parse_traffic_selector("10.2.0.0/16")};
  c.children = {ch};
  Json j = conn_json(c);
  CHECK(j["local-addrs"] == Json::array({"%any"}));
  CHECK(j["remote-addrs"] == Json::array({"192.0.2.1"}));
  CHECK(j["proposals"] == Json::array({"AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519"}));
  CHECK(j["local"]["auth"] == "psk");
  CHECK(j["local"]["id"] == "moon@example.org");
  CHECK(j["remote"]["id"] == "%any");
  CHECK(j["children"][0]["local-ts"] == Json::array({"dynamic"}));
  CHECK(j["children"][0]["remote-ts"] == Json::array({"10.2.0.0/16"}));
  CHECK(j["children"][0]["start-action"] == "start");
}

TEST_CASE("peer listing: ikemectl list-sas: swanctl-like text from the daemon's JSON", "[peer]") {
  ChildSaTable table;
  (void)table.apply(ike::ChildSaEvent{ike::ChildSaEvent::Kind::Installed, sample_params()},
                    ike::Timestamp(1000));
  Json sas = Json::array({sa_json(sample_sa(), &table, ike::Timestamp(5500))});
  CHECK(ctl::format_sas(sas) ==
        "home: #3, ESTABLISHED, IKEv2, 8f3a5c2e9b1d4f70_i* 1c2d3e4f5a6b7c8d_r\n"
        "  local  'moon@example.org' @ 127.0.0.1[15000]\n"
        "  remote 'sun@example.org' @ 127.0.0.2[15002] (behind NAT)\n"
        "  AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519\n"
        "  net: #1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16_128/NO_ESN\n"
        "    installed 4s ago, rekeying in 3596s, expires in 3956s, no data plane\n"
        "    in  c1a2b3c4\n"
        "    out 05d6e7f8\n"
        "    local  10.1.0.0/16\n"
        "    remote 10.2.0.0/16 10.3.0.0/24\n");
  // The responder's star is on the responder SPI.
  Json responder = sas;
  responder[0]["initiator"] = false;
  CHECK(ctl::format_sas(responder).find("8f3a5c2e9b1d4f70_i 1c2d3e4f5a6b7c8d_r*\n") !=
        std::string::npos);
  CHECK(ctl::format_sas(Json::array()).empty());
}

namespace {

// A data plane that only answers counters, for the listings.
class CountingDataplane final : public esp::Dataplane {
 public:
  esp::Backend backend() const override { return esp::Backend::Userspace; }
  Status<std::string> install(const ike::ChildSaParams&) override { return {}; }
  Status<std::string> remove(const ike::ChildSaParams&) override { return {}; }
  std::optional<esp::SaCounters> counters(uint32_t id) const override {
    if (id != 1) return std::nullopt;
    esp::SaCounters c;
    c.bytes_in = 84000;
    c.packets_in = 1000;
    c.bytes_out = 42000;
    c.packets_out = 500;
    c.dropped_replay = 3;
    c.dropped_integrity = 2;
    c.last_in_ms = 3500;
    c.last_out_ms = 5500;
    return c;
  }
  esp::DataplaneStats stats() const override { return esp::DataplaneStats{7, 1, 0, 0, 0}; }
  Status<std::string> add_virtual_ip(const IpAddress&) override { return {}; }
  Status<std::string> remove_virtual_ip(const IpAddress&) override { return {}; }
  Status<std::string> prepare_nat_t_socket(int) override { return {}; }
  void handle_esp(const ike::Endpoint&, const ike::Endpoint&, std::span<uint8_t>,
                  ike::Timestamp) override {}
  void shutdown() override {}
};

}  // namespace

TEST_CASE("peer listing: data plane counters in list-sas (JSON and text) and stats", "[peer]") {
  ChildSaTable table;
  (void)table.apply(ike::ChildSaEvent{ike::ChildSaEvent::Kind::Installed, sample_params()},
                    ike::Timestamp(1000));
  CountingDataplane dp;
  Json sa = sa_json(sample_sa(), &table, ike::Timestamp(5500), &dp);
  const Json& c = sa["child-sas"][0];
  CHECK(c["dataplane"] == "userspace");
  CHECK(c["bytes-in"] == 84000);
  CHECK(c["packets-out"] == 500);
  CHECK(c["use-in"] == 2);
  CHECK(c["use-out"] == 0);
  CHECK(c["dropped-replay"] == 3);
  CHECK(c["dropped-integrity"] == 2);
  CHECK(c["dropped-policy"] == 0);
  const std::string text = ctl::format_sas(Json::array({sa}));
  CHECK(text.find("    in  c1a2b3c4,      84000 bytes,     1000 packets, 2s ago\n"
                  "    out 05d6e7f8,      42000 bytes,      500 packets, 0s ago\n"
                  "    dropped 3 replayed, 2 failing integrity, 0 malformed, 0 outside the "
                  "selectors\n") != std::string::npos);
  // A CHILD_SA the data plane does not have (its install failed) says so.
  ike::IkeSaInfo other = sample_sa();
  other.children[0].unique_id = 9;
  Json missing = sa_json(other, &table, ike::Timestamp(5500), &dp);
  CHECK(missing["child-sas"][0]["dataplane"] == "not installed");
  CHECK(ctl::format_sas(Json::array({missing})).find("not installed in the data plane") !=
        std::string::npos);
  StatsInput in;
  in.dataplane = &dp;
  Json stats = stats_json(in);
  CHECK(stats["dataplane"]["backend"] == "userspace");
  CHECK(stats["dataplane"]["unknown-spi"] == 7);
  CHECK(ctl::format_stats(stats).find("CHILD_SAs: 0 (data plane: userspace)\n") !=
        std::string::npos);
  CHECK(ctl::format_stats(stats).find("  unknown-spi: 7\n") != std::string::npos);
}

TEST_CASE("peer listing: virtual IPs in list-sas, pools in list-pools", "[peer][vip]") {
  ike::IkeSaInfo sa = sample_sa();
  sa.local_vips = {*IpAddress::parse("10.3.0.1"), *IpAddress::parse("fec3::1")};
  Json j = sa_json(sa, nullptr, ike::Timestamp(0));
  CHECK(j["local-vips"] == Json::array({"10.3.0.1", "fec3::1"}));
  CHECK(j["remote-vips"] == Json::array());
  std::string text = ctl::format_sas(Json::array({j}));
  CHECK(text.find("  local  'moon@example.org' @ 127.0.0.1[15000] [10.3.0.1 fec3::1]\n") !=
        std::string::npos);
  CHECK(text.find("  remote 'sun@example.org' @ 127.0.0.2[15002] (behind NAT)\n") !=
        std::string::npos);

  ike::AddressPool pool(ike::PoolConfig{"rw",
                                        *IpAddress::parse("10.3.0.1"),
                                        *IpAddress::parse("10.3.0.14"),
                                        {*IpAddress::parse("10.1.0.53")}});
  auto carol = pool.acquire("carol@strongswan.org", std::nullopt, false);
  (void)pool.acquire("dave@strongswan.org", std::nullopt, false);
  REQUIRE(carol);
  REQUIRE(pool.release("carol@strongswan.org", *carol));
  Json pools = pools_json({pool.info()});
  REQUIRE(pools.size() == 1);
  CHECK(pools[0]["name"] == "rw");
  CHECK(pools[0]["size"] == 14);
  CHECK(pools[0]["online"] == 1);
  CHECK(pools[0]["offline"] == 1);
  CHECK(pools[0]["dns"] == Json::array({"10.1.0.53"}));
  CHECK(pools[0]["leases"][0] ==
        Json{{"address", "10.3.0.1"}, {"identity", "carol@strongswan.org"}, {"status", "offline"}});
  CHECK(ctl::format_pools(pools) ==
        "rw: 10.3.0.1-10.3.0.14, 14 addresses, 1 online, 1 offline\n"
        "  dns 10.1.0.53\n"
        "  10.3.0.1 offline 'carol@strongswan.org'\n"
        "  10.3.0.2 online 'dave@strongswan.org'\n");
  ike::ConnectionConfig gw;
  gw.name = "rw";
  gw.pools = {"rw", "10.3.9.9"};
  gw.vips = {*IpAddress::parse("0.0.0.0")};
  Json conn = conn_json(gw);
  CHECK(conn["pools"] == Json::array({"rw", "10.3.9.9"}));
  CHECK(conn["vips"] == Json::array({"0.0.0.0"}));
  std::string conns = ctl::format_conns(Json::array({conn}));
  CHECK(conns.find("  vips: 0.0.0.0\n  pools: rw, 10.3.9.9\n") != std::string::npos);
  CHECK(ctl::format_conns(Json::array({conn_json(ike::ConnectionConfig{})})).find("pools") ==
        std::string::npos);
  CHECK(ctl::format_pools(Json::array({Json::object(), 3})) ==
        "?: ?-?, ? addresses, ? online, ? offline\n");
  auto cmd = ctl::parse_daemon_command("list-pools", {}, ctl::CtlOptions{});
  REQUIRE(cmd.ok());
  CHECK(ctl::request_for(*cmd) == R"({"command":"list-pools"})");
  CHECK(parse_request(R"({"command":"list-pools"})")->command == Command::ListPools);
  CHECK_FALSE(parse_request(R"({"command":"list-pools","ike":"x"})").ok());
}

TEST_CASE("peer listing: list-addresses, disclosed first, withheld with the reason",
          "[peer][host-addresses]") {
  Json addresses = Json::array({Json{{"address", "127.0.0.1"},
                                     {"prefix-length", 8},
                                     {"interface", "lo"},
                                     {"disclosed", false},
                                     {"withheld", "loopback interface"}},
                                Json{{"address", "10.1.0.10"},
                                     {"prefix-length", 24},
                                     {"interface", "eth0"},
                                     {"disclosed", true}},
                                7});
  CHECK(ctl::format_addresses(addresses, true) ==
        "10.1.0.10/24 on eth0           disclosed\n"
        "127.0.0.1/8 on lo              withheld: loopback interface\n");
  CHECK(ctl::format_addresses(Json::array(), true) == "no host addresses\n");
  CHECK(ctl::format_addresses(Json::array(), false).find("does not watch") == 11);
  auto cmd = ctl::parse_daemon_command("list-addresses", {}, ctl::CtlOptions{});
  REQUIRE(cmd.ok());
  CHECK(ctl::request_for(*cmd) == R"({"command":"list-addresses"})");
  CHECK(parse_request(R"({"command":"list-addresses"})")->command == Command::ListAddresses);
  CHECK_FALSE(parse_request(R"({"command":"list-addresses","ike":"x"})").ok());
  CHECK_FALSE(ctl::parse_daemon_command("list-addresses", {"--ike", "x"}, ctl::CtlOptions{}).ok());
}

TEST_CASE("peer listing: ikemectl listings survive missing and mistyped members", "[peer]") {
  Json odd = Json::array({Json{{"name", 5}, {"child-sas", "x"}}, 7, "s"});
  std::string out;
  CHECK_NOTHROW(out = ctl::format_sas(odd));
  CHECK(out ==
        "5: #?, ?, IKEv2, ?_i ?_r*\n"
        "  local  '?' @ ?[?]\n"
        "  remote '?' @ ?[?]\n");  // entries that are not objects are skipped
  CHECK_NOTHROW(ctl::format_conns(Json::array({Json::object(), 3})));
  CHECK_NOTHROW(ctl::format_stats(Json::array()));
  CHECK(ctl::format_sas(Json::object()).empty());
}

TEST_CASE("peer listing: ikemectl list-sas shows a mediated SA's failed attempts", "[peer]") {
  Json m = {{"mediated-by", "medsrv"},
            {"own-pseudonym", "a@medsrv.org"},
            {"peer-pseudonym", "b@medsrv.org"},
            {"role", "responder"},
            {"connect-id", "01020304"},
            {"failures", 1},
            {"last-failure", "the peer reported that every pair failed"}};
  std::string out = ctl::format_sas(Json::array({Json{{"name", "peer"}, {"mediation", m}}}));
  CHECK(out.find("  after 1 failed attempt(s), the last checks: the peer reported that every pair "
                 "failed\n") != std::string::npos);
  m.erase("failures");
  out = ctl::format_sas(Json::array({Json{{"name", "peer"}, {"mediation", m}}}));
  CHECK(out.find("failed attempt") == std::string::npos);
}

TEST_CASE("peer listing: ikemectl list-conns and stats text", "[peer]") {
  Json conn = {{"name", "home"},
               {"local-addrs", {"%any"}},
               {"remote-addrs", {"127.0.0.2"}},
               {"remote-port", 15002},
               {"proposals", {"AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519"}},
               {"local", {{"auth", "psk"}, {"id", "moon"}}},
               {"remote", {{"auth", "psk"}, {"id", "sun"}}},
               {"dpd-delay", 30},
               {"children",
                {{{"name", "net"},
                  {"mode", "TUNNEL"},
                  {"local-ts", {"dynamic"}},
                  {"remote-ts", {"10.2.0.0/16"}},
                  {"esp-proposals", {"AES_GCM_16_128/NO_ESN"}},
                  {"start-action", "start"},
                  {"rekey-time", 3600}}}}};
  CHECK(ctl::format_conns(Json::array({conn})) ==
        "home: IKEv2, dpd every 30s\n"
        "  local:  %any\n"
        "  remote: 127.0.0.2 port 15002\n"
        "  proposals: AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519\n"
        "  local pre-shared key authentication:\n"
        "    id: moon\n"
        "  remote pre-shared key authentication:\n"
        "    id: sun\n"
        "  net: TUNNEL, start_action start, rekeying every 3600s\n"
        "    local:  dynamic\n"
        "    remote: 10.2.0.0/16\n"
        "    esp proposals: AES_GCM_16_128/NO_ESN\n");
  ike::EngineStats engine;
  engine.ike_established = 2;
  DaemonCounters daemon;
  daemon.datagrams_sent = 9;
  StatsInput in;
  in.engine = &engine;
  in.daemon = &daemon;
  in.ike_sas = 1;
  in.pid = 42;
  in.uptime_s = 12;
  in.config_file = "/etc/ikeme/peer.yaml";
  in.listening = {"127.0.0.1[500]", "127.0.0.1[4500]"};
  std::string text = ctl::format_stats(stats_json(in));
  CHECK(text.find("ikeme-peer 0.1.0, pid 42, up 12s\n") == 0);
  CHECK(text.find("  listening: 127.0.0.1[500], 127.0.0.1[4500]\n") != std::string::npos);
  CHECK(text.find("IKE SAs: 1 total, 0 half-open\n") != std::string::npos);
  CHECK(text.find("  ike-established: 2\n") != std::string::npos);
  CHECK(text.find("  datagrams-sent: 9\n") != std::string::npos);
}

TEST_CASE("peer listing: ikemectl daemon command lines and their requests", "[peer]") {
  ctl::CtlOptions opts{"/run/ikeme/peer.sock", false};
  auto init = ctl::parse_daemon_command(
      "initiate", {"--ike", "home", "--child=net", "--timeout", "3", "--json"}, opts);
  REQUIRE(init.ok());
  CHECK(init->options.json);
  CHECK(init->timeout == std::chrono::seconds(3));
  CHECK(ctl::request_for(*init) == R"({"command":"initiate","ike":"home","child":"net"})");

  auto term = ctl::parse_daemon_command("terminate", {"--id", "12", "-s", "/tmp/x.sock"}, opts);
  REQUIRE(term.ok());
  CHECK(term->options.socket == "/tmp/x.sock");
  CHECK(ctl::request_for(*term) == R"({"command":"terminate","id":12})");

  auto rekey = ctl::parse_daemon_command("rekey", {"--child-id", "7"}, opts);
  REQUIRE(rekey.ok());
  CHECK(ctl::request_for(*rekey) == R"({"command":"rekey","child-id":7})");

  auto list = ctl::parse_daemon_command("list-sas", {}, opts);
  REQUIRE(list.ok());
  CHECK(ctl::request_for(*list) == R"({"command":"list-sas"})");
  CHECK(ctl::parse_daemon_command("stats", {"--help"}, opts)->help);

  auto error_of = [&](const std::string& name, std::vector<std::string> args) {
    auto r = ctl::parse_daemon_command(name, args, opts);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  CHECK(error_of("initiate", {}) == "initiate needs --ike NAME");
  CHECK(error_of("initiate", {"--ike"}) == "--ike needs a connection name");
  CHECK(error_of("initiate", {"--ike", "a", "--id", "3"}) == "unknown option '--id'");
  CHECK(error_of("terminate", {}) == "terminate needs either --ike NAME or --id N");
  CHECK(error_of("terminate", {"--ike", "a", "--id", "1"}) ==
        "terminate needs either --ike NAME or --id N");
  CHECK(error_of("terminate", {"--id", "0"}) == "--id needs an IKE SA id (1 to 4294967295)");
  CHECK(error_of("rekey", {}) == "rekey needs --child-id N");
  CHECK(error_of("rekey", {"--child-id", "0"}) ==
        "--child-id needs a CHILD_SA id (1 to 4294967295)");
  CHECK(error_of("rekey", {"--id", "3"}) == "unknown option '--id'");
  CHECK(error_of("terminate", {"--id", "99999999999"}) ==
        "--id needs an IKE SA id (1 to 4294967295)");
  CHECK(error_of("initiate", {"--ike", "a", "--timeout", "-1"}) ==
        "--timeout needs a number of seconds (0 to 3600)");
  CHECK(error_of("stats", {"extra"}) == "unexpected argument 'extra'");
  CHECK(error_of("reload", {"--ike", "x"}) == "unknown option '--ike'");
  CHECK(error_of("list-sas", {"--ike", "a", "--id", "2"}) ==
        "list-sas takes --ike or --id, not both");
  CHECK(ctl::is_daemon_command("list-conns"));
  CHECK_FALSE(ctl::is_daemon_command("decode"));
}

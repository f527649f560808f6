// Virtual IPs over the simulated network: road warriors ask with a configuration payload
// (vips 0.0.0.0 / ::), the gateway assigns from its pools, leases are kept per identity and
// released with the IKE SA; pool exhaustion ends in INTERNAL_ADDRESS_FAILURE.

#include <catch2/catch.hpp>

#include "ike/sa/address_pool.hpp"
#include "ike/sa/traffic_selectors.hpp"
#include "sim_network.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::sim;

namespace {

constexpr const char* kPsk = "a road warrior's shared secret";

TrafficSelector ts(const char* text) {
  auto t = parse_traffic_selector(text);
  REQUIRE(t.ok());
  return **t;
}

PoolConfig pool(const std::string& name, const std::string& addrs,
                std::vector<std::string> dns = {}) {
  auto r = parse_pool_addrs(addrs);
  INFO(addrs);
  REQUIRE(r.ok());
  PoolConfig p{name, r->first, r->second, {}};
  for (const auto& d : dns) p.dns.push_back(*IpAddress::parse(d));
  return p;
}

// moon (192.0.2.1) is the gateway with the pools; road warriors connect from 192.0.2.1x.
struct Gateway {
  Network net;
  Node* moon = nullptr;
};

std::unique_ptr<Gateway> gateway(std::vector<PoolConfig> pools, std::vector<std::string> names,
                                 const std::string& local_ts = "10.1.0.0/24") {
  auto g = std::make_unique<Gateway>();
  auto c = psk_connection("rw", "moon.strongswan.org", "%any", "", "aes128-sha256-x25519",
                          "aes128gcm16");
  c.pools = std::move(names);
  c.children[0].local_ts = {ts(local_ts.c_str())};
  auto e = engine_config({c}, kPsk, {});
  e.pools = std::move(pools);
  g->moon = &g->net.add("moon", "192.0.2.1", e);
  return g;
}

Node& road_warrior(Gateway& g, const std::string& name, const std::string& address,
                   const std::string& id, std::vector<std::string> vips,
                   const std::string& remote_ts = "10.1.0.0/16") {
  auto c = psk_connection("home", id, "moon.strongswan.org", "192.0.2.1", "aes128-sha256-x25519",
                          "aes128gcm16");
  for (const auto& v : vips) c.vips.push_back(*IpAddress::parse(v));
  c.children[0].remote_ts = {ts(remote_ts.c_str())};
  return g.net.add(name, address, engine_config({c}, kPsk, {}));
}

void initiate(Gateway& g, Node& n) {
  Actions a;
  REQUIRE(n.engine->initiate("home", "", g.net.now(), a, n.address).ok());
  g.net.apply(n, a);
  g.net.run();
}

void terminate(Gateway& g, Node& n) {
  Actions a;
  REQUIRE(n.engine->terminate("home", 0, g.net.now(), a).ok());
  g.net.apply(n, a);
  g.net.run();
}

std::vector<IpAddress> local_vips(Node& n) {
  auto sas = n.sas();
  return sas.empty() ? std::vector<IpAddress>{} : sas.front().local_vips;
}

const ChildSaEvent* installed(const Node& n) {
  for (auto it = n.children.rbegin(); it != n.children.rend(); ++it)
    if (it->kind == ChildSaEvent::Kind::Installed) return &*it;
  return nullptr;
}

size_t count_vip_events(const Node& n, VirtualIpEvent::Kind kind, VirtualIpEvent::Side side) {
  size_t k = 0;
  for (const auto& v : n.vips) k += v.kind == kind && v.side == side;
  return k;
}

}  // namespace

TEST_CASE("pool addresses: ranges, subnets and single addresses", "[sa][vip]") {
  auto range = parse_pool_addrs("10.3.0.1-10.3.0.50");
  REQUIRE(range.ok());
  CHECK(range->first.to_string() == "10.3.0.1");
  CHECK(range->second.to_string() == "10.3.0.50");
  auto subnet = parse_pool_addrs("10.3.0.0/28");
  REQUIRE(subnet.ok());
  CHECK(subnet->first.to_string() == "10.3.0.1");    // no network address
  CHECK(subnet->second.to_string() == "10.3.0.14");  // no broadcast
  auto v6 = parse_pool_addrs("fec3::/120");
  REQUIRE(v6.ok());
  CHECK(v6->first.to_string() == "fec3::1");
  CHECK(v6->second.to_string() == "fec3::fe");
  auto one = parse_pool_addrs("10.3.0.7");
  REQUIRE(one.ok());
  CHECK(one->first == one->second);
  CHECK(parse_pool_addrs("10.3.0.8/32")->first.to_string() == "10.3.0.8");
  CHECK(!parse_pool_addrs("10.3.0.50-10.3.0.1").ok());
  CHECK(!parse_pool_addrs("10.3.0.1-fec3::1").ok());
  CHECK(!parse_pool_addrs("10.3.0.1/28").ok());  // host bits set
  CHECK(!parse_pool_addrs("10.3.0.0/33").ok());
  CHECK(!parse_pool_addrs("pool.example.org").ok());
  CHECK(parse_pool_addrs("10.3.0.0/33").error().find("prefix length must be 0..32") !=
        std::string::npos);
}

TEST_CASE("address pool: leases per identity, exhaustion, reassignment of offline leases",
          "[sa][vip]") {
  AddressPool p(pool("p", "10.3.0.1-10.3.0.2"));
  CHECK(p.info().size == 2);
  auto carol = p.acquire("carol", std::nullopt, false);
  auto dave = p.acquire("dave", std::nullopt, false);
  REQUIRE(carol);
  REQUIRE(dave);
  CHECK(carol->to_string() == "10.3.0.1");
  CHECK(dave->to_string() == "10.3.0.2");
  CHECK_FALSE(p.acquire("eve", std::nullopt, false));  // exhausted: both online
  // carol comes back while her lease is online (a second SA, no INITIAL_CONTACT): nothing left.
  CHECK_FALSE(p.acquire("carol", std::nullopt, false));
  // With INITIAL_CONTACT the online lease is shared until the old SA releases it.
  CHECK(p.acquire("carol", std::nullopt, true) == carol);
  CHECK(p.release("carol", *carol));
  CHECK(p.info().online == 2);
  CHECK(p.release("carol", *carol));
  CHECK(p.info().online == 1);
  CHECK(p.info().offline == 1);
  CHECK_FALSE(p.release("carol", *carol));  // already offline
  CHECK_FALSE(p.release("dave", *carol));   // not dave's
  // carol gets her offline lease back, even when asking for another address.
  CHECK(p.acquire("carol", IpAddress::parse("10.3.0.2"), false) == carol);
  CHECK(p.release("carol", *carol));
  // eve takes carol's offline lease, as the pool has nothing unused left.
  CHECK(p.acquire("eve", std::nullopt, false) == carol);
  auto info = p.info();
  REQUIRE(info.leases.size() == 2);
  CHECK(info.leases[0].identity == "eve");
  CHECK(info.leases[0].online);
}

TEST_CASE("address pool: a requested address is honoured if free, IPv6 and large pools",
          "[sa][vip]") {
  AddressPool p(pool("p", "10.3.0.0/28"));
  CHECK(p.acquire("carol", IpAddress::parse("10.3.0.9"), false)->to_string() == "10.3.0.9");
  CHECK(p.acquire("dave", IpAddress::parse("10.3.0.9"), false)->to_string() == "10.3.0.1");
  CHECK(p.acquire("eve", IpAddress::parse("192.168.0.1"), false)->to_string() == "10.3.0.2");
  AddressPool big(pool("v6", "fec3::/64"));
  CHECK(big.info().size == kMaxPoolSize);
  CHECK(big.acquire("carol", std::nullopt, false)->to_string() == "fec3::1");
  CHECK(big.contains(*IpAddress::parse("fec3::ffff:ffff")));
  CHECK(big.contains(*IpAddress::parse("fec3::1:0:0")));  // fec3::1 + 2^32 - 1
  CHECK_FALSE(big.contains(*IpAddress::parse("fec3::1:0:1")));
  CHECK_FALSE(big.contains(*IpAddress::parse("10.3.0.1")));
}

TEST_CASE("virtual IP: the road warrior gets an address, narrowed selectors and DNS",
          "[sa][sim][vip]") {
  auto g = gateway({pool("rw-pool", "10.3.0.1-10.3.0.50", {"10.1.0.53"})}, {"rw-pool"});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  REQUIRE(carol.sas().size() == 1);
  CHECK(carol.sas()[0].state == "ESTABLISHED");
  REQUIRE(local_vips(carol).size() == 1);
  CHECK(local_vips(carol)[0].to_string() == "10.3.0.1");
  REQUIRE(g->moon->sas().size() == 1);
  REQUIRE(g->moon->sas()[0].remote_vips.size() == 1);
  CHECK(g->moon->sas()[0].remote_vips[0].to_string() == "10.3.0.1");
  // The VIP is carol's side of the CHILD_SA, and moon narrowed 10.1.0.0/16 to 10.1.0.0/24.
  const ChildSaEvent* c = installed(carol);
  REQUIRE(c);
  CHECK(to_string(c->params.local_ts) == "10.3.0.1/32");
  CHECK(to_string(c->params.remote_ts) == "10.1.0.0/24");
  const ChildSaEvent* m = installed(*g->moon);
  REQUIRE(m);
  CHECK(to_string(m->params.local_ts) == "10.1.0.0/24");
  CHECK(to_string(m->params.remote_ts) == "10.3.0.1/32");
  // Events for the data plane, and the log lines strongSwan users know.
  REQUIRE(carol.vips.size() == 1);
  CHECK(carol.vips[0].kind == VirtualIpEvent::Kind::Assigned);
  CHECK(carol.vips[0].side == VirtualIpEvent::Side::Local);
  CHECK(carol.vips[0].address.to_string() == "10.3.0.1");
  REQUIRE(carol.vips[0].dns.size() == 1);
  CHECK(carol.vips[0].dns[0].to_string() == "10.1.0.53");
  REQUIRE(g->moon->vips.size() == 1);
  CHECK(g->moon->vips[0].side == VirtualIpEvent::Side::Remote);
  CHECK(g->moon->vips[0].pool == "rw-pool");
  CHECK(carol.logged("installing new virtual IP 10.3.0.1"));
  CHECK(g->moon->logged("assigning virtual IP 10.3.0.1 to peer 'carol@strongswan.org'"));
  CHECK(carol.logged("CPRQ(ADDR DNS)"));
  CHECK(g->moon->logged("CPRP(ADDR DNS)"));
}

TEST_CASE(
    "virtual IP: leases are released with the IKE SA and the same identity gets its address "
    "back",
    "[sa][sim][vip]") {
  auto g = gateway({pool("rw-pool", "10.3.0.0/28")}, {"rw-pool"});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  Node& dave = road_warrior(*g, "dave", "192.0.2.200", "dave@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  initiate(*g, dave);
  REQUIRE(local_vips(carol).size() == 1);
  REQUIRE(local_vips(dave).size() == 1);
  CHECK(local_vips(carol)[0].to_string() == "10.3.0.1");
  CHECK(local_vips(dave)[0].to_string() == "10.3.0.2");
  auto pools = g->moon->engine->list_pools();
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].online == 2);

  terminate(*g, carol);
  CHECK(carol.sas().empty());
  CHECK(count_vip_events(carol, VirtualIpEvent::Kind::Released, VirtualIpEvent::Side::Local) == 1);
  CHECK(count_vip_events(*g->moon, VirtualIpEvent::Kind::Released, VirtualIpEvent::Side::Remote) ==
        1);
  pools = g->moon->engine->list_pools();
  CHECK(pools[0].online == 1);
  CHECK(pools[0].offline == 1);
  CHECK(g->moon->logged("lease 10.3.0.1 of pool 'rw-pool' for 'carol@strongswan.org' is offline"));

  // dave's address stays his; carol gets her old one back.
  initiate(*g, carol);
  REQUIRE(local_vips(carol).size() == 1);
  CHECK(local_vips(carol)[0].to_string() == "10.3.0.1");
  CHECK(g->moon->engine->list_pools()[0].online == 2);
}

TEST_CASE("virtual IP: a reconnect with INITIAL_CONTACT keeps the address", "[sa][sim][vip]") {
  // A pool of one address: carol restarts (new IKE SA with INITIAL_CONTACT) while moon still has
  // her old SA; she must get the same address, and it must stay online after the old SA goes.
  auto g = gateway({pool("one", "10.3.0.7")}, {"one"});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  REQUIRE(local_vips(carol).size() == 1);
  // carol loses her state (a crash): a fresh engine with the same configuration.
  carol.engine = std::make_unique<IkeEngine>(carol.engine->config(), *carol.rng);
  initiate(*g, carol);
  REQUIRE(local_vips(carol).size() == 1);
  CHECK(local_vips(carol)[0].to_string() == "10.3.0.7");
  REQUIRE(g->moon->sas().size() == 1);  // the old SA went with INITIAL_CONTACT
  auto pools = g->moon->engine->list_pools();
  CHECK(pools[0].online == 1);
  CHECK(pools[0].offline == 0);
}

TEST_CASE("virtual IP: pool exhaustion answers INTERNAL_ADDRESS_FAILURE", "[sa][sim][vip]") {
  auto g = gateway({pool("one", "10.3.0.7")}, {"one"});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  Node& dave = road_warrior(*g, "dave", "192.0.2.200", "dave@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  initiate(*g, dave);
  // The IKE SA stands, without CHILD_SA (RFC 7296 §3.15.4).
  REQUIRE(dave.sas().size() == 1);
  CHECK(dave.sas()[0].state == "ESTABLISHED");
  CHECK(dave.sas()[0].children.empty());
  CHECK(local_vips(dave).empty());
  CHECK(dave.logged("CHILD_SA home not created: peer answered INTERNAL_ADDRESS_FAILURE"));
  CHECK(g->moon->logged("no virtual IP found for %any requested by 'dave@strongswan.org'"));
  CHECK(g->moon->logged("no virtual IP found, sending INTERNAL_ADDRESS_FAILURE"));
  CHECK(g->moon->logged("configuration payload negotiation failed, no CHILD_SA built"));
  CHECK(count_vip_events(dave, VirtualIpEvent::Kind::Assigned, VirtualIpEvent::Side::Local) == 0);
  // When carol leaves, dave gets the address on his next attempt (carol's lease is offline).
  terminate(*g, carol);
  terminate(*g, dave);
  initiate(*g, dave);
  REQUIRE(local_vips(dave).size() == 1);
  CHECK(local_vips(dave)[0].to_string() == "10.3.0.7");
}

TEST_CASE("virtual IP: a responder without pools refuses the request", "[sa][sim][vip]") {
  auto g = gateway({}, {});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  REQUIRE(carol.sas().size() == 1);
  CHECK(carol.sas()[0].children.empty());
  CHECK(g->moon->logged("(the connection has no pools)"));
  CHECK(carol.logged("peer answered INTERNAL_ADDRESS_FAILURE"));
}

TEST_CASE("virtual IP: IPv4 and IPv6 together, a fixed address", "[sa][sim][vip]") {
  auto g = gateway({pool("v4", "10.3.0.0/28"), pool("v6", "fec3::/120", {"fec1::53"}),
                    pool("10.3.1.9", "10.3.1.9")},
                   {"v4", "v6"}, "10.1.0.0/24");
  // The gateway's child allows both families on its side.
  auto cfg = g->moon->engine->config();
  cfg.connections[0].children[0].local_ts = {ts("10.1.0.0/24"), ts("fec1::/16")};
  g->moon->engine->reload(cfg);
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0", "::"});
  auto cc = carol.engine->config();
  cc.connections[0].children[0].remote_ts = {ts("10.1.0.0/16"), ts("fec1::/16")};
  carol.engine->reload(cc);
  initiate(*g, carol);
  auto vips = local_vips(carol);
  REQUIRE(vips.size() == 2);
  CHECK(vips[0].to_string() == "10.3.0.1");
  CHECK(vips[1].to_string() == "fec3::1");
  const ChildSaEvent* c = installed(carol);
  REQUIRE(c);
  CHECK(to_string(c->params.local_ts) == "10.3.0.1/32 fec3::1/128");
  CHECK(to_string(c->params.remote_ts) == "10.1.0.0/24 fec1::/16");
  CHECK(carol.logged("received DNS server fec1::53"));
  terminate(*g, carol);
  for (const auto& p : g->moon->engine->list_pools()) CHECK(p.online == 0);

  // A fixed address: the connection's pool is the single address 10.3.1.9.
  auto fixed = g->moon->engine->config();
  fixed.connections[0].pools = {"10.3.1.9"};
  g->moon->engine->reload(fixed);
  initiate(*g, carol);
  vips = local_vips(carol);
  REQUIRE(vips.size() == 1);  // no IPv6 pool any more
  CHECK(vips[0].to_string() == "10.3.1.9");
  CHECK(g->moon->logged("no virtual IP found for %any6 requested by 'carol@strongswan.org'"));
}

TEST_CASE("virtual IP: reload keeps the leases of an unchanged pool", "[sa][sim][vip]") {
  auto g = gateway({pool("rw-pool", "10.3.0.0/28")}, {"rw-pool"});
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  terminate(*g, carol);
  g->moon->engine->reload(g->moon->engine->config());
  CHECK(g->moon->engine->list_pools()[0].offline == 1);
  // A changed range keeps the leases it still holds (an SA may still use them)...
  auto changed = g->moon->engine->config();
  changed.pools = {pool("rw-pool", "10.3.0.0/27")};
  g->moon->engine->reload(changed);
  REQUIRE(g->moon->engine->list_pools()[0].leases.size() == 1);
  CHECK(g->moon->engine->list_pools()[0].size == 30);
  initiate(*g, carol);
  REQUIRE(local_vips(carol).size() == 1);
  CHECK(local_vips(carol)[0].to_string() == "10.3.0.1");  // still hers
  // ... and drops those outside it.
  changed.pools = {pool("rw-pool", "10.3.1.0/28")};
  g->moon->engine->reload(changed);
  CHECK(g->moon->engine->list_pools()[0].leases.empty());
  terminate(*g, carol);  // the release finds no lease: nothing breaks
  CHECK(g->moon->engine->list_pools()[0].leases.empty());
}

TEST_CASE("virtual IP: the initiator refuses a CHILD_SA whose TSi lacks its virtual IP",
          "[sa][sim][vip]") {
  // moon's child allows only 10.9.0.0/16 for the peer, which does not hold the VIP: moon grants
  // it, carol narrows it to her VIP, finds nothing and deletes the CHILD_SA at moon.
  auto g = gateway({pool("rw-pool", "10.3.0.0/28")}, {"rw-pool"});
  auto cfg = g->moon->engine->config();
  cfg.connections[0].children[0].remote_ts = {ts("10.9.0.0/16")};
  g->moon->engine->reload(cfg);
  Node& carol = road_warrior(*g, "carol", "192.0.2.100", "carol@strongswan.org", {"0.0.0.0"});
  initiate(*g, carol);
  REQUIRE(carol.sas().size() == 1);
  CHECK(carol.sas()[0].children.empty());
  CHECK(local_vips(carol).size() == 1);
  CHECK(
      carol.logged("CHILD_SA home not created: its TSi 10.9.0.0/16 does not hold our virtual IP"));
  CHECK(g->moon->sas()[0].children.empty());  // deleted again
}

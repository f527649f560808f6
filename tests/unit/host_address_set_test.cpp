// The host address set behind ICE host candidates (peer/host_address_set.hpp): what is withheld
// and why, exclusions, daemon.listen, our own TUN/VIP addresses, and the changes each kernel
// notification makes to the disclosed set. The monitor itself only reads this host's addresses
// here; changes are tested in namespaces (tests/interop/host_addresses.sh).

#include <catch2/catch.hpp>

#include "peer/host_address_monitor.hpp"
#include "peer/host_address_set.hpp"

using namespace ikeme;
using peer::AddressState;
using peer::HostAddressChange;
using peer::HostAddressPolicy;
using peer::HostAddressSet;
using peer::LinkState;

namespace {

LinkState link(int index, const std::string& name, bool up = true) {
  return LinkState{index, name, up, up, name == "lo"};
}

AddressState addr(int ifindex, const std::string& text, uint8_t plen = 24) {
  AddressState a;
  a.ifindex = ifindex;
  a.address = *IpAddress::parse(text);
  a.prefix_length = plen;
  return a;
}

HostAddressChange appeared(const std::string& a, const std::string& dev) {
  return HostAddressChange{ice::HostAddress{*IpAddress::parse(a), dev}, true};
}

HostAddressChange disappeared(const std::string& a, const std::string& dev) {
  return HostAddressChange{ice::HostAddress{*IpAddress::parse(a), dev}, false};
}

std::vector<std::string> disclosed(const HostAddressSet& s) {
  std::vector<std::string> out;
  for (const auto& h : s.disclosed()) out.push_back(h.address.to_string() + "%" + h.interface);
  return out;
}

std::string why(const HostAddressSet& s, const std::string& address) {
  for (const auto& e : s.entries())
    if (e.address.to_string() == address) return e.withheld ? *e.withheld : "disclosed";
  return "unknown";
}

// lo, eth0 (up), eth1 (up), docker0 (up), eth2 (down).
HostAddressSet typical(HostAddressPolicy policy = {}) {
  HostAddressSet s(std::move(policy));
  s.replace(
      {link(1, "lo"), link(2, "eth0"), link(3, "eth1"), link(4, "docker0"), link(5, "eth2", false)},
      {addr(1, "127.0.0.1", 8), addr(1, "::1", 128), addr(2, "10.1.0.10"),
       addr(2, "2001:db8:1::10", 64), addr(2, "fe80::1", 64), addr(3, "192.168.7.2"),
       addr(4, "172.17.0.1", 16), addr(5, "10.9.0.1")});
  return s;
}

}  // namespace

TEST_CASE("host addresses: a dump discloses the usable ones, IPv4 first, and says why not",
          "[peer][host-addresses]") {
  HostAddressSet s;
  auto changes =
      s.replace({link(2, "eth0"), link(1, "lo")},
                {addr(2, "2001:db8:1::10", 64), addr(2, "10.1.0.10"), addr(1, "127.0.0.1", 8)});
  CHECK(changes == std::vector{appeared("10.1.0.10", "eth0"), appeared("2001:db8:1::10", "eth0")});
  CHECK(why(s, "127.0.0.1") == "loopback interface");

  HostAddressSet t = typical();
  CHECK(disclosed(t) == std::vector<std::string>{"10.1.0.10%eth0", "192.168.7.2%eth1",
                                                 "172.17.0.1%docker0", "2001:db8:1::10%eth0"});
  CHECK(why(t, "::1") == "loopback interface");
  CHECK(why(t, "fe80::1") == "link-local");
  CHECK(why(t, "10.9.0.1") == "interface eth2 is down");
  CHECK(t.entries().size() == 8);
}

TEST_CASE("host addresses: kernel flags and scopes withhold an address", "[peer][host-addresses]") {
  HostAddressSet s;
  s.replace({link(2, "eth0")}, {});
  AddressState tentative = addr(2, "2001:db8::5", 64);
  tentative.tentative = true;
  CHECK(s.address_added(tentative).empty());
  CHECK(why(s, "2001:db8::5") == "tentative (duplicate address detection)");
  // DAD finished: the same address again without the flag.
  tentative.tentative = false;
  CHECK(s.address_added(tentative) == std::vector{appeared("2001:db8::5", "eth0")});
  AddressState deprecated = tentative;
  deprecated.deprecated = true;
  CHECK(s.address_added(deprecated) == std::vector{disappeared("2001:db8::5", "eth0")});
  CHECK(why(s, "2001:db8::5") == "deprecated");

  AddressState scoped = addr(2, "10.5.0.1");
  scoped.link_scope = true;
  CHECK(s.address_added(scoped).empty());
  CHECK(why(s, "10.5.0.1") == "link or host scope");
  CHECK(s.address_added(addr(2, "169.254.3.3", 16)).empty());
  CHECK(why(s, "169.254.3.3") == "link-local");

  // An address of an interface not seen yet is held back until RTM_NEWLINK names it.
  CHECK(s.address_added(addr(9, "10.6.0.1")).empty());
  CHECK(why(s, "10.6.0.1") == "interface index 9 is unknown");
  CHECK(s.link_changed(link(9, "wlan0")) == std::vector{appeared("10.6.0.1", "wlan0")});

  // No carrier (a veth whose peer is down): withheld, back when the carrier is.
  LinkState no_carrier = link(9, "wlan0");
  no_carrier.running = false;
  CHECK(s.link_changed(no_carrier) == std::vector{disappeared("10.6.0.1", "wlan0")});
  CHECK(why(s, "10.6.0.1") == "interface wlan0 has no carrier");
}

TEST_CASE("host addresses: exclusions, daemon.listen, IPv6 off, our TUN and virtual IPs",
          "[peer][host-addresses]") {
  HostAddressPolicy p;
  p.exclusions.interfaces = {"docker0"};
  p.exclusions.prefixes = {*ice::AddressPrefix::parse("192.168.0.0/16")};
  HostAddressSet s = typical(p);
  CHECK(disclosed(s) == std::vector<std::string>{"10.1.0.10%eth0", "2001:db8:1::10%eth0"});
  CHECK(why(s, "172.17.0.1") == "interface docker0 is excluded");
  CHECK(why(s, "192.168.7.2") == "in excluded 192.168.0.0/16");

  // A reload without the exclusions discloses them again (and says so, as policy changes).
  auto by_policy = [](HostAddressChange c) {
    c.by_policy = true;
    return c;
  };
  CHECK(s.set_policy({}) == std::vector{by_policy(appeared("192.168.7.2", "eth1")),
                                        by_policy(appeared("172.17.0.1", "docker0"))});

  HostAddressPolicy v4only;
  v4only.ipv6 = false;
  CHECK(s.set_policy(v4only) == std::vector{by_policy(disappeared("2001:db8:1::10", "eth0"))});
  CHECK(why(s, "2001:db8:1::10") == "IPv6 (ice.disclose_ipv6: no)");

  // daemon.listen: 0.0.0.0 covers IPv4 only (the IPv6 socket is V6ONLY), an address itself.
  HostAddressPolicy listen;
  listen.listen = {*IpAddress::parse("0.0.0.0")};
  s.set_policy(listen);
  CHECK(disclosed(s) ==
        std::vector<std::string>{"10.1.0.10%eth0", "192.168.7.2%eth1", "172.17.0.1%docker0"});
  CHECK(why(s, "2001:db8:1::10") == "not a daemon.listen address");
  listen.listen = {*IpAddress::parse("192.168.7.2"), *IpAddress::parse("::")};
  s.set_policy(listen);
  CHECK(disclosed(s) == std::vector<std::string>{"192.168.7.2%eth1", "2001:db8:1::10%eth0"});

  HostAddressPolicy own;
  own.own_interfaces = {"ikeme0"};
  own.own_addresses = {*IpAddress::parse("10.1.0.10")};
  s.set_policy(own);
  s.link_changed(link(7, "ikeme0"));
  CHECK(s.address_added(addr(7, "10.77.0.1", 32)).empty());
  CHECK(why(s, "10.77.0.1") == "interface ikeme0 is our TUN device");
  CHECK(why(s, "10.1.0.10") == "a virtual IP assigned to us");
}

TEST_CASE("host addresses: notifications change the disclosed set and report each change once",
          "[peer][host-addresses]") {
  HostAddressSet s = typical();
  CHECK(s.address_added(addr(3, "192.168.8.2")) == std::vector{appeared("192.168.8.2", "eth1")});
  // The same notification again (a flags update, or an event queued before the dump) is nothing.
  CHECK(s.address_added(addr(3, "192.168.8.2")).empty());
  CHECK(s.address_removed(3, *IpAddress::parse("192.168.8.2")) ==
        std::vector{disappeared("192.168.8.2", "eth1")});
  CHECK(s.address_removed(3, *IpAddress::parse("192.168.8.2")).empty());
  CHECK(why(s, "192.168.8.2") == "unknown");

  // Down: every address of the link goes; up: they come back.
  CHECK(s.link_changed(link(2, "eth0", false)) ==
        std::vector{disappeared("10.1.0.10", "eth0"), disappeared("2001:db8:1::10", "eth0")});
  CHECK(s.link_changed(link(2, "eth0")) ==
        std::vector{appeared("10.1.0.10", "eth0"), appeared("2001:db8:1::10", "eth0")});
  // A rename is a move as far as exclusions by name are concerned.
  CHECK(s.link_changed(link(3, "wan0")) ==
        std::vector{disappeared("192.168.7.2", "eth1"), appeared("192.168.7.2", "wan0")});
  // The link goes away with its addresses (RTM_DELLINK may come without RTM_DELADDRs).
  CHECK(s.link_removed(4) == std::vector{disappeared("172.17.0.1", "docker0")});
  CHECK(why(s, "172.17.0.1") == "unknown");
  // The same address on two links is two host addresses (one candidate after gathering).
  CHECK(s.address_added(addr(5, "10.1.0.10")).empty());  // eth2 is down
  CHECK(s.link_changed(link(5, "eth2")) ==
        std::vector{appeared("10.1.0.10", "eth2"), appeared("10.9.0.1", "eth2")});
  // A resync dump that finds the same state changes nothing.
  HostAddressSet copy = s;
  std::vector<LinkState> links;
  std::vector<AddressState> addresses;
  for (const auto& e : copy.entries()) addresses.push_back(addr(e.ifindex, e.address.to_string()));
  links = {link(1, "lo"), link(2, "eth0"), link(3, "wan0"), link(5, "eth2")};
  CHECK(copy.replace(links, addresses).empty());
  CHECK(disclosed(copy) == disclosed(s));
  CHECK(appeared("10.1.0.10", "eth0").to_string() == "host address 10.1.0.10 on eth0 appeared");
  CHECK(disappeared("2001:db8::1", "").to_string() == "host address 2001:db8::1 on ? disappeared");
}

TEST_CASE("host addresses: the rtnetlink monitor reads this host's interfaces and addresses",
          "[peer][host-addresses]") {
  // Read-only (a dump and a subscription): the host's own loopback is always there.
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::vector<std::string> logs;
  {
    auto monitor = peer::HostAddressMonitor::start(
        &loop, {}, [](const HostAddressSet::Changes&) {},
        [&](int, std::string line) { logs.push_back(std::move(line)); });
    REQUIRE(monitor.ok());
    bool loopback = false;
    for (const auto& e : (*monitor)->addresses().entries())
      if (e.address == *IpAddress::parse("127.0.0.1"))
        loopback =
            e.interface == "lo" && e.withheld == std::optional<std::string>("loopback interface");
    CHECK(loopback);
    for (const auto& h : (*monitor)->addresses().disclosed())
      CHECK_FALSE(h.address == *IpAddress::parse("127.0.0.1"));
    (*monitor)->stop();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // the poll handle's close callback
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(logs.empty());
}

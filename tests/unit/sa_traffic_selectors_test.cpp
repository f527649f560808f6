// Traffic selectors: parsing, rendering and narrowing (ike/sa/traffic_selectors).

#include <catch2/catch.hpp>

#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

TrafficSelector ts(std::string_view text) {
  auto r = parse_traffic_selector(text);
  INFO(text);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  return **r;
}

std::string ts_error(std::string_view text) {
  auto r = parse_traffic_selector(text);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

Bytes ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  INFO(text);
  REQUIRE(a);
  ByteView b = a->bytes();
  return Bytes(b.begin(), b.end());
}

TrafficSelector range(std::string_view from, std::string_view to, uint8_t proto = 0,
                      uint16_t start_port = 0, uint16_t end_port = 65535) {
  TrafficSelector t;
  t.start_address = ip(from);
  t.end_address = ip(to);
  t.type = t.start_address.size() == 4 ? TsType::IPV4_ADDR_RANGE : TsType::IPV6_ADDR_RANGE;
  t.ip_protocol = proto;
  t.start_port = start_port;
  t.end_port = end_port;
  return t;
}

}  // namespace

// --- parse_traffic_selector ------------------------------------------------------------------

TEST_CASE("traffic selectors: IPv4 CIDR", "[sa]") {
  TrafficSelector t = ts("10.1.0.0/16");
  CHECK(t.type == TsType::IPV4_ADDR_RANGE);
  CHECK(t.start_address == Bytes{10, 1, 0, 0});
  CHECK(t.end_address == Bytes{10, 1, 255, 255});
  CHECK(t.ip_protocol == 0);
  CHECK(t.start_port == 0);
  CHECK(t.end_port == 65535);
  CHECK(to_string(t) == "10.1.0.0/16");
  CHECK(t == range("10.1.0.0", "10.1.255.255"));
}

TEST_CASE("traffic selectors: host bits are masked, prefixes need not be byte aligned", "[sa]") {
  CHECK(ts("10.1.2.3/16") == range("10.1.0.0", "10.1.255.255"));
  CHECK(to_string(ts("10.1.2.3/16")) == "10.1.0.0/16");
  CHECK(ts("192.168.1.77/27") == range("192.168.1.64", "192.168.1.95"));
  CHECK(to_string(ts("192.168.1.77/27")) == "192.168.1.64/27");
  CHECK(ts("172.16.0.0/12") == range("172.16.0.0", "172.31.255.255"));
  CHECK(ts("0.0.0.0/0") == range("0.0.0.0", "255.255.255.255"));
  CHECK(to_string(ts("1.2.3.4/0")) == "0.0.0.0/0");
  CHECK(ts("10.0.0.7/31") == range("10.0.0.6", "10.0.0.7"));
  CHECK(ts("10.0.0.0/08") == range("10.0.0.0", "10.255.255.255"));
}

TEST_CASE("traffic selectors: a host is a /32 or /128", "[sa]") {
  TrafficSelector h = ts("10.2.0.10");
  CHECK(h == range("10.2.0.10", "10.2.0.10"));
  CHECK(h == ts("10.2.0.10/32"));
  CHECK(to_string(h) == "10.2.0.10/32");
  TrafficSelector h6 = ts("2001:db8::1");
  CHECK(h6.type == TsType::IPV6_ADDR_RANGE);
  CHECK(h6.start_address.size() == 16);
  CHECK(h6 == range("2001:db8::1", "2001:db8::1"));
  CHECK(to_string(h6) == "2001:db8::1/128");
  CHECK(h6 == ts("2001:db8::1/128"));
}

TEST_CASE("traffic selectors: host_selector covers one address", "[sa]") {
  TrafficSelector v4 = host_selector(*IpAddress::parse("192.0.2.1"));
  CHECK(v4.type == TsType::IPV4_ADDR_RANGE);
  CHECK(v4.start_address == Bytes{192, 0, 2, 1});
  CHECK(v4.end_address == Bytes{192, 0, 2, 1});
  CHECK(v4.ip_protocol == 0);
  CHECK(v4.start_port == 0);
  CHECK(v4.end_port == 65535);
  TrafficSelector v6 = host_selector(*IpAddress::parse("fe80::2"));
  CHECK(v6.type == TsType::IPV6_ADDR_RANGE);
  CHECK(v6 == range("fe80::2", "fe80::2"));
}

TEST_CASE("traffic selectors: IPv6 CIDR", "[sa]") {
  TrafficSelector t = ts("fec0::/16");
  CHECK(t.type == TsType::IPV6_ADDR_RANGE);
  CHECK(t == range("fec0::", "fec0:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(to_string(t) == "fec0::/16");
  CHECK(ts("::/0") == range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(to_string(ts("::/0")) == "::/0");
  CHECK(ts("2001:db8:ffff::1/33") ==
        range("2001:db8:8000::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(to_string(ts("2001:db8:ffff::1/33")) == "2001:db8:8000::/33");
}

TEST_CASE("traffic selectors: dynamic is left to the caller", "[sa]") {
  auto d = parse_traffic_selector("dynamic");
  REQUIRE(d.ok());
  CHECK_FALSE(d->has_value());
  auto empty = parse_traffic_selector("dynamic[]");
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->has_value());
  CHECK(ts_error("dynamic[tcp]") ==
        "traffic selector 'dynamic[tcp]': dynamic with a protocol/port restriction is not "
        "supported");
  CHECK(ts_error("dynamic[udp/1701]") ==
        "traffic selector 'dynamic[udp/1701]': dynamic with a protocol/port restriction is not "
        "supported");
  CHECK(ts_error("Dynamic") == "traffic selector 'Dynamic': not an IP address");
}

TEST_CASE("traffic selectors: protocol and port restrictions", "[sa]") {
  TrafficSelector tcp = ts("10.0.0.0/8[tcp]");
  CHECK(tcp.ip_protocol == 6);
  CHECK(tcp.start_port == 0);
  CHECK(tcp.end_port == 65535);
  CHECK(tcp.start_address == Bytes{10, 0, 0, 0});
  CHECK(tcp.end_address == Bytes{10, 255, 255, 255});
  CHECK(to_string(tcp) == "10.0.0.0/8[tcp]");

  TrafficSelector udp500 = ts("0.0.0.0/0[udp/500]");
  CHECK(udp500.ip_protocol == 17);
  CHECK(udp500.start_port == 500);
  CHECK(udp500.end_port == 500);
  CHECK(to_string(udp500) == "0.0.0.0/0[udp/500]");

  CHECK(ts("10.0.0.1[icmp]").ip_protocol == 1);
  CHECK(ts("::/0[ipv6-icmp]").ip_protocol == 58);
  CHECK(to_string(ts("::/0[ipv6-icmp]")) == "::/0[ipv6-icmp]");

  // Numeric protocols, rendered by name when known.
  CHECK(ts("10.0.0.0/8[47]").ip_protocol == 47);
  CHECK(to_string(ts("10.0.0.0/8[47]")) == "10.0.0.0/8[47]");
  CHECK(to_string(ts("10.0.0.0/8[17/53]")) == "10.0.0.0/8[udp/53]");
  CHECK(ts("10.0.0.0/8[255]").ip_protocol == 255);
  CHECK(ts("10.0.0.0/8[0]") == ts("10.0.0.0/8"));

  // "any", an empty protocol and "%any" ports leave that part open.
  CHECK(ts("10.0.0.0/8[any]") == ts("10.0.0.0/8"));
  CHECK(ts("10.0.0.0/8[]") == ts("10.0.0.0/8"));
  CHECK(ts("10.0.0.0/8[tcp/%any]") == ts("10.0.0.0/8[tcp]"));
  TrafficSelector port_only = ts("10.0.0.0/8[any/80]");
  CHECK(port_only.ip_protocol == 0);
  CHECK(port_only.start_port == 80);
  CHECK(port_only.end_port == 80);
  CHECK(ts("10.0.0.0/8[/80]") == port_only);
  CHECK(to_string(port_only) == "10.0.0.0/8[0/80]");
  CHECK(ts("10.0.0.0/8[0/80]") == port_only);

  TrafficSelector zero = ts("10.0.0.1[tcp/0]");
  CHECK(zero.start_port == 0);
  CHECK(zero.end_port == 0);
  CHECK(to_string(zero) == "10.0.0.1/32[tcp/0]");
  TrafficSelector top = ts("10.0.0.1[udp/65535]");
  CHECK(top.start_port == 65535);
  CHECK(top.end_port == 65535);
  CHECK_FALSE(top.opaque_ports());
}

TEST_CASE("traffic selectors: parse errors", "[sa]") {
  CHECK(ts_error("10.0.0.0/8[tcp") == "traffic selector '10.0.0.0/8[tcp': missing ']'");
  CHECK(ts_error("[") == "traffic selector '[': missing ']'");
  CHECK(ts_error("10.0.0.0/") == "traffic selector '10.0.0.0/': bad prefix length");
  CHECK(ts_error("10.0.0.0/x") == "traffic selector '10.0.0.0/x': bad prefix length");
  CHECK(ts_error("10.0.0.0/8/8") == "traffic selector '10.0.0.0/8/8': bad prefix length");
  CHECK(ts_error("10.0.0.0/ 8") == "traffic selector '10.0.0.0/ 8': bad prefix length");
  CHECK(ts_error("10.0.0.0/-1") == "traffic selector '10.0.0.0/-1': bad prefix length");
  CHECK(ts_error("10.0.0.0/+8") == "traffic selector '10.0.0.0/+8': bad prefix length");
  CHECK(ts_error("10.0.0.0/33") == "traffic selector '10.0.0.0/33': prefix length beyond 32");
  CHECK(ts_error("::/129") == "traffic selector '::/129': prefix length beyond 128");
  CHECK(ts_error("10.0.0.256") == "traffic selector '10.0.0.256': not an IP address");
  CHECK(ts_error("") == "traffic selector '': not an IP address");
  CHECK(ts_error("gw.example.org") == "traffic selector 'gw.example.org': not an IP address");
  CHECK(ts_error("[tcp]") == "traffic selector '[tcp]': not an IP address");
  CHECK(ts_error("10.0.0.0/8[gre]") ==
        "traffic selector '10.0.0.0/8[gre]': unknown protocol 'gre'");
  CHECK(ts_error("10.0.0.0/8[TCP]") ==
        "traffic selector '10.0.0.0/8[TCP]': unknown protocol 'TCP'");
  CHECK(ts_error("10.0.0.0/8[256]") ==
        "traffic selector '10.0.0.0/8[256]': unknown protocol '256'");
  CHECK(ts_error("10.0.0.0/8[-1]") == "traffic selector '10.0.0.0/8[-1]': unknown protocol '-1'");
  CHECK(ts_error("10.0.0.0/8[6x]") == "traffic selector '10.0.0.0/8[6x]': unknown protocol '6x'");
  CHECK(ts_error("10.0.0.0/8[tcp/http]") ==
        "traffic selector '10.0.0.0/8[tcp/http]': bad port 'http'");
  CHECK(ts_error("10.0.0.0/8[tcp/65536]") ==
        "traffic selector '10.0.0.0/8[tcp/65536]': bad port '65536'");
  CHECK(ts_error("10.0.0.0/8[tcp/-1]") == "traffic selector '10.0.0.0/8[tcp/-1]': bad port '-1'");
  CHECK(ts_error("10.0.0.0/8[tcp/1000-2000]") ==
        "traffic selector '10.0.0.0/8[tcp/1000-2000]': bad port '1000-2000'");
}

// --- to_string -------------------------------------------------------------------------------

TEST_CASE("traffic selectors: ranges that are not prefixes render as from..to", "[sa]") {
  CHECK(to_string(range("10.1.0.3", "10.1.0.9")) == "10.1.0.3..10.1.0.9");
  CHECK(to_string(range("10.0.0.1", "10.0.0.255")) == "10.0.0.1..10.0.0.255");
  CHECK(to_string(range("10.0.0.0", "10.0.1.254")) == "10.0.0.0..10.0.1.254");
  CHECK(to_string(range("10.0.0.0", "10.0.2.255")) == "10.0.0.0..10.0.2.255");
  CHECK(to_string(range("10.0.0.0", "10.0.1.255")) == "10.0.0.0/23");
  CHECK(to_string(range("2001:db8::1", "2001:db8::ff")) == "2001:db8::1..2001:db8::ff");
  CHECK(to_string(range("10.1.0.3", "10.1.0.9", 6, 80, 80)) == "10.1.0.3..10.1.0.9[tcp/80]");
}

TEST_CASE("traffic selectors: port ranges, OPAQUE and unnamed protocols", "[sa]") {
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 6, 1000, 2000)) == "10.0.0.0/24[tcp/1000-2000]");
  TrafficSelector opaque = range("10.0.0.0", "10.0.0.255", 17, 65535, 0);
  REQUIRE(opaque.opaque_ports());
  CHECK(to_string(opaque) == "10.0.0.0/24[udp/OPAQUE]");
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 0, 65535, 0)) == "10.0.0.0/24[0/OPAQUE]");
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 132)) == "10.0.0.0/24[132]");
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 1)) == "10.0.0.0/24[icmp]");
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 0, 1, 65535)) == "10.0.0.0/24[0/1-65535]");
  CHECK(to_string(range("10.0.0.0", "10.0.0.255", 0, 0, 65534)) == "10.0.0.0/24[0/0-65534]");
}

TEST_CASE("traffic selectors: malformed addresses render as ?", "[sa]") {
  TrafficSelector bad = range("10.0.0.0", "10.0.0.255");
  bad.start_address = {10, 0, 0};
  CHECK(to_string(bad) == "?");
  bad = range("10.0.0.0", "10.0.0.255");
  bad.end_address.clear();
  CHECK(to_string(bad) == "?");
}

TEST_CASE("traffic selectors: lists render space separated, text round trips", "[sa]") {
  CHECK(to_string(std::vector<TrafficSelector>{}) == "");
  CHECK(to_string(std::vector<TrafficSelector>{ts("10.1.0.0/16")}) == "10.1.0.0/16");
  CHECK(to_string(std::vector<TrafficSelector>{ts("10.1.0.0/16"), ts("10.2.0.10"),
                                               ts("fec0::/16[tcp/22]")}) ==
        "10.1.0.0/16 10.2.0.10/32 fec0::/16[tcp/22]");
  for (const char* text : {"10.1.0.0/16", "10.2.0.10/32", "fec0::/16", "0.0.0.0/0[udp/500]",
                           "10.0.0.0/8[tcp]", "::/0[ipv6-icmp]", "192.168.0.0/24[47/1701]",
                           "0.0.0.0/0[0/80]", "2001:db8::1/128[icmp/8]"}) {
    INFO(text);
    CHECK(to_string(ts(text)) == text);
  }
}

// --- intersect / narrow / contains -----------------------------------------------------------

TEST_CASE("traffic selectors: 10.1.0.0/16 narrowed to 10.1.0.0/24", "[sa]") {
  TrafficSelector offered = ts("10.1.0.0/16"), allowed = ts("10.1.0.0/24");
  auto i = intersect(offered, allowed);
  REQUIRE(i);
  CHECK(*i == allowed);
  CHECK(to_string(*i) == "10.1.0.0/24");
  CHECK(intersect(allowed, offered) == i);
  CHECK(narrow({offered}, {allowed}) == std::vector<TrafficSelector>{allowed});
  CHECK(contains(offered, *i));
  CHECK_FALSE(contains(allowed, offered));
}

TEST_CASE("traffic selectors: address intersections", "[sa]") {
  CHECK_FALSE(intersect(ts("10.1.0.0/24"), ts("10.2.0.0/24")));
  CHECK_FALSE(intersect(ts("10.1.0.255"), ts("10.1.1.0")));
  // Touching ranges share one address.
  auto touch = intersect(range("10.0.0.0", "10.0.0.10"), range("10.0.0.10", "10.0.0.20"));
  REQUIRE(touch);
  CHECK(*touch == ts("10.0.0.10"));
  // Partial overlap, the result not a prefix.
  auto part = intersect(ts("10.0.0.0/24"), range("10.0.0.200", "10.0.1.10"));
  REQUIRE(part);
  CHECK(*part == range("10.0.0.200", "10.0.0.255"));
  CHECK(to_string(*part) == "10.0.0.200..10.0.0.255");
  // The comparison is numeric across bytes, not per byte.
  auto wide = intersect(range("10.0.1.0", "10.2.0.0"), range("10.1.255.0", "10.3.0.0"));
  REQUIRE(wide);
  CHECK(*wide == range("10.1.255.0", "10.2.0.0"));
  auto v6 = intersect(ts("2001:db8::/32"), ts("2001:db8:1::/48"));
  REQUIRE(v6);
  CHECK(to_string(*v6) == "2001:db8:1::/48");
  CHECK_FALSE(intersect(ts("2001:db8::/32"), ts("2001:db9::/32")));
}

TEST_CASE("traffic selectors: IPv4 and IPv6 never intersect", "[sa]") {
  CHECK_FALSE(intersect(ts("0.0.0.0/0"), ts("::/0")));
  CHECK_FALSE(intersect(ts("::/0"), ts("0.0.0.0/0")));
  CHECK_FALSE(intersect(ts("10.0.0.1"), ts("::ffff:10.0.0.1")));
  CHECK(narrow({ts("0.0.0.0/0")}, {ts("::/0")}).empty());
  CHECK_FALSE(contains(ts("::/0"), ts("10.0.0.1")));
}

TEST_CASE("traffic selectors: protocol intersection", "[sa]") {
  auto any_tcp = intersect(ts("10.0.0.0/8"), ts("10.0.0.0/8[tcp]"));
  REQUIRE(any_tcp);
  CHECK(any_tcp->ip_protocol == 6);
  auto tcp_any = intersect(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8"));
  REQUIRE(tcp_any);
  CHECK(tcp_any->ip_protocol == 6);
  CHECK(intersect(ts("10.0.0.0/8[udp]"), ts("10.0.0.0/16[udp]")) == ts("10.0.0.0/16[udp]"));
  CHECK_FALSE(intersect(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8[udp]")));
  CHECK_FALSE(intersect(ts("10.0.0.0/8[icmp]"), ts("10.0.0.0/8[47]")));
}

TEST_CASE("traffic selectors: port intersection", "[sa]") {
  CHECK(intersect(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8[tcp/80]")) == ts("10.0.0.0/8[tcp/80]"));
  CHECK(intersect(ts("10.0.0.0/8[any/80]"), ts("10.0.0.0/8[tcp]")) == ts("10.0.0.0/8[tcp/80]"));
  auto overlap = intersect(range("10.0.0.0", "10.0.0.255", 6, 1000, 2000),
                           range("10.0.0.0", "10.0.0.255", 0, 1500, 3000));
  REQUIRE(overlap);
  CHECK(*overlap == range("10.0.0.0", "10.0.0.255", 6, 1500, 2000));
  CHECK(to_string(*overlap) == "10.0.0.0/24[tcp/1500-2000]");
  CHECK_FALSE(intersect(range("10.0.0.0", "10.0.0.255", 6, 1, 10),
                        range("10.0.0.0", "10.0.0.255", 6, 20, 30)));
  CHECK_FALSE(intersect(ts("10.0.0.0/8[udp/500]"), ts("10.0.0.0/8[udp/4500]")));
  // Ports agree but the addresses do not.
  CHECK_FALSE(intersect(ts("10.0.0.0/8[udp/500]"), ts("11.0.0.0/8[udp/500]")));
}

TEST_CASE("traffic selectors: OPAQUE ports intersect only with OPAQUE or any", "[sa]") {
  TrafficSelector opaque = range("10.0.0.0", "10.0.0.255", 17, 65535, 0);
  auto with_any = intersect(opaque, ts("10.0.0.0/8"));
  REQUIRE(with_any);
  CHECK(*with_any == opaque);
  CHECK(intersect(ts("10.0.0.0/8[udp]"), opaque) == opaque);
  CHECK(intersect(opaque, opaque) == opaque);
  CHECK_FALSE(intersect(opaque, ts("10.0.0.0/8[udp/500]")));
  CHECK_FALSE(intersect(ts("10.0.0.0/8[udp/500]"), opaque));
  CHECK(contains(ts("10.0.0.0/8"), opaque));
  CHECK_FALSE(contains(opaque, ts("10.0.0.0/24[udp]")));
}

TEST_CASE("traffic selectors: narrow keeps the offered order and drops duplicates", "[sa]") {
  std::vector<TrafficSelector> allowed{ts("10.1.0.0/24"), ts("10.1.5.0/24"), ts("172.16.0.0/12")};
  CHECK(narrow({ts("10.1.0.0/16"), ts("192.168.0.0/16")}, allowed) ==
        std::vector<TrafficSelector>{ts("10.1.0.0/24"), ts("10.1.5.0/24")});
  CHECK(
      narrow({ts("192.168.1.0/24"), ts("10.1.0.0/24")}, {ts("10.0.0.0/8"), ts("192.168.0.0/16")}) ==
      std::vector<TrafficSelector>{ts("192.168.1.0/24"), ts("10.1.0.0/24")});
  // Two offered selectors that narrow to the same one yield it once.
  CHECK(narrow({ts("10.1.0.0/16"), ts("10.0.0.0/8")}, {ts("10.1.0.0/24")}) ==
        std::vector<TrafficSelector>{ts("10.1.0.0/24")});
  CHECK(narrow({ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}).empty());
  CHECK(narrow({}, allowed).empty());
  CHECK(narrow({ts("10.1.0.0/16")}, {}).empty());
  // A host offered inside an allowed subnet stays the host.
  CHECK(narrow({ts("10.1.0.10")}, allowed) == std::vector<TrafficSelector>{ts("10.1.0.10")});
}

TEST_CASE("traffic selectors: contains checks that a selector only narrowed", "[sa]") {
  CHECK(contains(ts("10.1.0.0/16"), ts("10.1.0.0/16")));
  CHECK(contains(ts("10.1.0.0/16"), ts("10.1.200.7")));
  CHECK_FALSE(contains(ts("10.1.0.0/16"), ts("10.0.0.0/8")));
  CHECK_FALSE(contains(ts("10.1.0.0/16"), ts("10.2.0.0/24")));
  CHECK_FALSE(contains(ts("10.1.0.0/16"), range("10.1.255.0", "10.2.0.5")));
  CHECK(contains(ts("10.0.0.0/8"), ts("10.0.0.0/8[tcp]")));
  CHECK_FALSE(contains(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8")));
  CHECK(contains(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8[tcp/443]")));
  CHECK_FALSE(contains(ts("10.0.0.0/8[tcp/443]"), ts("10.0.0.0/8[tcp]")));
  CHECK_FALSE(contains(ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8[udp/53]")));
}

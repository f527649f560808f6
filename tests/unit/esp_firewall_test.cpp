// The firewall option's nftables scripts (pure text): the per-CHILD_SA chains both backends
// share and the userspace backend's TUN-device dispatch. Applied to a real nftables in
// tests/interop/userspace_firewall.sh (and, for XFRM, in the VM: tests/xfrm/).

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "esp-kernel/nft_firewall.hpp"
#include "esp-kernel/userspace/tun_firewall.hpp"
#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;
using namespace ikeme::esp;

namespace {

ike::TrafficSelector ts(const char* text) {
  return **ike::parse_traffic_selector(text);
}

bool has(const std::string& script, const std::string& line) {
  return script.find(line) != std::string::npos;
}

size_t count(const std::string& script, const std::string& what) {
  size_t n = 0;
  for (size_t at = script.find(what); at != std::string::npos; at = script.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("firewall: per-CHILD_SA chains shared by both backends", "[esp][firewall]") {
  CHECK(nft_table_ref() == "inet ikeme");
  CHECK(nft_remove_table_script() == "add table inet ikeme\ndelete table inet ikeme\n");
  CHECK(nft_list_table_script() == "list table inet ikeme\n");
  CHECK(nft_child_chain(7, true) == "child_7_in");
  CHECK(nft_child_chain(7, false) == "child_7_out");

  const std::string add = nft_child_chains_script(3, {ts("10.1.0.10/32")}, {ts("10.2.0.0/24")});
  CHECK(add ==
        "add chain inet ikeme child_3_in\n"
        "add rule inet ikeme child_3_in ip saddr { 10.2.0.0-10.2.0.255 } ip daddr { 10.1.0.10 } "
        "counter accept\n"
        "add chain inet ikeme child_3_out\n"
        "add rule inet ikeme child_3_out ip saddr { 10.1.0.10 } ip daddr { 10.2.0.0-10.2.0.255 } "
        "counter accept\n");

  // Mixed families: one rule per family present on both sides; a family on one side only
  // gets no rule (nothing of it can match the CHILD_SA).
  const std::string mixed = nft_child_chains_script(4, {ts("10.1.0.0/16"), ts("fec1::/64")},
                                                    {ts("10.2.0.1/32"), ts("fec2::1/128")});
  CHECK(count(mixed, "add rule inet ikeme child_4_in ") == 2);
  CHECK(has(mixed,
            "child_4_in ip6 saddr { fec2::1 } ip6 daddr { fec1::-fec1::ffff:ffff:ffff:ffff "
            "} counter accept\n"));
  const std::string one_sided = nft_child_chains_script(5, {ts("10.1.0.0/16")}, {ts("fec2::/64")});
  CHECK(count(one_sided, "add rule") == 0);
  CHECK(count(one_sided, "add chain") == 2);

  // Protocol and ports when each side has one selector; source and destination ports swap
  // between the directions.
  const std::string tcp =
      nft_child_chains_script(6, {ts("10.1.0.1/32[tcp/22]")}, {ts("10.2.0.0/24[tcp]")});
  CHECK(has(tcp,
            "child_6_in ip saddr { 10.2.0.0-10.2.0.255 } ip daddr { 10.1.0.1 } meta l4proto "
            "6 th dport 22 counter accept\n"));
  CHECK(has(tcp,
            "child_6_out ip saddr { 10.1.0.1 } ip daddr { 10.2.0.0-10.2.0.255 } meta "
            "l4proto 6 th sport 22 counter accept\n"));

  CHECK(nft_child_chains_remove_script(3) ==
        "flush chain inet ikeme child_3_in\n"
        "delete chain inet ikeme child_3_in\n"
        "flush chain inet ikeme child_3_out\n"
        "delete chain inet ikeme child_3_out\n");
}

TEST_CASE("firewall: userspace backend matches the TUN device", "[esp][firewall]") {
  const std::string table = nft_tun_table_script("ikeme0");
  // A stale table goes first, in the same transaction.
  REQUIRE(table.rfind(nft_remove_table_script(), 0) == 0);
  CHECK(has(table, "table inet ikeme {\n"));
  CHECK(has(table,
            "type filter hook input priority filter; policy accept;\n"
            "    iifname \"ikeme0\" jump children_in\n"));
  CHECK(has(table,
            "type filter hook forward priority filter; policy accept;\n"
            "    iifname \"ikeme0\" jump children_in\n"
            "    oifname \"ikeme0\" jump children_out\n"));
  CHECK(has(table,
            "type filter hook output priority filter; policy accept;\n"
            "    oifname \"ikeme0\" jump children_out\n"));
  // The dispatch chains are declared before the base chains jumping to them.
  CHECK(table.find("chain children_in {") < table.find("chain input {"));
  CHECK(count(table, "policy drop") == 0);  // the table only ever admits

  const std::string add =
      nft_tun_child_add_script(2, {ts("10.1.0.10/32")}, {ts("10.2.0.10/32")}, {1, 2});
  CHECK(add ==
        "add chain inet ikeme child_2_in\n"
        "add rule inet ikeme child_2_in ip saddr { 10.2.0.10 } ip daddr { 10.1.0.10 } counter "
        "accept\n"
        "add chain inet ikeme child_2_out\n"
        "add rule inet ikeme child_2_out ip saddr { 10.1.0.10 } ip daddr { 10.2.0.10 } counter "
        "accept\n"
        "flush chain inet ikeme children_in\n"
        "add rule inet ikeme children_in jump child_1_in\n"
        "add rule inet ikeme children_in jump child_2_in\n"
        "flush chain inet ikeme children_out\n"
        "add rule inet ikeme children_out jump child_1_out\n"
        "add rule inet ikeme children_out jump child_2_out\n");

  // Removal: the jumps go before the chains they point to (nft refuses to delete a chain
  // still jumped to).
  const std::string remove = nft_tun_child_remove_script(1, {2});
  CHECK(remove ==
        "flush chain inet ikeme children_in\n"
        "add rule inet ikeme children_in jump child_2_in\n"
        "flush chain inet ikeme children_out\n"
        "add rule inet ikeme children_out jump child_2_out\n"
        "flush chain inet ikeme child_1_in\n"
        "delete chain inet ikeme child_1_in\n"
        "flush chain inet ikeme child_1_out\n"
        "delete chain inet ikeme child_1_out\n");
  const std::string last = nft_tun_child_remove_script(2, {});
  CHECK(count(last, "jump") == 0);
  CHECK(has(last, "flush chain inet ikeme children_in\nflush chain inet ikeme children_out\n"));

  // Interface names the kernel accepts but an nftables string cannot hold.
  CHECK(nft_check_interface_name("ikeme0"));
  CHECK(nft_check_interface_name("tun-a.b_c"));
  auto quote = nft_check_interface_name("ik\"x");
  REQUIRE_FALSE(quote);
  CHECK(has(quote.error(), "choose another tun_name"));
  CHECK_FALSE(nft_check_interface_name("ik\\x"));
  CHECK_FALSE(nft_check_interface_name(""));
}

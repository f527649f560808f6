// The pure parts of the XFRM backend: algorithm names, selector decomposition and priorities,
// nftables scripts, and decoding of the kernel's expire/acquire messages. The kernel side itself
// is tested in the VM (tests/xfrm/, ctest xfrm_kernel).

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "esp-kernel/xfrm/xfrm_algorithms.hpp"
#include "esp-kernel/xfrm/xfrm_events.hpp"
#include "esp-kernel/xfrm/xfrm_firewall.hpp"
#include "esp-kernel/xfrm/xfrm_selectors.hpp"
#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;
using namespace ikeme::esp::xfrm;

namespace {

ike::TrafficSelector ts(const char* text) {
  return **ike::parse_traffic_selector(text);
}
IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
ike::TrafficSelector range(const char* from, const char* to) {
  ike::TrafficSelector t;
  const IpAddress a = ip(from), b = ip(to);
  t.start_address.assign(a.bytes().begin(), a.bytes().end());
  t.end_address.assign(b.bytes().begin(), b.bytes().end());
  return t;
}

}  // namespace

TEST_CASE("xfrm algorithms: kernel names, key sizes and truncation", "[esp][xfrm]") {
  auto gcm = kernel_algorithms({ike::EncrId::AES_GCM_16, 256, ike::IntegId::NONE, false});
  REQUIRE(gcm);
  CHECK(gcm->aead);
  CHECK(gcm->encr_name == "rfc4106(gcm(aes))");
  CHECK(gcm->encr_key_bytes == 36);
  CHECK(gcm->icv_bits == 128);
  auto gcm8 = kernel_algorithms({ike::EncrId::AES_GCM_8, 128, ike::IntegId::NONE, false});
  REQUIRE(gcm8);
  CHECK(gcm8->icv_bits == 64);
  auto chacha = kernel_algorithms({ike::EncrId::CHACHA20_POLY1305, 256, ike::IntegId::NONE, false});
  REQUIRE(chacha);
  CHECK(chacha->encr_name == "rfc7539esp(chacha20,poly1305)");
  CHECK(chacha->encr_key_bytes == 36);
  auto cbc = kernel_algorithms({ike::EncrId::AES_CBC, 192, ike::IntegId::HMAC_SHA2_384_192});
  REQUIRE(cbc);
  CHECK_FALSE(cbc->aead);
  CHECK(cbc->encr_name == "cbc(aes)");
  CHECK(cbc->encr_key_bytes == 24);
  CHECK(cbc->integ_name == "hmac(sha384)");
  CHECK(cbc->integ_key_bytes == 48);
  CHECK(cbc->integ_trunc_bits == 192);
  auto sha512 = kernel_algorithms({ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_512_256});
  REQUIRE(sha512);
  CHECK(sha512->integ_trunc_bits == 256);
  auto sha256 = kernel_algorithms({ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128});
  REQUIRE(sha256);
  CHECK(sha256->integ_trunc_bits == 128);

  CHECK_FALSE(kernel_algorithms({ike::EncrId::AES_CBC, 128, ike::IntegId::NONE}));
  CHECK_FALSE(kernel_algorithms({ike::EncrId::AES_CBC, 100, ike::IntegId::HMAC_SHA2_256_128}));
  CHECK_FALSE(
      kernel_algorithms({ike::EncrId::AES_GCM_16, 128, ike::IntegId::HMAC_SHA2_256_128, false}));
  auto des = kernel_algorithms({ike::EncrId::DES, 64, ike::IntegId::HMAC_SHA2_256_128});
  REQUIRE_FALSE(des);
  CHECK(des.error().find("not supported") != std::string::npos);
}

TEST_CASE("xfrm selectors: ranges become the fewest prefixes", "[esp][xfrm]") {
  CHECK(range_to_prefixes(ip("10.1.0.0"), ip("10.1.0.255")) ==
        std::vector<Prefix>{{ip("10.1.0.0"), 24}});
  CHECK(range_to_prefixes(ip("0.0.0.0"), ip("255.255.255.255")) ==
        std::vector<Prefix>{{ip("0.0.0.0"), 0}});
  CHECK(range_to_prefixes(ip("10.0.0.1"), ip("10.0.0.1")) ==
        std::vector<Prefix>{{ip("10.0.0.1"), 32}});
  CHECK(range_to_prefixes(ip("10.0.0.3"), ip("10.0.0.9")) ==
        std::vector<Prefix>{{ip("10.0.0.3"), 32}, {ip("10.0.0.4"), 30}, {ip("10.0.0.8"), 31}});
  CHECK(range_to_prefixes(ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) ==
        std::vector<Prefix>{{ip("::"), 0}});
  CHECK(range_to_prefixes(ip("fec0::"), ip("fec0::ffff")) ==
        std::vector<Prefix>{{ip("fec0::"), 112}});
  CHECK(range_to_prefixes(ip("10.0.0.9"), ip("10.0.0.3")).empty());
  CHECK(range_to_prefixes(ip("10.0.0.1"), ip("::1")).empty());

  CHECK(port_range_to_masks(0, 65535) == std::vector<PortMask>{{0, 0}});
  CHECK(port_range_to_masks(500, 500) == std::vector<PortMask>{{500, 0xffff}});
  CHECK(port_range_to_masks(1024, 2047) == std::vector<PortMask>{{1024, 0xfc00}});
}

TEST_CASE("xfrm selectors: pairs, protocols and priorities", "[esp][xfrm]") {
  auto sels = selectors_between(ts("10.1.0.0/24"), ts("10.2.0.0/16"));
  REQUIRE(sels.size() == 1);
  CHECK(sels[0].source.prefix == Prefix{ip("10.1.0.0"), 24});
  CHECK(sels[0].destination.prefix == Prefix{ip("10.2.0.0"), 16});
  CHECK(sels[0].protocol == 0);

  auto udp = selectors_between(ts("10.1.0.1/32[udp/500]"), ts("10.2.0.1/32"));
  REQUIRE(udp.size() == 1);
  CHECK(udp[0].protocol == 17);
  CHECK(udp[0].source.port == PortMask{500, 0xffff});
  CHECK(udp[0].destination.port == PortMask{0, 0});

  CHECK(selectors_between(ts("10.1.0.1/32[udp]"), ts("10.2.0.1/32[tcp]")).empty());
  CHECK(selectors_between(ts("10.1.0.0/24"), ts("fec0::/16")).empty());

  // More specific selectors win (lower priority values).
  CHECK(policy_priority(udp[0]) < policy_priority(sels[0]));
  auto any = selectors_between(ts("0.0.0.0/0"), ts("0.0.0.0/0"));
  REQUIRE(any.size() == 1);
  CHECK(policy_priority(sels[0]) < policy_priority(any[0]));
}

TEST_CASE("xfrm firewall: nftables scripts per CHILD_SA", "[esp][xfrm]") {
  const std::string table = nft_table_script();
  CHECK(table.find("delete table inet ikeme") != std::string::npos);
  CHECK(table.find("map children_in { typeof ipsec in reqid : verdict; }") != std::string::npos);
  CHECK(table.find("hook input") != std::string::npos);
  CHECK(table.find("hook forward") != std::string::npos);
  CHECK(table.find("hook output") != std::string::npos);

  const std::string add =
      nft_child_add_script(5, 0x1c0e0005, {ts("10.1.0.0/24")}, {range("10.2.0.3", "10.2.0.9")});
  CHECK(add.find("add chain inet ikeme child_5_in\n") != std::string::npos);
  CHECK(add.find("add rule inet ikeme child_5_in ip saddr { 10.2.0.3-10.2.0.9 } ip daddr { "
                 "10.1.0.0-10.1.0.255 } counter accept\n") != std::string::npos);
  CHECK(add.find("add rule inet ikeme child_5_out ip saddr { 10.1.0.0-10.1.0.255 } ip daddr { "
                 "10.2.0.3-10.2.0.9 } counter accept\n") != std::string::npos);
  CHECK(add.find("add element inet ikeme children_in { 470679557 : jump child_5_in }") !=
        std::string::npos);

  const std::string udp =
      nft_child_add_script(6, 7, {ts("fec0::1/128[udp/53]")}, {ts("fec1::/64")});
  CHECK(udp.find("ip6 saddr { fec1::-fec1::ffff:ffff:ffff:ffff } ip6 daddr { fec0::1 } meta "
                 "l4proto 17 th dport 53 counter accept") != std::string::npos);

  const std::string remove = nft_child_remove_script(5, 0x1c0e0005);
  CHECK(remove.find("delete element inet ikeme children_out { 470679557 }") != std::string::npos);
  CHECK(remove.find("delete chain inet ikeme child_5_in") != std::string::npos);

  // A rekeyed CHILD_SA (8) shares 5's reqid: it takes the map entries over in one transaction,
  // deleting before adding, and 5's removal leaves them alone.
  const std::string take_over =
      nft_child_add_script(8, 0x1c0e0005, {ts("10.1.0.0/24")}, {ts("10.2.0.0/24")}, true);
  const size_t del = take_over.find("delete element inet ikeme children_in { 470679557 }");
  const size_t re =
      take_over.find("add element inet ikeme children_in { 470679557 : jump child_8_in }");
  REQUIRE(del != std::string::npos);
  REQUIRE(re != std::string::npos);
  CHECK(del < re);
  CHECK(nft_child_add_script(8, 7, {}, {}).find("delete element") == std::string::npos);
  const std::string keep = nft_child_remove_script(5, 0x1c0e0005, true);
  CHECK(keep.find("children_in") == std::string::npos);
  CHECK(keep.find("delete chain inet ikeme child_5_in") != std::string::npos);
}

TEST_CASE("xfrm events: expire and acquire messages decode", "[esp][xfrm]") {
  std::vector<uint8_t> buf(NLMSG_SPACE(sizeof(xfrm_user_expire)));
  auto* hdr = reinterpret_cast<nlmsghdr*>(buf.data());
  hdr->nlmsg_len = NLMSG_LENGTH(sizeof(xfrm_user_expire));
  hdr->nlmsg_type = XFRM_MSG_EXPIRE;
  xfrm_user_expire e{};
  e.state.id.spi = htonl(0xc1000001);
  e.state.family = AF_INET;
  const uint8_t dst[4] = {192, 0, 2, 1};
  std::memcpy(&e.state.id.daddr, dst, 4);
  e.state.reqid = 0x1c0e0001;
  e.hard = 1;
  std::memcpy(NLMSG_DATA(hdr), &e, sizeof e);
  auto ev = decode_xfrm_event(hdr);
  REQUIRE(ev);
  CHECK(ev->kind == KernelEvent::Kind::HardExpire);
  CHECK(ev->spi == 0xc1000001);
  CHECK(ev->destination == ip("192.0.2.1"));
  CHECK(ev->reqid == 0x1c0e0001);

  hdr->nlmsg_len = NLMSG_LENGTH(sizeof(xfrm_user_expire) - 1);  // truncated
  CHECK_FALSE(decode_xfrm_event(hdr));

  // Acquire with a template attribute carrying the reqid.
  const size_t fixed = NLMSG_ALIGN(sizeof(xfrm_user_acquire));
  std::vector<uint8_t> a(NLMSG_HDRLEN + fixed + NLA_HDRLEN + sizeof(xfrm_user_tmpl) + 8);
  auto* ah = reinterpret_cast<nlmsghdr*>(a.data());
  ah->nlmsg_type = XFRM_MSG_ACQUIRE;
  xfrm_user_acquire acq{};
  acq.sel.family = AF_INET;
  const uint8_t s[4] = {10, 1, 0, 1}, d[4] = {10, 2, 0, 0};
  std::memcpy(&acq.sel.saddr, s, 4);
  std::memcpy(&acq.sel.daddr, d, 4);
  acq.sel.prefixlen_s = 32;
  acq.sel.prefixlen_d = 24;
  acq.sel.proto = 17;
  acq.sel.dport = htons(53);
  acq.sel.dport_mask = htons(0xffff);
  std::memcpy(NLMSG_DATA(ah), &acq, sizeof acq);
  auto* attr = reinterpret_cast<nlattr*>(a.data() + NLMSG_HDRLEN + fixed);
  attr->nla_type = XFRMA_TMPL;
  attr->nla_len = static_cast<uint16_t>(NLA_HDRLEN + sizeof(xfrm_user_tmpl));
  xfrm_user_tmpl t{};
  t.reqid = 0x1c0e0002;
  std::memcpy(reinterpret_cast<uint8_t*>(attr) + NLA_HDRLEN, &t, sizeof t);
  ah->nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + fixed + NLA_ALIGN(attr->nla_len));
  auto acq_ev = decode_xfrm_event(ah);
  REQUIRE(acq_ev);
  CHECK(acq_ev->kind == KernelEvent::Kind::Acquire);
  CHECK(acq_ev->reqid == 0x1c0e0002);
  REQUIRE(acq_ev->source);
  REQUIRE(acq_ev->target);
  CHECK(ike::to_string(*acq_ev->source) == "10.1.0.1/32[udp]");
  CHECK(ike::to_string(*acq_ev->target) == "10.2.0.0/24[udp/53]");
}

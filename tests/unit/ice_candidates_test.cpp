// Endpoint gathering (exclusions, unusable addresses, limits, SRFLX rules) and check list
// building (priorities, strongSwan's order, pruning and numbering as in the capture, limits).

#include <catch2/catch.hpp>

#include "ice/candidates.hpp"
#include "ice/check_list.hpp"
#include "ice/priority.hpp"

using namespace ikeme;
using ike::Endpoint;
using ike::EndpointType;

namespace {

Endpoint ep(const std::string& addr, uint16_t port) {
  return Endpoint{*IpAddress::parse(addr), port};
}

ice::HostAddress host(const std::string& addr, const std::string& dev = "eth0") {
  return {*IpAddress::parse(addr), dev};
}

}  // namespace

TEST_CASE("ice: address prefixes parse strictly and match by family and bits", "[ice]") {
  auto p = ice::AddressPrefix::parse("172.16.0.0/12");
  REQUIRE(p.ok());
  CHECK(p->contains(*IpAddress::parse("172.31.255.1")));
  CHECK_FALSE(p->contains(*IpAddress::parse("172.32.0.1")));
  CHECK_FALSE(p->contains(*IpAddress::parse("::ffff:172.16.0.1")));
  auto one = ice::AddressPrefix::parse("10.1.0.10");
  REQUIRE(one.ok());
  CHECK(one->length == 32);
  CHECK(one->contains(*IpAddress::parse("10.1.0.10")));
  CHECK_FALSE(one->contains(*IpAddress::parse("10.1.0.11")));
  auto v6 = ice::AddressPrefix::parse("2001:db8::/33");
  REQUIRE(v6.ok());
  CHECK(v6->contains(*IpAddress::parse("2001:db8:7fff::1")));
  CHECK_FALSE(v6->contains(*IpAddress::parse("2001:db8:8000::1")));
  CHECK(ice::AddressPrefix::parse("0.0.0.0/0")->contains(*IpAddress::parse("8.8.8.8")));
  for (const char* bad :
       {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "nonsense", "::/129", "1.2.3.4/8a"}) {
    INFO(bad);
    CHECK_FALSE(ice::AddressPrefix::parse(bad).ok());
  }
}

TEST_CASE("ice: gathering discloses usable, non-excluded hosts and a real SRFLX", "[ice]") {
  ice::GatherInput in;
  in.hosts = {host("10.1.0.10"),    host("127.0.0.1", "lo"), host("172.17.0.1", "docker0"),
              host("192.168.5.1"),  host("169.254.1.1"),     host("fe80::1"),
              host("2001:db8::10"), host("10.1.0.10"),       host("0.0.0.0")};
  in.port = 4500;
  in.server_reflexive = ep("192.0.2.1", 1137);
  in.server_reflexive_base = ep("10.1.0.10", 4500);
  ice::ExclusionList ex;
  ex.interfaces = {"docker0"};
  ex.prefixes = {*ice::AddressPrefix::parse("192.168.0.0/16")};
  auto g = ice::gather_candidates(in, ex, 8);
  REQUIRE(g.candidates.size() == 3);
  CHECK(g.candidates[0].address == ep("10.1.0.10", 4500));
  CHECK(g.candidates[0].priority == ike::kPriorityHost);
  CHECK(g.candidates[1].address == ep("2001:db8::10", 4500));
  CHECK(g.candidates[2].type == EndpointType::SERVER_REFLEXIVE);
  CHECK(g.candidates[2].address == ep("192.0.2.1", 1137));
  CHECK(g.candidates[2].base == ep("10.1.0.10", 4500));
  CHECK(g.candidates[2].priority == ike::kPriorityServerReflexive);
  auto skipped = [&](const std::string& what) {
    for (const auto& s : g.skipped)
      if (s.find(what) != std::string::npos) return true;
    return false;
  };
  CHECK(skipped("127.0.0.1[4500]: loopback"));
  CHECK(skipped("172.17.0.1[4500]: interface docker0 is excluded"));
  CHECK(skipped("192.168.5.1[4500]: in excluded 192.168.0.0/16"));
  CHECK(skipped("169.254.1.1[4500]: link-local"));
  CHECK(skipped("fe80::1[4500]: link-local"));
  CHECK(skipped("0.0.0.0[4500]: unspecified"));
  // What goes into ME_CONNECT.
  auto eps = ice::to_me_endpoints(g.candidates);
  REQUIRE(eps.size() == 3);
  CHECK(eps[2].to_string() == "SERVER_REFLEXIVE 192.0.2.1[1137] prio 0x0040ffff");
}

TEST_CASE("ice: SRFLX equal to a host address (no NAT) or with an unknown base adds nothing",
          "[ice]") {
  ice::GatherInput in;
  in.hosts = {host("198.51.100.7")};
  in.server_reflexive = ep("198.51.100.7", 4500);
  in.server_reflexive_base = ep("198.51.100.7", 4500);
  auto g = ice::gather_candidates(in, {}, 8);
  CHECK(g.candidates.size() == 1);
  REQUIRE(g.skipped.size() == 1);
  CHECK(g.skipped[0].find("no NAT") != std::string::npos);
  in.server_reflexive = ep("203.0.113.9", 1200);
  in.server_reflexive_base = ep("10.9.9.9", 4500);
  g = ice::gather_candidates(in, {}, 8);
  CHECK(g.candidates.size() == 1);
  CHECK(g.skipped[0].find("not a disclosed host address") != std::string::npos);
}

TEST_CASE("ice: the endpoint limit keeps the SRFLX candidate over the last hosts", "[ice]") {
  ice::GatherInput in;
  for (int i = 1; i <= 5; ++i) in.hosts.push_back(host("10.0.0." + std::to_string(i)));
  in.server_reflexive = ep("192.0.2.1", 1137);
  in.server_reflexive_base = ep("10.0.0.1", 4500);
  auto g = ice::gather_candidates(in, {}, 3);
  REQUIRE(g.candidates.size() == 3);
  CHECK(g.candidates[0].address.address == *IpAddress::parse("10.0.0.1"));
  CHECK(g.candidates[1].address.address == *IpAddress::parse("10.0.0.2"));
  CHECK(g.candidates[2].type == EndpointType::SERVER_REFLEXIVE);
  CHECK(g.skipped.size() == 3);
  CHECK(ice::gather_candidates(in, {}, 0).candidates.empty());
}

TEST_CASE("ice: remote endpoints that cannot be checked are refused with a reason", "[ice]") {
  auto me = [](EndpointType t, const char* addr, uint16_t port) {
    return ike::MeEndpoint{0x00ffffff, t, port,
                           addr ? IpAddress::parse(addr) : std::optional<IpAddress>{}};
  };
  CHECK(ice::remote_candidate(me(EndpointType::HOST, "192.0.2.2", 4500)).ok());
  CHECK(ice::remote_candidate(me(EndpointType::HOST, nullptr, 0)).error() == "no address");
  CHECK(
      ice::remote_candidate(me(EndpointType::RELAYED, "192.0.2.2", 4500)).error().find("RELAYED") ==
      0);
  CHECK(ice::remote_candidate(me(EndpointType::HOST, "192.0.2.2", 0)).error() == "port 0");
  CHECK(ice::remote_candidate(me(EndpointType::HOST, "127.0.0.1", 4500)).error() ==
        "address is loopback");
  CHECK(ice::remote_candidate(me(EndpointType::HOST, "127.0.0.1", 4500), true).ok());
  CHECK(
      ice::remote_candidate(me(EndpointType::HOST, "224.0.0.1", 4500)).error().find("multicast") !=
      std::string::npos);
}

TEST_CASE("ice: the check list of the capture: two pairs after pruning, numbered like charon's",
          "[ice]") {
  // alice (ME_CONNECT initiator): HOST 10.1.0.10[4500] and SRFLX 192.0.2.1[1137] on that base;
  // bob: HOST 10.2.0.10[4500] and SRFLX 192.0.2.2[1268].
  std::vector<ice::Candidate> alice{
      {EndpointType::HOST, ep("10.1.0.10", 4500), ep("10.1.0.10", 4500), ike::kPriorityHost},
      {EndpointType::SERVER_REFLEXIVE, ep("192.0.2.1", 1137), ep("10.1.0.10", 4500),
       ike::kPriorityServerReflexive}};
  std::vector<ice::Candidate> bob{
      {EndpointType::HOST, ep("10.2.0.10", 4500), ep("10.2.0.10", 4500), ike::kPriorityHost},
      {EndpointType::SERVER_REFLEXIVE, ep("192.0.2.2", 1268), ep("10.2.0.10", 4500),
       ike::kPriorityServerReflexive}};
  auto a = ice::build_check_list(alice, bob, ice::Role::Initiator, 64);
  REQUIRE(a.pairs.size() == 2);
  CHECK(a.pairs[0].id == 1);
  CHECK(a.pairs[0].local == ep("10.1.0.10", 4500));
  CHECK(a.pairs[0].remote == ep("10.2.0.10", 4500));
  CHECK(a.pairs[0].priority == ice::pair_priority(ike::kPriorityHost, ike::kPriorityHost));
  CHECK(a.pairs[1].id == 2);  // the check Message ID seen in the capture
  CHECK(a.pairs[1].remote == ep("192.0.2.2", 1268));
  CHECK(a.pairs[1].remote_type == EndpointType::SERVER_REFLEXIVE);
  // charon logged exactly these two prunings on alice (SRFLX local duplicates of HOST pairs).
  REQUIRE(a.notes.size() == 2);
  CHECK(a.notes[0].find("pruning pair 10.1.0.10[4500] - 10.2.0.10[4500]") == 0);
  CHECK(a.notes[1].find("pruning pair 10.1.0.10[4500] - 192.0.2.2[1268]") == 0);
  // bob, the responder, computes the same priorities with alice's endpoints as pI.
  auto b = ice::build_check_list(bob, alice, ice::Role::Responder, 64);
  REQUIRE(b.pairs.size() == 2);
  CHECK(b.pairs[0].priority == a.pairs[0].priority);
  CHECK(b.pairs[1].remote == ep("192.0.2.1", 1137));
  CHECK(b.pairs[1].priority ==
        ice::pair_priority(ike::kPriorityServerReflexive, ike::kPriorityHost));
  CHECK(a.pairs[1].priority ==
        ice::pair_priority(ike::kPriorityHost, ike::kPriorityServerReflexive));
}

TEST_CASE("ice: pairs only within a family, limited in number, insertion by priority", "[ice]") {
  std::vector<ice::Candidate> local, remote;
  for (int i = 1; i <= 10; ++i) {
    auto e = ep("10.0.0." + std::to_string(i), 4500);
    local.push_back({EndpointType::HOST, e, e, ike::kPriorityHost});
    auto r = ep("10.9.0." + std::to_string(i), 4500);
    remote.push_back({EndpointType::HOST, r, r, ike::kPriorityHost});
  }
  auto v6 = ep("2001:db8::1", 4500);
  remote.push_back({EndpointType::HOST, v6, v6, ike::kPriorityHost});
  auto all = ice::build_check_list(local, remote, ice::Role::Initiator, 1000);
  CHECK(all.pairs.size() == 100);  // the IPv6 remote pairs with nothing
  auto limited = ice::build_check_list(local, remote, ice::Role::Initiator, 16);
  CHECK(limited.pairs.size() == 16);
  CHECK(limited.pairs.back().id == 16);
  CHECK(limited.notes.size() == 84);
  ice::CandidatePair p;
  p.id = 99;
  p.priority = limited.pairs[3].priority;  // equal priority: goes after the equal ones
  ice::insert_by_priority(limited.pairs, p);
  CHECK(limited.pairs.back().id == 99);
  p.id = 100;
  p.priority = UINT64_MAX;
  ice::insert_by_priority(limited.pairs, p);
  CHECK(limited.pairs.front().id == 100);
}

// ME_ENDPOINT notify data: priority | family | type | port | address.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

MeEndpoint endpoint(uint32_t priority, EndpointType type, const char* address, uint16_t port) {
  MeEndpoint ep;
  ep.priority = priority;
  ep.type = type;
  ep.port = port;
  if (address) ep.address = IpAddress::parse(address);
  return ep;
}

void check_endpoint_error(const Result<MeEndpoint, ParseError>& r, ParseErrorKind kind) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().to_string());
  CHECK(r.error().kind == kind);
  CHECK(r.error().answer == NotifyType::INVALID_SYNTAX);
  CHECK(r.error().payload == PayloadType::NOTIFY);
  CHECK(r.error().detail.rfind("ME_ENDPOINT: ", 0) == 0);
}

TEST_CASE("IPv4 endpoint: 12 bytes, round trip", "[codec][me_endpoint]") {
  const MeEndpoint ep = endpoint(kPriorityHost, EndpointType::HOST, "10.1.0.10", 4500);
  const Bytes wire = encode_me_endpoint(ep);
  CHECK(wire == Bytes{0x00, 0xff, 0xff, 0xff, 1, 1, 0x11, 0x94, 10, 1, 0, 10});
  auto parsed = parse_me_endpoint(wire, FamilyNone::Forbidden);
  REQUIRE(parsed.ok());
  CHECK(*parsed == ep);
  CHECK(parsed->family() == EndpointFamily::IPV4);
  CHECK(parsed->port == 4500);
  CHECK(parsed->priority == 0x00ffffff);
  CHECK(parsed->address->to_string() == "10.1.0.10");
}

TEST_CASE("IPv6 endpoint: 24 bytes, round trip", "[codec][me_endpoint]") {
  const MeEndpoint ep =
      endpoint(kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, "2001:db8::1", 1137);
  const Bytes wire = encode_me_endpoint(ep);
  REQUIRE(wire.size() == 24);
  CHECK(Bytes(wire.begin(), wire.begin() + 8) == Bytes{0x00, 0x40, 0xff, 0xff, 2, 3, 0x04, 0x71});
  CHECK(Bytes(wire.begin() + 8, wire.end()) == ip("2001:db8::1"));
  auto parsed = parse_me_endpoint(wire, FamilyNone::Forbidden);
  REQUIRE(parsed.ok());
  CHECK(*parsed == ep);
  CHECK(parsed->family() == EndpointFamily::IPV6);
}

TEST_CASE("family 0 (no address)", "[codec][me_endpoint]") {
  const Bytes none = {0x00, 0x40, 0xff, 0xff, 0, 3, 0, 0};
  SECTION("allowed where the caller allows it") {
    auto parsed = parse_me_endpoint(none, FamilyNone::Allowed);
    REQUIRE(parsed.ok());
    CHECK(parsed->family() == EndpointFamily::NONE);
    CHECK_FALSE(parsed->address.has_value());
    CHECK(parsed->port == 0);
    CHECK(parsed->type == EndpointType::SERVER_REFLEXIVE);
    CHECK(parsed->priority == kPriorityServerReflexive);
    CHECK(encode_me_endpoint(*parsed) == none);
  }
  SECTION("refused where forbidden") {
    check_endpoint_error(parse_me_endpoint(none, FamilyNone::Forbidden), ParseErrorKind::BadValue);
  }
  SECTION("a port without an address is refused even where family 0 is allowed") {
    check_endpoint_error(
        parse_me_endpoint(Bytes{0x00, 0x40, 0xff, 0xff, 0, 3, 0x11, 0x94}, FamilyNone::Allowed),
        ParseErrorKind::BadValue);
  }
  SECTION("family 0 followed by an address") {
    check_endpoint_error(parse_me_endpoint(cat({none, ip("10.0.0.1")}), FamilyNone::Allowed),
                         ParseErrorKind::LengthMismatch);
  }
  SECTION("encoding an address-less endpoint writes port 0") {
    MeEndpoint ep = endpoint(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, nullptr, 4500);
    CHECK(encode_me_endpoint(ep) == Bytes{0x00, 0x80, 0xff, 0xff, 0, 2, 0, 0});
  }
}

TEST_CASE("endpoint type must be 1..4", "[codec][me_endpoint]") {
  for (uint8_t type : {uint8_t{0}, uint8_t{5}, uint8_t{255}}) {
    INFO("type " << int(type));
    const Bytes wire = cat({{0, 0, 0, 1, 1, type, 0x11, 0x94}, ip("10.0.0.1")});
    check_endpoint_error(parse_me_endpoint(wire, FamilyNone::Allowed), ParseErrorKind::BadValue);
  }
  for (uint8_t type : {uint8_t{1}, uint8_t{2}, uint8_t{3}, uint8_t{4}}) {
    const Bytes wire = cat({{0, 0, 0, 1, 1, type, 0x11, 0x94}, ip("10.0.0.1")});
    auto parsed = parse_me_endpoint(wire, FamilyNone::Forbidden);
    REQUIRE(parsed.ok());
    CHECK(static_cast<uint8_t>(parsed->type) == type);
  }
}

TEST_CASE("endpoint family and length must agree", "[codec][me_endpoint]") {
  SECTION("family 3") {
    check_endpoint_error(parse_me_endpoint(cat({{0, 0, 0, 1, 3, 1, 0x11, 0x94}, ip("10.0.0.1")}),
                                           FamilyNone::Allowed),
                         ParseErrorKind::BadValue);
  }
  SECTION("family 1 with 24 bytes") {
    check_endpoint_error(parse_me_endpoint(cat({{0, 0, 0, 1, 1, 1, 0x11, 0x94}, ip("2001:db8::1")}),
                                           FamilyNone::Allowed),
                         ParseErrorKind::LengthMismatch);
  }
  SECTION("family 2 with 12 bytes") {
    check_endpoint_error(parse_me_endpoint(cat({{0, 0, 0, 1, 2, 1, 0x11, 0x94}, ip("10.0.0.1")}),
                                           FamilyNone::Allowed),
                         ParseErrorKind::LengthMismatch);
  }
  SECTION("family 1 with 11 bytes") {
    check_endpoint_error(
        parse_me_endpoint(Bytes{0, 0, 0, 1, 1, 1, 0x11, 0x94, 10, 0, 0}, FamilyNone::Allowed),
        ParseErrorKind::LengthMismatch);
  }
  SECTION("fewer than 8 bytes") {
    for (size_t n : {size_t{0}, size_t{4}, size_t{7}}) {
      INFO(n << " bytes");
      check_endpoint_error(parse_me_endpoint(filled(n, 1), FamilyNone::Allowed),
                           ParseErrorKind::Truncated);
    }
  }
}

TEST_CASE("MeEndpoint::to_string", "[codec][me_endpoint]") {
  CHECK(endpoint(kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, "192.0.2.1", 1137)
            .to_string() == "SERVER_REFLEXIVE 192.0.2.1[1137] prio 0x0040ffff");
  CHECK(endpoint(kPriorityHost, EndpointType::HOST, "2001:db8::1", 500).to_string() ==
        "HOST 2001:db8::1[500] prio 0x00ffffff");
  CHECK(endpoint(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, nullptr, 0).to_string() ==
        "PEER_REFLEXIVE (no address) prio 0x0080ffff");
  CHECK(endpoint(kPriorityRelayed, EndpointType::RELAYED, "10.0.0.1", 4500).to_string() ==
        "RELAYED 10.0.0.1[4500] prio 0x0000ffff");
  CHECK(name(static_cast<EndpointType>(9)) == "TYPE_9");
}

TEST_CASE("strongSwan's endpoint priorities", "[codec][me_endpoint]") {
  auto priority = [](uint32_t type_preference) { return (type_preference << 16) + 65535; };
  CHECK(kPriorityHost == 0x00FFFFFF);
  CHECK(kPriorityHost == priority(255));
  CHECK(kPriorityPeerReflexive == 0x0080FFFF);
  CHECK(kPriorityPeerReflexive == priority(128));
  CHECK(kPriorityServerReflexive == 0x0040FFFF);
  CHECK(kPriorityServerReflexive == priority(64));
  CHECK(kPriorityRelayed == 0x0000FFFF);
  CHECK(kPriorityRelayed == priority(0));
}

}  // namespace
}  // namespace ikeme::ike::test

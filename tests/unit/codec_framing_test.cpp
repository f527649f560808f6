// Datagram framing on the IKE ports (RFC 3948): keepalive, non-ESP marker, ESP.

#include "ike/codec/framing.hpp"

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

Bytes ike_bytes() {
  Message m;
  m.header.exchange = ExchangeType::INFORMATIONAL;
  m.payloads.push_back(make_notify(NotifyType::ME_CONNECTID, {1, 2, 3, 4}));
  return encode_ok(m);
}

TEST_CASE("a single 0xFF byte is a NAT keepalive", "[codec][framing]") {
  const Bytes d = {0xff};
  const Framed f = classify_nat_t(d);
  CHECK(f.kind == DatagramKind::Keepalive);
  CHECK(f.payload.empty());
}

TEST_CASE("the non-ESP marker introduces an IKE message", "[codec][framing]") {
  const Bytes ike = ike_bytes();
  const Bytes d = add_non_esp_marker(ike);
  REQUIRE(d.size() == ike.size() + kNonEspMarkerSize);
  CHECK(Bytes(d.begin(), d.begin() + 4) == Bytes{0, 0, 0, 0});
  CHECK(Bytes(d.begin() + 4, d.end()) == ike);

  const Framed f = classify_nat_t(d);
  REQUIRE(f.kind == DatagramKind::Ike);
  CHECK(f.payload.data() == d.data() + 4);
  CHECK(Bytes(f.payload.begin(), f.payload.end()) == ike);
  CHECK(parse_ok(f.payload).payloads.size() == 1);

  // The marker alone gives an empty IKE message, which the parser then drops.
  const Bytes marker_only = {0, 0, 0, 0};
  const Framed empty = classify_nat_t(marker_only);
  CHECK(empty.kind == DatagramKind::Ike);
  CHECK(empty.payload.empty());
  CHECK(parse_fails(empty.payload).answer == kNoNotify);
}

TEST_CASE("a non-zero first word is an ESP SPI", "[codec][framing]") {
  const Bytes d = cat({u32be(0xc2960779), u32be(7), counting(24)});
  const Framed f = classify_nat_t(d);
  REQUIRE(f.kind == DatagramKind::Esp);
  CHECK(f.esp_spi == 0xc2960779);
  CHECK(f.esp_seq == 7);
  CHECK(f.payload.data() == d.data());
  CHECK(f.payload.size() == d.size());

  const Bytes lowest = cat({u32be(256), u32be(1)});
  const Framed low = classify_nat_t(lowest);
  CHECK(low.kind == DatagramKind::Esp);
  CHECK(low.esp_spi == 256);
}

TEST_CASE("invalid datagrams on a NAT-T port", "[codec][framing]") {
  auto invalid = [](const Bytes& d) {
    const Framed f = classify_nat_t(d);
    CHECK(f.kind == DatagramKind::Invalid);
    CHECK(std::string(f.reason) != "");
    return std::string(f.reason);
  };
  SECTION("shorter than the marker") {
    invalid({});
    invalid({0x00});
    invalid({0xff, 0xff});
    invalid({0, 0, 0});
  }
  SECTION("reserved SPIs 1..255") {
    CHECK(invalid(cat({u32be(1), u32be(1), counting(16)})) == "reserved ESP SPI");
    CHECK(invalid(cat({u32be(255), u32be(1), counting(16)})) == "reserved ESP SPI");
  }
  SECTION("ESP without a sequence number") {
    invalid(u32be(0x1000));
    invalid({0x00, 0x00, 0x10, 0x00, 0, 0, 0});
  }
}

TEST_CASE("port 500 carries IKE without a marker", "[codec][framing]") {
  const Bytes ike = ike_bytes();
  const Framed f = classify_ike_port(ike);
  CHECK(f.kind == DatagramKind::Ike);
  CHECK(f.payload.data() == ike.data());
  CHECK(f.payload.size() == ike.size());
}

}  // namespace
}  // namespace ikeme::ike::test

// Notify payload rules: per-type data lengths, protocol and SPI constraints, the IKE-ME notifies.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

// A Notify body: protocol | SPI size | type | SPI | data.
Bytes notify_body(NotifyType type, const Bytes& data, uint8_t protocol = 0, const Bytes& spi = {}) {
  return cat({{protocol, static_cast<uint8_t>(spi.size())},
              u16be(static_cast<uint16_t>(type)),
              spi,
              data});
}

ParseError notify_error(NotifyType type, const Bytes& data, uint8_t protocol = 0,
                        const Bytes& spi = {}) {
  return body_error(PayloadType::NOTIFY, notify_body(type, data, protocol, spi));
}

NotifyPayload notify_ok(NotifyType type, const Bytes& data, uint8_t protocol = 0,
                        const Bytes& spi = {}) {
  const Message m =
      parse_ok(single_payload_message(PayloadType::NOTIFY, notify_body(type, data, protocol, spi)));
  REQUIRE(m.payloads.size() == 1);
  const auto* n = m.payloads[0].as<NotifyPayload>();
  REQUIRE(n != nullptr);
  return *n;
}

void check_notify_error(const ParseError& e, ParseErrorKind kind) {
  INFO(e.to_string());
  CHECK(e.kind == kind);
  CHECK(e.answer == NotifyType::INVALID_SYNTAX);
  CHECK(e.payload == PayloadType::NOTIFY);
  CHECK(e.offset == kFirstBody);
}

struct LengthCase {
  NotifyType type;
  size_t length;
};

TEST_CASE("notify data of the wrong length is refused", "[codec][notify]") {
  for (LengthCase c : {LengthCase{NotifyType::NAT_DETECTION_SOURCE_IP, 19},
                       LengthCase{NotifyType::NAT_DETECTION_SOURCE_IP, 21},
                       LengthCase{NotifyType::NAT_DETECTION_DESTINATION_IP, 0},
                       LengthCase{NotifyType::INVALID_KE_PAYLOAD, 3},
                       LengthCase{NotifyType::INVALID_KE_PAYLOAD, 1},
                       LengthCase{NotifyType::ME_CONNECTAUTH, 19},
                       LengthCase{NotifyType::ME_CONNECTAUTH, 21},
                       LengthCase{NotifyType::ME_CONNECTID, 3},
                       LengthCase{NotifyType::ME_CONNECTID, 17},
                       LengthCase{NotifyType::ME_CONNECTKEY, 15},
                       LengthCase{NotifyType::ME_CONNECTKEY, 33},
                       LengthCase{NotifyType::ME_MEDIATION, 1},
                       LengthCase{NotifyType::ME_CALLBACK, 4},
                       LengthCase{NotifyType::ME_RESPONSE, 1},
                       LengthCase{NotifyType::ME_ENDPOINT, 7},
                       LengthCase{NotifyType::ME_ENDPOINT, 25},
                       LengthCase{NotifyType::COOKIE, 65},
                       LengthCase{NotifyType::COOKIE, 0},
                       LengthCase{NotifyType::INVALID_SYNTAX, 1},
                       LengthCase{NotifyType::INVALID_MAJOR_VERSION, 1},
                       LengthCase{NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, 0},
                       LengthCase{NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, 2},
                       LengthCase{NotifyType::INVALID_MESSAGE_ID, 3},
                       LengthCase{NotifyType::IPCOMP_SUPPORTED, 2},
                       LengthCase{NotifyType::ADDITIONAL_IP4_ADDRESS, 16},
                       LengthCase{NotifyType::ADDITIONAL_IP6_ADDRESS, 4},
                       LengthCase{NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, 1},
                       LengthCase{NotifyType::SIGNATURE_HASH_ALGORITHMS, 0},
                       LengthCase{NotifyType::SIGNATURE_HASH_ALGORITHMS, 3}}) {
    INFO(name(c.type) << " with " << c.length << " bytes");
    check_notify_error(notify_error(c.type, counting(c.length)), ParseErrorKind::LengthMismatch);
  }
}

TEST_CASE("notify data at the allowed boundaries is accepted", "[codec][notify]") {
  for (LengthCase c :
       {LengthCase{NotifyType::NAT_DETECTION_SOURCE_IP, 20},
        LengthCase{NotifyType::NAT_DETECTION_DESTINATION_IP, 20},
        LengthCase{NotifyType::INVALID_KE_PAYLOAD, 2}, LengthCase{NotifyType::ME_CONNECTAUTH, 20},
        LengthCase{NotifyType::ME_CONNECTID, 4}, LengthCase{NotifyType::ME_CONNECTID, 16},
        LengthCase{NotifyType::ME_CONNECTKEY, 16}, LengthCase{NotifyType::ME_CONNECTKEY, 32},
        LengthCase{NotifyType::ME_MEDIATION, 0}, LengthCase{NotifyType::ME_CALLBACK, 0},
        LengthCase{NotifyType::ME_RESPONSE, 0}, LengthCase{NotifyType::COOKIE, 1},
        LengthCase{NotifyType::COOKIE, 64}, LengthCase{NotifyType::INVALID_SYNTAX, 0},
        LengthCase{NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, 1},
        LengthCase{NotifyType::SIGNATURE_HASH_ALGORITHMS, 8},
        LengthCase{NotifyType::ME_CONNECT_FAILED, 0}, LengthCase{NotifyType::REDIRECT_SUPPORTED, 0},
        LengthCase{static_cast<NotifyType>(50000), 100}}) {
    INFO(name(c.type) << " with " << c.length << " bytes");
    const NotifyPayload n = notify_ok(c.type, counting(c.length));
    CHECK(n.type == c.type);
    CHECK(n.data == counting(c.length));
    CHECK(n.protocol == ProtocolId::NONE);
    CHECK(n.spi.empty());
  }
}

TEST_CASE("a length error names the notify and the expected size", "[codec][notify]") {
  const ParseError e = notify_error(NotifyType::NAT_DETECTION_SOURCE_IP, filled(19));
  CHECK(e.detail == "NAT_DETECTION_SOURCE_IP: data of 19 bytes, expected 20");
  const ParseError range = notify_error(NotifyType::ME_CONNECTKEY, filled(15));
  CHECK(range.detail == "ME_CONNECTKEY: data of 15 bytes, expected 16..32");
}

TEST_CASE("ME_ENDPOINT notify data is checked structurally", "[codec][notify][me]") {
  SECTION("9 bytes: IPv4 family with one address byte") {
    check_notify_error(
        notify_error(NotifyType::ME_ENDPOINT, {0, 0x40, 0xff, 0xff, 1, 3, 0x11, 0x94, 10}),
        ParseErrorKind::LengthMismatch);
  }
  SECTION("9 bytes: family 0 with a stray byte") {
    check_notify_error(notify_error(NotifyType::ME_ENDPOINT, {0, 0x40, 0xff, 0xff, 0, 3, 0, 0, 0}),
                       ParseErrorKind::LengthMismatch);
  }
  SECTION("IPv6 family with 12 bytes") {
    check_notify_error(notify_error(NotifyType::ME_ENDPOINT,
                                    cat({{0, 0xff, 0xff, 0xff, 2, 1, 0x11, 0x94}, ip("10.0.0.1")})),
                       ParseErrorKind::LengthMismatch);
  }
  SECTION("type 0") {
    check_notify_error(notify_error(NotifyType::ME_ENDPOINT,
                                    cat({{0, 0xff, 0xff, 0xff, 1, 0, 0x11, 0x94}, ip("10.0.0.1")})),
                       ParseErrorKind::BadValue);
  }
  SECTION("family 3") {
    check_notify_error(notify_error(NotifyType::ME_ENDPOINT,
                                    cat({{0, 0xff, 0xff, 0xff, 3, 1, 0x11, 0x94}, ip("10.0.0.1")})),
                       ParseErrorKind::BadValue);
  }
  SECTION("family 0 is structurally fine; me_rules decides where") {
    const NotifyPayload n = notify_ok(NotifyType::ME_ENDPOINT, {0, 0x80, 0xff, 0xff, 0, 2, 0, 0});
    CHECK(n.data.size() == 8);
  }
  SECTION("IPv4 and IPv6 endpoints") {
    CHECK(notify_ok(NotifyType::ME_ENDPOINT,
                    cat({{0, 0xff, 0xff, 0xff, 1, 1, 0x11, 0x94}, ip("10.1.0.10")}))
              .data.size() == 12);
    CHECK(notify_ok(NotifyType::ME_ENDPOINT,
                    cat({{0, 0xff, 0xff, 0xff, 2, 1, 0x11, 0x94}, ip("2001:db8::1")}))
              .data.size() == 24);
  }
}

TEST_CASE("IKE-ME notifies carry protocol 0 and no SPI", "[codec][notify][me]") {
  for (NotifyType t : {NotifyType::ME_MEDIATION, NotifyType::ME_CALLBACK, NotifyType::ME_RESPONSE,
                       NotifyType::ME_CONNECT_FAILED}) {
    INFO(name(t));
    check_notify_error(notify_error(t, {}, 1), ParseErrorKind::BadValue);
    check_notify_error(notify_error(t, {}, 3, {1, 2, 3, 4}), ParseErrorKind::BadValue);
    check_notify_error(notify_error(t, {}, 0, {1, 2, 3, 4}), ParseErrorKind::BadValue);
  }
  check_notify_error(notify_error(NotifyType::ME_CONNECTID, filled(4), 1),
                     ParseErrorKind::BadValue);
  check_notify_error(notify_error(NotifyType::ME_CONNECTKEY, filled(16), 0, filled(8)),
                     ParseErrorKind::BadValue);
  check_notify_error(notify_error(NotifyType::ME_CONNECTAUTH, filled(20), 2, filled(4)),
                     ParseErrorKind::BadValue);
  check_notify_error(notify_error(NotifyType::ME_ENDPOINT, {0, 0x40, 0xff, 0xff, 0, 3, 0, 0}, 1),
                     ParseErrorKind::BadValue);
}

TEST_CASE("notify protocol and SPI rules", "[codec][notify]") {
  SECTION("protocol ID above 3") {
    check_notify_error(notify_error(NotifyType::INITIAL_CONTACT, {}, 4), ParseErrorKind::BadValue);
    check_notify_error(notify_error(static_cast<NotifyType>(50000), {}, 200),
                       ParseErrorKind::BadValue);
  }
  SECTION("ESP notify with an 8-byte SPI") {
    check_notify_error(notify_error(NotifyType::INVALID_SPI, {}, 3, filled(8)),
                       ParseErrorKind::BadValue);
  }
  SECTION("REKEY_SA without an SPI") {
    check_notify_error(notify_error(NotifyType::REKEY_SA, {}, 3), ParseErrorKind::BadValue);
  }
  SECTION("SPI size overrunning the payload") {
    check_notify_error(body_error(PayloadType::NOTIFY, cat({{3, 4}, u16be(16393), {1, 2}})),
                       ParseErrorKind::Truncated);
  }
  SECTION("header cut short") {
    check_notify_error(body_error(PayloadType::NOTIFY, {0, 0, 0x40}), ParseErrorKind::Truncated);
  }
  SECTION("ESP notify with an SPI and data") {
    const NotifyPayload n = notify_ok(NotifyType::REKEY_SA, {}, 3, {9, 8, 7, 6});
    CHECK(n.protocol == ProtocolId::ESP);
    CHECK(n.spi == Bytes{9, 8, 7, 6});
    const NotifyPayload u = notify_ok(static_cast<NotifyType>(50000), {1, 2, 3}, 2, {4, 5, 6, 7});
    CHECK(u.protocol == ProtocolId::AH);
    CHECK(u.spi == Bytes{4, 5, 6, 7});
    CHECK(u.data == Bytes{1, 2, 3});
  }
  SECTION("an IKE SA notify may carry an 8-byte IKE SPI") {
    const NotifyPayload n = notify_ok(static_cast<NotifyType>(50000), {}, 1, counting(8));
    CHECK(n.spi == counting(8));
  }
}

TEST_CASE("a bad notify further down the chain is located at its body", "[codec][notify]") {
  const Bytes chain =
      cat({raw_payload(PayloadType::NOTIFY, counting(16)),
           raw_payload(PayloadType::NOTIFY, notify_body(NotifyType::ME_MEDIATION, {})),
           raw_payload(PayloadType::NONE, notify_body(NotifyType::ME_CONNECTAUTH, filled(19)))});
  const ParseError e = parse_fails(raw_message(PayloadType::NONCE, chain));
  CHECK(e.kind == ParseErrorKind::LengthMismatch);
  CHECK(e.payload == PayloadType::NOTIFY);
  CHECK(e.offset == kFirstBody + 20 + 8);
}

}  // namespace
}  // namespace ikeme::ike::test

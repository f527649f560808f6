// Malformed payloads modelled on past IKEv2 parser bugs (short KE data, truncated or inverted
// traffic selectors, zero payload lengths, overrunning substructures, ...): each must give a typed
// ParseError with the right reaction and location, never a crash or an endless loop.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

void check_error(const ParseError& e, ParseErrorKind kind, PayloadType payload, size_t offset) {
  INFO(e.to_string());
  CHECK(e.kind == kind);
  CHECK(e.answer == NotifyType::INVALID_SYNTAX);
  CHECK(e.payload == payload);
  CHECK(e.offset == offset);
  CHECK_FALSE(e.detail.empty());
}

// --- KE ---

Bytes ke_body(uint16_t group, size_t data_len) {
  return cat({u16be(group), {0, 0}, filled(data_len)});
}

TEST_CASE("KE data length must match the group", "[codec][malformed][ke]") {
  struct Case {
    uint16_t group;
    size_t bad;
    size_t good;
  };
  for (Case c : {Case{31, 31, 32}, Case{31, 33, 32}, Case{19, 63, 64}, Case{14, 255, 256},
                 Case{14, 257, 256}, Case{32, 55, 56}, Case{21, 131, 132}}) {
    INFO("group " << c.group << " with " << c.bad << " bytes");
    check_error(body_error(PayloadType::KE, ke_body(c.group, c.bad)),
                ParseErrorKind::LengthMismatch, PayloadType::KE, kFirstBody);
    const Message ok = parse_ok(single_payload_message(PayloadType::KE, ke_body(c.group, c.good)));
    CHECK(ok.payloads.at(0).as<KePayload>()->data.size() == c.good);
  }
}

TEST_CASE("KE without key data or header", "[codec][malformed][ke]") {
  check_error(body_error(PayloadType::KE, ke_body(31, 0)), ParseErrorKind::LengthMismatch,
              PayloadType::KE, kFirstBody);
  check_error(body_error(PayloadType::KE, {0, 31, 0}), ParseErrorKind::Truncated, PayloadType::KE,
              kFirstBody);
  check_error(body_error(PayloadType::KE, {}), ParseErrorKind::Truncated, PayloadType::KE,
              kFirstBody);
}

TEST_CASE("KE of a group unknown to the codec accepts any non-empty length",
          "[codec][malformed][ke]") {
  const Message m = parse_ok(single_payload_message(PayloadType::KE, ke_body(1234, 7)));
  const auto* ke = m.payloads.at(0).as<KePayload>();
  REQUIRE(ke != nullptr);
  CHECK(static_cast<uint16_t>(ke->group) == 1234);
  CHECK(ke->data.size() == 7);
}

// --- traffic selectors ---

Bytes v4_selector(const char* start, const char* end, uint16_t sport = 0, uint16_t eport = 65535,
                  uint16_t length = 16) {
  return cat({{7, 0}, u16be(length), u16be(sport), u16be(eport), ip(start), ip(end)});
}
Bytes v6_selector(const char* start, const char* end, uint16_t sport = 0, uint16_t eport = 65535,
                  uint16_t length = 40) {
  return cat({{8, 0}, u16be(length), u16be(sport), u16be(eport), ip(start), ip(end)});
}
Bytes ts_body(uint8_t count, const Bytes& selectors) {
  return cat({{count, 0, 0, 0}, selectors});
}

constexpr size_t kFirstSelector = kFirstBody + 4;

TEST_CASE("traffic selectors cut short", "[codec][malformed][ts]") {
  const Bytes sel = v4_selector("10.0.0.1", "10.0.0.2");
  SECTION("addresses cut short") {
    check_error(body_error(PayloadType::TSi, ts_body(1, Bytes(sel.begin(), sel.begin() + 14))),
                ParseErrorKind::Truncated, PayloadType::TSi, kFirstSelector);
  }
  SECTION("selector header cut short") {
    check_error(body_error(PayloadType::TSr, ts_body(1, Bytes(sel.begin(), sel.begin() + 5))),
                ParseErrorKind::Truncated, PayloadType::TSr, kFirstSelector);
  }
  SECTION("count says 2, one present") {
    check_error(body_error(PayloadType::TSi, ts_body(2, sel)), ParseErrorKind::Truncated,
                PayloadType::TSi, kFirstSelector + 16);
  }
  SECTION("count says 2, IPv6 selector then nothing") {
    check_error(body_error(PayloadType::TSi, ts_body(2, v6_selector("2001:db8::1", "2001:db8::2"))),
                ParseErrorKind::Truncated, PayloadType::TSi, kFirstSelector + 40);
  }
  SECTION("payload header only") {
    check_error(body_error(PayloadType::TSi, {1, 0}), ParseErrorKind::Truncated, PayloadType::TSi,
                kFirstBody);
  }
}

TEST_CASE("inverted traffic selector ranges", "[codec][malformed][ts]") {
  SECTION("start port above end port") {
    check_error(
        body_error(PayloadType::TSi, ts_body(1, v4_selector("10.0.0.1", "10.0.0.1", 200, 100))),
        ParseErrorKind::BadValue, PayloadType::TSi, kFirstSelector);
  }
  SECTION("IPv4 start address above end address") {
    check_error(body_error(PayloadType::TSr, ts_body(1, v4_selector("10.0.1.0", "10.0.0.255"))),
                ParseErrorKind::BadValue, PayloadType::TSr, kFirstSelector);
  }
  SECTION("IPv6 start address above end address (last byte)") {
    check_error(body_error(PayloadType::TSi, ts_body(1, v6_selector("2001:db8::2", "2001:db8::1"))),
                ParseErrorKind::BadValue, PayloadType::TSi, kFirstSelector);
  }
  SECTION("IPv6 start address above end address (first byte)") {
    check_error(body_error(PayloadType::TSi, ts_body(1, v6_selector("2002::", "2001:ffff::"))),
                ParseErrorKind::BadValue, PayloadType::TSi, kFirstSelector);
  }
  SECTION("the second selector is the inverted one") {
    check_error(body_error(PayloadType::TSi, ts_body(2, cat({v4_selector("10.0.0.1", "10.0.0.2"),
                                                             v6_selector("::2", "::1")}))),
                ParseErrorKind::BadValue, PayloadType::TSi, kFirstSelector + 16);
  }
}

TEST_CASE("degenerate but valid selector ranges are accepted", "[codec][malformed][ts]") {
  const Bytes body =
      ts_body(3, cat({v4_selector("10.0.0.1", "10.0.0.1", 500, 500),
                      v4_selector("0.0.0.0", "255.255.255.255", 65535, 0),
                      v6_selector("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}));
  const Message m = parse_ok(single_payload_message(PayloadType::TSi, body));
  const auto* ts = m.payloads.at(0).as<TsPayload>();
  REQUIRE(ts != nullptr);
  REQUIRE(ts->selectors.size() == 3);
  CHECK(ts->selectors[1].opaque_ports());
  CHECK(ts->selectors[1].start_port == 65535);
  CHECK(ts->selectors[1].end_port == 0);
}

TEST_CASE("traffic selector length field and count checks", "[codec][malformed][ts]") {
  SECTION("IPv4 selector with IPv6 length") {
    check_error(
        body_error(
            PayloadType::TSi,
            ts_body(1, cat({v4_selector("10.0.0.1", "10.0.0.2", 0, 65535, 40), filled(24, 0)}))),
        ParseErrorKind::LengthMismatch, PayloadType::TSi, kFirstSelector);
  }
  SECTION("IPv4 selector length 15") {
    check_error(
        body_error(PayloadType::TSi, ts_body(1, v4_selector("10.0.0.1", "10.0.0.2", 0, 65535, 15))),
        ParseErrorKind::LengthMismatch, PayloadType::TSi, kFirstSelector);
  }
  SECTION("IPv6 selector with IPv4 length") {
    check_error(body_error(PayloadType::TSr, ts_body(1, v6_selector("::1", "::2", 0, 65535, 16))),
                ParseErrorKind::LengthMismatch, PayloadType::TSr, kFirstSelector);
  }
  SECTION("selector length 0") {
    check_error(
        body_error(PayloadType::TSr, ts_body(1, v4_selector("10.0.0.1", "10.0.0.2", 0, 1, 0))),
        ParseErrorKind::LengthMismatch, PayloadType::TSr, kFirstSelector);
  }
  SECTION("zero selectors") {
    check_error(body_error(PayloadType::TSi, ts_body(0, {})), ParseErrorKind::BadValue,
                PayloadType::TSi, kFirstBody);
  }
  SECTION("unknown selector type") {
    Bytes sel = v4_selector("10.0.0.1", "10.0.0.2");
    sel[0] = 9;
    check_error(body_error(PayloadType::TSi, ts_body(1, sel)), ParseErrorKind::BadValue,
                PayloadType::TSi, kFirstSelector);
  }
  SECTION("bytes after the declared selectors") {
    check_error(body_error(PayloadType::TSi,
                           ts_body(1, cat({v4_selector("10.0.0.1", "10.0.0.2"), {0, 0}}))),
                ParseErrorKind::TrailingData, PayloadType::TSi, kFirstBody);
  }
}

// --- generic payload header ---

TEST_CASE("payload length overrunning the message", "[codec][malformed][chain]") {
  const Bytes chain = raw_payload_with_length(0, 0, 100, counting(20));
  check_error(parse_fails(raw_message(PayloadType::NONCE, chain)), ParseErrorKind::Truncated,
              PayloadType::NONCE, kFirstPayload);

  // The second payload overruns: located at its own header.
  const Bytes two = cat({raw_payload(PayloadType::VENDOR_ID, counting(16)),
                         raw_payload_with_length(0, 0, 30, counting(10))});
  check_error(parse_fails(raw_message(PayloadType::NONCE, two)), ParseErrorKind::Truncated,
              PayloadType::VENDOR_ID, kFirstPayload + 20);
}

TEST_CASE("payload length below the generic header size does not loop",
          "[codec][malformed][chain]") {
  for (uint16_t length : {0, 1, 2, 3}) {
    INFO("payload length " << length);
    // A naive parser would advance by `length` and re-read the same header forever.
    const Bytes chain =
        raw_payload_with_length(static_cast<uint8_t>(PayloadType::NOTIFY), 0, length, {});
    check_error(parse_fails(raw_message(PayloadType::NOTIFY, chain)),
                ParseErrorKind::LengthMismatch, PayloadType::NOTIFY, kFirstPayload);
    const Bytes second = cat({raw_payload(PayloadType::VENDOR_ID, counting(16)),
                              raw_payload_with_length(41, 0, length, {0, 0, 0, 0})});
    check_error(parse_fails(raw_message(PayloadType::NONCE, second)),
                ParseErrorKind::LengthMismatch, PayloadType::VENDOR_ID, kFirstPayload + 20);
  }
}

TEST_CASE("payload header cut short", "[codec][malformed][chain]") {
  // A Nonce announces a Vendor ID, but only 3 bytes follow.
  const Bytes chain = cat({raw_payload(PayloadType::VENDOR_ID, counting(16)), {0, 0, 0}});
  check_error(parse_fails(raw_message(PayloadType::NONCE, chain)), ParseErrorKind::Truncated,
              PayloadType::VENDOR_ID, kFirstPayload + 20);
  // A Nonce announces a Vendor ID, and the message ends right there.
  check_error(parse_fails(raw_message(PayloadType::NONCE,
                                      raw_payload(PayloadType::VENDOR_ID, counting(16)))),
              ParseErrorKind::Truncated, PayloadType::VENDOR_ID, kFirstPayload + 20);
}

TEST_CASE("zero-length bodies of payloads that need content", "[codec][malformed][chain]") {
  struct Case {
    PayloadType type;
    ParseErrorKind kind;
  };
  for (Case c : {Case{PayloadType::IDi, ParseErrorKind::Truncated},
                 Case{PayloadType::IDr, ParseErrorKind::Truncated},
                 Case{PayloadType::IDp, ParseErrorKind::Truncated},
                 Case{PayloadType::AUTH, ParseErrorKind::Truncated},
                 Case{PayloadType::NONCE, ParseErrorKind::LengthMismatch},
                 Case{PayloadType::VENDOR_ID, ParseErrorKind::LengthMismatch},
                 Case{PayloadType::KE, ParseErrorKind::Truncated},
                 Case{PayloadType::SK, ParseErrorKind::LengthMismatch},
                 Case{PayloadType::SKF, ParseErrorKind::Truncated},
                 Case{PayloadType::SA, ParseErrorKind::Truncated},
                 Case{PayloadType::CERT, ParseErrorKind::Truncated},
                 Case{PayloadType::CERTREQ, ParseErrorKind::Truncated},
                 Case{PayloadType::NOTIFY, ParseErrorKind::Truncated},
                 Case{PayloadType::DELETE, ParseErrorKind::Truncated},
                 Case{PayloadType::TSi, ParseErrorKind::Truncated},
                 Case{PayloadType::CP, ParseErrorKind::Truncated},
                 Case{PayloadType::EAP, ParseErrorKind::Truncated}}) {
    INFO(name(c.type));
    check_error(body_error(c.type, {}), c.kind, c.type, kFirstBody);
  }
}

TEST_CASE("payloads with a header but no data", "[codec][malformed][chain]") {
  check_error(body_error(PayloadType::IDi, {2, 0, 0, 0}), ParseErrorKind::LengthMismatch,
              PayloadType::IDi, kFirstBody);
  check_error(body_error(PayloadType::IDp, {3, 0, 0, 0}), ParseErrorKind::LengthMismatch,
              PayloadType::IDp, kFirstBody);
  check_error(body_error(PayloadType::AUTH, {2, 0, 0, 0}), ParseErrorKind::LengthMismatch,
              PayloadType::AUTH, kFirstBody);
  check_error(body_error(PayloadType::CERT, {4}), ParseErrorKind::LengthMismatch, PayloadType::CERT,
              kFirstBody);
  check_error(body_error(PayloadType::SKF, {0, 1, 0, 1}), ParseErrorKind::LengthMismatch,
              PayloadType::SKF, kFirstBody);
}

TEST_CASE("ID address types need their address size", "[codec][malformed][id]") {
  check_error(body_error(PayloadType::IDi, cat({{1, 0, 0, 0}, filled(5)})),
              ParseErrorKind::LengthMismatch, PayloadType::IDi, kFirstBody);
  check_error(body_error(PayloadType::IDr, cat({{5, 0, 0, 0}, filled(4)})),
              ParseErrorKind::LengthMismatch, PayloadType::IDr, kFirstBody);
  const Message m =
      parse_ok(single_payload_message(PayloadType::IDr, cat({{5, 0, 0, 0}, ip("2001:db8::1")})));
  CHECK(m.payloads.at(0).as<IdPayload>()->id_type == IdType::ID_IPV6_ADDR);
}

TEST_CASE("nonce length 16..256", "[codec][malformed][nonce]") {
  for (size_t bad : {size_t{1}, size_t{15}, size_t{257}, size_t{1000}}) {
    INFO("nonce of " << bad << " bytes");
    check_error(body_error(PayloadType::NONCE, filled(bad)), ParseErrorKind::LengthMismatch,
                PayloadType::NONCE, kFirstBody);
  }
  for (size_t good : {size_t{16}, size_t{256}}) {
    const Message m = parse_ok(single_payload_message(PayloadType::NONCE, counting(good)));
    CHECK(m.payloads.at(0).as<NoncePayload>()->data == counting(good));
  }
}

// --- unknown payload types ---

TEST_CASE("IKEv1 payload types with the critical bit clear are skipped and kept",
          "[codec][malformed][unknown]") {
  for (uint8_t v1_type : {uint8_t{1}, uint8_t{8}, uint8_t{13}}) {
    INFO("payload type " << int(v1_type));
    // Nonce -> IKEv1 payload -> Notify: the chain continues through the unknown payload.
    const Bytes chain =
        cat({raw_payload(v1_type, counting(16)), raw_payload(PayloadType::NOTIFY, {0xca, 0xfe}),
             raw_payload(PayloadType::NONE, {0, 0, 0xa0, 0x02})});
    const Bytes wire = raw_message(PayloadType::NONCE, chain);
    const Message m = parse_ok(wire);
    REQUIRE(m.payloads.size() == 3);
    CHECK(m.payloads[1].type == static_cast<PayloadType>(v1_type));
    CHECK_FALSE(m.payloads[1].critical);
    const auto* unknown = m.payloads[1].as<UnknownPayload>();
    REQUIRE(unknown != nullptr);
    CHECK(unknown->body == Bytes{0xca, 0xfe});
    CHECK(m.payloads[2].as<NotifyPayload>()->type == NotifyType::ME_MEDIATION);
    CHECK(summarize_payloads(m.payloads) ==
          "[ No UNKNOWN(" + std::to_string(v1_type) + ") N(ME_MED) ]");
    CHECK(encode_ok(m) == wire);
  }
}

TEST_CASE("an unknown payload with the critical bit set is UNSUPPORTED_CRITICAL_PAYLOAD",
          "[codec][malformed][unknown]") {
  const Bytes chain =
      cat({raw_payload(200, counting(16)), raw_payload(PayloadType::NONE, {1, 2, 3, 4}, 0x80)});
  const ParseError e = parse_fails(raw_message(PayloadType::NONCE, chain));
  CHECK(e.kind == ParseErrorKind::UnsupportedCriticalPayload);
  CHECK(e.answer == NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD);
  CHECK(e.critical_payload_type == 200);
  CHECK(static_cast<uint8_t>(e.payload) == 200);
  CHECK(e.offset == kFirstPayload + 20);

  // The same payload with the bit clear is skipped.
  const Bytes lenient =
      cat({raw_payload(200, counting(16)), raw_payload(PayloadType::NONE, {1, 2, 3, 4})});
  const Message m = parse_ok(raw_message(PayloadType::NONCE, lenient));
  CHECK(payload_token(m.payloads.at(1)) == "UNKNOWN(200)");

  // An IKEv1 type (1 = SA) with the critical bit set is refused the same way.
  const ParseError v1 =
      parse_fails(single_payload_message(static_cast<PayloadType>(1), {0, 0}, 0x80));
  CHECK(v1.kind == ParseErrorKind::UnsupportedCriticalPayload);
  CHECK(v1.critical_payload_type == 1);
  CHECK(v1.offset == kFirstPayload);
}

// --- SA ---

// A transform: last flag, type, id, optional attribute bytes.
Bytes raw_transform(bool last, uint8_t type, uint16_t id, const Bytes& attrs = {}) {
  return cat({{static_cast<uint8_t>(last ? 0 : 3), 0},
              u16be(static_cast<uint16_t>(8 + attrs.size())),
              {type, 0},
              u16be(id),
              attrs});
}
Bytes raw_proposal(bool last, uint8_t protocol, const Bytes& spi, uint8_t count,
                   const Bytes& transforms, int length = -1, uint8_t number = 1) {
  uint16_t len = length < 0 ? static_cast<uint16_t>(8 + spi.size() + transforms.size())
                            : static_cast<uint16_t>(length);
  return cat({{static_cast<uint8_t>(last ? 0 : 2), 0},
              u16be(len),
              {number, protocol, static_cast<uint8_t>(spi.size()), count},
              spi,
              transforms});
}
const Bytes kEncr = raw_transform(false, 1, 12, {0x80, 14, 0x00, 0x80});
const Bytes kDhLast = raw_transform(true, 4, 31);
constexpr size_t kFirstTransform = kFirstBody + 8;

TEST_CASE("a valid hand-made SA parses", "[codec][malformed][sa]") {
  const Bytes body =
      cat({raw_proposal(false, 1, {}, 2, cat({kEncr, kDhLast})),
           raw_proposal(true, 3, {1, 2, 3, 4}, 1, raw_transform(true, 1, 20), -1, 2)});
  const Message m = parse_ok(single_payload_message(PayloadType::SA, body));
  const auto* sa = m.payloads.at(0).as<SaPayload>();
  REQUIRE(sa != nullptr);
  REQUIRE(sa->proposals.size() == 2);
  CHECK(sa->proposals[1].number == 2);
  CHECK(sa->proposals[1].spi == Bytes{1, 2, 3, 4});
}

TEST_CASE("SA proposal structure errors", "[codec][malformed][sa]") {
  const Bytes good = raw_proposal(true, 1, {}, 2, cat({kEncr, kDhLast}));
  SECTION("Last Substruc says more proposals follow, none does") {
    check_error(body_error(PayloadType::SA, raw_proposal(false, 1, {}, 2, cat({kEncr, kDhLast}))),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstBody);
  }
  SECTION("Last Substruc says last, another proposal follows") {
    check_error(body_error(PayloadType::SA, cat({good, good})), ParseErrorKind::TrailingData,
                PayloadType::SA, kFirstBody);
  }
  SECTION("Last Substruc with an invalid value") {
    Bytes p = good;
    p[0] = 1;
    check_error(body_error(PayloadType::SA, p), ParseErrorKind::BadValue, PayloadType::SA,
                kFirstBody);
  }
  SECTION("proposal length below 8") {
    for (int len : {0, 4, 7}) {
      INFO("proposal length " << len);
      check_error(
          body_error(PayloadType::SA, raw_proposal(true, 1, {}, 2, cat({kEncr, kDhLast}), len)),
          ParseErrorKind::LengthMismatch, PayloadType::SA, kFirstBody);
    }
  }
  SECTION("proposal length overrunning the SA payload") {
    check_error(
        body_error(PayloadType::SA, raw_proposal(true, 1, {}, 2, cat({kEncr, kDhLast}), 200)),
        ParseErrorKind::Truncated, PayloadType::SA, kFirstBody);
  }
  SECTION("proposal header cut short") {
    check_error(body_error(PayloadType::SA, {0, 0, 0}), ParseErrorKind::Truncated, PayloadType::SA,
                kFirstBody);
  }
  SECTION("second proposal is the broken one") {
    const Bytes first = raw_proposal(false, 1, {}, 2, cat({kEncr, kDhLast}));
    check_error(body_error(PayloadType::SA, cat({first, raw_proposal(true, 7, {}, 1, kDhLast)})),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstBody + first.size());
  }
  SECTION("proposal length leaves bytes after the transforms") {
    check_error(body_error(PayloadType::SA,
                           cat({raw_proposal(true, 1, {}, 2, cat({kEncr, kDhLast}), 8 + 12 + 8 + 4),
                                {0, 0, 0, 0}})),
                ParseErrorKind::TrailingData, PayloadType::SA, kFirstBody);
  }
}

TEST_CASE("SA protocol ID and SPI size", "[codec][malformed][sa]") {
  SECTION("protocol ID 0, 4 and 255") {
    for (uint8_t protocol : {uint8_t{0}, uint8_t{4}, uint8_t{255}}) {
      INFO("protocol " << int(protocol));
      check_error(body_error(PayloadType::SA, raw_proposal(true, protocol, {}, 1, kDhLast)),
                  ParseErrorKind::BadValue, PayloadType::SA, kFirstBody);
    }
  }
  SECTION("IKE with a 4-byte SPI") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, filled(4), 1, kDhLast)),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstBody);
  }
  SECTION("ESP without an SPI") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 3, {}, 1, kDhLast)),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstBody);
  }
  SECTION("AH with an 8-byte SPI") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 2, filled(8), 1, kDhLast)),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstBody);
  }
  SECTION("SPI size overrunning the proposal") {
    // IKE, SPI size 8, but the proposal length only covers the 8-byte proposal header.
    check_error(body_error(PayloadType::SA, {0, 0, 0, 8, 1, 1, 8, 1}), ParseErrorKind::Truncated,
                PayloadType::SA, kFirstBody);
  }
  SECTION("IKE with an 8-byte SPI is fine") {
    const Message m = parse_ok(
        single_payload_message(PayloadType::SA, raw_proposal(true, 1, counting(8), 1, kDhLast)));
    CHECK(m.payloads.at(0).as<SaPayload>()->proposals.at(0).spi == counting(8));
  }
}

TEST_CASE("SA transform count, Last Substruc and lengths", "[codec][malformed][sa]") {
  SECTION("count 0") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 0, {})),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstBody);
  }
  SECTION("count 2, the first transform claims to be last") {
    check_error(
        body_error(PayloadType::SA,
                   raw_proposal(true, 1, {}, 2, cat({raw_transform(true, 1, 12), kDhLast}))),
        ParseErrorKind::BadValue, PayloadType::SA, kFirstTransform);
  }
  SECTION("count 1, the transform says more follow") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 1, kEncr)),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstTransform);
  }
  SECTION("count 3, two transforms present") {
    check_error(body_error(PayloadType::SA,
                           raw_proposal(true, 1, {}, 3, cat({kEncr, raw_transform(false, 2, 5)}))),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstTransform + kEncr.size() + 8);
  }
  SECTION("count 1, two transforms present") {
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 1, cat({kDhLast, kDhLast}))),
                ParseErrorKind::TrailingData, PayloadType::SA, kFirstBody);
  }
  SECTION("transform Last Substruc with an invalid value") {
    Bytes t = kDhLast;
    t[0] = 2;
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 1, t)),
                ParseErrorKind::BadValue, PayloadType::SA, kFirstTransform);
  }
  SECTION("transform length below 8") {
    Bytes t = kDhLast;
    t[3] = 7;
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 1, t)),
                ParseErrorKind::LengthMismatch, PayloadType::SA, kFirstTransform);
  }
  SECTION("transform length overrunning the proposal") {
    Bytes t = kDhLast;
    t[3] = 40;
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 1, t)),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstTransform);
  }
  SECTION("the second transform is the broken one") {
    Bytes t = kDhLast;
    t[3] = 3;
    check_error(body_error(PayloadType::SA, raw_proposal(true, 1, {}, 2, cat({kEncr, t}))),
                ParseErrorKind::LengthMismatch, PayloadType::SA, kFirstTransform + kEncr.size());
  }
}

TEST_CASE("SA transform attributes", "[codec][malformed][sa]") {
  constexpr size_t kFirstAttribute = kFirstTransform + 8;
  SECTION("TLV attribute length overrunning the transform") {
    check_error(body_error(PayloadType::SA,
                           raw_proposal(true, 1, {}, 1,
                                        raw_transform(true, 1, 12, {0x00, 17, 0x00, 9, 1, 2}))),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstAttribute);
  }
  SECTION("attribute header cut short") {
    check_error(body_error(PayloadType::SA,
                           raw_proposal(true, 1, {}, 1, raw_transform(true, 1, 12, {0x80, 14}))),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstAttribute);
  }
  SECTION("the second attribute overruns") {
    check_error(body_error(PayloadType::SA,
                           raw_proposal(true, 1, {}, 1,
                                        raw_transform(true, 1, 12,
                                                      {0x80, 14, 0, 128, 0x00, 17, 0xff, 0xff}))),
                ParseErrorKind::Truncated, PayloadType::SA, kFirstAttribute + 4);
  }
  SECTION("an empty TLV attribute is fine") {
    const Message m = parse_ok(single_payload_message(
        PayloadType::SA,
        raw_proposal(true, 1, {}, 1, raw_transform(true, 1, 12, {0x00, 17, 0, 0}))));
    const Transform& t = m.payloads.at(0).as<SaPayload>()->proposals.at(0).transforms.at(0);
    REQUIRE(t.attributes.size() == 1);
    CHECK_FALSE(t.attributes[0].tv);
    CHECK(t.attributes[0].data.empty());
    CHECK_FALSE(t.key_length().has_value());
  }
}

// --- Delete ---

TEST_CASE("Delete SPI size and count", "[codec][malformed][delete]") {
  SECTION("IKE delete with an SPI size") {
    check_error(body_error(PayloadType::DELETE, cat({{1, 8, 0, 1}, filled(8)})),
                ParseErrorKind::BadValue, PayloadType::DELETE, kFirstBody);
  }
  SECTION("IKE delete with a count") {
    check_error(body_error(PayloadType::DELETE, {1, 0, 0, 1}), ParseErrorKind::BadValue,
                PayloadType::DELETE, kFirstBody);
  }
  SECTION("ESP delete with SPI size 8") {
    check_error(body_error(PayloadType::DELETE, cat({{3, 8, 0, 1}, filled(8)})),
                ParseErrorKind::BadValue, PayloadType::DELETE, kFirstBody);
  }
  SECTION("ESP delete listing no SPI") {
    check_error(body_error(PayloadType::DELETE, {3, 4, 0, 0}), ParseErrorKind::BadValue,
                PayloadType::DELETE, kFirstBody);
  }
  SECTION("count 3, two SPIs present") {
    check_error(body_error(PayloadType::DELETE, cat({{3, 4, 0, 3}, filled(8)})),
                ParseErrorKind::LengthMismatch, PayloadType::DELETE, kFirstBody);
  }
  SECTION("count 1, five bytes present") {
    check_error(body_error(PayloadType::DELETE, cat({{2, 4, 0, 1}, filled(5)})),
                ParseErrorKind::LengthMismatch, PayloadType::DELETE, kFirstBody);
  }
  SECTION("IKE delete followed by data") {
    check_error(body_error(PayloadType::DELETE, {1, 0, 0, 0, 9}), ParseErrorKind::LengthMismatch,
                PayloadType::DELETE, kFirstBody);
  }
  SECTION("unknown protocol") {
    check_error(body_error(PayloadType::DELETE, {0, 0, 0, 0}), ParseErrorKind::BadValue,
                PayloadType::DELETE, kFirstBody);
    check_error(body_error(PayloadType::DELETE, cat({{4, 4, 0, 1}, filled(4)})),
                ParseErrorKind::BadValue, PayloadType::DELETE, kFirstBody);
  }
  SECTION("count 0xffff with almost nothing behind it") {
    check_error(body_error(PayloadType::DELETE, cat({{3, 4, 0xff, 0xff}, filled(4)})),
                ParseErrorKind::LengthMismatch, PayloadType::DELETE, kFirstBody);
  }
}

// --- SK / SKF ---

TEST_CASE("SK and SKF must be the last payload", "[codec][malformed][sk]") {
  // SK's Next Payload names its first inner payload, so anything after it is out of order.
  const Bytes sk_first = cat(
      {raw_payload(PayloadType::IDi, counting(32)), raw_payload(PayloadType::NONE, counting(16))});
  ParseError e = parse_fails(raw_message(PayloadType::SK, sk_first));
  CHECK(e.kind == ParseErrorKind::BadPayloadOrder);
  CHECK(e.answer == NotifyType::INVALID_SYNTAX);
  CHECK(e.payload == PayloadType::SK);
  CHECK(e.offset == kFirstPayload);

  const Bytes skf_middle = cat({raw_payload(PayloadType::SKF, counting(16)),
                                raw_payload(PayloadType::NONE, cat({{0, 1, 0, 2}, counting(8)})),
                                raw_payload(PayloadType::NONE, {0, 0, 0xa0, 0x02})});
  e = parse_fails(raw_message(PayloadType::NONCE, skf_middle));
  CHECK(e.kind == ParseErrorKind::BadPayloadOrder);
  CHECK(e.payload == PayloadType::SKF);
  CHECK(e.offset == kFirstPayload + 20);

  // SK last after other payloads is fine, and its Next Payload becomes first_inner.
  const Bytes sk_last = cat(
      {raw_payload(PayloadType::SK, counting(16)), raw_payload(PayloadType::AUTH, counting(24))});
  const Message m = parse_ok(raw_message(PayloadType::NONCE, sk_last));
  REQUIRE(m.payloads.size() == 2);
  CHECK(m.payloads[1].as<EncryptedPayload>()->first_inner == PayloadType::AUTH);
}

TEST_CASE("SKF fragment numbering", "[codec][malformed][skf]") {
  auto skf = [](uint8_t next, uint16_t number, uint16_t total) {
    return raw_message(PayloadType::SKF,
                       raw_payload(next, cat({u16be(number), u16be(total), counting(8)})));
  };
  SECTION("fragment number 0") {
    // Next Payload 0, so that only the numbering can be at fault.
    const ParseError e = parse_fails(skf(0, 0, 2));
    check_error(e, ParseErrorKind::BadValue, PayloadType::SKF, kFirstBody);
    CHECK(e.detail == "fragment 0 of 2 is impossible");
    check_error(parse_fails(skf(35, 0, 2)), ParseErrorKind::BadValue, PayloadType::SKF, kFirstBody);
  }
  SECTION("total 0") {
    check_error(parse_fails(skf(0, 1, 0)), ParseErrorKind::BadValue, PayloadType::SKF, kFirstBody);
  }
  SECTION("number above total") {
    check_error(parse_fails(skf(0, 3, 2)), ParseErrorKind::BadValue, PayloadType::SKF, kFirstBody);
  }
  SECTION("non-first fragment with a Next Payload") {
    check_error(parse_fails(skf(41, 2, 2)), ParseErrorKind::BadValue, PayloadType::SKF, kFirstBody);
  }
  SECTION("valid first and last fragments") {
    const Message first = parse_ok(skf(35, 1, 2));
    CHECK(first.payloads.at(0).body ==
          PayloadBody{EncryptedFragmentPayload{PayloadType::IDi, 1, 2, counting(8)}});
    const Message last = parse_ok(skf(0, 2, 2));
    CHECK(last.payloads.at(0).as<EncryptedFragmentPayload>()->number == 2);
    const Message only = parse_ok(skf(0, 65535, 65535));
    CHECK(only.payloads.at(0).as<EncryptedFragmentPayload>()->total == 65535);
  }
}

// --- CP, EAP, CERTREQ ---

Bytes cp_attr(uint16_t type, const Bytes& value) {
  return cat({u16be(type), u16be(static_cast<uint16_t>(value.size())), value});
}

TEST_CASE("CP attribute lengths", "[codec][malformed][cp]") {
  SECTION("INTERNAL_IP4_ADDRESS with 3 bytes") {
    check_error(body_error(PayloadType::CP, cat({{2, 0, 0, 0}, cp_attr(1, {10, 0, 0})})),
                ParseErrorKind::LengthMismatch, PayloadType::CP, kFirstBody + 4);
  }
  SECTION("the second attribute is wrong") {
    check_error(body_error(PayloadType::CP,
                           cat({{2, 0, 0, 0}, cp_attr(1, {10, 0, 0, 1}), cp_attr(3, filled(5))})),
                ParseErrorKind::LengthMismatch, PayloadType::CP, kFirstBody + 4 + 8);
  }
  SECTION("INTERNAL_IP6_ADDRESS without its prefix length") {
    check_error(body_error(PayloadType::CP, cat({{2, 0, 0, 0}, cp_attr(8, filled(16))})),
                ParseErrorKind::LengthMismatch, PayloadType::CP, kFirstBody + 4);
  }
  SECTION("SUPPORTED_ATTRIBUTES of odd length") {
    check_error(body_error(PayloadType::CP, cat({{1, 0, 0, 0}, cp_attr(14, filled(3))})),
                ParseErrorKind::LengthMismatch, PayloadType::CP, kFirstBody + 4);
  }
  SECTION("attribute length overrunning the payload") {
    check_error(body_error(PayloadType::CP, cat({{2, 0, 0, 0}, u16be(1), u16be(4), {10, 0}})),
                ParseErrorKind::Truncated, PayloadType::CP, kFirstBody + 4);
  }
  SECTION("attribute header cut short") {
    check_error(body_error(PayloadType::CP, {1, 0, 0, 0, 0, 1}), ParseErrorKind::Truncated,
                PayloadType::CP, kFirstBody + 4);
  }
  SECTION("CFG type 0 and 5") {
    check_error(body_error(PayloadType::CP, {0, 0, 0, 0}), ParseErrorKind::BadValue,
                PayloadType::CP, kFirstBody);
    check_error(body_error(PayloadType::CP, {5, 0, 0, 0}), ParseErrorKind::BadValue,
                PayloadType::CP, kFirstBody);
  }
  SECTION("unknown attribute types take any length") {
    const Message m = parse_ok(single_payload_message(
        PayloadType::CP, cat({{1, 0, 0, 0}, cp_attr(0x7000, filled(3)), cp_attr(25, {'a', 'b'})})));
    const auto* cp = m.payloads.at(0).as<ConfigPayload>();
    REQUIRE(cp != nullptr);
    REQUIRE(cp->attributes.size() == 2);
    CHECK(static_cast<uint16_t>(cp->attributes[0].type) == 0x7000);
    CHECK(cp->attributes[1].type == CfgAttr::INTERNAL_DNS_DOMAIN);
  }
}

TEST_CASE("EAP length and code", "[codec][malformed][eap]") {
  SECTION("EAP length larger than the payload") {
    check_error(body_error(PayloadType::EAP, {1, 1, 0, 10, 1}), ParseErrorKind::LengthMismatch,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("EAP length smaller than the payload") {
    check_error(body_error(PayloadType::EAP, {2, 1, 0, 5, 1, 'x'}), ParseErrorKind::LengthMismatch,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("request without a type") {
    check_error(body_error(PayloadType::EAP, {1, 1, 0, 4}), ParseErrorKind::Truncated,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("success with data") {
    check_error(body_error(PayloadType::EAP, {3, 1, 0, 5, 0}), ParseErrorKind::LengthMismatch,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("unknown code") {
    check_error(body_error(PayloadType::EAP, {5, 1, 0, 4}), ParseErrorKind::BadValue,
                PayloadType::EAP, kFirstBody);
    check_error(body_error(PayloadType::EAP, {0, 1, 0, 4}), ParseErrorKind::BadValue,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("header cut short") {
    check_error(body_error(PayloadType::EAP, {1, 1, 0}), ParseErrorKind::Truncated,
                PayloadType::EAP, kFirstBody);
  }
  SECTION("valid failure and response") {
    CHECK(parse_ok(single_payload_message(PayloadType::EAP, {4, 9, 0, 4})).payloads.size() == 1);
    const Message m = parse_ok(single_payload_message(PayloadType::EAP, {2, 9, 0, 7, 1, 'i', 'd'}));
    CHECK(m.payloads.at(0).as<EapPayload>()->message == Bytes{2, 9, 0, 7, 1, 'i', 'd'});
  }
}

TEST_CASE("CERTREQ X.509 authority list must be SHA-1 sized", "[codec][malformed][certreq]") {
  check_error(body_error(PayloadType::CERTREQ, cat({{4}, filled(21)})),
              ParseErrorKind::LengthMismatch, PayloadType::CERTREQ, kFirstBody);
  check_error(body_error(PayloadType::CERTREQ, cat({{4}, filled(19)})),
              ParseErrorKind::LengthMismatch, PayloadType::CERTREQ, kFirstBody);
  CHECK(parse_ok(single_payload_message(PayloadType::CERTREQ, cat({{4}, filled(40)})))
            .payloads.at(0)
            .as<CertPayload>()
            ->data.size() == 40);
  // An empty authority list and other encodings are not checked for size.
  CHECK(parse_ok(single_payload_message(PayloadType::CERTREQ, {4})).payloads.size() == 1);
  CHECK(parse_ok(single_payload_message(PayloadType::CERTREQ, cat({{1}, filled(21)})))
            .payloads.size() == 1);
  // The CERT payload has no such rule.
  CHECK(
      parse_ok(single_payload_message(PayloadType::CERT, cat({{4}, filled(21)}))).payloads.size() ==
      1);
}

TEST_CASE("trailing bytes after the last payload", "[codec][malformed][chain]") {
  const Bytes chain = cat({raw_payload(PayloadType::NONE, counting(16)), {0xde, 0xad, 0xbe}});
  const ParseError e = parse_fails(raw_message(PayloadType::NONCE, chain));
  CHECK(e.kind == ParseErrorKind::TrailingData);
  CHECK(e.answer == NotifyType::INVALID_SYNTAX);
  CHECK(e.payload == PayloadType::NONE);
  CHECK(e.offset == kFirstPayload + 20);
}

}  // namespace
}  // namespace ikeme::ike::test

// The fixed IKE header (RFC 7296 §3.1): size, version, length field, flags.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

Bytes nonce_message(RawHeader h = {}) {
  return raw_message(PayloadType::NONCE, raw_payload(PayloadType::NONE, counting(16)), h);
}

TEST_CASE("header fields are read from their RFC 7296 positions", "[codec][header]") {
  RawHeader h;
  h.spi_i = 0x8877665544332211;
  h.spi_r = 0x0102030405060708;
  h.exchange = 240;
  h.flags = kFlagInitiator | kFlagResponse;
  h.message_id = 0xdeadbeef;
  const Bytes wire = nonce_message(h);
  auto header = parse_header(wire);
  REQUIRE(header.ok());
  CHECK(header->spi_i == 0x8877665544332211);
  CHECK(header->spi_r == 0x0102030405060708);
  CHECK(header->next_payload == PayloadType::NONCE);
  CHECK(header->version == 0x20);
  CHECK(header->major_version() == 2);
  CHECK(header->exchange == ExchangeType::ME_CONNECT);
  CHECK(header->message_id == 0xdeadbeef);
  CHECK(header->length == 48);
  CHECK(header->initiator());
  CHECK(header->response());
}

TEST_CASE("flag accessors", "[codec][header]") {
  Header h;
  h.flags = kFlagInitiator;
  CHECK(h.initiator());
  CHECK_FALSE(h.response());
  h.flags = kFlagResponse;
  CHECK_FALSE(h.initiator());
  CHECK(h.response());
  h.flags = kFlagVersion;  // the "higher version" bit says nothing about role
  CHECK_FALSE(h.initiator());
  CHECK_FALSE(h.response());
  h.flags = 0;
  CHECK_FALSE(h.initiator());
  CHECK_FALSE(h.response());

  RawHeader raw;
  raw.flags = kFlagResponse;
  const Message m = parse_ok(nonce_message(raw));
  CHECK(m.header.response());
  CHECK_FALSE(m.header.initiator());
  CHECK(m.header.flags == kFlagResponse);
}

TEST_CASE("a datagram shorter than the header is dropped", "[codec][header]") {
  const Bytes full = nonce_message();
  for (size_t n : {size_t{0}, size_t{1}, size_t{20}, kHeaderSize - 1}) {
    INFO("datagram of " << n << " bytes");
    const ParseError e = parse_fails(ByteView(full).first(n));
    CHECK(e.kind == ParseErrorKind::Truncated);
    CHECK(e.answer == kNoNotify);
    CHECK(e.payload == PayloadType::NONE);
    CHECK(e.offset == 0);
  }
}

TEST_CASE("IKEv1 messages are dropped without an answer", "[codec][header]") {
  RawHeader h;
  h.version = 0x10;
  const ParseError e = parse_fails(nonce_message(h));
  CHECK(e.kind == ParseErrorKind::Ikev1Message);
  CHECK(e.answer == kNoNotify);
  CHECK(e.payload == PayloadType::NONE);
  auto header = parse_header(nonce_message(h));
  REQUIRE_FALSE(header.ok());
  CHECK(header.error().kind == ParseErrorKind::Ikev1Message);
}

TEST_CASE("a major version above 2 is answered with INVALID_MAJOR_VERSION", "[codec][header]") {
  RawHeader h;
  for (uint8_t version : {uint8_t{0x30}, uint8_t{0xf0}, uint8_t{0x3f}}) {
    INFO("version byte " << int(version));
    h.version = version;
    const ParseError e = parse_fails(nonce_message(h));
    CHECK(e.kind == ParseErrorKind::UnsupportedVersion);
    CHECK(e.answer == NotifyType::INVALID_MAJOR_VERSION);
    CHECK(e.payload == PayloadType::NONE);
  }
}

TEST_CASE("a higher minor version is accepted and kept", "[codec][header]") {
  RawHeader h;
  h.version = 0x21;
  const Bytes wire = nonce_message(h);
  const Message m = parse_ok(wire);
  CHECK(m.header.version == 0x21);
  CHECK(m.header.major_version() == 2);
  CHECK(encode_ok(m) == wire);
}

TEST_CASE("header length beyond the datagram is dropped", "[codec][header]") {
  RawHeader h;
  h.length = 49;  // one more than the 48-byte datagram
  ParseError e = parse_fails(nonce_message(h));
  CHECK(e.kind == ParseErrorKind::Truncated);
  CHECK(e.answer == kNoNotify);
  CHECK(e.payload == PayloadType::NONE);

  h.length = 0xffffffff;
  e = parse_fails(nonce_message(h));
  CHECK(e.kind == ParseErrorKind::Truncated);
  CHECK(e.answer == kNoNotify);
}

TEST_CASE("header length short of the datagram is INVALID_SYNTAX", "[codec][header]") {
  RawHeader h;
  for (int64_t length : {int64_t{47}, int64_t{28}, int64_t{0}}) {
    INFO("length field " << length);
    h.length = length;
    const ParseError e = parse_fails(nonce_message(h));
    CHECK(e.kind == ParseErrorKind::TrailingData);
    CHECK(e.answer == NotifyType::INVALID_SYNTAX);
    CHECK(e.payload == PayloadType::NONE);
  }
}

TEST_CASE("a header-only message with Next Payload 0 has no payloads", "[codec][header]") {
  const Bytes wire = raw_message(PayloadType::NONE, {});
  const Message m = parse_ok(wire);
  CHECK(m.payloads.empty());
  CHECK(m.header.length == kHeaderSize);

  // ... and bytes after it, even when the length field covers them, are trailing data.
  const ParseError e = parse_fails(raw_message(PayloadType::NONE, {0, 0, 0, 4}));
  CHECK(e.kind == ParseErrorKind::TrailingData);
  CHECK(e.answer == NotifyType::INVALID_SYNTAX);
  CHECK(e.offset == kHeaderSize);
}

TEST_CASE("encode_message derives Next Payload and Length from the payloads", "[codec][header]") {
  Message m;
  m.header.next_payload = PayloadType::SA;  // stale values are ignored
  m.header.length = 9999;
  m.payloads.push_back(make_notify(NotifyType::ME_MEDIATION));
  const Bytes wire = encode_ok(m);
  REQUIRE(wire.size() == kHeaderSize + 8);
  CHECK(wire[16] == static_cast<uint8_t>(PayloadType::NOTIFY));
  CHECK(wire[24] == 0);
  CHECK(wire[25] == 0);
  CHECK(wire[26] == 0);
  CHECK(wire[27] == kHeaderSize + 8);
}

TEST_CASE("ParseError::to_string names the reaction, kind, place and detail", "[codec][header]") {
  const ParseError drop = parse_fails(Bytes(10, 0));
  CHECK(drop.to_string() ==
        "drop (truncated) at offset 0 in IKE header: datagram of 10 bytes is shorter than the "
        "28-byte IKE header");

  const ParseError nonce = body_error(PayloadType::NONCE, counting(15));
  CHECK(nonce.to_string() ==
        "INVALID_SYNTAX (length mismatch) at offset 32 in Nonce payload: nonce of 15 bytes "
        "(16..256 allowed)");
}

}  // namespace
}  // namespace ikeme::ike::test

// Round trips of every payload type through encode_message/parse_message and the payload-chain
// functions, plus golden wire bytes so that encoder and parser cannot agree on a wrong layout.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

TEST_CASE("every payload type round-trips through encode and parse", "[codec][roundtrip]") {
  const Message m = sample_message();
  const Bytes wire = encode_ok(m);
  const Message parsed = parse_ok(wire);

  CHECK(parsed.header.spi_i == m.header.spi_i);
  CHECK(parsed.header.spi_r == m.header.spi_r);
  CHECK(parsed.header.exchange == ExchangeType::IKE_AUTH);
  CHECK(parsed.header.flags == kFlagInitiator);
  CHECK(parsed.header.message_id == 1);
  CHECK(parsed.header.version == kVersion2_0);
  CHECK(parsed.header.next_payload == PayloadType::SA);
  CHECK(parsed.header.length == wire.size());
  REQUIRE(parsed.payloads.size() == m.payloads.size());
  for (size_t i = 0; i < m.payloads.size(); ++i) {
    INFO("payload " << i << " " << payload_token(m.payloads[i]));
    CHECK(parsed.payloads[i] == m.payloads[i]);
  }
  CHECK(encode_ok(parsed) == wire);
}

TEST_CASE("round-tripped payloads keep their field values", "[codec][roundtrip]") {
  const Message parsed = parse_ok(encode_ok(sample_message()));

  const auto* sa = parsed.payloads.at(0).as<SaPayload>();
  REQUIRE(sa != nullptr);
  REQUIRE(sa->proposals.size() == 3);
  CHECK(sa->proposals[0].number == 1);
  CHECK(sa->proposals[0].protocol == ProtocolId::IKE);
  CHECK(sa->proposals[0].spi.empty());
  REQUIRE(sa->proposals[0].transforms.size() == 5);
  CHECK(sa->proposals[0].transforms[0].type == TransformType::ENCR);
  CHECK(sa->proposals[0].transforms[0].id == static_cast<uint16_t>(EncrId::AES_CBC));
  CHECK(sa->proposals[0].transforms[0].key_length() == std::optional<uint16_t>(256));
  CHECK_FALSE(sa->proposals[0].transforms[1].key_length().has_value());
  CHECK(sa->proposals[0].transforms[3].type == TransformType::DH);
  CHECK(sa->proposals[0].transforms[3].id == 31);
  CHECK(sa->proposals[1].spi == counting(8, 0xa0));
  const Transform& gcm = sa->proposals[1].transforms[0];
  REQUIRE(gcm.attributes.size() == 2);
  CHECK(gcm.key_length() == std::optional<uint16_t>(128));
  CHECK_FALSE(gcm.attributes[1].tv);
  CHECK(gcm.attributes[1].type == 17);
  CHECK(gcm.attributes[1].data == Bytes{0xde, 0xad, 0xbe});
  CHECK(sa->proposals[2].protocol == ProtocolId::ESP);
  CHECK(sa->proposals[2].spi == Bytes{0xc2, 0x96, 0x07, 0x79});
  CHECK(sa->proposals[2].transforms[1].type == TransformType::ESN);

  const auto* ke = parsed.payloads.at(1).as<KePayload>();
  REQUIRE(ke != nullptr);
  CHECK(ke->group == DhGroup::CURVE_25519);
  CHECK(ke->data == counting(32, 0x10));

  CHECK(parsed.payloads.at(4).type == PayloadType::IDp);
  const auto* idp = parsed.payloads.at(4).as<IdPayload>();
  REQUIRE(idp != nullptr);
  CHECK(idp->id_type == IdType::ID_RFC822_ADDR);
  CHECK(std::string(idp->data.begin(), idp->data.end()) == "b@x.org");

  const auto* rekey = parsed.payloads.at(10).as<NotifyPayload>();
  REQUIRE(rekey != nullptr);
  CHECK(rekey->type == NotifyType::REKEY_SA);
  CHECK(rekey->protocol == ProtocolId::ESP);
  CHECK(rekey->spi == Bytes{0x11, 0x22, 0x33, 0x44});
  CHECK(rekey->data.empty());

  const auto* del = parsed.payloads.at(12).as<DeletePayload>();
  REQUIRE(del != nullptr);
  CHECK(del->protocol == ProtocolId::ESP);
  CHECK(del->spi_size == 4);
  REQUIRE(del->spis.size() == 3);
  CHECK(del->spis[2] == Bytes{0xc2, 0x96, 0x07, 0x79});

  const auto* tsi = parsed.payloads.at(14).as<TsPayload>();
  REQUIRE(tsi != nullptr);
  REQUIRE(tsi->selectors.size() == 2);
  CHECK(tsi->selectors[0].type == TsType::IPV4_ADDR_RANGE);
  CHECK(tsi->selectors[1].type == TsType::IPV6_ADDR_RANGE);
  CHECK(tsi->selectors[1].ip_protocol == 17);
  CHECK(tsi->selectors[1].start_port == 500);
  CHECK(tsi->selectors[1].end_port == 4500);
  CHECK(tsi->selectors[1].end_address == ip("2001:db8::ffff"));
  const auto* tsr = parsed.payloads.at(15).as<TsPayload>();
  REQUIRE(tsr != nullptr);
  REQUIRE(tsr->selectors.size() == 1);
  CHECK(tsr->selectors[0].opaque_ports());
  CHECK_FALSE(tsi->selectors[0].opaque_ports());

  const auto* cprq = parsed.payloads.at(16).as<ConfigPayload>();
  REQUIRE(cprq != nullptr);
  CHECK(cprq->type == CfgType::CFG_REQUEST);
  REQUIRE(cprq->attributes.size() == 3);
  CHECK(cprq->attributes[2].type == CfgAttr::INTERNAL_IP6_ADDRESS);
  CHECK(cprq->attributes[2].value.empty());
  const auto* cprp = parsed.payloads.at(17).as<ConfigPayload>();
  REQUIRE(cprp != nullptr);
  CHECK(cprp->type == CfgType::CFG_REPLY);
  CHECK(cprp->attributes.at(0).value == ip("10.3.0.1"));

  const auto* eap_req = parsed.payloads.at(18).as<EapPayload>();
  REQUIRE(eap_req != nullptr);
  CHECK(eap_req->code() == 1);
  CHECK(eap_req->method() == 1);
  const auto* eap_ok = parsed.payloads.at(19).as<EapPayload>();
  REQUIRE(eap_ok != nullptr);
  CHECK(eap_ok->code() == 3);
  CHECK(eap_ok->method() == 0);

  const auto* sk = parsed.payloads.at(20).as<EncryptedPayload>();
  REQUIRE(sk != nullptr);
  CHECK(sk->first_inner == PayloadType::IDi);
  CHECK(sk->data == counting(48, 0xc0));
}

TEST_CASE("SKF round-trips, first and later fragments", "[codec][roundtrip]") {
  Message m;
  m.header.exchange = ExchangeType::IKE_AUTH;
  m.header.flags = kFlagResponse;
  m.header.message_id = 1;
  m.header.spi_i = 7;
  m.header.spi_r = 9;

  SECTION("fragment 1 of 2 names the first inner payload") {
    m.payloads.push_back(payload(
        PayloadType::SKF, EncryptedFragmentPayload{PayloadType::IDr, 1, 2, counting(64, 1)}));
  }
  SECTION("fragment 2 of 2 has Next Payload 0") {
    m.payloads.push_back(payload(
        PayloadType::SKF, EncryptedFragmentPayload{PayloadType::NONE, 2, 2, counting(20, 9)}));
  }
  const Bytes wire = encode_ok(m);
  const Message parsed = parse_ok(wire);
  CHECK(parsed.header.next_payload == PayloadType::SKF);
  CHECK(parsed.header.response());
  CHECK(parsed.payloads == m.payloads);
  CHECK(encode_ok(parsed) == wire);
  // The SKF's own Next Payload byte carries the first inner type.
  CHECK(wire[kFirstPayload] ==
        static_cast<uint8_t>(m.payloads[0].as<EncryptedFragmentPayload>()->first_inner));
}

TEST_CASE("critical flag and unknown payloads survive a round trip", "[codec][roundtrip]") {
  Message m;
  m.payloads.push_back(make_nonce(counting(16)));
  m.payloads.back().critical = true;  // RFC 7296: ignored on understood payloads, kept as sent
  m.payloads.push_back(payload(static_cast<PayloadType>(1), UnknownPayload{{1, 2, 3}}));
  m.payloads.push_back(make_notify(NotifyType::ME_MEDIATION));
  const Bytes wire = encode_ok(m);
  CHECK(wire[kFirstPayload + 1] == 0x80);
  const Message parsed = parse_ok(wire);
  CHECK(parsed.payloads == m.payloads);
  CHECK(encode_ok(parsed) == wire);
}

TEST_CASE("inner payload chains round-trip through encode/parse_payload_chain",
          "[codec][roundtrip]") {
  std::vector<Payload> inner;
  inner.push_back(make_id(PayloadType::IDi, IdType::ID_FQDN, {'m', 'o', 'o', 'n'}));
  inner.push_back(
      payload(PayloadType::AUTH, AuthPayload{AuthMethod::DIGITAL_SIGNATURE, counting(40)}));
  inner.push_back(payload(PayloadType::SA, sample_sa()));
  inner.push_back(payload(PayloadType::TSi, TsPayload{{selector("10.1.0.10", "10.1.0.10")}}));
  inner.push_back(payload(PayloadType::TSr, TsPayload{{selector("10.2.0.10", "10.2.0.10")}}));
  inner.push_back(
      make_notify(NotifyType::ME_ENDPOINT,
                  encode_me_endpoint(MeEndpoint{kPriorityServerReflexive,
                                                EndpointType::SERVER_REFLEXIVE, 0, std::nullopt})));

  PayloadType first = PayloadType::NONE;
  auto encoded = encode_payload_chain(inner, first);
  REQUIRE(encoded.ok());
  CHECK(first == PayloadType::IDi);
  // The last payload's Next Payload is 0; the first's names the AUTH after it.
  CHECK((*encoded)[0] == static_cast<uint8_t>(PayloadType::AUTH));

  auto parsed = parse_payload_chain(first, *encoded);
  REQUIRE(parsed.ok());
  CHECK(*parsed == inner);

  PayloadType first_again = PayloadType::NONE;
  auto again = encode_payload_chain(*parsed, first_again);
  REQUIRE(again.ok());
  CHECK(*again == *encoded);
  CHECK(first_again == first);
}

TEST_CASE("empty payload chains", "[codec][roundtrip]") {
  PayloadType first = PayloadType::SA;
  auto encoded = encode_payload_chain({}, first);
  REQUIRE(encoded.ok());
  CHECK(encoded->empty());
  CHECK(first == PayloadType::NONE);

  auto parsed = parse_payload_chain(PayloadType::NONE, {});
  REQUIRE(parsed.ok());
  CHECK(parsed->empty());

  // An empty ME_CONNECT response is just the header.
  Message m;
  m.header.exchange = ExchangeType::ME_CONNECT;
  m.header.flags = kFlagResponse;
  const Bytes wire = encode_ok(m);
  REQUIRE(wire.size() == kHeaderSize);
  CHECK(wire[16] == 0);  // Next Payload
  CHECK(parse_ok(wire).payloads.empty());
}

TEST_CASE("parse_payload_chain reports offsets shifted by base_offset", "[codec][roundtrip]") {
  const Bytes chain = raw_payload(PayloadType::NONE, counting(15));  // nonce one byte short
  auto r = parse_payload_chain(PayloadType::NONCE, chain, 100);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ParseErrorKind::LengthMismatch);
  CHECK(r.error().payload == PayloadType::NONCE);
  CHECK(r.error().offset == 104);

  auto trailing = parse_payload_chain(PayloadType::NONE, Bytes{1, 2, 3}, 50);
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().kind == ParseErrorKind::TrailingData);
  CHECK(trailing.error().offset == 50);
}

// --- golden wire bytes ---

TEST_CASE("header and Nonce encode to the RFC 7296 layout", "[codec][roundtrip][golden]") {
  Message m;
  m.header.spi_i = 0x0102030405060708;
  m.header.spi_r = 0x1112131415161718;
  m.header.exchange = ExchangeType::IKE_SA_INIT;
  m.header.flags = kFlagInitiator;
  m.header.message_id = 0x01020304;
  m.payloads.push_back(make_nonce(counting(16, 0xf0)));
  const Bytes expected = cat({{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},  // SPIi
                              {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18},  // SPIr
                              {40, 0x20, 34, 0x08},      // next Nonce, v2.0, IKE_SA_INIT, I
                              {0x01, 0x02, 0x03, 0x04},  // message ID
                              {0x00, 0x00, 0x00, 48},    // length 28 + 4 + 16
                              {0, 0, 0, 20},             // Nonce header
                              counting(16, 0xf0)});
  CHECK(encode_ok(m) == expected);
}

TEST_CASE("SA payload golden bytes parse and encode", "[codec][roundtrip][golden]") {
  // One IKE proposal: ENCR AES_CBC with key length 128 (TV) and a TLV attribute, then DH 31.
  const Bytes sa_body = {
      0,    0,  0,    35,             // last proposal, length 8 + 19 + 8
      1,    1,  0,    2,              // number 1, IKE, SPI size 0, 2 transforms
      3,    0,  0,    19,             // more transforms, length 19
      1,    0,  0,    12,             // ENCR, AES_CBC
      0x80, 14, 0x00, 0x80,           // TV key length 128
      0x00, 17, 0x00, 0x03, 9, 8, 7,  // TLV type 17, 3 bytes
      0,    0,  0,    8,              // last transform, length 8
      4,    0,  0,    31,             // DH, CURVE_25519
  };
  const Bytes wire = single_payload_message(PayloadType::SA, sa_body);
  const Message m = parse_ok(wire);
  REQUIRE(m.payloads.size() == 1);
  const auto* sa = m.payloads[0].as<SaPayload>();
  REQUIRE(sa != nullptr);
  REQUIRE(sa->proposals.size() == 1);
  const Proposal& p = sa->proposals[0];
  CHECK(p.number == 1);
  CHECK(p.protocol == ProtocolId::IKE);
  REQUIRE(p.transforms.size() == 2);
  CHECK(p.transforms[0] == transform(TransformType::ENCR, 12,
                                     {tv_attr(kAttrKeyLength, 128), tlv_attr(17, {9, 8, 7})}));
  CHECK(p.transforms[1] == transform(TransformType::DH, 31));
  CHECK(encode_ok(m) == wire);
}

TEST_CASE("TS, Notify, Delete, CP and SKF golden bytes", "[codec][roundtrip][golden]") {
  SECTION("TS with an IPv4 range") {
    const Bytes body =
        cat({{1, 0, 0, 0, 7, 17, 0, 16, 0x01, 0xf4, 0x11, 0x94}, ip("10.0.0.1"), ip("10.0.0.9")});
    const Message m = parse_ok(single_payload_message(PayloadType::TSi, body));
    const auto* ts = m.payloads.at(0).as<TsPayload>();
    REQUIRE(ts != nullptr);
    REQUIRE(ts->selectors.size() == 1);
    CHECK(ts->selectors[0] == selector("10.0.0.1", "10.0.0.9", 500, 4500, 17));
    CHECK(encode_ok(m) == single_payload_message(PayloadType::TSi, body));
  }
  SECTION("Notify with an ESP SPI") {
    const Bytes body = {3, 4, 0x40, 0x09, 0xaa, 0xbb, 0xcc, 0xdd};  // ESP, REKEY_SA
    const Message m = parse_ok(single_payload_message(PayloadType::NOTIFY, body));
    CHECK(m.payloads.at(0) ==
          make_notify(NotifyType::REKEY_SA, {}, ProtocolId::ESP, {0xaa, 0xbb, 0xcc, 0xdd}));
  }
  SECTION("Delete with two ESP SPIs") {
    const Bytes body = {3, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    const Message m = parse_ok(single_payload_message(PayloadType::DELETE, body));
    CHECK(m.payloads.at(0).body ==
          PayloadBody{DeletePayload{ProtocolId::ESP, 4, {{1, 2, 3, 4}, {5, 6, 7, 8}}}});
    CHECK(encode_ok(m) == single_payload_message(PayloadType::DELETE, body));
  }
  SECTION("CP reply with an address") {
    const Bytes body = cat({{2, 0, 0, 0, 0, 1, 0, 4}, ip("10.3.0.1")});
    const Message m = parse_ok(single_payload_message(PayloadType::CP, body));
    CHECK(m.payloads.at(0).body ==
          PayloadBody{ConfigPayload{CfgType::CFG_REPLY,
                                    {{CfgAttr::INTERNAL_IP4_ADDRESS, ip("10.3.0.1")}}}});
    CHECK(encode_ok(m) == single_payload_message(PayloadType::CP, body));
  }
  SECTION("SKF fragment 2 of 3") {
    const Bytes body = {0, 2, 0, 3, 0xee, 0xff};
    const Message m = parse_ok(single_payload_message(PayloadType::SKF, body));
    CHECK(m.payloads.at(0).body ==
          PayloadBody{EncryptedFragmentPayload{PayloadType::NONE, 2, 3, {0xee, 0xff}}});
    CHECK(encode_ok(m) == single_payload_message(PayloadType::SKF, body));
  }
}

TEST_CASE("encoding refuses payloads it cannot represent", "[codec][roundtrip][encode]") {
  Message m;
  SECTION("SK not last") {
    m.payloads.push_back(payload(PayloadType::SK, EncryptedPayload{PayloadType::IDi, {1, 2}}));
    m.payloads.push_back(make_nonce(counting(16)));
  }
  SECTION("SKF not last") {
    m.payloads.push_back(
        payload(PayloadType::SKF, EncryptedFragmentPayload{PayloadType::IDi, 1, 2, {1}}));
    m.payloads.push_back(make_notify(NotifyType::ME_MEDIATION));
  }
  SECTION("TS without selectors") {
    m.payloads.push_back(payload(PayloadType::TSi, TsPayload{}));
  }
  SECTION("TS address size not matching the type") {
    TrafficSelector s = selector("10.0.0.1", "10.0.0.2");
    s.type = TsType::IPV6_ADDR_RANGE;
    m.payloads.push_back(payload(PayloadType::TSr, TsPayload{{s}}));
  }
  SECTION("Delete SPI not of the declared size") {
    m.payloads.push_back(
        payload(PayloadType::DELETE, DeletePayload{ProtocolId::ESP, 4, {{1, 2, 3}}}));
  }
  SECTION("payload longer than 65535 bytes") {
    m.payloads.push_back(payload(PayloadType::VENDOR_ID, VendorIdPayload{filled(70000)}));
  }
  auto r = encode_message(m);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().detail.empty());
}

TEST_CASE("Message::find, find_notify and notifies", "[codec][message]") {
  Message m;
  m.payloads.push_back(make_notify(NotifyType::ME_ENDPOINT, {1}));
  m.payloads.push_back(make_id(PayloadType::IDp, IdType::ID_FQDN, {'b'}));
  m.payloads.push_back(make_notify(NotifyType::ME_CONNECTID, {1, 2, 3, 4}));
  m.payloads.push_back(make_notify(NotifyType::ME_ENDPOINT, {2}));

  REQUIRE(m.find(PayloadType::IDp) != nullptr);
  CHECK(m.find(PayloadType::IDp) == &m.payloads[1]);
  CHECK(m.find(PayloadType::SA) == nullptr);
  REQUIRE(m.find_notify(NotifyType::ME_ENDPOINT) != nullptr);
  CHECK(m.find_notify(NotifyType::ME_ENDPOINT)->data == Bytes{1});
  CHECK(m.find_notify(NotifyType::ME_CALLBACK) == nullptr);
  auto eps = m.notifies(NotifyType::ME_ENDPOINT);
  REQUIRE(eps.size() == 2);
  CHECK(eps[1]->data == Bytes{2});
  CHECK(m.notifies(NotifyType::COOKIE).empty());
}

}  // namespace
}  // namespace ikeme::ike::test

// strongSwan-style one-line message summaries.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

Message message(ExchangeType exchange, bool response, uint32_t message_id,
                std::vector<Payload> payloads) {
  Message m;
  m.header.exchange = exchange;
  m.header.flags = response ? kFlagResponse : kFlagInitiator;
  m.header.message_id = message_id;
  m.payloads = std::move(payloads);
  return m;
}

TEST_CASE("IKE_SA_INIT request with IKE-ME mediation", "[codec][summary]") {
  const Message m = message(
      ExchangeType::IKE_SA_INIT, false, 0,
      {payload(PayloadType::SA, sample_sa()), make_ke(DhGroup::CURVE_25519, counting(32)),
       make_nonce(counting(32)), make_notify(NotifyType::NAT_DETECTION_SOURCE_IP, counting(20)),
       make_notify(NotifyType::NAT_DETECTION_DESTINATION_IP, counting(20)),
       make_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED),
       make_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS, {0, 2, 0, 3}),
       make_notify(NotifyType::REDIRECT_SUPPORTED), make_notify(NotifyType::ME_MEDIATION)});
  const std::string expected =
      "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) "
      "N(REDIR_SUP) N(ME_MED) ]";
  CHECK(summarize(m) == expected);
  // ... and the same after a trip over the wire.
  CHECK(summarize(parse_ok(encode_ok(m))) == expected);
}

TEST_CASE("ME_CONNECT request and response", "[codec][summary]") {
  const Message request = message(
      ExchangeType::ME_CONNECT, false, 2,
      {make_notify(NotifyType::ME_CONNECTID, {1, 2, 3, 4}),
       make_notify(NotifyType::ME_CONNECTKEY, counting(16)), make_notify(NotifyType::ME_CALLBACK),
       me_endpoint_notify(kPriorityHost, EndpointType::HOST, "10.1.0.10", 4500),
       me_endpoint_notify(kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, "192.0.2.1",
                          1137),
       make_id(PayloadType::IDp, IdType::ID_FQDN, {'b', 'o', 'b'})});
  CHECK(summarize(request) ==
        "ME_CONNECT request 2 [ N(ME_CID) N(ME_CKEY) N(ME_CB) N(ME_EP) N(ME_EP) IDp ]");
  CHECK(summarize(message(ExchangeType::ME_CONNECT, true, 2, {})) == "ME_CONNECT response 2 [ ]");
  CHECK(summarize(message(ExchangeType::ME_CONNECT, false, 0,
                          {make_notify(NotifyType::ME_RESPONSE),
                           make_notify(NotifyType::ME_CONNECTAUTH, counting(20))})) ==
        "ME_CONNECT request 0 [ N(ME_R) N(ME_CAUTH) ]");
}

TEST_CASE("fragments, SK and every payload token", "[codec][summary]") {
  CHECK(summarize(message(ExchangeType::IKE_AUTH, true, 1,
                          {payload(PayloadType::SKF, EncryptedFragmentPayload{PayloadType::IDr, 1,
                                                                              2, counting(8)})})) ==
        "IKE_AUTH response 1 [ EF(1/2) ]");
  CHECK(summarize(message(ExchangeType::IKE_AUTH, true, 1,
                          {payload(PayloadType::SKF, EncryptedFragmentPayload{PayloadType::NONE, 2,
                                                                              2, counting(8)})})) ==
        "IKE_AUTH response 1 [ EF(2/2) ]");
  // sample_payloads() holds one of everything, in this order.
  CHECK(summarize_payloads(sample_payloads()) ==
        "[ SA KE IDi IDr IDp CERT CERTREQ AUTH No N(NATD_S_IP) N(REKEY_SA) D D V TSi TSr "
        "CPRQ(ADDR DNS ADDR6) CPRP(ADDR DNS) EAP/REQ/ID EAP/SUCC SK ]");
}

TEST_CASE("CP and EAP tokens", "[codec][summary]") {
  auto cp = [](CfgType type, std::vector<CfgAttr> attrs) {
    ConfigPayload c{type, {}};
    for (CfgAttr a : attrs) c.attributes.push_back({a, {}});
    return payload_token(payload(PayloadType::CP, c));
  };
  CHECK(cp(CfgType::CFG_REQUEST, {CfgAttr::INTERNAL_IP4_ADDRESS, CfgAttr::INTERNAL_IP4_DNS}) ==
        "CPRQ(ADDR DNS)");
  CHECK(cp(CfgType::CFG_REPLY, {CfgAttr::INTERNAL_IP6_ADDRESS, CfgAttr::INTERNAL_IP6_DNS}) ==
        "CPRP(ADDR6 DNS6)");
  CHECK(cp(CfgType::CFG_SET, {}) == "CPS");
  CHECK(cp(CfgType::CFG_ACK, {static_cast<CfgAttr>(0x7000)}) == "CPA(28672)");

  auto eap = [](Bytes msg) {
    return payload_token(payload(PayloadType::EAP, EapPayload{std::move(msg)}));
  };
  CHECK(eap({1, 1, 0, 5, 1}) == "EAP/REQ/ID");
  CHECK(eap({2, 1, 0, 6, 4, 0}) == "EAP/RES/MD5");
  CHECK(eap({1, 2, 0, 6, 26, 1}) == "EAP/REQ/MSCHAPV2");
  CHECK(eap({1, 2, 0, 6, 99, 1}) == "EAP/REQ/99");
  CHECK(eap({3, 1, 0, 4}) == "EAP/SUCC");
  CHECK(eap({4, 1, 0, 4}) == "EAP/FAIL");
}

TEST_CASE("unknown payloads, notifies and exchanges render as numbers", "[codec][summary]") {
  CHECK(payload_token(payload(static_cast<PayloadType>(1), UnknownPayload{})) == "UNKNOWN(1)");
  CHECK(payload_token(payload(static_cast<PayloadType>(200), UnknownPayload{{1, 2}})) ==
        "UNKNOWN(200)");
  CHECK(payload_token(make_notify(static_cast<NotifyType>(50000))) == "N(50000)");
  CHECK(summarize(message(static_cast<ExchangeType>(99), false, 7, {make_nonce(counting(16))})) ==
        "99 request 7 [ No ]");
  CHECK(summarize_payloads({}) == "[ ]");
}

TEST_CASE("the response flag decides request or response", "[codec][summary]") {
  Message m = message(ExchangeType::INFORMATIONAL, false, 3,
                      {payload(PayloadType::DELETE, DeletePayload{ProtocolId::IKE, 0, {}})});
  CHECK(summarize(m) == "INFORMATIONAL request 3 [ D ]");
  m.header.flags = kFlagInitiator | kFlagResponse;  // an initiator answering
  m.payloads.clear();
  CHECK(summarize(m) == "INFORMATIONAL response 3 [ ]");
  m.header.flags = 0;  // a responder asking
  CHECK(summarize(m) == "INFORMATIONAL request 3 [ ]");
}

TEST_CASE("connectivity check summary", "[codec][summary]") {
  Message m =
      message(ExchangeType::INFORMATIONAL, false, 2,
              {make_notify(NotifyType::ME_CONNECTID, {0xf1, 0xdd, 0x03, 0xae}),
               me_endpoint_notify(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, nullptr, 0),
               make_notify(NotifyType::ME_CONNECTAUTH, counting(20))});
  m.header.spi_i = 0;
  m.header.spi_r = 0;
  CHECK(summarize(m) == "INFORMATIONAL request 2 [ N(ME_CID) N(ME_EP) N(ME_CAUTH) ]");
}

}  // namespace
}  // namespace ikeme::ike::test

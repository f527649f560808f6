// Names of code points and per-group key-exchange sizes.

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

TEST_CASE("notify names, full and short", "[codec][constants]") {
  struct Case {
    NotifyType type;
    const char* full;
    const char* brief;
  };
  for (Case c :
       {Case{NotifyType::NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP", "NATD_S_IP"},
        Case{NotifyType::NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP", "NATD_D_IP"},
        Case{NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, "IKEV2_FRAGMENTATION_SUPPORTED",
             "FRAG_SUP"},
        Case{NotifyType::INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD", "INVAL_KE"},
        Case{NotifyType::ME_CONNECT_FAILED, "ME_CONNECT_FAILED", "ME_CONN_FAIL"},
        Case{NotifyType::ME_MEDIATION, "ME_MEDIATION", "ME_MED"},
        Case{NotifyType::ME_ENDPOINT, "ME_ENDPOINT", "ME_EP"},
        Case{NotifyType::ME_CALLBACK, "ME_CALLBACK", "ME_CB"},
        Case{NotifyType::ME_CONNECTID, "ME_CONNECTID", "ME_CID"},
        Case{NotifyType::ME_CONNECTKEY, "ME_CONNECTKEY", "ME_CKEY"},
        Case{NotifyType::ME_CONNECTAUTH, "ME_CONNECTAUTH", "ME_CAUTH"},
        Case{NotifyType::ME_RESPONSE, "ME_RESPONSE", "ME_R"},
        Case{NotifyType::MULTIPLE_AUTH_SUPPORTED, "MULTIPLE_AUTH_SUPPORTED", "MULT_AUTH"},
        Case{NotifyType::CHILDLESS_IKEV2_SUPPORTED, "CHILDLESS_IKEV2_SUPPORTED", "CHDLESS_SUP"}}) {
    CHECK(name(c.type) == c.full);
    CHECK(short_name(c.type) == c.brief);
  }
  CHECK(static_cast<uint16_t>(NotifyType::ME_ENDPOINT) == 40963);
  CHECK(static_cast<uint16_t>(NotifyType::ME_CONNECT_FAILED) == 8192);
}

TEST_CASE("unknown code points render as numbers", "[codec][constants]") {
  CHECK(name(static_cast<NotifyType>(12345)) == "12345");
  CHECK(short_name(static_cast<NotifyType>(12345)) == "12345");
  CHECK(name(kNoNotify) == "0");
  CHECK(name(static_cast<ExchangeType>(99)) == "99");
  CHECK(name(static_cast<PayloadType>(200)) == "200");
  CHECK(name(static_cast<DhGroup>(1234)) == "1234");
  CHECK(name(static_cast<ProtocolId>(9)) == "9");
  CHECK(name(static_cast<TransformType>(7)) == "7");
  CHECK(name(static_cast<IdType>(99)) == "99");
  CHECK(name(static_cast<AuthMethod>(99)) == "99");
  CHECK(transform_id_name(TransformType::PRF, 999) == "999");
  CHECK(transform_id_name(static_cast<TransformType>(9), 3) == "3");
}

TEST_CASE("names of exchanges, payloads and algorithms", "[codec][constants]") {
  CHECK(name(ExchangeType::ME_CONNECT) == "ME_CONNECT");
  CHECK(static_cast<uint8_t>(ExchangeType::ME_CONNECT) == 240);
  CHECK(name(ExchangeType::IKE_SA_INIT) == "IKE_SA_INIT");
  CHECK(name(ExchangeType::INFORMATIONAL) == "INFORMATIONAL");
  CHECK(name(PayloadType::NONCE) == "Nonce");
  CHECK(name(PayloadType::NOTIFY) == "Notify");
  CHECK(name(PayloadType::VENDOR_ID) == "Vendor ID");
  CHECK(name(PayloadType::IDp) == "IDp");
  CHECK(static_cast<uint8_t>(PayloadType::IDp) == 128);
  CHECK(name(PayloadType::SKF) == "SKF");
  CHECK(name(ProtocolId::ESP) == "ESP");
  CHECK(name(TransformType::DH) == "DH");
  CHECK(name(IdType::ID_RFC822_ADDR) == "ID_RFC822_ADDR");
  CHECK(name(AuthMethod::DIGITAL_SIGNATURE) == "DIGITAL_SIGNATURE");
  CHECK(name(DhGroup::CURVE_25519) == "CURVE_25519");
  CHECK(name(DhGroup::MODP_2048) == "MODP_2048");
  CHECK(transform_id_name(TransformType::ENCR, 20) == "AES_GCM_16");
  CHECK(transform_id_name(TransformType::PRF, 5) == "HMAC_SHA2_256");
  CHECK(transform_id_name(TransformType::INTEG, 12) == "HMAC_SHA2_256_128");
  CHECK(transform_id_name(TransformType::DH, 31) == "CURVE_25519");
  CHECK(transform_id_name(TransformType::ESN, 1) == "ESN");
  CHECK(name(ParseErrorKind::UnsupportedCriticalPayload) == "unsupported critical payload");
  CHECK(name(ParseErrorKind::BadPayloadOrder) == "bad payload order");
}

TEST_CASE("key exchange data lengths", "[codec][constants]") {
  CHECK(ke_data_length(DhGroup::MODP_2048) == 256);
  CHECK(ke_data_length(static_cast<DhGroup>(14)) == 256);
  CHECK(ke_data_length(static_cast<DhGroup>(19)) == 64);
  CHECK(ke_data_length(static_cast<DhGroup>(31)) == 32);
  CHECK(ke_data_length(DhGroup::ECP_384) == 96);
  CHECK(ke_data_length(DhGroup::ECP_521) == 132);
  CHECK(ke_data_length(DhGroup::CURVE_448) == 56);
  CHECK(ke_data_length(DhGroup::MODP_8192) == 1024);
  CHECK(ke_data_length(DhGroup::NONE) == 0);
  CHECK(ke_data_length(static_cast<DhGroup>(1234)) == 0);
}

TEST_CASE("error notify range", "[codec][constants]") {
  CHECK(is_error_notify(NotifyType::INVALID_SYNTAX));
  CHECK(is_error_notify(NotifyType::ME_CONNECT_FAILED));
  CHECK(is_error_notify(static_cast<NotifyType>(16383)));
  CHECK_FALSE(is_error_notify(NotifyType::INITIAL_CONTACT));
  CHECK_FALSE(is_error_notify(NotifyType::ME_ENDPOINT));
}

TEST_CASE("IpAddress parsing, ordering and endpoint strings", "[codec][constants]") {
  auto a = IpAddress::parse("192.0.2.1");
  auto b = IpAddress::parse("192.0.2.10");
  auto c = IpAddress::parse("2001:db8::1");
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(c.has_value());
  CHECK(a->is_v4());
  CHECK_FALSE(c->is_v4());
  CHECK(*a < *b);
  CHECK(*b < *c);  // IPv4 sorts before IPv6
  CHECK(endpoint_string(*a, 4500) == "192.0.2.1[4500]");
  CHECK(endpoint_string(*c, 500) == "2001:db8::1[500]");
  CHECK_FALSE(IpAddress::parse("192.0.2").has_value());
  CHECK_FALSE(IpAddress::parse("").has_value());
  CHECK_FALSE(IpAddress::from_bytes(Bytes{1, 2, 3}).has_value());
  CHECK(IpAddress::from_bytes(ip("2001:db8::1")) == c);
  CHECK(to_hex(Bytes{0x00, 0xab, 0xff}) == "00abff");
}

}  // namespace
}  // namespace ikeme::ike::test

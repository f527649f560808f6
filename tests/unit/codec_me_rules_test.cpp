// Exchange-dependent IKE-ME rules (me_rules.hpp): where family 0 endpoints may appear, and what an
// ME_CONNECT exchange may carry.

#include "ike/codec/me_rules.hpp"

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

Header header(ExchangeType exchange, uint8_t flags, uint64_t spi_i = 0x1111,
              uint64_t spi_r = 0x2222) {
  Header h;
  h.exchange = exchange;
  h.flags = flags;
  h.spi_i = spi_i;
  h.spi_r = spi_r;
  return h;
}

const Header kAuthRequest = header(ExchangeType::IKE_AUTH, kFlagInitiator);
const Header kAuthResponse = header(ExchangeType::IKE_AUTH, kFlagResponse);
const Header kCheckRequest = header(ExchangeType::INFORMATIONAL, kFlagInitiator, 0, 0);
const Header kCheckResponse = header(ExchangeType::INFORMATIONAL, kFlagResponse, 0, 0);
const Header kConnectRequest = header(ExchangeType::ME_CONNECT, kFlagInitiator);
const Header kConnectResponse = header(ExchangeType::ME_CONNECT, kFlagResponse);

Payload srflx_none() {
  return me_endpoint_notify(kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, nullptr, 0);
}
Payload prflx_none() {
  return me_endpoint_notify(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, nullptr, 0);
}
Payload host_v4() {
  return me_endpoint_notify(kPriorityHost, EndpointType::HOST, "10.1.0.10", 4500);
}
Payload idp() {
  return make_id(PayloadType::IDp, IdType::ID_FQDN, {'b', 'o', 'b'});
}

void check_refused(const Status<ParseError>& st) {
  REQUIRE_FALSE(st.ok());
  INFO(st.error().to_string());
  CHECK(st.error().kind == ParseErrorKind::BadValue);
  CHECK(st.error().answer == NotifyType::INVALID_SYNTAX);
  CHECK_FALSE(st.error().detail.empty());
}

TEST_CASE("is_connectivity_check", "[codec][me_rules]") {
  CHECK(is_connectivity_check(kCheckRequest));
  CHECK(is_connectivity_check(kCheckResponse));
  CHECK_FALSE(is_connectivity_check(header(ExchangeType::INFORMATIONAL, kFlagInitiator, 1, 0)));
  CHECK_FALSE(is_connectivity_check(header(ExchangeType::INFORMATIONAL, kFlagInitiator, 0, 1)));
  CHECK_FALSE(is_connectivity_check(header(ExchangeType::IKE_AUTH, kFlagInitiator, 0, 0)));
  CHECK_FALSE(is_connectivity_check(header(ExchangeType::ME_CONNECT, kFlagInitiator, 0, 0)));
}

TEST_CASE("family 0 SERVER_REFLEXIVE belongs in IKE_AUTH and refresh requests only",
          "[codec][me_rules]") {
  CHECK(check_me_rules(kAuthRequest, {srflx_none()}).ok());
  // ikeme's SRFLX refresh asks again in an INFORMATIONAL request on the mediation SA; the
  // answer carries an address.
  CHECK(check_me_rules(header(ExchangeType::INFORMATIONAL, kFlagInitiator), {srflx_none()}).ok());
  check_refused(check_me_rules(header(ExchangeType::INFORMATIONAL, kFlagResponse), {srflx_none()}));
  check_refused(
      check_me_rules(header(ExchangeType::INFORMATIONAL, kFlagInitiator), {prflx_none()}));
  check_refused(check_me_rules(kAuthResponse, {srflx_none()}));
  check_refused(check_me_rules(kConnectRequest, {srflx_none(), idp()}));
  check_refused(check_me_rules(kConnectResponse, {srflx_none()}));
  check_refused(check_me_rules(kCheckRequest, {srflx_none()}));
  check_refused(check_me_rules(header(ExchangeType::IKE_SA_INIT, kFlagInitiator), {srflx_none()}));
  // Other types without an address are refused in the IKE_AUTH request too.
  check_refused(check_me_rules(kAuthRequest, {prflx_none()}));
  check_refused(check_me_rules(
      kAuthRequest, {me_endpoint_notify(kPriorityHost, EndpointType::HOST, nullptr, 0)}));
  // The server's answer carries the observed address.
  CHECK(check_me_rules(kAuthResponse,
                       {me_endpoint_notify(kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE,
                                           "192.0.2.1", 1137)})
            .ok());
}

TEST_CASE("family 0 PEER_REFLEXIVE belongs in a connectivity check request only",
          "[codec][me_rules]") {
  const std::vector<Payload> request = {make_notify(NotifyType::ME_CONNECTID, {1, 2, 3, 4}),
                                        prflx_none(),
                                        make_notify(NotifyType::ME_CONNECTAUTH, counting(20))};
  CHECK(check_me_rules(kCheckRequest, request).ok());
  check_refused(check_me_rules(kCheckResponse, request));
  // A protected INFORMATIONAL (non-zero SPIs) is no check.
  check_refused(check_me_rules(header(ExchangeType::INFORMATIONAL, kFlagInitiator), request));
  // The check response carries the mapped address.
  CHECK(check_me_rules(kCheckResponse,
                       {me_endpoint_notify(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE,
                                           "192.0.2.2", 1268)})
            .ok());
}

TEST_CASE("endpoints with an address are fine in every exchange", "[codec][me_rules]") {
  for (const Header& h : {kAuthRequest, kAuthResponse, kCheckRequest, kCheckResponse,
                          header(ExchangeType::IKE_SA_INIT, 0)}) {
    CHECK(check_me_rules(h, {host_v4()}).ok());
  }
  CHECK(check_me_rules(kConnectRequest, {host_v4(), idp()}).ok());
}

TEST_CASE("a malformed ME_ENDPOINT reaches check_me_rules as an error", "[codec][me_rules]") {
  const Payload bad_type =
      make_notify(NotifyType::ME_ENDPOINT, cat({{0, 0, 0, 1, 1, 0, 0x11, 0x94}, ip("10.0.0.1")}));
  auto st = check_me_rules(kAuthRequest, {bad_type});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ParseErrorKind::BadValue);
  CHECK(st.error().payload == PayloadType::NOTIFY);
  const Payload short_data = make_notify(NotifyType::ME_ENDPOINT, {0, 0, 0});
  auto st2 = check_me_rules(kCheckRequest, {short_data});
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.error().kind == ParseErrorKind::Truncated);
}

TEST_CASE("ME_CONNECT request needs exactly one IDp", "[codec][me_rules]") {
  const Payload cid = make_notify(NotifyType::ME_CONNECTID, {1, 2, 3, 4});
  const Payload key = make_notify(NotifyType::ME_CONNECTKEY, counting(16));
  const Payload vid = payload(PayloadType::VENDOR_ID, VendorIdPayload{counting(16)});
  check_refused(check_me_rules(kConnectRequest, {cid, key, host_v4()}));
  check_refused(check_me_rules(kConnectRequest, {cid, key, host_v4(), idp(), idp()}));
  check_refused(check_me_rules(kConnectRequest, {}));
  CHECK(check_me_rules(kConnectRequest, {cid, key, host_v4(), idp()}).ok());
  // strongSwan puts IDp last, the draft first: any order is fine; Vendor IDs may come along.
  CHECK(check_me_rules(kConnectRequest, {idp(), cid, key, vid, host_v4()}).ok());
}

TEST_CASE("ME_CONNECT response carries notifies and Vendor IDs only", "[codec][me_rules]") {
  CHECK(check_me_rules(kConnectResponse, {}).ok());
  CHECK(check_me_rules(kConnectResponse, {make_notify(NotifyType::ME_CONNECT_FAILED)}).ok());
  CHECK(check_me_rules(kConnectResponse,
                       {payload(PayloadType::VENDOR_ID, VendorIdPayload{counting(16)})})
            .ok());
  check_refused(check_me_rules(kConnectResponse, {idp()}));
  check_refused(check_me_rules(kConnectResponse, {make_notify(NotifyType::INVALID_SYNTAX), idp()}));
}

TEST_CASE("ME_CONNECT may not carry other payloads", "[codec][me_rules]") {
  for (const Header& h : {kConnectRequest, kConnectResponse}) {
    check_refused(check_me_rules(h, {payload(PayloadType::SA, sample_sa()), idp()}));
    check_refused(check_me_rules(h, {make_nonce(counting(16)), idp()}));
    check_refused(check_me_rules(h, {make_id(PayloadType::IDi, IdType::ID_FQDN, {'a'}), idp()}));
    check_refused(check_me_rules(h, {make_ke(DhGroup::CURVE_25519, counting(32)), idp()}));
    check_refused(
        check_me_rules(h, {payload(static_cast<PayloadType>(1), UnknownPayload{{1}}), idp()}));
  }
}

TEST_CASE("encrypted ME_CONNECT is checked after decryption", "[codec][me_rules]") {
  const Payload sk = payload(PayloadType::SK, EncryptedPayload{PayloadType::NOTIFY, counting(64)});
  CHECK(check_me_rules(kConnectRequest, {sk}).ok());
  CHECK(check_me_rules(kConnectResponse, {sk}).ok());
  const Payload skf =
      payload(PayloadType::SKF, EncryptedFragmentPayload{PayloadType::NOTIFY, 1, 2, counting(64)});
  CHECK(check_me_rules(kConnectRequest, {skf}).ok());
}

TEST_CASE("other exchanges are not subject to the ME_CONNECT rules", "[codec][me_rules]") {
  CHECK(check_me_rules(kAuthRequest, {make_id(PayloadType::IDi, IdType::ID_FQDN, {'a'}), idp(),
                                      idp(), payload(PayloadType::SA, sample_sa())})
            .ok());
}

}  // namespace
}  // namespace ikeme::ike::test

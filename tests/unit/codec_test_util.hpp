#pragma once
// Helpers shared by the codec unit tests (tests/unit/codec_*.cpp): raw wire builders for malformed
// input, typed payload builders for round trips, and Catch2 printers for codec enums.

#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/message.hpp"
#include "ike/codec/summary.hpp"

namespace Catch {
template <>
struct StringMaker<ikeme::ike::ParseErrorKind> {
  static std::string convert(ikeme::ike::ParseErrorKind v) { return ikeme::ike::name(v); }
};
template <>
struct StringMaker<ikeme::ike::NotifyType> {
  static std::string convert(ikeme::ike::NotifyType v) {
    return v == ikeme::ike::kNoNotify ? std::string("(no notify)") : ikeme::ike::name(v);
  }
};
template <>
struct StringMaker<ikeme::ike::PayloadType> {
  static std::string convert(ikeme::ike::PayloadType v) { return ikeme::ike::name(v); }
};
template <>
struct StringMaker<ikeme::ike::Payload> {
  static std::string convert(const ikeme::ike::Payload& p) { return ikeme::ike::payload_token(p); }
};
}  // namespace Catch

namespace ikeme::ike::test {

// Offsets in a message built by raw_message(): the first payload's generic header, its body.
inline constexpr size_t kFirstPayload = kHeaderSize;
inline constexpr size_t kFirstBody = kHeaderSize + kGenericPayloadHeaderSize;

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes filled(size_t n, uint8_t value = 0xab) {
  return Bytes(n, value);
}

// n bytes counting up from `start`: distinct content makes misplaced bytes visible.
inline Bytes counting(size_t n, uint8_t start = 0) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(start + i);
  return out;
}

inline Bytes u16be(uint16_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
inline Bytes u32be(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// Raw bytes of an IP address given as text.
inline Bytes ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  auto b = a->bytes();
  return Bytes(b.begin(), b.end());
}

// A generic payload: next | flags | length | body. The length is computed unless given.
inline Bytes raw_payload(uint8_t next, const Bytes& body, uint8_t flags = 0) {
  return cat({{next, flags}, u16be(static_cast<uint16_t>(body.size() + 4)), body});
}
inline Bytes raw_payload_with_length(uint8_t next, uint8_t flags, uint16_t length,
                                     const Bytes& body) {
  return cat({{next, flags}, u16be(length), body});
}

inline Bytes raw_payload(PayloadType next, const Bytes& body, uint8_t flags = 0) {
  return raw_payload(static_cast<uint8_t>(next), body, flags);
}

struct RawHeader {
  uint64_t spi_i = 0x0102030405060708;
  uint64_t spi_r = 0;
  uint8_t version = 0x20;
  uint8_t exchange = 34;  // IKE_SA_INIT
  uint8_t flags = kFlagInitiator;
  uint32_t message_id = 0;
  int64_t length = -1;  // -1: the real datagram length
};

// A whole IKE datagram: the 28-byte header, then `chain` (first payload type `first`).
inline Bytes raw_message(uint8_t first, const Bytes& chain, RawHeader h = {}) {
  uint32_t length = h.length < 0 ? static_cast<uint32_t>(kHeaderSize + chain.size())
                                 : static_cast<uint32_t>(h.length);
  return cat({u32be(static_cast<uint32_t>(h.spi_i >> 32)),
              u32be(static_cast<uint32_t>(h.spi_i)),
              u32be(static_cast<uint32_t>(h.spi_r >> 32)),
              u32be(static_cast<uint32_t>(h.spi_r)),
              {first, h.version, h.exchange, h.flags},
              u32be(h.message_id),
              u32be(length),
              chain});
}
inline Bytes raw_message(PayloadType first, const Bytes& chain, RawHeader h = {}) {
  return raw_message(static_cast<uint8_t>(first), chain, h);
}

// A message holding a single payload of `type` whose body is `body`.
inline Bytes single_payload_message(PayloadType type, const Bytes& body, uint8_t flags = 0) {
  return raw_message(type, raw_payload(PayloadType::NONE, body, flags));
}

inline Message parse_ok(ByteView datagram) {
  auto r = parse_message(datagram);
  INFO((r.ok() ? std::string("ok") : r.error().to_string()));
  REQUIRE(r.ok());
  return std::move(r).value();
}

inline ParseError parse_fails(ByteView datagram) {
  auto r = parse_message(datagram);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// The error for a message whose only payload is `type` with `body`.
inline ParseError body_error(PayloadType type, const Bytes& body) {
  return parse_fails(single_payload_message(type, body));
}

inline Bytes encode_ok(const Message& m) {
  auto r = encode_message(m);
  INFO((r.ok() ? std::string("ok") : r.error().detail));
  REQUIRE(r.ok());
  return std::move(r).value();
}

// --- typed builders ---

inline Payload payload(PayloadType type, PayloadBody body, bool critical = false) {
  return Payload{type, critical, std::move(body)};
}

inline TransformAttribute tv_attr(uint16_t type, uint16_t value) {
  return TransformAttribute{type, true, value, {}};
}
inline TransformAttribute tlv_attr(uint16_t type, Bytes data) {
  return TransformAttribute{type, false, 0, std::move(data)};
}

inline Transform transform(TransformType type, uint16_t id,
                           std::vector<TransformAttribute> attrs = {}) {
  return Transform{type, id, std::move(attrs)};
}

inline TrafficSelector selector(const char* start, const char* end, uint16_t start_port = 0,
                                uint16_t end_port = 65535, uint8_t ip_protocol = 0) {
  TrafficSelector s;
  s.start_address = ip(start);
  s.end_address = ip(end);
  s.type = s.start_address.size() == 4 ? TsType::IPV4_ADDR_RANGE : TsType::IPV6_ADDR_RANGE;
  s.start_port = start_port;
  s.end_port = end_port;
  s.ip_protocol = ip_protocol;
  return s;
}

inline Payload me_endpoint_notify(uint32_t priority, EndpointType type, const char* address,
                                  uint16_t port) {
  MeEndpoint ep;
  ep.priority = priority;
  ep.type = type;
  ep.port = port;
  if (address) ep.address = IpAddress::parse(address);
  return make_notify(NotifyType::ME_ENDPOINT, encode_me_endpoint(ep));
}

// An SA with two IKE proposals (one with an IKE SPI) and one ESP proposal; transforms carry a TV
// key length and a TLV attribute.
inline SaPayload sample_sa() {
  SaPayload sa;
  sa.proposals.push_back(
      Proposal{1,
               ProtocolId::IKE,
               {},
               {transform(TransformType::ENCR, static_cast<uint16_t>(EncrId::AES_CBC),
                          {tv_attr(kAttrKeyLength, 256)}),
                transform(TransformType::PRF, static_cast<uint16_t>(PrfId::HMAC_SHA2_256)),
                transform(TransformType::INTEG, static_cast<uint16_t>(IntegId::HMAC_SHA2_256_128)),
                transform(TransformType::DH, static_cast<uint16_t>(DhGroup::CURVE_25519)),
                transform(TransformType::DH, static_cast<uint16_t>(DhGroup::MODP_2048))}});
  sa.proposals.push_back(
      Proposal{2,
               ProtocolId::IKE,
               counting(8, 0xa0),
               {transform(TransformType::ENCR, static_cast<uint16_t>(EncrId::AES_GCM_16),
                          {tv_attr(kAttrKeyLength, 128), tlv_attr(17, {0xde, 0xad, 0xbe})}),
                transform(TransformType::PRF, static_cast<uint16_t>(PrfId::HMAC_SHA2_384)),
                transform(TransformType::DH, static_cast<uint16_t>(DhGroup::ECP_256))}});
  sa.proposals.push_back(
      Proposal{3,
               ProtocolId::ESP,
               {0xc2, 0x96, 0x07, 0x79},
               {transform(TransformType::ENCR, static_cast<uint16_t>(EncrId::AES_GCM_16),
                          {tv_attr(kAttrKeyLength, 128)}),
                transform(TransformType::ESN, static_cast<uint16_t>(EsnId::NO_ESN))}});
  return sa;
}

// One payload of every kind that may share a message with SK (which comes last).
inline std::vector<Payload> sample_payloads() {
  std::vector<Payload> p;
  p.push_back(payload(PayloadType::SA, sample_sa()));
  p.push_back(make_ke(DhGroup::CURVE_25519, counting(32, 0x10)));
  p.push_back(make_id(PayloadType::IDi, IdType::ID_FQDN, {'a', 'l', 'i', 'c', 'e'}));
  p.push_back(make_id(PayloadType::IDr, IdType::ID_IPV4_ADDR, ip("192.0.2.100")));
  p.push_back(
      make_id(PayloadType::IDp, IdType::ID_RFC822_ADDR, {'b', '@', 'x', '.', 'o', 'r', 'g'}));
  p.push_back(payload(PayloadType::CERT, CertPayload{CertEncoding::X509_SIGNATURE, counting(40)}));
  p.push_back(
      payload(PayloadType::CERTREQ, CertPayload{CertEncoding::X509_SIGNATURE, counting(40, 7)}));
  p.push_back(payload(PayloadType::AUTH, AuthPayload{AuthMethod::SHARED_KEY_MIC, counting(32, 3)}));
  p.push_back(make_nonce(counting(32, 0x40)));
  p.push_back(make_notify(NotifyType::NAT_DETECTION_SOURCE_IP, counting(20, 0x60)));
  p.push_back(make_notify(NotifyType::REKEY_SA, {}, ProtocolId::ESP, {0x11, 0x22, 0x33, 0x44}));
  p.push_back(payload(PayloadType::DELETE, DeletePayload{ProtocolId::IKE, 0, {}}));
  p.push_back(payload(PayloadType::DELETE, DeletePayload{ProtocolId::ESP,
                                                         4,
                                                         {{0x01, 0x02, 0x03, 0x04},
                                                          {0x05, 0x06, 0x07, 0x08},
                                                          {0xc2, 0x96, 0x07, 0x79}}}));
  p.push_back(payload(PayloadType::VENDOR_ID, VendorIdPayload{counting(16, 0x88)}));
  p.push_back(payload(PayloadType::TSi,
                      TsPayload{{selector("10.1.0.0", "10.1.0.255", 0, 65535, 0),
                                 selector("2001:db8::", "2001:db8::ffff", 500, 4500, 17)}}));
  p.push_back(
      payload(PayloadType::TSr, TsPayload{{selector("10.2.0.10", "10.2.0.10", 65535, 0, 6)}}));
  p.push_back(payload(PayloadType::CP, ConfigPayload{CfgType::CFG_REQUEST,
                                                     {{CfgAttr::INTERNAL_IP4_ADDRESS, {}},
                                                      {CfgAttr::INTERNAL_IP4_DNS, {}},
                                                      {CfgAttr::INTERNAL_IP6_ADDRESS, {}}}}));
  p.push_back(
      payload(PayloadType::CP, ConfigPayload{CfgType::CFG_REPLY,
                                             {{CfgAttr::INTERNAL_IP4_ADDRESS, ip("10.3.0.1")},
                                              {CfgAttr::INTERNAL_IP4_DNS, ip("10.3.0.53")}}}));
  p.push_back(payload(PayloadType::EAP, EapPayload{{1, 7, 0, 5, 1}}));  // Request/Identity
  p.push_back(payload(PayloadType::EAP, EapPayload{{3, 7, 0, 4}}));     // Success
  p.push_back(payload(PayloadType::SK, EncryptedPayload{PayloadType::IDi, counting(48, 0xc0)}));
  return p;
}

inline Message sample_message() {
  Message m;
  m.header.spi_i = 0x1122334455667788;
  m.header.spi_r = 0x99aabbccddeeff00;
  m.header.exchange = ExchangeType::IKE_AUTH;
  m.header.flags = kFlagInitiator;
  m.header.message_id = 1;
  m.payloads = sample_payloads();
  return m;
}

}  // namespace ikeme::ike::test

#pragma once
// Typed IKEv2 payload bodies (RFC 7296 §3, RFC 7383 §2.5, IKE-ME). A Payload pairs the wire type
// with its body; bodies shared by several types (ID for IDi/IDr/IDp, TS for TSi/TSr, certificate
// data for CERT/CERTREQ) are told apart by Payload::type.

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"

namespace ikeme::ike {

struct TransformAttribute {
  uint16_t type = 0;
  bool tv = true;  // TV format (AF bit set): value holds it. TLV: data holds it.
  uint16_t value = 0;
  Bytes data;
  friend bool operator==(const TransformAttribute&, const TransformAttribute&) = default;
};

struct Transform {
  TransformType type = TransformType::ENCR;
  uint16_t id = 0;
  std::vector<TransformAttribute> attributes;
  // The Key Length attribute (RFC 7296 §3.3.5), if present.
  std::optional<uint16_t> key_length() const;
  friend bool operator==(const Transform&, const Transform&) = default;
};

struct Proposal {
  uint8_t number = 1;
  ProtocolId protocol = ProtocolId::IKE;
  Bytes spi;
  std::vector<Transform> transforms;
  friend bool operator==(const Proposal&, const Proposal&) = default;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  friend bool operator==(const SaPayload&, const SaPayload&) = default;
};

struct KePayload {
  DhGroup group = DhGroup::NONE;
  Bytes data;
  friend bool operator==(const KePayload&, const KePayload&) = default;
};

// IDi, IDr and IKE-ME's IDp.
struct IdPayload {
  IdType id_type = IdType::ID_FQDN;
  Bytes data;
  friend bool operator==(const IdPayload&, const IdPayload&) = default;
};

// CERT and CERTREQ share the layout: encoding, then data.
struct CertPayload {
  CertEncoding encoding = CertEncoding::X509_SIGNATURE;
  Bytes data;
  friend bool operator==(const CertPayload&, const CertPayload&) = default;
};

struct AuthPayload {
  AuthMethod method = AuthMethod::SHARED_KEY_MIC;
  Bytes data;
  friend bool operator==(const AuthPayload&, const AuthPayload&) = default;
};

struct NoncePayload {
  Bytes data;
  friend bool operator==(const NoncePayload&, const NoncePayload&) = default;
};

struct NotifyPayload {
  ProtocolId protocol = ProtocolId::NONE;
  Bytes spi;
  NotifyType type = NotifyType::INITIAL_CONTACT;
  Bytes data;
  friend bool operator==(const NotifyPayload&, const NotifyPayload&) = default;
};

struct DeletePayload {
  ProtocolId protocol = ProtocolId::IKE;
  uint8_t spi_size = 0;
  std::vector<Bytes> spis;
  friend bool operator==(const DeletePayload&, const DeletePayload&) = default;
};

struct VendorIdPayload {
  Bytes data;
  friend bool operator==(const VendorIdPayload&, const VendorIdPayload&) = default;
};

struct TrafficSelector {
  TsType type = TsType::IPV4_ADDR_RANGE;
  uint8_t ip_protocol = 0;  // 0 = any
  uint16_t start_port = 0;
  uint16_t end_port = 65535;
  Bytes start_address;  // 4 or 16 bytes, by type
  Bytes end_address;
  // RFC 7296 §3.13.1: start port 65535 with end port 0 means "OPAQUE".
  bool opaque_ports() const { return start_port == 65535 && end_port == 0; }
  friend bool operator==(const TrafficSelector&, const TrafficSelector&) = default;
};

// TSi and TSr.
struct TsPayload {
  std::vector<TrafficSelector> selectors;
  friend bool operator==(const TsPayload&, const TsPayload&) = default;
};

// SK (RFC 7296 §3.14): IV | ciphertext | ICV, opaque until the crypto layer takes it apart.
struct EncryptedPayload {
  PayloadType first_inner = PayloadType::NONE;  // Next Payload field: type of the first inner one
  Bytes data;
  friend bool operator==(const EncryptedPayload&, const EncryptedPayload&) = default;
};

// SKF (RFC 7383 §2.5).
struct EncryptedFragmentPayload {
  PayloadType first_inner = PayloadType::NONE;  // non-zero only in fragment 1
  uint16_t number = 1;
  uint16_t total = 1;
  Bytes data;
  friend bool operator==(const EncryptedFragmentPayload&,
                         const EncryptedFragmentPayload&) = default;
};

struct ConfigAttribute {
  CfgAttr type = CfgAttr::INTERNAL_IP4_ADDRESS;
  Bytes value;
  friend bool operator==(const ConfigAttribute&, const ConfigAttribute&) = default;
};

struct ConfigPayload {
  CfgType type = CfgType::CFG_REQUEST;
  std::vector<ConfigAttribute> attributes;
  friend bool operator==(const ConfigPayload&, const ConfigPayload&) = default;
};

// An EAP message (RFC 3748 §4), kept whole; the EAP method layer interprets it.
struct EapPayload {
  Bytes message;
  uint8_t code() const { return message.empty() ? 0 : message[0]; }
  // The method type of a Request/Response, 0 for Success/Failure.
  uint8_t method() const { return message.size() > 4 ? message[4] : 0; }
  friend bool operator==(const EapPayload&, const EapPayload&) = default;
};

// A payload type the codec does not know; kept so that logs can show it.
struct UnknownPayload {
  Bytes body;
  friend bool operator==(const UnknownPayload&, const UnknownPayload&) = default;
};

using PayloadBody =
    std::variant<SaPayload, KePayload, IdPayload, CertPayload, AuthPayload, NoncePayload,
                 NotifyPayload, DeletePayload, VendorIdPayload, TsPayload, EncryptedPayload,
                 EncryptedFragmentPayload, ConfigPayload, EapPayload, UnknownPayload>;

struct Payload {
  PayloadType type = PayloadType::NONE;
  bool critical = false;
  PayloadBody body;

  template <class T>
  const T* as() const {
    return std::get_if<T>(&body);
  }
  template <class T>
  T* as() {
    return std::get_if<T>(&body);
  }
  friend bool operator==(const Payload&, const Payload&) = default;
};

// Convenience constructors that pair the right type with its body.
Payload make_notify(NotifyType type, Bytes data = {}, ProtocolId protocol = ProtocolId::NONE,
                    Bytes spi = {});
Payload make_id(PayloadType which, IdType id_type, Bytes data);  // IDi, IDr or IDp
Payload make_nonce(Bytes data);
Payload make_ke(DhGroup group, Bytes data);

}  // namespace ikeme::ike

#pragma once
// Named IKEv2 (RFC 7296, IANA "IKEv2 Parameters") and IKE-ME code points. Enumerations are open:
// a value without a name is still representable, because peers send code points we do not know.

#include <cstdint>
#include <string>

namespace ikeme::ike {

enum class ExchangeType : uint8_t {
  IKE_SA_INIT = 34,
  IKE_AUTH = 35,
  CREATE_CHILD_SA = 36,
  INFORMATIONAL = 37,
  IKE_SESSION_RESUME = 38,
  IKE_INTERMEDIATE = 43,
  ME_CONNECT = 240,  // IKE-ME, strongSwan's private-use value
};

enum class PayloadType : uint8_t {
  NONE = 0,
  SA = 33,
  KE = 34,
  IDi = 35,
  IDr = 36,
  CERT = 37,
  CERTREQ = 38,
  AUTH = 39,
  NONCE = 40,
  NOTIFY = 41,
  DELETE = 42,
  VENDOR_ID = 43,
  TSi = 44,
  TSr = 45,
  SK = 46,
  CP = 47,
  EAP = 48,
  SKF = 53,   // RFC 7383
  IDp = 128,  // IKE-ME: ID of the peer to connect to
};

enum class ProtocolId : uint8_t { NONE = 0, IKE = 1, AH = 2, ESP = 3 };

enum class TransformType : uint8_t { ENCR = 1, PRF = 2, INTEG = 3, DH = 4, ESN = 5 };

enum class EncrId : uint16_t {
  DES = 2,
  TRIPLE_DES = 3,
  NULL_ENCR = 11,
  AES_CBC = 12,
  AES_CTR = 13,
  AES_CCM_8 = 14,
  AES_CCM_12 = 15,
  AES_CCM_16 = 16,
  AES_GCM_8 = 18,
  AES_GCM_12 = 19,
  AES_GCM_16 = 20,
  NULL_AUTH_AES_GMAC = 21,
  CAMELLIA_CBC = 23,
  CHACHA20_POLY1305 = 28,
};

enum class PrfId : uint16_t {
  HMAC_MD5 = 1,
  HMAC_SHA1 = 2,
  AES128_XCBC = 4,
  HMAC_SHA2_256 = 5,
  HMAC_SHA2_384 = 6,
  HMAC_SHA2_512 = 7,
  AES128_CMAC = 8,
};

enum class IntegId : uint16_t {
  NONE = 0,
  HMAC_MD5_96 = 1,
  HMAC_SHA1_96 = 2,
  AES_XCBC_96 = 5,
  HMAC_SHA1_160 = 7,
  AES_CMAC_96 = 8,
  HMAC_SHA2_256_128 = 12,
  HMAC_SHA2_384_192 = 13,
  HMAC_SHA2_512_256 = 14,
};

enum class DhGroup : uint16_t {
  NONE = 0,
  MODP_768 = 1,
  MODP_1024 = 2,
  MODP_1536 = 5,
  MODP_2048 = 14,
  MODP_3072 = 15,
  MODP_4096 = 16,
  MODP_6144 = 17,
  MODP_8192 = 18,
  ECP_256 = 19,
  ECP_384 = 20,
  ECP_521 = 21,
  MODP_1024_160 = 22,
  MODP_2048_224 = 23,
  MODP_2048_256 = 24,
  ECP_192 = 25,
  ECP_224 = 26,
  ECP_224_BP = 27,
  ECP_256_BP = 28,
  ECP_384_BP = 29,
  ECP_512_BP = 30,
  CURVE_25519 = 31,
  CURVE_448 = 32,
};

enum class EsnId : uint16_t { NO_ESN = 0, ESN = 1 };

// Transform attribute types (RFC 7296 §3.3.5).
inline constexpr uint16_t kAttrKeyLength = 14;

enum class IdType : uint8_t {
  ID_IPV4_ADDR = 1,
  ID_FQDN = 2,
  ID_RFC822_ADDR = 3,
  ID_IPV6_ADDR = 5,
  ID_DER_ASN1_DN = 9,
  ID_DER_ASN1_GN = 10,
  ID_KEY_ID = 11,
};

enum class AuthMethod : uint8_t {
  RSA_SIG = 1,
  SHARED_KEY_MIC = 2,
  DSS_SIG = 3,
  ECDSA_SHA256_P256 = 9,
  ECDSA_SHA384_P384 = 10,
  ECDSA_SHA512_P521 = 11,
  GENERIC_SECURE_PASSWORD = 12,
  NULL_AUTH = 13,
  DIGITAL_SIGNATURE = 14,
};

enum class CertEncoding : uint8_t {
  PKCS7_X509 = 1,
  PGP = 2,
  DNS_SIGNED_KEY = 3,
  X509_SIGNATURE = 4,
  KERBEROS_TOKEN = 6,
  CRL = 7,
  ARL = 8,
  SPKI = 9,
  X509_ATTRIBUTE = 10,
  RAW_RSA_KEY = 11,
  HASH_URL_X509_CERT = 12,
  HASH_URL_X509_BUNDLE = 13,
  OCSP_CONTENT = 14,
  RAW_PUBLIC_KEY = 15,
};

enum class TsType : uint8_t { IPV4_ADDR_RANGE = 7, IPV6_ADDR_RANGE = 8 };

enum class CfgType : uint8_t { CFG_REQUEST = 1, CFG_REPLY = 2, CFG_SET = 3, CFG_ACK = 4 };

enum class CfgAttr : uint16_t {
  INTERNAL_IP4_ADDRESS = 1,
  INTERNAL_IP4_NETMASK = 2,
  INTERNAL_IP4_DNS = 3,
  INTERNAL_IP4_NBNS = 4,
  INTERNAL_IP4_DHCP = 6,
  APPLICATION_VERSION = 7,
  INTERNAL_IP6_ADDRESS = 8,
  INTERNAL_IP6_DNS = 10,
  INTERNAL_IP6_DHCP = 12,
  INTERNAL_IP4_SUBNET = 13,
  SUPPORTED_ATTRIBUTES = 14,
  INTERNAL_IP6_SUBNET = 15,
  INTERNAL_DNS_DOMAIN = 25,
};

enum class NotifyType : uint16_t {
  // Error types (RFC 7296 §3.10.1 and later RFCs)
  UNSUPPORTED_CRITICAL_PAYLOAD = 1,
  INVALID_IKE_SPI = 4,
  INVALID_MAJOR_VERSION = 5,
  INVALID_SYNTAX = 7,
  INVALID_MESSAGE_ID = 9,
  INVALID_SPI = 11,
  NO_PROPOSAL_CHOSEN = 14,
  INVALID_KE_PAYLOAD = 17,
  AUTHENTICATION_FAILED = 24,
  SINGLE_PAIR_REQUIRED = 34,
  NO_ADDITIONAL_SAS = 35,
  INTERNAL_ADDRESS_FAILURE = 36,
  FAILED_CP_REQUIRED = 37,
  TS_UNACCEPTABLE = 38,
  INVALID_SELECTORS = 39,
  UNACCEPTABLE_ADDRESSES = 40,
  UNEXPECTED_NAT_DETECTED = 41,
  TEMPORARY_FAILURE = 43,
  CHILD_SA_NOT_FOUND = 44,
  ME_CONNECT_FAILED = 8192,  // IKE-ME
  // Status types
  INITIAL_CONTACT = 16384,
  SET_WINDOW_SIZE = 16385,
  ADDITIONAL_TS_POSSIBLE = 16386,
  IPCOMP_SUPPORTED = 16387,
  NAT_DETECTION_SOURCE_IP = 16388,
  NAT_DETECTION_DESTINATION_IP = 16389,
  COOKIE = 16390,
  USE_TRANSPORT_MODE = 16391,
  HTTP_CERT_LOOKUP_SUPPORTED = 16392,
  REKEY_SA = 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
  NON_FIRST_FRAGMENTS_ALSO = 16395,
  MOBIKE_SUPPORTED = 16396,
  ADDITIONAL_IP4_ADDRESS = 16397,
  ADDITIONAL_IP6_ADDRESS = 16398,
  NO_ADDITIONAL_ADDRESSES = 16399,
  UPDATE_SA_ADDRESSES = 16400,
  COOKIE2 = 16401,
  NO_NATS_ALLOWED = 16402,
  AUTH_LIFETIME = 16403,
  MULTIPLE_AUTH_SUPPORTED = 16404,
  ANOTHER_AUTH_FOLLOWS = 16405,
  REDIRECT_SUPPORTED = 16406,
  REDIRECT = 16407,
  REDIRECTED_FROM = 16408,
  EAP_ONLY_AUTHENTICATION = 16417,
  CHILDLESS_IKEV2_SUPPORTED = 16418,
  IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420,
  IKEV2_MESSAGE_ID_SYNC = 16422,
  IKEV2_FRAGMENTATION_SUPPORTED = 16430,
  SIGNATURE_HASH_ALGORITHMS = 16431,
  // IKE-ME (strongSwan private-use values)
  ME_MEDIATION = 40962,
  ME_ENDPOINT = 40963,
  ME_CALLBACK = 40964,
  ME_CONNECTID = 40965,
  ME_CONNECTKEY = 40966,
  ME_CONNECTAUTH = 40967,
  ME_RESPONSE = 40968,
};

// Error notify types are below 16384 (RFC 7296 §3.10.1).
inline bool is_error_notify(NotifyType t) {
  return static_cast<uint16_t>(t) < 16384;
}

// Full names ("IKE_SA_INIT", "NAT_DETECTION_SOURCE_IP"); unknown values render as their number.
std::string name(ExchangeType v);
std::string name(PayloadType v);
std::string name(ProtocolId v);
std::string name(TransformType v);
std::string name(NotifyType v);
std::string name(IdType v);
std::string name(AuthMethod v);
std::string name(DhGroup v);
std::string transform_id_name(TransformType type, uint16_t id);
// strongSwan's short notify names used in message summaries ("NATD_S_IP", "ME_EP").
std::string short_name(NotifyType v);

// Exact key-exchange data length for a DH group, or 0 when the group is unknown to the codec.
size_t ke_data_length(DhGroup group);

}  // namespace ikeme::ike

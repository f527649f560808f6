#include "ike/codec/constants.hpp"

#include <initializer_list>
#include <utility>

namespace ikeme::ike {
namespace {

struct Named {
  uint16_t value;
  const char* text;
};

std::string lookup(std::initializer_list<Named> table, uint16_t value) {
  for (const Named& n : table)
    if (n.value == value) return n.text;
  return std::to_string(value);
}

#define E(enum_type, id)                      \
  Named {                                     \
    static_cast<uint16_t>(enum_type::id), #id \
  }

}  // namespace

std::string name(ExchangeType v) {
  return lookup(
      {E(ExchangeType, IKE_SA_INIT), E(ExchangeType, IKE_AUTH), E(ExchangeType, CREATE_CHILD_SA),
       E(ExchangeType, INFORMATIONAL), E(ExchangeType, IKE_SESSION_RESUME),
       E(ExchangeType, IKE_INTERMEDIATE), E(ExchangeType, ME_CONNECT)},
      static_cast<uint8_t>(v));
}

std::string name(PayloadType v) {
  return lookup(
      {E(PayloadType, NONE), E(PayloadType, SA), E(PayloadType, KE), E(PayloadType, IDi),
       E(PayloadType, IDr), E(PayloadType, CERT), E(PayloadType, CERTREQ), E(PayloadType, AUTH),
       Named{40, "Nonce"}, Named{41, "Notify"}, Named{42, "Delete"}, Named{43, "Vendor ID"},
       E(PayloadType, TSi), E(PayloadType, TSr), E(PayloadType, SK), E(PayloadType, CP),
       E(PayloadType, EAP), E(PayloadType, SKF), E(PayloadType, IDp)},
      static_cast<uint8_t>(v));
}

std::string name(ProtocolId v) {
  return lookup({E(ProtocolId, NONE), E(ProtocolId, IKE), E(ProtocolId, AH), E(ProtocolId, ESP)},
                static_cast<uint8_t>(v));
}

std::string name(TransformType v) {
  return lookup({E(TransformType, ENCR), E(TransformType, PRF), E(TransformType, INTEG),
                 E(TransformType, DH), E(TransformType, ESN)},
                static_cast<uint8_t>(v));
}

std::string name(IdType v) {
  return lookup({E(IdType, ID_IPV4_ADDR), E(IdType, ID_FQDN), E(IdType, ID_RFC822_ADDR),
                 E(IdType, ID_IPV6_ADDR), E(IdType, ID_DER_ASN1_DN), E(IdType, ID_DER_ASN1_GN),
                 E(IdType, ID_KEY_ID)},
                static_cast<uint8_t>(v));
}

std::string name(AuthMethod v) {
  return lookup({E(AuthMethod, RSA_SIG), E(AuthMethod, SHARED_KEY_MIC), E(AuthMethod, DSS_SIG),
                 E(AuthMethod, ECDSA_SHA256_P256), E(AuthMethod, ECDSA_SHA384_P384),
                 E(AuthMethod, ECDSA_SHA512_P521), E(AuthMethod, GENERIC_SECURE_PASSWORD),
                 E(AuthMethod, NULL_AUTH), E(AuthMethod, DIGITAL_SIGNATURE)},
                static_cast<uint8_t>(v));
}

std::string name(DhGroup v) {
  return lookup({E(DhGroup, NONE),          E(DhGroup, MODP_768),      E(DhGroup, MODP_1024),
                 E(DhGroup, MODP_1536),     E(DhGroup, MODP_2048),     E(DhGroup, MODP_3072),
                 E(DhGroup, MODP_4096),     E(DhGroup, MODP_6144),     E(DhGroup, MODP_8192),
                 E(DhGroup, ECP_256),       E(DhGroup, ECP_384),       E(DhGroup, ECP_521),
                 E(DhGroup, MODP_1024_160), E(DhGroup, MODP_2048_224), E(DhGroup, MODP_2048_256),
                 E(DhGroup, ECP_192),       E(DhGroup, ECP_224),       E(DhGroup, ECP_224_BP),
                 E(DhGroup, ECP_256_BP),    E(DhGroup, ECP_384_BP),    E(DhGroup, ECP_512_BP),
                 E(DhGroup, CURVE_25519),   E(DhGroup, CURVE_448)},
                static_cast<uint16_t>(v));
}

std::string transform_id_name(TransformType type, uint16_t id) {
  switch (type) {
    case TransformType::ENCR:
      return lookup(
          {E(EncrId, DES), E(EncrId, TRIPLE_DES), E(EncrId, NULL_ENCR), E(EncrId, AES_CBC),
           E(EncrId, AES_CTR), E(EncrId, AES_CCM_8), E(EncrId, AES_CCM_12), E(EncrId, AES_CCM_16),
           E(EncrId, AES_GCM_8), E(EncrId, AES_GCM_12), E(EncrId, AES_GCM_16),
           E(EncrId, NULL_AUTH_AES_GMAC), E(EncrId, CAMELLIA_CBC), E(EncrId, CHACHA20_POLY1305)},
          id);
    case TransformType::PRF:
      return lookup(
          {E(PrfId, HMAC_MD5), E(PrfId, HMAC_SHA1), E(PrfId, AES128_XCBC), E(PrfId, HMAC_SHA2_256),
           E(PrfId, HMAC_SHA2_384), E(PrfId, HMAC_SHA2_512), E(PrfId, AES128_CMAC)},
          id);
    case TransformType::INTEG:
      return lookup({E(IntegId, NONE), E(IntegId, HMAC_MD5_96), E(IntegId, HMAC_SHA1_96),
                     E(IntegId, AES_XCBC_96), E(IntegId, HMAC_SHA1_160), E(IntegId, AES_CMAC_96),
                     E(IntegId, HMAC_SHA2_256_128), E(IntegId, HMAC_SHA2_384_192),
                     E(IntegId, HMAC_SHA2_512_256)},
                    id);
    case TransformType::DH:
      return name(static_cast<DhGroup>(id));
    case TransformType::ESN:
      return lookup({E(EsnId, NO_ESN), E(EsnId, ESN)}, id);
  }
  return std::to_string(id);
}

// One table gives both names: the full one from the enumerator, the short one as strongSwan logs
// it.
namespace {
struct NotifyNames {
  NotifyType type;
  const char* full;
  const char* brief;
};
#define NN(id, brief)          \
  NotifyNames {                \
    NotifyType::id, #id, brief \
  }
constexpr NotifyNames kNotifyNames[] = {
    NN(UNSUPPORTED_CRITICAL_PAYLOAD, "CRIT"),
    NN(INVALID_IKE_SPI, "INVAL_IKE_SPI"),
    NN(INVALID_MAJOR_VERSION, "INVAL_MAJOR"),
    NN(INVALID_SYNTAX, "INVAL_SYN"),
    NN(INVALID_MESSAGE_ID, "INVAL_MID"),
    NN(INVALID_SPI, "INVAL_SPI"),
    NN(NO_PROPOSAL_CHOSEN, "NO_PROP"),
    NN(INVALID_KE_PAYLOAD, "INVAL_KE"),
    NN(AUTHENTICATION_FAILED, "AUTH_FAILED"),
    NN(SINGLE_PAIR_REQUIRED, "SINGLE_PAIR"),
    NN(NO_ADDITIONAL_SAS, "NO_ADD_SAS"),
    NN(INTERNAL_ADDRESS_FAILURE, "INT_ADDR_FAIL"),
    NN(FAILED_CP_REQUIRED, "FAIL_CP_REQ"),
    NN(TS_UNACCEPTABLE, "TS_UNACCEPT"),
    NN(INVALID_SELECTORS, "INVAL_SEL"),
    NN(UNACCEPTABLE_ADDRESSES, "UNACCEPT_ADDR"),
    NN(UNEXPECTED_NAT_DETECTED, "UNEXPECT_NAT"),
    NN(TEMPORARY_FAILURE, "TEMP_FAIL"),
    NN(CHILD_SA_NOT_FOUND, "NO_CHILD_SA"),
    NN(ME_CONNECT_FAILED, "ME_CONN_FAIL"),
    NN(INITIAL_CONTACT, "INIT_CONTACT"),
    NN(SET_WINDOW_SIZE, "SET_WINSIZE"),
    NN(ADDITIONAL_TS_POSSIBLE, "ADD_TS_POSS"),
    NN(IPCOMP_SUPPORTED, "IPCOMP_SUP"),
    NN(NAT_DETECTION_SOURCE_IP, "NATD_S_IP"),
    NN(NAT_DETECTION_DESTINATION_IP, "NATD_D_IP"),
    NN(COOKIE, "COOKIE"),
    NN(USE_TRANSPORT_MODE, "USE_TRANSP"),
    NN(HTTP_CERT_LOOKUP_SUPPORTED, "HTTP_CERT_LOOK"),
    NN(REKEY_SA, "REKEY_SA"),
    NN(ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PAD_N"),
    NN(NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAG"),
    NN(MOBIKE_SUPPORTED, "MOBIKE_SUP"),
    NN(ADDITIONAL_IP4_ADDRESS, "ADD_4_ADDR"),
    NN(ADDITIONAL_IP6_ADDRESS, "ADD_6_ADDR"),
    NN(NO_ADDITIONAL_ADDRESSES, "NO_ADD_ADDR"),
    NN(UPDATE_SA_ADDRESSES, "UPD_SA_ADDR"),
    NN(COOKIE2, "COOKIE2"),
    NN(NO_NATS_ALLOWED, "NO_NATS"),
    NN(AUTH_LIFETIME, "AUTH_LFT"),
    NN(MULTIPLE_AUTH_SUPPORTED, "MULT_AUTH"),
    NN(ANOTHER_AUTH_FOLLOWS, "AUTH_FOLLOWS"),
    NN(REDIRECT_SUPPORTED, "REDIR_SUP"),
    NN(REDIRECT, "REDIR"),
    NN(REDIRECTED_FROM, "REDIR_FROM"),
    NN(EAP_ONLY_AUTHENTICATION, "EAP_ONLY"),
    NN(CHILDLESS_IKEV2_SUPPORTED, "CHDLESS_SUP"),
    NN(IKEV2_MESSAGE_ID_SYNC_SUPPORTED, "MSG_ID_SYN_SUP"),
    NN(IKEV2_MESSAGE_ID_SYNC, "MSG_ID_SYN"),
    NN(IKEV2_FRAGMENTATION_SUPPORTED, "FRAG_SUP"),
    NN(SIGNATURE_HASH_ALGORITHMS, "HASH_ALG"),
    NN(ME_MEDIATION, "ME_MED"),
    NN(ME_ENDPOINT, "ME_EP"),
    NN(ME_CALLBACK, "ME_CB"),
    NN(ME_CONNECTID, "ME_CID"),
    NN(ME_CONNECTKEY, "ME_CKEY"),
    NN(ME_CONNECTAUTH, "ME_CAUTH"),
    NN(ME_RESPONSE, "ME_R"),
};
#undef NN

const NotifyNames* find_notify(NotifyType v) {
  for (const NotifyNames& n : kNotifyNames)
    if (n.type == v) return &n;
  return nullptr;
}
}  // namespace

std::string name(NotifyType v) {
  const NotifyNames* n = find_notify(v);
  return n ? n->full : std::to_string(static_cast<uint16_t>(v));
}

std::string short_name(NotifyType v) {
  const NotifyNames* n = find_notify(v);
  return n ? n->brief : std::to_string(static_cast<uint16_t>(v));
}

size_t ke_data_length(DhGroup group) {
  switch (group) {
    case DhGroup::MODP_768:
      return 96;
    case DhGroup::MODP_1024:
      return 128;
    case DhGroup::MODP_1536:
      return 192;
    case DhGroup::MODP_2048:
      return 256;
    case DhGroup::MODP_3072:
      return 384;
    case DhGroup::MODP_4096:
      return 512;
    case DhGroup::MODP_6144:
      return 768;
    case DhGroup::MODP_8192:
      return 1024;
    case DhGroup::MODP_1024_160:
      return 128;
    case DhGroup::MODP_2048_224:
      return 256;
    case DhGroup::MODP_2048_256:
      return 256;
    case DhGroup::ECP_192:
      return 48;
    case DhGroup::ECP_224:
      return 56;
    case DhGroup::ECP_256:
      return 64;
    case DhGroup::ECP_384:
      return 96;
    case DhGroup::ECP_521:
      return 132;
    case DhGroup::ECP_224_BP:
      return 56;
    case DhGroup::ECP_256_BP:
      return 64;
    case DhGroup::ECP_384_BP:
      return 96;
    case DhGroup::ECP_512_BP:
      return 128;
    case DhGroup::CURVE_25519:
      return 32;
    case DhGroup::CURVE_448:
      return 56;
    case DhGroup::NONE:
      return 0;
  }
  return 0;
}

}  // namespace ikeme::ike

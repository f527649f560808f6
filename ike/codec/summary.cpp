#include "ike/codec/summary.hpp"

namespace ikeme::ike {
namespace {

std::string cfg_attr_short(CfgAttr a) {
  switch (a) {
    case CfgAttr::INTERNAL_IP4_ADDRESS:
      return "ADDR";
    case CfgAttr::INTERNAL_IP4_NETMASK:
      return "MASK";
    case CfgAttr::INTERNAL_IP4_DNS:
      return "DNS";
    case CfgAttr::INTERNAL_IP4_NBNS:
      return "NBNS";
    case CfgAttr::INTERNAL_IP4_DHCP:
      return "DHCP";
    case CfgAttr::APPLICATION_VERSION:
      return "VER";
    case CfgAttr::INTERNAL_IP6_ADDRESS:
      return "ADDR6";
    case CfgAttr::INTERNAL_IP6_DNS:
      return "DNS6";
    case CfgAttr::INTERNAL_IP6_DHCP:
      return "DHCP6";
    case CfgAttr::INTERNAL_IP4_SUBNET:
      return "SUBNET";
    case CfgAttr::SUPPORTED_ATTRIBUTES:
      return "SUP_ATTR";
    case CfgAttr::INTERNAL_IP6_SUBNET:
      return "SUBNET6";
    case CfgAttr::INTERNAL_DNS_DOMAIN:
      return "DNS_DOMAIN";
  }
  return std::to_string(static_cast<uint16_t>(a));
}

std::string cfg_token(const ConfigPayload& cp) {
  static const char* const kTypes[] = {"CP", "CPRQ", "CPRP", "CPS", "CPA"};
  auto t = static_cast<unsigned>(cp.type);
  std::string s = t <= 4 ? kTypes[t] : "CP";
  if (cp.attributes.empty()) return s;
  s += "(";
  for (size_t i = 0; i < cp.attributes.size(); ++i)
    s += (i ? " " : "") + cfg_attr_short(cp.attributes[i].type);
  return s + ")";
}

std::string eap_token(const EapPayload& eap) {
  static const char* const kCodes[] = {"", "REQ", "RES", "SUCC", "FAIL"};
  std::string s = "EAP/";
  s += eap.code() >= 1 && eap.code() <= 4 ? kCodes[eap.code()] : "?";
  if (eap.code() == 1 || eap.code() == 2) {
    switch (eap.method()) {
      case 1:
        s += "/ID";
        break;
      case 3:
        s += "/NAK";
        break;
      case 4:
        s += "/MD5";
        break;
      case 13:
        s += "/TLS";
        break;
      case 18:
        s += "/SIM";
        break;
      case 21:
        s += "/TTLS";
        break;
      case 23:
        s += "/AKA";
        break;
      case 25:
        s += "/PEAP";
        break;
      case 26:
        s += "/MSCHAPV2";
        break;
      default:
        s += "/" + std::to_string(eap.method());
    }
  }
  return s;
}

}  // namespace

std::string payload_token(const Payload& p) {
  switch (p.type) {
    case PayloadType::SA:
      return "SA";
    case PayloadType::KE:
      return "KE";
    case PayloadType::IDi:
      return "IDi";
    case PayloadType::IDr:
      return "IDr";
    case PayloadType::IDp:
      return "IDp";
    case PayloadType::CERT:
      return "CERT";
    case PayloadType::CERTREQ:
      return "CERTREQ";
    case PayloadType::AUTH:
      return "AUTH";
    case PayloadType::NONCE:
      return "No";
    case PayloadType::DELETE:
      return "D";
    case PayloadType::VENDOR_ID:
      return "V";
    case PayloadType::TSi:
      return "TSi";
    case PayloadType::TSr:
      return "TSr";
    case PayloadType::SK:
      return "SK";
    case PayloadType::NOTIFY:
      if (const auto* n = p.as<NotifyPayload>()) return "N(" + short_name(n->type) + ")";
      break;
    case PayloadType::SKF:
      if (const auto* f = p.as<EncryptedFragmentPayload>())
        return "EF(" + std::to_string(f->number) + "/" + std::to_string(f->total) + ")";
      break;
    case PayloadType::CP:
      if (const auto* cp = p.as<ConfigPayload>()) return cfg_token(*cp);
      break;
    case PayloadType::EAP:
      if (const auto* eap = p.as<EapPayload>()) return eap_token(*eap);
      break;
    case PayloadType::NONE:
      break;
  }
  return "UNKNOWN(" + std::to_string(static_cast<unsigned>(p.type)) + ")";
}

std::string summarize_payloads(const std::vector<Payload>& payloads) {
  std::string s = "[ ";
  for (const Payload& p : payloads) s += payload_token(p) + " ";
  return s + "]";
}

std::string summarize(const Message& m) {
  return name(m.header.exchange) + (m.header.response() ? " response " : " request ") +
         std::to_string(m.header.message_id) + " " + summarize_payloads(m.payloads);
}

}  // namespace ikeme::ike

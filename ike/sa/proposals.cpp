#include "ike/sa/proposals.hpp"

#include <algorithm>

#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/prf.hpp"

namespace ikeme::ike {
namespace {

struct Keyword {
  std::string_view word;
  TransformType type;
  uint16_t id;
  uint16_t key_bits;  // 0 = no Key Length attribute
};

constexpr uint16_t id(EncrId v) {
  return static_cast<uint16_t>(v);
}
constexpr uint16_t id(IntegId v) {
  return static_cast<uint16_t>(v);
}
constexpr uint16_t id(PrfId v) {
  return static_cast<uint16_t>(v);
}
constexpr uint16_t id(DhGroup v) {
  return static_cast<uint16_t>(v);
}

// strongSwan's keywords (a subset: the algorithms our crypto suite implements or may negotiate).
constexpr Keyword kKeywords[] = {
    {"aes128", TransformType::ENCR, id(EncrId::AES_CBC), 128},
    {"aes", TransformType::ENCR, id(EncrId::AES_CBC), 128},
    {"aes192", TransformType::ENCR, id(EncrId::AES_CBC), 192},
    {"aes256", TransformType::ENCR, id(EncrId::AES_CBC), 256},
    {"aes128gcm16", TransformType::ENCR, id(EncrId::AES_GCM_16), 128},
    {"aes128gcm128", TransformType::ENCR, id(EncrId::AES_GCM_16), 128},
    {"aes192gcm16", TransformType::ENCR, id(EncrId::AES_GCM_16), 192},
    {"aes192gcm128", TransformType::ENCR, id(EncrId::AES_GCM_16), 192},
    {"aes256gcm16", TransformType::ENCR, id(EncrId::AES_GCM_16), 256},
    {"aes256gcm128", TransformType::ENCR, id(EncrId::AES_GCM_16), 256},
    {"chacha20poly1305", TransformType::ENCR, id(EncrId::CHACHA20_POLY1305), 0},
    {"sha256", TransformType::INTEG, id(IntegId::HMAC_SHA2_256_128), 0},
    {"sha2_256", TransformType::INTEG, id(IntegId::HMAC_SHA2_256_128), 0},
    {"sha384", TransformType::INTEG, id(IntegId::HMAC_SHA2_384_192), 0},
    {"sha2_384", TransformType::INTEG, id(IntegId::HMAC_SHA2_384_192), 0},
    {"sha512", TransformType::INTEG, id(IntegId::HMAC_SHA2_512_256), 0},
    {"sha2_512", TransformType::INTEG, id(IntegId::HMAC_SHA2_512_256), 0},
    {"sha1", TransformType::INTEG, id(IntegId::HMAC_SHA1_96), 0},
    {"prfsha256", TransformType::PRF, id(PrfId::HMAC_SHA2_256), 0},
    {"prfsha384", TransformType::PRF, id(PrfId::HMAC_SHA2_384), 0},
    {"prfsha512", TransformType::PRF, id(PrfId::HMAC_SHA2_512), 0},
    {"prfsha1", TransformType::PRF, id(PrfId::HMAC_SHA1), 0},
    {"x25519", TransformType::DH, id(DhGroup::CURVE_25519), 0},
    {"curve25519", TransformType::DH, id(DhGroup::CURVE_25519), 0},
    {"ecp256", TransformType::DH, id(DhGroup::ECP_256), 0},
    {"ecp384", TransformType::DH, id(DhGroup::ECP_384), 0},
    {"ecp521", TransformType::DH, id(DhGroup::ECP_521), 0},
    {"modp2048", TransformType::DH, id(DhGroup::MODP_2048), 0},
    {"modp3072", TransformType::DH, id(DhGroup::MODP_3072), 0},
    {"modp4096", TransformType::DH, id(DhGroup::MODP_4096), 0},
    {"esn", TransformType::ESN, static_cast<uint16_t>(EsnId::ESN), 0},
    {"noesn", TransformType::ESN, static_cast<uint16_t>(EsnId::NO_ESN), 0},
};

// Whether the crypto suite can run an algorithm (strongSwan knows more keywords than we run;
// offering one we cannot key would fail the exchange later, so refuse it in the configuration).
bool implemented(const Keyword& k) {
  switch (k.type) {
    case TransformType::ENCR:
    case TransformType::ESN:
      return true;
    case TransformType::INTEG:
      return crypto::sk_key_sizes({EncrId::AES_CBC, 128, static_cast<IntegId>(k.id)}).ok();
    case TransformType::PRF:
      return crypto::Prf::make(static_cast<PrfId>(k.id)).ok();
    case TransformType::DH:
      return crypto::KeyExchange::is_supported(static_cast<DhGroup>(k.id));
  }
  return false;
}

Transform make_transform(const Keyword& k) {
  Transform t;
  t.type = k.type;
  t.id = k.id;
  if (k.key_bits) t.attributes.push_back(TransformAttribute{kAttrKeyLength, true, k.key_bits, {}});
  return t;
}

bool has_type(const Proposal& p, TransformType type) {
  return std::any_of(p.transforms.begin(), p.transforms.end(),
                     [&](const Transform& t) { return t.type == type; });
}

bool is_aead(uint16_t encr) {
  return encr == id(EncrId::AES_GCM_16) || encr == id(EncrId::AES_GCM_8) ||
         encr == id(EncrId::AES_GCM_12) || encr == id(EncrId::CHACHA20_POLY1305) ||
         encr == id(EncrId::AES_CCM_16);
}

// PRF matching an integrity algorithm, as strongSwan derives it when no prf keyword is given.
std::optional<uint16_t> prf_for_integ(uint16_t integ) {
  switch (static_cast<IntegId>(integ)) {
    case IntegId::HMAC_SHA2_256_128:
      return id(PrfId::HMAC_SHA2_256);
    case IntegId::HMAC_SHA2_384_192:
      return id(PrfId::HMAC_SHA2_384);
    case IntegId::HMAC_SHA2_512_256:
      return id(PrfId::HMAC_SHA2_512);
    case IntegId::HMAC_SHA1_96:
      return id(PrfId::HMAC_SHA1);
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Proposal, std::string> parse_proposal(std::string_view text, ProtocolId protocol) {
  Proposal p;
  p.protocol = protocol;
  if (text.empty()) return Unexpected{std::string("empty proposal")};
  size_t start = 0;
  while (start <= text.size()) {
    size_t dash = text.find('-', start);
    std::string_view word =
        text.substr(start, dash == std::string_view::npos ? text.npos : dash - start);
    auto it = std::find_if(std::begin(kKeywords), std::end(kKeywords),
                           [&](const Keyword& k) { return k.word == word; });
    if (it == std::end(kKeywords))
      return Unexpected{"unknown algorithm '" + std::string(word) + "' in proposal '" +
                        std::string(text) + "'"};
    if (!implemented(*it))
      return Unexpected{"algorithm '" + std::string(word) + "' in proposal '" + std::string(text) +
                        "' is not supported by ikeme's crypto suite"};
    bool duplicate = std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) {
      return t.type == it->type && t.id == it->id &&
             t.key_length() == make_transform(*it).key_length();
    });
    if (!duplicate) p.transforms.push_back(make_transform(*it));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  auto encr = transform_of(p, TransformType::ENCR);
  if (!encr)
    return Unexpected{"proposal '" + std::string(text) + "' names no encryption algorithm"};
  bool aead = is_aead(*encr);
  bool mixed = std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) {
    return t.type == TransformType::ENCR && is_aead(t.id) != aead;
  });
  if (mixed)
    return Unexpected{"proposal '" + std::string(text) + "' mixes AEAD and non-AEAD encryption"};
  if (aead && has_type(p, TransformType::INTEG))
    return Unexpected{"proposal '" + std::string(text) + "' adds integrity to an AEAD cipher"};
  if (!aead && !has_type(p, TransformType::INTEG))
    return Unexpected{"proposal '" + std::string(text) + "' needs an integrity algorithm"};
  if (protocol == ProtocolId::IKE) {
    if (has_type(p, TransformType::ESN))
      return Unexpected{"proposal '" + std::string(text) + "': ESN applies to ESP only"};
    if (!has_type(p, TransformType::DH))
      return Unexpected{"IKE proposal '" + std::string(text) + "' needs a key exchange group"};
    if (!has_type(p, TransformType::PRF)) {
      // Like strongSwan: derive the PRFs from the integrity algorithms, or for AEADs offer
      // the SHA-2 PRFs.
      std::vector<uint16_t> prfs;
      for (const Transform& t : p.transforms)
        if (t.type == TransformType::INTEG)
          if (auto prf = prf_for_integ(t.id)) prfs.push_back(*prf);
      if (aead)
        prfs = {id(PrfId::HMAC_SHA2_256), id(PrfId::HMAC_SHA2_384), id(PrfId::HMAC_SHA2_512)};
      for (uint16_t prf : prfs) p.transforms.push_back(Transform{TransformType::PRF, prf, {}});
    }
  } else {
    if (has_type(p, TransformType::PRF))
      return Unexpected{"ESP proposal '" + std::string(text) + "' cannot name a PRF"};
    if (!has_type(p, TransformType::ESN))
      p.transforms.push_back(
          Transform{TransformType::ESN, static_cast<uint16_t>(EsnId::NO_ESN), {}});
  }
  // Keep the wire order strongSwan uses: ENCR, INTEG, PRF, DH, ESN.
  std::stable_sort(p.transforms.begin(), p.transforms.end(),
                   [](const Transform& a, const Transform& b) {
                     auto rank = [](TransformType t) {
                       switch (t) {
                         case TransformType::ENCR:
                           return 0;
                         case TransformType::INTEG:
                           return 1;
                         case TransformType::PRF:
                           return 2;
                         case TransformType::DH:
                           return 3;
                         case TransformType::ESN:
                           return 4;
                       }
                       return 5;
                     };
                     return rank(a.type) < rank(b.type);
                   });
  return p;
}

std::optional<uint16_t> transform_of(const Proposal& p, TransformType type) {
  for (const Transform& t : p.transforms)
    if (t.type == type) return t.id;
  return std::nullopt;
}

Proposal without_dh(Proposal p) {
  p.transforms.erase(std::remove_if(p.transforms.begin(), p.transforms.end(),
                                    [](const Transform& t) { return t.type == TransformType::DH; }),
                     p.transforms.end());
  return p;
}

namespace {

// One transform per type that both proposals contain, taking `first`'s order of preference.
std::optional<Proposal> intersect(const Proposal& first, const Proposal& second) {
  if (first.protocol != second.protocol) return std::nullopt;
  Proposal out;
  out.protocol = first.protocol;
  for (TransformType type : {TransformType::ENCR, TransformType::INTEG, TransformType::PRF,
                             TransformType::DH, TransformType::ESN}) {
    bool in_first = has_type(first, type), in_second = has_type(second, type);
    // A type only one side lists makes them incompatible, except "INTEG NONE" and an absent
    // ESN/DH list that both mean "none".
    if (!in_first && !in_second) continue;
    if (in_first != in_second) {
      // The "none" values (INTEG NONE, DH NONE, NO_ESN) are all id 0. The listing side must
      // include it; the result carries it only if `second` (the peer's proposal) lists it, so
      // an answer has one transform of each type the peer included.
      if (type == TransformType::ENCR || type == TransformType::PRF) return std::nullopt;
      const Proposal& lister = in_first ? first : second;
      auto none = std::find_if(lister.transforms.begin(), lister.transforms.end(),
                               [&](const Transform& t) { return t.type == type && t.id == 0; });
      if (none == lister.transforms.end()) return std::nullopt;
      if (in_second) out.transforms.push_back(*none);
      continue;
    }
    const Transform* chosen = nullptr;
    for (const Transform& a : first.transforms) {
      if (a.type != type) continue;
      for (const Transform& b : second.transforms)
        if (b.type == type && a.id == b.id && a.attributes == b.attributes) chosen = &a;
      if (chosen) break;
    }
    if (!chosen) return std::nullopt;
    out.transforms.push_back(*chosen);
  }
  return out;
}

}  // namespace

std::optional<Proposal> select_proposal(const std::vector<Proposal>& configured,
                                        const std::vector<Proposal>& offered,
                                        bool prefer_configured) {
  const auto& outer = prefer_configured ? configured : offered;
  const auto& inner = prefer_configured ? offered : configured;
  for (const Proposal& a : outer) {
    for (const Proposal& b : inner) {
      const Proposal& mine = prefer_configured ? a : b;
      const Proposal& theirs = prefer_configured ? b : a;
      if (auto chosen = intersect(mine, theirs)) {
        chosen->number = theirs.number;
        chosen->spi = theirs.spi;
        return chosen;
      }
    }
  }
  return std::nullopt;
}

Result<IkeAlgorithms, std::string> ike_algorithms(const Proposal& p) {
  IkeAlgorithms a;
  auto encr = transform_of(p, TransformType::ENCR);
  auto prf = transform_of(p, TransformType::PRF);
  auto dh = transform_of(p, TransformType::DH);
  if (!encr || !prf || !dh) return Unexpected{std::string("IKE proposal lacks ENCR, PRF or DH")};
  a.sk.encr = static_cast<EncrId>(*encr);
  for (const Transform& t : p.transforms)
    if (t.type == TransformType::ENCR) a.sk.key_bits = t.key_length().value_or(256);
  a.sk.integ = static_cast<IntegId>(transform_of(p, TransformType::INTEG).value_or(0));
  a.prf = static_cast<PrfId>(*prf);
  a.dh = static_cast<DhGroup>(*dh);
  auto sizes = crypto::sk_key_sizes(a.sk);
  if (!sizes) return Unexpected{sizes.error().detail};
  return a;
}

Result<EspAlgorithms, std::string> esp_algorithms(const Proposal& p) {
  EspAlgorithms a;
  auto encr = transform_of(p, TransformType::ENCR);
  if (!encr) return Unexpected{std::string("ESP proposal lacks ENCR")};
  a.encr = static_cast<EncrId>(*encr);
  for (const Transform& t : p.transforms)
    if (t.type == TransformType::ENCR) a.key_bits = t.key_length().value_or(256);
  a.integ = static_cast<IntegId>(transform_of(p, TransformType::INTEG).value_or(0));
  a.esn = transform_of(p, TransformType::ESN).value_or(0) == static_cast<uint16_t>(EsnId::ESN);
  crypto::SkAlgorithm check{a.encr, a.key_bits, a.integ};
  if (auto sizes = crypto::sk_key_sizes(check); !sizes) return Unexpected{sizes.error().detail};
  return a;
}

std::string describe(const Proposal& p) {
  std::string s;
  for (const Transform& t : p.transforms) {
    if (!s.empty()) s += "/";
    if (t.type == TransformType::PRF) s += "PRF_";
    s += transform_id_name(t.type, t.id);
    if (auto kl = t.key_length()) s += "_" + std::to_string(*kl);
  }
  return s;
}

}  // namespace ikeme::ike

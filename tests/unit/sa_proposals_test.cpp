// Proposal strings, selection between configured and offered proposals, and the algorithms a
// selected proposal stands for (ike/sa/proposals).

#include <catch2/catch.hpp>

#include "ike/sa/proposals.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

Transform tf(TransformType type, uint16_t id, uint16_t key_bits = 0) {
  Transform t;
  t.type = type;
  t.id = id;
  if (key_bits) t.attributes.push_back(TransformAttribute{kAttrKeyLength, true, key_bits, {}});
  return t;
}
Transform encr(EncrId e, uint16_t key_bits = 0) {
  return tf(TransformType::ENCR, static_cast<uint16_t>(e), key_bits);
}
Transform integ(IntegId i) {
  return tf(TransformType::INTEG, static_cast<uint16_t>(i));
}
Transform prf(PrfId p) {
  return tf(TransformType::PRF, static_cast<uint16_t>(p));
}
Transform dh(DhGroup g) {
  return tf(TransformType::DH, static_cast<uint16_t>(g));
}
Transform esn(EsnId e) {
  return tf(TransformType::ESN, static_cast<uint16_t>(e));
}

Proposal ike_p(std::string_view text) {
  auto p = parse_proposal(text, ProtocolId::IKE);
  INFO(text);
  REQUIRE(p.ok());
  return *p;
}
Proposal esp_p(std::string_view text) {
  auto p = parse_proposal(text, ProtocolId::ESP);
  INFO(text);
  REQUIRE(p.ok());
  return *p;
}
std::string ike_error(std::string_view text) {
  auto p = parse_proposal(text, ProtocolId::IKE);
  INFO(text);
  REQUIRE_FALSE(p.ok());
  return p.error();
}
std::string esp_error(std::string_view text) {
  auto p = parse_proposal(text, ProtocolId::ESP);
  INFO(text);
  REQUIRE_FALSE(p.ok());
  return p.error();
}

Proposal numbered(Proposal p, uint8_t number, Bytes spi) {
  p.number = number;
  p.spi = std::move(spi);
  return p;
}

}  // namespace

// --- parse_proposal ---------------------------------------------------------------------------

TEST_CASE("proposals: a classic IKE proposal derives its PRF from the integrity algorithm",
          "[sa]") {
  Proposal p = ike_p("aes128-sha256-x25519");
  CHECK(p.protocol == ProtocolId::IKE);
  CHECK(p.number == 1);
  CHECK(p.spi.empty());
  CHECK(p.transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), integ(IntegId::HMAC_SHA2_256_128),
                               prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)});
  CHECK(describe(p) == "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519");
}

TEST_CASE("proposals: every encryption keyword maps to its transform and key length", "[sa]") {
  struct Case {
    const char* word;
    EncrId id;
    uint16_t key_bits;  // 0 = no Key Length attribute
    bool aead;
  };
  const Case c = GENERATE(
      Case{"aes128", EncrId::AES_CBC, 128, false}, Case{"aes", EncrId::AES_CBC, 128, false},
      Case{"aes192", EncrId::AES_CBC, 192, false}, Case{"aes256", EncrId::AES_CBC, 256, false},
      Case{"aes128gcm16", EncrId::AES_GCM_16, 128, true},
      Case{"aes128gcm128", EncrId::AES_GCM_16, 128, true},
      Case{"aes192gcm16", EncrId::AES_GCM_16, 192, true},
      Case{"aes192gcm128", EncrId::AES_GCM_16, 192, true},
      Case{"aes256gcm16", EncrId::AES_GCM_16, 256, true},
      Case{"aes256gcm128", EncrId::AES_GCM_16, 256, true},
      Case{"chacha20poly1305", EncrId::CHACHA20_POLY1305, 0, true});
  INFO(c.word);
  std::string text = std::string(c.word) + (c.aead ? "" : "-sha256");
  Proposal e = esp_p(text);
  REQUIRE(!e.transforms.empty());
  CHECK(e.transforms.front() == encr(c.id, c.key_bits));
  CHECK(e.transforms.front().key_length() ==
        (c.key_bits ? std::optional<uint16_t>(c.key_bits) : std::nullopt));
  Proposal i = ike_p(text + "-x25519");
  CHECK(i.transforms.front() == encr(c.id, c.key_bits));
}

TEST_CASE("proposals: every integrity keyword maps to its transform and derived PRF", "[sa]") {
  struct Case {
    const char* word;
    IntegId integ;
    PrfId prf;
  };
  const Case c = GENERATE(Case{"sha256", IntegId::HMAC_SHA2_256_128, PrfId::HMAC_SHA2_256},
                          Case{"sha2_256", IntegId::HMAC_SHA2_256_128, PrfId::HMAC_SHA2_256},
                          Case{"sha384", IntegId::HMAC_SHA2_384_192, PrfId::HMAC_SHA2_384},
                          Case{"sha2_384", IntegId::HMAC_SHA2_384_192, PrfId::HMAC_SHA2_384},
                          Case{"sha512", IntegId::HMAC_SHA2_512_256, PrfId::HMAC_SHA2_512},
                          Case{"sha2_512", IntegId::HMAC_SHA2_512_256, PrfId::HMAC_SHA2_512});
  INFO(c.word);
  Proposal p = ike_p(std::string("aes256-") + c.word + "-ecp256");
  CHECK(p.transforms == std::vector<Transform>{encr(EncrId::AES_CBC, 256), integ(c.integ),
                                               prf(c.prf), dh(DhGroup::ECP_256)});
  // ESP takes the integrity algorithm but derives no PRF.
  Proposal e = esp_p(std::string("aes256-") + c.word);
  CHECK(e.transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 256), integ(c.integ), esn(EsnId::NO_ESN)});
}

TEST_CASE("proposals: every PRF keyword replaces the derived PRFs", "[sa]") {
  struct Case {
    const char* word;
    PrfId prf;
  };
  const Case c =
      GENERATE(Case{"prfsha256", PrfId::HMAC_SHA2_256}, Case{"prfsha384", PrfId::HMAC_SHA2_384},
               Case{"prfsha512", PrfId::HMAC_SHA2_512});
  INFO(c.word);
  // With integrity: the explicit PRF is the only one, not the one sha256 would derive.
  Proposal p = ike_p(std::string("aes128-sha256-") + c.word + "-x25519");
  CHECK(p.transforms == std::vector<Transform>{encr(EncrId::AES_CBC, 128),
                                               integ(IntegId::HMAC_SHA2_256_128), prf(c.prf),
                                               dh(DhGroup::CURVE_25519)});
  // With an AEAD: the explicit PRF replaces the three SHA-2 defaults.
  Proposal a = ike_p(std::string("aes256gcm16-") + c.word + "-ecp384");
  CHECK(a.transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 256), prf(c.prf), dh(DhGroup::ECP_384)});
}

TEST_CASE("proposals: every key exchange keyword maps to its group", "[sa]") {
  struct Case {
    const char* word;
    DhGroup group;
  };
  const Case c =
      GENERATE(Case{"x25519", DhGroup::CURVE_25519}, Case{"curve25519", DhGroup::CURVE_25519},
               Case{"ecp256", DhGroup::ECP_256}, Case{"ecp384", DhGroup::ECP_384},
               Case{"modp2048", DhGroup::MODP_2048}, Case{"modp3072", DhGroup::MODP_3072});
  INFO(c.word);
  Proposal p = ike_p(std::string("aes128-sha256-") + c.word);
  REQUIRE(p.transforms.size() == 4);
  CHECK(p.transforms[3] == dh(c.group));
  CHECK(transform_of(p, TransformType::DH) == static_cast<uint16_t>(c.group));
  // ESP accepts a group (PFS for CREATE_CHILD_SA).
  Proposal e = esp_p(std::string("aes128gcm16-") + c.word);
  CHECK(e.transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), dh(c.group), esn(EsnId::NO_ESN)});
}

TEST_CASE("proposals: AEAD IKE proposals offer the three SHA-2 PRFs by default", "[sa]") {
  Proposal p = ike_p("aes256gcm16-ecp384");
  CHECK(p.transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 256),
                                               prf(PrfId::HMAC_SHA2_256), prf(PrfId::HMAC_SHA2_384),
                                               prf(PrfId::HMAC_SHA2_512), dh(DhGroup::ECP_384)});
  CHECK(describe(p) ==
        "AES_GCM_16_256/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/ECP_384");
  Proposal c = ike_p("chacha20poly1305-x25519");
  CHECK(c.transforms == std::vector<Transform>{encr(EncrId::CHACHA20_POLY1305),
                                               prf(PrfId::HMAC_SHA2_256), prf(PrfId::HMAC_SHA2_384),
                                               prf(PrfId::HMAC_SHA2_512),
                                               dh(DhGroup::CURVE_25519)});
  CHECK(describe(c) ==
        "CHACHA20_POLY1305/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/CURVE_25519");
}

TEST_CASE("proposals: several algorithms per type keep their order and derive PRFs in order",
          "[sa]") {
  Proposal p = ike_p("aes128-aes256-sha256-sha384-x25519-ecp256");
  CHECK(p.transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), encr(EncrId::AES_CBC, 256),
                               integ(IntegId::HMAC_SHA2_256_128), integ(IntegId::HMAC_SHA2_384_192),
                               prf(PrfId::HMAC_SHA2_256), prf(PrfId::HMAC_SHA2_384),
                               dh(DhGroup::CURVE_25519), dh(DhGroup::ECP_256)});
  CHECK(describe(p) ==
        "AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_256/"
        "PRF_HMAC_SHA2_384/"
        "CURVE_25519/ECP_256");
  // Each integrity algorithm contributes its own PRF.
  Proposal q = ike_p("aes128-sha256-sha512-x25519");
  CHECK(q.transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), integ(IntegId::HMAC_SHA2_256_128),
                               integ(IntegId::HMAC_SHA2_512_256), prf(PrfId::HMAC_SHA2_256),
                               prf(PrfId::HMAC_SHA2_512), dh(DhGroup::CURVE_25519)});
}

TEST_CASE("proposals: keywords in any order come out as ENCR, INTEG, PRF, DH, ESN", "[sa]") {
  CHECK(ike_p("x25519-prfsha384-sha256-aes192").transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 192), integ(IntegId::HMAC_SHA2_256_128),
                               prf(PrfId::HMAC_SHA2_384), dh(DhGroup::CURVE_25519)});
  CHECK(esp_p("esn-ecp256-sha384-aes256").transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 256), integ(IntegId::HMAC_SHA2_384_192),
                               dh(DhGroup::ECP_256), esn(EsnId::ESN)});
}

TEST_CASE("proposals: repeated keywords and aliases collapse to one transform", "[sa]") {
  CHECK(ike_p("aes128-aes-sha256-sha2_256-x25519-curve25519").transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), integ(IntegId::HMAC_SHA2_256_128),
                               prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)});
  CHECK(esp_p("aes128gcm16-aes128gcm128").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::NO_ESN)});
  // Same algorithm, different key lengths: both stay.
  CHECK(esp_p("aes128gcm16-aes256gcm16").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), encr(EncrId::AES_GCM_16, 256),
                               esn(EsnId::NO_ESN)});
}

TEST_CASE("proposals: ESP proposals default to NO_ESN and honour esn/noesn", "[sa]") {
  Proposal p = esp_p("aes128gcm16");
  CHECK(p.protocol == ProtocolId::ESP);
  CHECK(p.transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::NO_ESN)});
  CHECK(describe(p) == "AES_GCM_16_128/NO_ESN");
  CHECK(esp_p("aes128-sha256").transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), integ(IntegId::HMAC_SHA2_256_128),
                               esn(EsnId::NO_ESN)});
  CHECK(esp_p("aes128gcm16-esn").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::ESN)});
  CHECK(esp_p("aes128gcm16-noesn").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::NO_ESN)});
  CHECK(esp_p("aes128gcm16-esn-noesn").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::ESN), esn(EsnId::NO_ESN)});
  // No PRF is derived for ESP.
  CHECK_FALSE(transform_of(esp_p("aes256-sha512"), TransformType::PRF));
}

TEST_CASE("proposals: parse errors name the offending keyword or rule", "[sa]") {
  CHECK(ike_error("") == "empty proposal");
  CHECK(ike_error("aes128-sha257-x25519") ==
        "unknown algorithm 'sha257' in proposal 'aes128-sha257-x25519'");
  CHECK(esp_error("AES128-sha256") == "unknown algorithm 'AES128' in proposal 'AES128-sha256'");
  CHECK(esp_error("aes128gcm16-") == "unknown algorithm '' in proposal 'aes128gcm16-'");
  CHECK(esp_error("-aes128gcm16") == "unknown algorithm '' in proposal '-aes128gcm16'");
  CHECK(esp_error("aes128gcm16--esn") == "unknown algorithm '' in proposal 'aes128gcm16--esn'");
  CHECK(esp_error("aes128gcm16 ") == "unknown algorithm 'aes128gcm16 ' in proposal 'aes128gcm16 '");
  CHECK(ike_error("3des-sha256-modp2048") ==
        "unknown algorithm '3des' in proposal '3des-sha256-modp2048'");
  CHECK(ike_error("sha256-x25519") == "proposal 'sha256-x25519' names no encryption algorithm");
  CHECK(esp_error("esn") == "proposal 'esn' names no encryption algorithm");
}

TEST_CASE("proposals: AEAD and non-AEAD rules", "[sa]") {
  CHECK(ike_error("aes128-aes128gcm16-sha256-x25519") ==
        "proposal 'aes128-aes128gcm16-sha256-x25519' mixes AEAD and non-AEAD encryption");
  CHECK(esp_error("chacha20poly1305-aes256") ==
        "proposal 'chacha20poly1305-aes256' mixes AEAD and non-AEAD encryption");
  CHECK(ike_error("aes128gcm16-sha256-x25519") ==
        "proposal 'aes128gcm16-sha256-x25519' adds integrity to an AEAD cipher");
  CHECK(esp_error("chacha20poly1305-sha384") ==
        "proposal 'chacha20poly1305-sha384' adds integrity to an AEAD cipher");
  CHECK(ike_error("aes128-x25519") == "proposal 'aes128-x25519' needs an integrity algorithm");
  CHECK(esp_error("aes256") == "proposal 'aes256' needs an integrity algorithm");
  // Two AEADs together are fine.
  CHECK(esp_p("aes256gcm16-chacha20poly1305").transforms ==
        std::vector<Transform>{encr(EncrId::AES_GCM_16, 256), encr(EncrId::CHACHA20_POLY1305),
                               esn(EsnId::NO_ESN)});
}

TEST_CASE("proposals: IKE needs a group and no ESN, ESP takes no PRF", "[sa]") {
  CHECK(ike_error("aes128-sha256") == "IKE proposal 'aes128-sha256' needs a key exchange group");
  CHECK(ike_error("aes128gcm16-prfsha256") ==
        "IKE proposal 'aes128gcm16-prfsha256' needs a key exchange group");
  CHECK(ike_error("aes128-sha256-x25519-esn") ==
        "proposal 'aes128-sha256-x25519-esn': ESN applies to ESP only");
  CHECK(ike_error("aes128gcm16-x25519-noesn") ==
        "proposal 'aes128gcm16-x25519-noesn': ESN applies to ESP only");
  CHECK(esp_error("aes128gcm16-prfsha256") ==
        "ESP proposal 'aes128gcm16-prfsha256' cannot name a PRF");
  CHECK(esp_error("aes128-sha256-prfsha384") ==
        "ESP proposal 'aes128-sha256-prfsha384' cannot name a PRF");
}

// --- transform_of / without_dh ---------------------------------------------------------------

TEST_CASE("proposals: transform_of returns the first id of a type", "[sa]") {
  Proposal p = ike_p("aes256-aes128-sha384-sha256-ecp384-x25519");
  CHECK(transform_of(p, TransformType::ENCR) == static_cast<uint16_t>(EncrId::AES_CBC));
  CHECK(transform_of(p, TransformType::INTEG) == static_cast<uint16_t>(IntegId::HMAC_SHA2_384_192));
  CHECK(transform_of(p, TransformType::PRF) == static_cast<uint16_t>(PrfId::HMAC_SHA2_384));
  CHECK(transform_of(p, TransformType::DH) == static_cast<uint16_t>(DhGroup::ECP_384));
  CHECK_FALSE(transform_of(p, TransformType::ESN).has_value());
}

TEST_CASE("proposals: without_dh removes every group and nothing else", "[sa]") {
  Proposal p = numbered(esp_p("aes128gcm16-x25519-ecp256-esn"), 4, {1, 2, 3, 4});
  Proposal q = without_dh(p);
  CHECK(q.transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::ESN)});
  CHECK(q.number == 4);
  CHECK(q.spi == Bytes{1, 2, 3, 4});
  CHECK(q.protocol == ProtocolId::ESP);
  // Without groups it is unchanged.
  Proposal r = esp_p("aes128-sha256");
  CHECK(without_dh(r) == r);
}

// --- select_proposal -------------------------------------------------------------------------

TEST_CASE(
    "proposals: selection reduces to one transform per type and takes the peer's number "
    "and SPI",
    "[sa]") {
  std::vector<Proposal> configured{ike_p("aes128-aes256-sha256-sha384-x25519-ecp256")};
  std::vector<Proposal> offered{numbered(ike_p("aes256-aes128-sha384-sha256-ecp256-x25519"), 7,
                                         Bytes{1, 2, 3, 4, 5, 6, 7, 8})};
  auto s = select_proposal(configured, offered);
  REQUIRE(s);
  CHECK(s->protocol == ProtocolId::IKE);
  CHECK(s->number == 7);
  CHECK(s->spi == Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  // Within a proposal our (configured) order of preference wins.
  CHECK(s->transforms ==
        std::vector<Transform>{encr(EncrId::AES_CBC, 128), integ(IntegId::HMAC_SHA2_256_128),
                               prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)});
  CHECK(describe(*s) == "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519");
}

TEST_CASE("proposals: configured-first or offered-first preference between proposals", "[sa]") {
  Proposal strong = ike_p("aes256-sha384-ecp384");
  Proposal fast = ike_p("aes128gcm16-prfsha256-x25519");
  std::vector<Proposal> configured{strong, fast};
  std::vector<Proposal> offered{numbered(fast, 1, {0xaa}), numbered(strong, 2, {0xbb})};

  auto ours = select_proposal(configured, offered, true);
  REQUIRE(ours);
  CHECK(ours->number == 2);
  CHECK(ours->spi == Bytes{0xbb});
  CHECK(ours->transforms == strong.transforms);

  auto theirs = select_proposal(configured, offered, false);
  REQUIRE(theirs);
  CHECK(theirs->number == 1);
  CHECK(theirs->spi == Bytes{0xaa});
  CHECK(theirs->transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 128),
                                                     prf(PrfId::HMAC_SHA2_256),
                                                     dh(DhGroup::CURVE_25519)});
  // Default is configured-first.
  CHECK(select_proposal(configured, offered) == ours);
}

TEST_CASE("proposals: a configured proposal the peer lacks is skipped for a later one", "[sa]") {
  std::vector<Proposal> configured{ike_p("aes256-sha512-modp3072"), ike_p("aes128-sha256-x25519")};
  std::vector<Proposal> offered{numbered(ike_p("aes192-sha384-ecp384"), 1, {}),
                                numbered(ike_p("aes128-sha384-sha256-ecp256-x25519"), 2, {})};
  auto s = select_proposal(configured, offered);
  REQUIRE(s);
  CHECK(s->number == 2);
  CHECK(s->transforms == configured[1].transforms);
}

TEST_CASE("proposals: incompatible transform sets select nothing", "[sa]") {
  auto none = [](const char* mine, const char* theirs, ProtocolId proto = ProtocolId::IKE) {
    INFO(mine << " vs " << theirs);
    std::vector<Proposal> c{*parse_proposal(mine, proto)};
    std::vector<Proposal> o{*parse_proposal(theirs, proto)};
    CHECK_FALSE(select_proposal(c, o).has_value());
    CHECK_FALSE(select_proposal(c, o, false).has_value());
    CHECK_FALSE(select_proposal(o, c).has_value());
  };
  none("aes128-sha256-x25519", "aes128-sha256-ecp256");                      // DH
  none("aes128-sha256-x25519", "aes256-sha256-x25519");                      // key length
  none("aes128-sha256-x25519", "aes128-sha384-x25519");                      // INTEG (and PRF)
  none("aes128-sha256-prfsha256-x25519", "aes128-sha256-prfsha512-x25519");  // PRF
  none("aes128gcm16-x25519", "chacha20poly1305-x25519");                     // ENCR
  none("aes128gcm16-x25519", "aes128-sha256-x25519");                        // AEAD vs INTEG
  none("aes128gcm16-esn", "aes128gcm16", ProtocolId::ESP);                   // ESN
  none("aes128gcm16-x25519", "aes128gcm16", ProtocolId::ESP);                // DH on one side
  CHECK_FALSE(select_proposal({}, {ike_p("aes128-sha256-x25519")}).has_value());
  CHECK_FALSE(select_proposal({ike_p("aes128-sha256-x25519")}, {}).has_value());
}

TEST_CASE("proposals: IKE and ESP proposals never match each other", "[sa]") {
  Proposal i = ike_p("aes128gcm16-prfsha256-x25519");
  Proposal e = esp_p("aes128gcm16-x25519");
  e.transforms = i.transforms;  // same transforms, different protocol
  CHECK_FALSE(select_proposal({i}, {e}).has_value());
  CHECK_FALSE(select_proposal({e}, {i}).has_value());
  CHECK(select_proposal({e}, {e}).has_value());
}

TEST_CASE("proposals: key length attributes must match exactly", "[sa]") {
  std::vector<Proposal> configured{esp_p("aes128gcm16")};
  Proposal offered = esp_p("aes128gcm16");

  SECTION("identical attribute") {
    CHECK(select_proposal(configured, {offered}).has_value());
  }
  SECTION("other key length") {
    offered.transforms[0] = encr(EncrId::AES_GCM_16, 192);
    CHECK_FALSE(select_proposal(configured, {offered}).has_value());
  }
  SECTION("missing attribute") {
    offered.transforms[0] = encr(EncrId::AES_GCM_16);
    CHECK_FALSE(select_proposal(configured, {offered}).has_value());
  }
  SECTION("key length as a TLV attribute") {
    offered.transforms[0].attributes = {TransformAttribute{kAttrKeyLength, false, 0, {0, 128}}};
    CHECK_FALSE(select_proposal(configured, {offered}).has_value());
  }
  SECTION("an extra attribute") {
    offered.transforms[0].attributes.push_back(TransformAttribute{99, true, 1, {}});
    CHECK_FALSE(select_proposal(configured, {offered}).has_value());
  }
  SECTION("one of several offered key lengths matches") {
    offered = esp_p("aes256gcm16-aes192gcm16-aes128gcm16");
    auto s = select_proposal(configured, {offered});
    REQUIRE(s);
    CHECK(s->transforms ==
          std::vector<Transform>{encr(EncrId::AES_GCM_16, 128), esn(EsnId::NO_ESN)});
  }
}

TEST_CASE("proposals: the selected transforms come out in type order", "[sa]") {
  Proposal offered;
  offered.protocol = ProtocolId::ESP;
  offered.number = 3;
  offered.spi = {9, 9, 9, 9};
  offered.transforms = {esn(EsnId::ESN), esn(EsnId::NO_ESN), integ(IntegId::HMAC_SHA2_256_128),
                        encr(EncrId::AES_CBC, 128)};
  auto s = select_proposal({esp_p("aes128-sha256")}, {offered});
  REQUIRE(s);
  CHECK(s->number == 3);
  CHECK(s->spi == Bytes{9, 9, 9, 9});
  CHECK(s->transforms == std::vector<Transform>{encr(EncrId::AES_CBC, 128),
                                                integ(IntegId::HMAC_SHA2_256_128),
                                                esn(EsnId::NO_ESN)});
}

TEST_CASE("proposals: INTEG NONE, DH NONE and an absent ESN mean 'none'", "[sa]") {
  std::vector<Proposal> configured{esp_p("aes256gcm16")};

  SECTION("an AEAD offered with INTEG NONE is accepted, answering with INTEG NONE") {
    Proposal offered = numbered(esp_p("aes256gcm16"), 2, {1, 2, 3, 4});
    offered.transforms.insert(offered.transforms.begin() + 1, integ(IntegId::NONE));
    auto s = select_proposal(configured, {offered});
    REQUIRE(s);
    CHECK(s->number == 2);
    CHECK(s->transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 256),
                                                  integ(IntegId::NONE), esn(EsnId::NO_ESN)});
    CHECK(s->transforms.size() == offered.transforms.size());
    auto algs = esp_algorithms(*s);
    REQUIRE(algs);
    CHECK(algs->integ == IntegId::NONE);
  }
  SECTION("a real integrity algorithm with an AEAD is not") {
    Proposal offered = esp_p("aes256gcm16");
    offered.transforms.insert(offered.transforms.begin() + 1, integ(IntegId::HMAC_SHA2_256_128));
    CHECK_FALSE(select_proposal(configured, {offered}).has_value());
  }
  SECTION("DH NONE matches no group") {
    Proposal offered = esp_p("aes256gcm16");
    offered.transforms.insert(offered.transforms.begin() + 1, dh(DhGroup::NONE));
    auto s = select_proposal(configured, {offered});
    REQUIRE(s);
    CHECK(s->transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 256), dh(DhGroup::NONE),
                                                  esn(EsnId::NO_ESN)});
  }
  SECTION("an offer without ESN matches our NO_ESN, and the answer lists none") {
    Proposal offered = esp_p("aes256gcm16");
    offered.transforms.pop_back();
    auto s = select_proposal(configured, {offered});
    REQUIRE(s);
    CHECK(s->transforms == std::vector<Transform>{encr(EncrId::AES_GCM_16, 256)});
    auto algs = esp_algorithms(*s);
    REQUIRE(algs);
    CHECK_FALSE(algs->esn);
  }
  SECTION("but not our ESN-only proposal") {
    Proposal offered = esp_p("aes256gcm16");
    offered.transforms.pop_back();
    CHECK_FALSE(select_proposal({esp_p("aes256gcm16-esn")}, {offered}).has_value());
  }
  SECTION("an IKE offer without PRF never matches") {
    Proposal offered = ike_p("aes128gcm16-prfsha256-x25519");
    offered.transforms.erase(offered.transforms.begin() + 1);
    CHECK_FALSE(select_proposal({ike_p("aes128gcm16-prfsha256-x25519")}, {offered}).has_value());
  }
}

// --- ike_algorithms / esp_algorithms ---------------------------------------------------------

TEST_CASE("proposals: ike_algorithms of selected proposals", "[sa]") {
  auto algs_of = [](const char* text) {
    Proposal p = ike_p(text);
    auto s = select_proposal({p}, {p});
    REQUIRE(s);
    auto a = ike_algorithms(*s);
    REQUIRE(a);
    return *a;
  };
  IkeAlgorithms cbc = algs_of("aes256-sha384-ecp384");
  CHECK(cbc.sk.encr == EncrId::AES_CBC);
  CHECK(cbc.sk.key_bits == 256);
  CHECK(cbc.sk.integ == IntegId::HMAC_SHA2_384_192);
  CHECK(cbc.prf == PrfId::HMAC_SHA2_384);
  CHECK(cbc.dh == DhGroup::ECP_384);

  IkeAlgorithms gcm = algs_of("aes128gcm16-prfsha512-modp3072");
  CHECK(gcm.sk.encr == EncrId::AES_GCM_16);
  CHECK(gcm.sk.key_bits == 128);
  CHECK(gcm.sk.integ == IntegId::NONE);
  CHECK(gcm.prf == PrfId::HMAC_SHA2_512);
  CHECK(gcm.dh == DhGroup::MODP_3072);

  IkeAlgorithms chacha = algs_of("chacha20poly1305-x25519");
  CHECK(chacha.sk.encr == EncrId::CHACHA20_POLY1305);
  CHECK(chacha.sk.key_bits == 256);  // no Key Length attribute
  CHECK(chacha.sk.integ == IntegId::NONE);
  CHECK(chacha.prf == PrfId::HMAC_SHA2_256);  // first of the default PRFs
  CHECK(chacha.dh == DhGroup::CURVE_25519);
}

TEST_CASE("proposals: ike_algorithms errors", "[sa]") {
  auto error_of = [](const Proposal& p) {
    auto a = ike_algorithms(p);
    REQUIRE_FALSE(a.ok());
    return a.error();
  };
  Proposal no_dh = without_dh(ike_p("aes128-sha256-x25519"));
  CHECK(error_of(no_dh) == "IKE proposal lacks ENCR, PRF or DH");
  CHECK(error_of(esp_p("aes128-sha256")) == "IKE proposal lacks ENCR, PRF or DH");
  Proposal no_encr;
  no_encr.transforms = {prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)};
  CHECK(error_of(no_encr) == "IKE proposal lacks ENCR, PRF or DH");
  // Parsed, but the SK cipher has no such algorithm.
  Proposal sha1 = ike_p("aes128-sha256-x25519");
  sha1.transforms[1] = integ(IntegId::HMAC_SHA1_96);
  CHECK(error_of(sha1) == "integrity algorithm HMAC_SHA1_96 is not supported");
  Proposal ctr;
  ctr.transforms = {encr(EncrId::AES_CTR, 128), integ(IntegId::HMAC_SHA2_256_128),
                    prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)};
  CHECK(error_of(ctr) == "encryption algorithm AES_CTR is not supported");
  Proposal short_key;
  short_key.transforms = {encr(EncrId::AES_CBC, 64), integ(IntegId::HMAC_SHA2_256_128),
                          prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)};
  CHECK(error_of(short_key) == "AES-CBC key length 64");
  Proposal gcm_integ;
  gcm_integ.transforms = {encr(EncrId::AES_GCM_16, 128), integ(IntegId::HMAC_SHA2_256_128),
                          prf(PrfId::HMAC_SHA2_256), dh(DhGroup::CURVE_25519)};
  CHECK(error_of(gcm_integ) == "AES-GCM takes no integrity algorithm");
}

TEST_CASE("proposals: an ENCR without Key Length defaults to 256 bits", "[sa]") {
  Proposal p;
  p.transforms = {encr(EncrId::AES_CBC), integ(IntegId::HMAC_SHA2_512_256),
                  prf(PrfId::HMAC_SHA2_512), dh(DhGroup::ECP_521)};
  auto a = ike_algorithms(p);
  REQUIRE(a);
  CHECK(a->sk.key_bits == 256);
  CHECK(a->dh == DhGroup::ECP_521);
  Proposal e;
  e.protocol = ProtocolId::ESP;
  e.transforms = {encr(EncrId::AES_GCM_16), esn(EsnId::NO_ESN)};
  auto b = esp_algorithms(e);
  REQUIRE(b);
  CHECK(b->key_bits == 256);
}

TEST_CASE("proposals: esp_algorithms of selected proposals", "[sa]") {
  auto algs_of = [](const char* text) {
    Proposal p = esp_p(text);
    auto s = select_proposal({p}, {p});
    REQUIRE(s);
    auto a = esp_algorithms(*s);
    REQUIRE(a);
    return *a;
  };
  EspAlgorithms gcm = algs_of("aes192gcm16");
  CHECK(gcm.encr == EncrId::AES_GCM_16);
  CHECK(gcm.key_bits == 192);
  CHECK(gcm.integ == IntegId::NONE);
  CHECK_FALSE(gcm.esn);

  EspAlgorithms cbc = algs_of("aes256-sha512-esn");
  CHECK(cbc.encr == EncrId::AES_CBC);
  CHECK(cbc.key_bits == 256);
  CHECK(cbc.integ == IntegId::HMAC_SHA2_512_256);
  CHECK(cbc.esn);

  EspAlgorithms chacha = algs_of("chacha20poly1305-noesn");
  CHECK(chacha.encr == EncrId::CHACHA20_POLY1305);
  CHECK(chacha.key_bits == 256);
  CHECK_FALSE(chacha.esn);

  // Our ESN preference decides when the peer offers both.
  Proposal offered = esp_p("aes128gcm16-noesn-esn");
  auto s = select_proposal({esp_p("aes128gcm16-esn-noesn")}, {offered});
  REQUIRE(s);
  auto a = esp_algorithms(*s);
  REQUIRE(a);
  CHECK(a->esn);
}

TEST_CASE("proposals: esp_algorithms errors", "[sa]") {
  auto error_of = [](const Proposal& p) {
    auto a = esp_algorithms(p);
    REQUIRE_FALSE(a.ok());
    return a.error();
  };
  Proposal empty;
  empty.protocol = ProtocolId::ESP;
  CHECK(error_of(empty) == "ESP proposal lacks ENCR");
  Proposal sha1 = esp_p("aes128-sha256");
  sha1.transforms[1] = integ(IntegId::HMAC_SHA1_96);
  CHECK(error_of(sha1) == "integrity algorithm HMAC_SHA1_96 is not supported");
  Proposal gcm_integ = esp_p("aes128gcm16");
  gcm_integ.transforms.insert(gcm_integ.transforms.begin() + 1, integ(IntegId::HMAC_SHA2_256_128));
  CHECK(error_of(gcm_integ) == "AES-GCM takes no integrity algorithm");
  Proposal bad_len = esp_p("aes128gcm16");
  bad_len.transforms[0] = encr(EncrId::AES_GCM_16, 512);
  CHECK(error_of(bad_len) == "AES-GCM key length 512");
}

// --- describe --------------------------------------------------------------------------------

TEST_CASE("proposals: describe renders strongSwan's way", "[sa]") {
  CHECK(describe(Proposal{}) == "");
  CHECK(describe(esp_p("aes256-sha384-modp2048-esn")) ==
        "AES_CBC_256/HMAC_SHA2_384_192/MODP_2048/ESN");
  Proposal unknown;
  unknown.transforms = {tf(TransformType::ENCR, 1000, 64), tf(TransformType::PRF, 77),
                        integ(IntegId::NONE), dh(DhGroup::NONE)};
  CHECK(describe(unknown) == "1000_64/PRF_77/NONE/NONE");
}

TEST_CASE("proposals: strongSwan keywords our crypto suite cannot run are refused", "[sa]") {
  for (const char* text :
       {"aes128-sha1-x25519", "aes128-sha256-ecp521", "aes128-sha256-modp4096"}) {
    INFO(text);
    auto p = parse_proposal(text, ProtocolId::IKE);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().find("is not supported by ikeme's crypto suite") != std::string::npos);
  }
  auto e = parse_proposal("aes128-sha1", ProtocolId::ESP);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error() ==
        "algorithm 'sha1' in proposal 'aes128-sha1' is not supported by ikeme's crypto suite");
}

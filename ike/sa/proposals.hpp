#pragma once
// Proposals: strongSwan's proposal strings ("aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384",
// "aes128gcm16-x25519" for ESP), selection between offered and configured proposals, and the
// algorithms a selected proposal stands for.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/sk_cipher.hpp"

namespace ikeme::ike {

// Parses one proposal string for IKE or ESP. Errors name the offending keyword.
Result<Proposal, std::string> parse_proposal(std::string_view text, ProtocolId protocol);

// The first proposal of `preferred` (in order) that `other` also offers, reduced to one transform
// per type; its number and SPI come from `offered`, the proposal list received from the peer.
// `preferred` and `other` are the configured and offered lists in either order.
std::optional<Proposal> select_proposal(const std::vector<Proposal>& configured,
                                        const std::vector<Proposal>& offered,
                                        bool prefer_configured = true);

// Removes DH transforms (ESP proposals inside IKE_AUTH carry none: RFC 7296 §1.2).
Proposal without_dh(Proposal p);

// The first transform id of a type, if any.
std::optional<uint16_t> transform_of(const Proposal& p, TransformType type);

struct IkeAlgorithms {
  crypto::SkAlgorithm sk;
  PrfId prf = PrfId::HMAC_SHA2_256;
  DhGroup dh = DhGroup::CURVE_25519;
};
// For a selected (single-transform-per-type) IKE proposal.
Result<IkeAlgorithms, std::string> ike_algorithms(const Proposal& selected);

struct EspAlgorithms {
  EncrId encr = EncrId::AES_GCM_16;
  uint16_t key_bits = 128;
  IntegId integ = IntegId::NONE;
  bool esn = false;
};
Result<EspAlgorithms, std::string> esp_algorithms(const Proposal& selected);

// strongSwan's rendering, e.g. "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519".
std::string describe(const Proposal& p);

}  // namespace ikeme::ike

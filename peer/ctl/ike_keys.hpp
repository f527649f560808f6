#pragma once
// IKE SA keys for decrypting captures, in the CSV format of Wireshark's ikev2_decryption_table
// (which strongSwan users produce from charon's "ike = 4" logs):
//   SPIi,SPIr,SK_ei,SK_er,"encryption",SK_ai,SK_ar,"integrity"      (hex; '#' starts a comment)
// Encryption names: "AES-CBC-128 [RFC3602]" (also 192/256), "AES-GCM-128 with 16 octet ICV
// [RFC5282]" (also 192/256), "CHACHA20-POLY1305 [RFC7634]"; integrity: "HMAC_SHA2_256_128
// [RFC4868]" (also 384_192, 512_256) or "NONE [RFC4306]".

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "ike/codec/result.hpp"
#include "ike/crypto/sk_cipher.hpp"

namespace ikeme::ctl {

struct IkeSaKeys {
  std::unique_ptr<ike::crypto::SkCipher>
      initiator;  // protects messages the original initiator sends
  std::unique_ptr<ike::crypto::SkCipher> responder;
};

using KeyTable = std::map<std::pair<uint64_t, uint64_t>, IkeSaKeys>;

// Errors name the file and line: "keys.csv:3: SK_ai is not hex".
Result<KeyTable, std::string> load_ike_keys(const std::string& path);

}  // namespace ikeme::ctl

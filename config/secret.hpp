#pragma once
// strongSwan-style secret values (swanctl.conf secrets, PSKs, EAP passwords):
//   "0x" + hex     -> the bytes (':' separators allowed, as in "0x01:02:03")
//   "0s" + base64  -> the bytes
//   anything else  -> the UTF-8 bytes of the string itself
// The prefixes are lower-case only, as in strongSwan ("0X41" is the literal 4-character string).
// Stricter than strongSwan: an odd number of hex digits, a non-hex character, invalid base64 or an
// empty value after the prefix is an error instead of a silently different key.

#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "config/yaml_document.hpp"
#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::config {

// The error is a message without location; the keyed reader below adds file:line:column.
Result<Bytes, std::string> decode_secret(std::string_view text);

// Reads `key` of `map` as a required, non-empty secret.
Result<Bytes, ConfigError> required_secret(const YamlNode& map, std::string_view key);

}  // namespace ikeme::config

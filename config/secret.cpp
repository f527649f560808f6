#include "config/secret.hpp"

#include <mbedtls/base64.h>

#include <algorithm>

#include "config/yaml_fields.hpp"

namespace ikeme::config {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes, std::string> decode_hex(std::string_view hex) {
  Bytes out;
  int high = -1;  // the pending first nibble of a byte
  for (size_t i = 0; i < hex.size(); ++i) {
    if (hex[i] == ':') continue;
    const int v = hex_value(hex[i]);
    if (v < 0)
      return Unexpected{"invalid hex secret: character '" + std::string(1, hex[i]) +
                        "' at offset " + std::to_string(i + 2)};
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return Unexpected{std::string("invalid hex secret: odd number of hex digits")};
  if (out.empty()) return Unexpected{std::string("empty hex secret after '0x'")};
  return out;
}

Result<Bytes, std::string> decode_base64(std::string_view b64) {
  // mbedTLS 2.28 silently drops a trailing partial group ("Zm9vY" decodes to "foo"), so the
  // length check is ours: base64 comes in whole groups of 4 characters, line breaks aside.
  const size_t significant = static_cast<size_t>(std::count_if(
      b64.begin(), b64.end(), [](char c) { return c != ' ' && c != '\r' && c != '\n'; }));
  if (significant % 4 != 0)
    return Unexpected{"invalid base64 secret: " + std::to_string(significant) +
                      " characters is not a multiple of 4"};
  const auto* src = reinterpret_cast<const unsigned char*>(b64.data());
  size_t needed = 0;
  // A first call without a buffer validates the input and yields the decoded size.
  int rc = mbedtls_base64_decode(nullptr, 0, &needed, src, b64.size());
  if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER)
    return Unexpected{std::string("invalid base64 secret")};
  if (needed == 0) return Unexpected{std::string("empty base64 secret after '0s'")};
  Bytes out(needed);
  size_t written = 0;
  rc = mbedtls_base64_decode(out.data(), out.size(), &written, src, b64.size());
  if (rc != 0) return Unexpected{std::string("invalid base64 secret")};
  out.resize(written);
  return out;
}

}  // namespace

Result<Bytes, std::string> decode_secret(std::string_view text) {
  if (text.starts_with("0x")) return decode_hex(text.substr(2));
  if (text.starts_with("0s")) return decode_base64(text.substr(2));
  return Bytes(text.begin(), text.end());
}

Result<Bytes, ConfigError> required_secret(const YamlNode& map, std::string_view key) {
  auto value = required_value(map, key);
  if (!value) return Unexpected{value.error()};
  auto text = read_string(*value);
  if (!text) return Unexpected{text.error()};
  if (text->empty()) return Unexpected{value->error("must not be empty")};
  auto bytes = decode_secret(*text);
  if (!bytes) return Unexpected{value->error(bytes.error())};
  return std::move(*bytes);
}

}  // namespace ikeme::config

// strongSwan-style secret values: 0x hex, 0s base64, else the string's bytes.
#include <catch2/catch.hpp>

#include "config/secret.hpp"

using namespace ikeme::config;
using ikeme::Bytes;

TEST_CASE("config: secrets decode hex, base64 and plain text", "[config]") {
  CHECK(*decode_secret("0x00ff10Ab") == Bytes{0x00, 0xff, 0x10, 0xab});
  CHECK(*decode_secret("0x01:02:0a") == Bytes{0x01, 0x02, 0x0a});
  // RFC 4648 test vectors: "foobar", "fo", "f".
  CHECK(*decode_secret("0sZm9vYmFy") == Bytes{'f', 'o', 'o', 'b', 'a', 'r'});
  CHECK(*decode_secret("0sZm8=") == Bytes{'f', 'o'});
  CHECK(*decode_secret("0sZg==") == Bytes{'f'});
  CHECK(*decode_secret("secret") == Bytes{'s', 'e', 'c', 'r', 'e', 't'});
  // UTF-8 text is taken byte for byte: "ü" is C3 BC.
  CHECK(*decode_secret("\xc3\xbc") == Bytes{0xc3, 0xbc});
  // Upper-case prefixes are not prefixes, as in strongSwan.
  CHECK(*decode_secret("0X41") == Bytes{'0', 'X', '4', '1'});
  CHECK(*decode_secret("0S41") == Bytes{'0', 'S', '4', '1'});
  CHECK(decode_secret("")->empty());
}

TEST_CASE("config: malformed secrets are errors, not different keys", "[config]") {
  auto odd = decode_secret("0xabc");
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error() == "invalid hex secret: odd number of hex digits");

  auto nonhex = decode_secret("0x12zz");
  REQUIRE_FALSE(nonhex.ok());
  CHECK(nonhex.error() == "invalid hex secret: character 'z' at offset 4");

  auto empty_hex = decode_secret("0x");
  REQUIRE_FALSE(empty_hex.ok());
  CHECK(empty_hex.error() == "empty hex secret after '0x'");

  auto bad64 = decode_secret("0sZm9v!mFy");
  REQUIRE_FALSE(bad64.ok());
  CHECK(bad64.error() == "invalid base64 secret");

  // mbedTLS alone would decode this to "foo", dropping the trailing "Y".
  auto truncated64 = decode_secret("0sZm9vY");
  REQUIRE_FALSE(truncated64.ok());
  CHECK(truncated64.error() == "invalid base64 secret: 5 characters is not a multiple of 4");

  // Rejected by mbedTLS itself: three '=' in a group, and data after padding.
  for (const char* text : {"0sZ===", "0sZm=v"}) {
    auto r = decode_secret(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "invalid base64 secret");
  }

  // Line breaks inside the value are tolerated, as in PEM.
  CHECK(*decode_secret("0sZm9v\nYmFy") == Bytes{'f', 'o', 'o', 'b', 'a', 'r'});

  auto empty64 = decode_secret("0s");
  REQUIRE_FALSE(empty64.ok());
  CHECK(empty64.error() == "empty base64 secret after '0s'");
}

TEST_CASE("config: required_secret locates decode errors at the value", "[config]") {
  auto doc = load_yaml_string("psk: 0sZm9vYmFy\nbad: 0x123\nnone: ''\n", "s.yaml");
  REQUIRE(doc.ok());
  CHECK(*required_secret(doc->root, "psk") == Bytes{'f', 'o', 'o', 'b', 'a', 'r'});

  auto bad = required_secret(doc->root, "bad");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string() == "s.yaml:2:6: bad: invalid hex secret: odd number of hex digits");

  auto none = required_secret(doc->root, "none");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().to_string() == "s.yaml:3:7: none: must not be empty");

  auto missing = required_secret(doc->root, "eap");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().to_string() == "s.yaml:1:1: eap: required field is missing");
}

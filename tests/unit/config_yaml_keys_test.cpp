// Unknown and duplicate keys, with typo suggestions.
#include <catch2/catch.hpp>

#include <array>
#include <string_view>

#include "config/yaml_keys.hpp"

using namespace ikeme::config;

namespace {

YamlNode root(const char* text) {
  auto doc = load_yaml_string(text, "k.yaml");
  REQUIRE(doc.ok());
  return doc->root;
}

constexpr std::array<std::string_view, 5> kConnKeys = {"local_addrs", "remote_addrs", "version",
                                                       "port", "mobike"};

}  // namespace

TEST_CASE("config: edit distance counts adjacent transpositions as one edit", "[config]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("port", "port") == 0);
  CHECK(edit_distance("prot", "port") == 1);  // transposition
  CHECK(edit_distance("remote_adrs", "remote_addrs") == 1);
  CHECK(edit_distance("versoin", "version") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("ca", "abc") == 3);  // OSA, not full Damerau (which would give 2)
}

TEST_CASE("config: closest_key suggests only plausible typos", "[config]") {
  CHECK(closest_key("remote_adrs", kConnKeys) == std::optional<std::string_view>("remote_addrs"));
  CHECK(closest_key("prot", kConnKeys) == std::optional<std::string_view>("port"));
  CHECK(closest_key("mobik", kConnKeys) == std::optional<std::string_view>("mobike"));
  // Short keys get a tight bound: "pt" is 2 edits from "port", too far for a 2-letter key.
  CHECK_FALSE(closest_key("pt", kConnKeys).has_value());
  CHECK_FALSE(closest_key("certificates", kConnKeys).has_value());
  // Ties go to the first allowed key.
  constexpr std::array<std::string_view, 2> ab = {"ab", "ba"};
  CHECK(closest_key("aa", ab) == std::optional<std::string_view>("ab"));
}

TEST_CASE("config: check_keys accepts known keys in any order", "[config]") {
  CHECK(check_keys(root("port: 1\nversion: 2\n"), kConnKeys).ok());
  CHECK(check_keys(root(""), kConnKeys).ok());  // empty document: no keys at all
  CHECK(check_keys(root("a: 1\n"), {"a", "b"}).ok());
}

TEST_CASE("config: check_keys reports an unknown key at the key with a suggestion", "[config]") {
  auto s = check_keys(root("version: 2\n  # comment\nremote_adrs: 192.0.2.1\n"), kConnKeys);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().to_string() ==
        "k.yaml:3:1: remote_adrs: unknown key 'remote_adrs', did you mean 'remote_addrs'?");
}

TEST_CASE("config: check_keys lists the allowed keys when nothing is close", "[config]") {
  auto s = check_keys(root("conn:\n  zzz: 1\n"), {"conn"});
  REQUIRE(s.ok());
  auto doc = load_yaml_string("conn:\n  port: 1\n  zzz: 1\n", "k.yaml");
  REQUIRE(doc.ok());
  auto conn = doc->root.find("conn");
  REQUIRE(conn.ok());
  REQUIRE(conn->has_value());
  auto bad = check_keys(**conn, kConnKeys);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string() ==
        "k.yaml:3:3: conn.zzz: unknown key 'zzz'; allowed keys: local_addrs, remote_addrs, "
        "version, port, mobike");
  auto none = check_keys(**conn, std::span<const std::string_view>());
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "unknown key 'port'; no keys are allowed here");
  // A schema may accept keys it does not advertise: `listed` replaces the list in the message,
  // while every allowed key still passes and still serves as a "did you mean" target.
  const std::string_view listed[] = {"version", "port"};
  auto short_list = check_keys(**conn, kConnKeys, listed);
  REQUIRE_FALSE(short_list.ok());
  CHECK(short_list.error().message == "unknown key 'zzz'; allowed keys: version, port");
  auto hint = check_keys(root("mobik: no\n"), kConnKeys, listed);
  REQUIRE_FALSE(hint.ok());
  CHECK(hint.error().message == "unknown key 'mobik', did you mean 'mobike'?");
}

TEST_CASE("config: check_keys reports the second of two equal keys", "[config]") {
  auto s = check_keys(root("port: 1\nversion: 2\nport: 3\n"), kConnKeys);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().to_string() == "k.yaml:3:1: port: duplicate key 'port' (first at line 1)");
}

TEST_CASE("config: check_keys on a non-mapping is a shape error", "[config]") {
  auto s = check_keys(root("- a\n"), kConnKeys);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message == "expected a mapping, found a sequence");
}

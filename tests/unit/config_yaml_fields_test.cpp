// Typed field readers: values, and exact error positions/paths/messages.
#include <catch2/catch.hpp>

#include <string>

#include "config/yaml_fields.hpp"

using namespace ikeme::config;
using namespace std::chrono_literals;

namespace {

// The mapping under "conn" of a document whose first line is "conn:"; so a value at line L sits
// at line L of the text, and its column is 3 + key length + 2 for "  key: value".
YamlNode conn(const std::string& body) {
  auto doc = load_yaml_string("conn:\n" + body, "f.yaml");
  REQUIRE(doc.ok());
  auto c = doc->root.find("conn");
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  return **c;
}

}  // namespace

TEST_CASE("config: strings", "[config]") {
  YamlNode m = conn("  name: home\n  quoted: \"\"\n  number: 500\n  nested: {a: 1}\n  nul:\n");
  CHECK(*required_string(m, "name") == "home");
  CHECK(*required_string(m, "number") == "500");  // plain scalars are text
  CHECK(*optional_string(m, "quoted") == std::optional<std::string>(""));
  CHECK_FALSE(optional_string(m, "absent")->has_value());
  CHECK_FALSE(optional_string(m, "nul")->has_value());  // "key:" alone counts as absent

  auto empty = required_string(m, "quoted");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().to_string() == "f.yaml:3:11: conn.quoted: must not be empty");

  auto missing = required_string(m, "remote");
  REQUIRE_FALSE(missing.ok());
  // Reported at the mapping where the key belongs (its first key, line 2 column 3).
  CHECK(missing.error().to_string() == "f.yaml:2:3: conn.remote: required field is missing");

  auto nul = required_string(m, "nul");
  REQUIRE_FALSE(nul.ok());
  CHECK(nul.error().to_string() == "f.yaml:6:3: conn.nul: required field has no value");

  auto nested = optional_string(m, "nested");
  REQUIRE_FALSE(nested.ok());
  CHECK(nested.error().to_string() ==
        "f.yaml:5:11: conn.nested: expected a string, found a mapping");
}

TEST_CASE("config: integers in a range", "[config]") {
  YamlNode m = conn(
      "  port: 4500\n"
      "  big: 70000\n"
      "  neg: -5\n"
      "  text: 45x\n"
      "  plus: +5\n"
      "  huge: 99999999999999999999\n"
      "  list: [1]\n");
  CHECK(*required_integer(m, "port", 1, 65535) == 4500);
  CHECK(*required_integer(m, "neg", -10, 10) == -5);
  CHECK(*optional_integer(m, "port", 4500, 4500) == std::optional<int64_t>(4500));
  CHECK_FALSE(optional_integer(m, "absent", 1, 2)->has_value());

  auto big = required_integer(m, "big", 1, 65535);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().to_string() == "f.yaml:3:8: conn.big: value 70000 is out of range 1..65535");

  auto below = required_integer(m, "neg", 0, 10);
  REQUIRE_FALSE(below.ok());
  CHECK(below.error().message == "value -5 is out of range 0..10");

  auto text = optional_integer(m, "text", 0, 100);
  REQUIRE_FALSE(text.ok());
  CHECK(text.error().to_string() == "f.yaml:5:9: conn.text: expected an integer, got '45x'");

  auto plus = required_integer(m, "plus", 0, 10);
  REQUIRE_FALSE(plus.ok());
  CHECK(plus.error().message == "expected an integer, got '+5'");

  // Too large for int64 is still "out of range", not "not an integer".
  auto huge = required_integer(m, "huge", 0, 10);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().message == "value 99999999999999999999 is out of range 0..10");

  auto list = required_integer(m, "list", 0, 10);
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().to_string() == "f.yaml:8:9: conn.list: expected an integer, found a sequence");
}

TEST_CASE("config: booleans", "[config]") {
  YamlNode m =
      conn("  a: yes\n  b: No\n  c: TRUE\n  d: off\n  e: On\n  f: false\n  g: maybe\n  h: 1\n");
  CHECK(*required_bool(m, "a") == true);
  CHECK(*required_bool(m, "b") == false);
  CHECK(*required_bool(m, "c") == true);
  CHECK(*required_bool(m, "d") == false);
  CHECK(*optional_bool(m, "e") == std::optional<bool>(true));
  CHECK(*optional_bool(m, "f") == std::optional<bool>(false));
  CHECK_FALSE(optional_bool(m, "absent")->has_value());

  auto g = optional_bool(m, "g");
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().to_string() ==
        "f.yaml:8:6: conn.g: expected a boolean (true/false, yes/no, on/off), got 'maybe'");
  // Numbers are not booleans: "1" may well be a mistyped port or count.
  CHECK_FALSE(required_bool(m, "h").ok());
}

TEST_CASE("config: durations", "[config]") {
  YamlNode m = conn(
      "  a: 30s\n  b: 5m\n  c: 1h\n  d: 2d\n  e: 45\n  f: 0\n"
      "  g: 5 min\n  h: -3s\n  i: h\n  j: 1.5h\n  k: 2147483647\n  l: 24856d\n"
      "  m: 99999999999999999999s\n");
  CHECK(*required_duration(m, "a") == 30s);
  CHECK(*required_duration(m, "b") == 300s);
  CHECK(*required_duration(m, "c") == 3600s);
  CHECK(*required_duration(m, "d") == 172800s);
  CHECK(*required_duration(m, "e") == 45s);
  CHECK(*optional_duration(m, "f") == std::optional<std::chrono::seconds>(0s));
  CHECK(*required_duration(m, "k") == std::chrono::seconds(kMaxDurationSeconds));
  CHECK_FALSE(optional_duration(m, "absent")->has_value());

  auto g = required_duration(m, "g");
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().to_string() ==
        "f.yaml:8:6: conn.g: expected a duration like 30s, 5m, 1h, 2d or plain seconds, got '5 "
        "min'");
  for (const char* key : {"h", "i", "j"}) {
    auto r = required_duration(m, key);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("expected a duration like", 0) == 0);
  }
  // 24856 days = 2147558400 s, just above the 2^31-1 cap.
  auto l = required_duration(m, "l");
  REQUIRE_FALSE(l.ok());
  CHECK(l.error().message == "duration '24856d' exceeds the maximum of 2147483647 seconds");
  auto big = required_duration(m, "m");
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message ==
        "duration '99999999999999999999s' exceeds the maximum of 2147483647 seconds");
}

TEST_CASE("config: string lists as swanctl-style scalars or sequences", "[config]") {
  YamlNode m = conn(
      "  csv: 192.0.2.1, 198.51.100.7 ,2001:db8::1\n"
      "  one: 10.0.0.1\n"
      "  seq:\n"
      "    - a\n"
      "    - b, c\n"
      "  flow: [x, y]\n"
      "  blank: ''\n"
      "  gap: a,,b\n"
      "  trailing: 'a, b,'\n"
      "  nested:\n"
      "    - ok\n"
      "    - {k: v}\n"
      "  holes:\n"
      "    - ok\n"
      "    -\n"
      "  emptyitem: [a, '']\n"
      "  map: {k: v}\n");
  using L = std::vector<std::string>;
  CHECK(*required_string_list(m, "csv") == L{"192.0.2.1", "198.51.100.7", "2001:db8::1"});
  CHECK(*required_string_list(m, "one") == L{"10.0.0.1"});
  // Items of a sequence are taken as written, commas and all.
  CHECK(*required_string_list(m, "seq") == L{"a", "b, c"});
  CHECK(*optional_string_list(m, "flow") == std::optional<L>(L{"x", "y"}));
  CHECK(*optional_string_list(m, "blank") == std::optional<L>(L{}));
  CHECK_FALSE(optional_string_list(m, "absent")->has_value());

  auto blank = required_string_list(m, "blank");
  REQUIRE_FALSE(blank.ok());
  CHECK(blank.error().to_string() == "f.yaml:8:10: conn.blank: must not be empty");

  auto gap = optional_string_list(m, "gap");
  REQUIRE_FALSE(gap.ok());
  CHECK(gap.error().to_string() ==
        "f.yaml:9:8: conn.gap: empty item in comma-separated list 'a,,b'");
  CHECK_FALSE(optional_string_list(m, "trailing").ok());

  auto nested = optional_string_list(m, "nested");
  REQUIRE_FALSE(nested.ok());
  CHECK(nested.error().to_string() ==
        "f.yaml:13:7: conn.nested[1]: expected a string, found a mapping");

  auto holes = optional_string_list(m, "holes");
  REQUIRE_FALSE(holes.ok());
  CHECK(holes.error().field == "conn.holes[1]");
  CHECK(holes.error().message == "list item has no value");

  auto emptyitem = optional_string_list(m, "emptyitem");
  REQUIRE_FALSE(emptyitem.ok());
  CHECK(emptyitem.error().to_string() == "f.yaml:17:18: conn.emptyitem[1]: empty list item");

  auto map = optional_string_list(m, "map");
  REQUIRE_FALSE(map.ok());
  CHECK(map.error().message == "expected a string or a list of strings, found a mapping");
}

TEST_CASE("config: keyed readers on something that is not a mapping", "[config]") {
  auto doc = load_yaml_string("- a\n- b\n", "seq.yaml");
  REQUIRE(doc.ok());
  auto r = required_string(doc->root, "name");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string() == "seq.yaml:1:1: expected a mapping, found a sequence");
}

TEST_CASE("config: millisecond durations", "[config]") {
  using namespace std::chrono_literals;
  YamlNode m = conn(
      "  a: 0.5s\n  b: 250ms\n  c: 4\n  d: 1.5\n  e: 1.25m\n  f: 2h\n  g: 0.001s\n"
      "  h: 0.0005s\n  i: 1.5ms\n  j: .5s\n  k: 1.s\n  l: -1s\n  m: 2147483647s\n"
      "  n: 2147483648s\n  o: 0.5000000000s\n  p: ms\n");
  CHECK(*read_duration_ms(**m.find("a")) == 500ms);
  CHECK(*read_duration_ms(**m.find("b")) == 250ms);
  CHECK(*read_duration_ms(**m.find("c")) == 4000ms);
  CHECK(*read_duration_ms(**m.find("d")) == 1500ms);
  CHECK(*optional_duration_ms(m, "e") == std::optional<std::chrono::milliseconds>(75000ms));
  CHECK(*optional_duration_ms(m, "f") == std::optional<std::chrono::milliseconds>(7200000ms));
  CHECK(*read_duration_ms(**m.find("g")) == 1ms);
  CHECK(*read_duration_ms(**m.find("m")) == std::chrono::seconds(kMaxDurationSeconds));
  CHECK(*read_duration_ms(**m.find("o")) == 500ms);
  CHECK_FALSE(optional_duration_ms(m, "absent")->has_value());

  auto fine = read_duration_ms(**m.find("h"));
  REQUIRE_FALSE(fine.ok());
  CHECK(fine.error().to_string() ==
        "f.yaml:9:6: conn.h: duration '0.0005s' is finer than a millisecond");
  CHECK(read_duration_ms(**m.find("i")).error().message ==
        "duration '1.5ms' is finer than a millisecond");
  for (const char* bad : {"j", "k", "l", "p"})
    CHECK(read_duration_ms(**m.find(bad))
              .error()
              .message.starts_with(
                  "expected a duration like 0.5s, 250ms, 30s, 5m, 1h, 2d or plain seconds, got '"));
  CHECK(read_duration_ms(**m.find("n")).error().message ==
        "duration '2147483648s' exceeds the maximum of 2147483647 seconds");
}

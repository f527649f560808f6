// Loading YAML text and files into YamlNode trees, with exact error positions.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "config/yaml_document.hpp"

using namespace ikeme::config;
namespace fs = std::filesystem;

namespace {

// A private directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("ikeme-config-test-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

}  // namespace

TEST_CASE("config: a YAML string loads into a located root mapping", "[config]") {
  auto doc = load_yaml_string("version: 1\nname: home\n", "inline.yaml");
  REQUIRE(doc.ok());
  CHECK(doc->file() == "inline.yaml");
  CHECK(doc->root.is_map());
  CHECK(doc->root.line() == 1);
  CHECK(doc->root.column() == 1);
  CHECK(doc->root.path().empty());

  auto entries = doc->root.entries();
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].key == "version");
  CHECK((*entries)[1].key == "name");
  // "name: home": the key at 2:1, the value at 2:7.
  CHECK((*entries)[1].key_node.line() == 2);
  CHECK((*entries)[1].key_node.column() == 1);
  CHECK((*entries)[1].value.line() == 2);
  CHECK((*entries)[1].value.column() == 7);
  CHECK((*entries)[1].value.path() == "name");
  CHECK((*entries)[1].value.scalar() == "home");
}

TEST_CASE("config: YAML syntax errors report 1-based line and column", "[config]") {
  SECTION("a mapping value where none may start") {
    // yaml-cpp's mark is line 1, column 3 (0-based): the ':' after "  b".
    auto doc = load_yaml_string("a: 1\n  b: 2\n", "bad.yaml");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().line == 2);
    CHECK(doc.error().column == 4);
    CHECK(doc.error().field.empty());
    CHECK(doc.error().message == "illegal map value");
    CHECK(doc.error().to_string() == "bad.yaml:2:4: illegal map value");
  }
  SECTION("an unterminated flow sequence is reported where the input ends") {
    auto doc = load_yaml_string("a: [1, 2\n", "flow.yaml");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().to_string() == "flow.yaml:2:1: end of sequence flow not found");
  }
  SECTION("a tab in indentation") {
    auto doc = load_yaml_string("a:\n\t- x\n", "tab.yaml");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().line == 2);
    CHECK(doc.error().column == 2);
  }
  SECTION("an undefined alias") {
    auto doc = load_yaml_string("x: &a 1\ny: *b\n", "alias.yaml");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().to_string() == "alias.yaml:2:4: the referenced anchor is not defined");
  }
  SECTION("strongSwan's unquoted %any and @fqdn get a hint") {
    auto any = load_yaml_string("remote_addrs: %any\n", "any.yaml");
    REQUIRE_FALSE(any.ok());
    CHECK(any.error().to_string() ==
          "any.yaml:1:15: unknown token; a value starting with '%' must be quoted, e.g. \"%any\"");
    auto fqdn = load_yaml_string("ids: [@moon.org, x]\n", "id.yaml");
    REQUIRE_FALSE(fqdn.ok());
    CHECK(fqdn.error().message ==
          "unknown token; a value starting with '@' must be quoted, e.g. \"@moon.org\"");
  }
}

TEST_CASE("config: a second YAML document is refused", "[config]") {
  auto doc = load_yaml_string("a: 1\n---\nb: 2\n", "two.yaml");
  REQUIRE_FALSE(doc.ok());
  // Located at the second document's root node: "b" on line 3.
  CHECK(doc.error().to_string() ==
        "two.yaml:3:1: a second YAML document; a config file holds exactly one");
}

TEST_CASE("config: an empty document is a null root at 1:1", "[config]") {
  for (const char* text : {"", "# only a comment\n"}) {
    auto doc = load_yaml_string(text, "empty.yaml");
    REQUIRE(doc.ok());
    CHECK(doc->root.is_null());
    CHECK(doc->root.line() == 1);
    CHECK(doc->root.column() == 1);
    auto entries = doc->root.entries();  // null counts as an empty mapping
    REQUIRE(entries.ok());
    CHECK(entries->empty());
    auto found = doc->root.find("anything");
    REQUIRE(found.ok());
    CHECK_FALSE(found->has_value());
  }
}

TEST_CASE("config: nested nodes carry dotted paths and their own positions", "[config]") {
  const char* text =
      "connections:\n"
      "  home:\n"
      "    remote_addrs:\n"
      "      - 192.0.2.1\n"
      "      - 198.51.100.7\n";
  auto doc = load_yaml_string(text, "p.yaml");
  REQUIRE(doc.ok());
  auto conns = doc->root.find("connections");
  REQUIRE(conns.ok());
  REQUIRE(conns->has_value());
  CHECK((*conns)->path() == "connections");
  auto home = (*conns)->find("home");
  REQUIRE(home.ok());
  REQUIRE(home->has_value());
  CHECK((*home)->path() == "connections.home");
  CHECK((*home)->line() == 3);  // a block mapping starts at its first key
  CHECK((*home)->column() == 5);
  auto addrs = (*home)->find("remote_addrs");
  REQUIRE(addrs.ok());
  REQUIRE(addrs->has_value());
  auto items = (*addrs)->items();
  REQUIRE(items.ok());
  REQUIRE(items->size() == 2);
  CHECK((*items)[1].path() == "connections.home.remote_addrs[1]");
  CHECK((*items)[1].line() == 5);
  CHECK((*items)[1].column() == 9);
  CHECK((*items)[1].scalar() == "198.51.100.7");

  ConfigError e = (*items)[1].error("not reachable");
  CHECK(e.to_string() == "p.yaml:5:9: connections.home.remote_addrs[1]: not reachable");
}

TEST_CASE("config: a null value is located at its key", "[config]") {
  // yaml-cpp marks a null value at the next token (here line 3); the key is the useful place.
  auto doc = load_yaml_string("a: 1\nempty:\nc: 3\n", "n.yaml");
  REQUIRE(doc.ok());
  auto v = doc->root.find("empty");
  REQUIRE(v.ok());
  REQUIRE(v->has_value());
  CHECK((*v)->is_null());
  CHECK((*v)->kind() == "no value");
  CHECK((*v)->line() == 2);
  CHECK((*v)->column() == 1);
}

TEST_CASE("config: shape errors name what was expected and found", "[config]") {
  auto doc = load_yaml_string("list:\n  - a\nmap:\n  k: v\nscalar: x\n", "s.yaml");
  REQUIRE(doc.ok());
  auto list = doc->root.find("list");
  REQUIRE(list.ok());
  REQUIRE(list->has_value());
  auto as_map = (*list)->entries();
  REQUIRE_FALSE(as_map.ok());
  CHECK(as_map.error().to_string() == "s.yaml:2:3: list: expected a mapping, found a sequence");
  auto scalar = doc->root.find("scalar");
  REQUIRE(scalar.ok());
  REQUIRE(scalar->has_value());
  auto as_seq = (*scalar)->items();
  REQUIRE_FALSE(as_seq.ok());
  CHECK(as_seq.error().to_string() == "s.yaml:5:9: scalar: expected a sequence, found a scalar");
  auto in_scalar = (*scalar)->find("k");
  REQUIRE_FALSE(in_scalar.ok());
  CHECK(in_scalar.error().message == "expected a mapping, found a scalar");
}

TEST_CASE("config: a mapping key that is not a scalar is an error at the key", "[config]") {
  auto doc = load_yaml_string("ok: 1\n? [1, 2]\n: x\n", "k.yaml");
  REQUIRE(doc.ok());
  auto entries = doc->root.entries();
  REQUIRE_FALSE(entries.ok());
  CHECK(entries.error().to_string() ==
        "k.yaml:2:3: mapping keys must be plain strings, found a sequence");
}

TEST_CASE("config: YAML files load with the path as the error's file name", "[config]") {
  TempDir dir;
  SECTION("a valid file") {
    fs::path p = dir.write("peer.yaml", "mediation:\n  server: 192.0.2.100\n");
    auto doc = load_yaml_file(p);
    REQUIRE(doc.ok());
    CHECK(doc->file() == p.string());
    auto m = doc->root.find("mediation");
    REQUIRE(m.ok());
    REQUIRE(m->has_value());
    auto s = (*m)->find("server");
    REQUIRE(s.ok());
    REQUIRE(s->has_value());
    CHECK((*s)->scalar() == "192.0.2.100");
    CHECK((*s)->error("x").to_string() == p.string() + ":2:11: mediation.server: x");
  }
  SECTION("a syntax error names the file") {
    fs::path p = dir.write("broken.yaml", "a: 1\n  b: 2\n");
    auto doc = load_yaml_file(p);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().to_string() == p.string() + ":2:4: illegal map value");
  }
  SECTION("a missing file reports strerror") {
    fs::path p = dir.path / "does-not-exist.yaml";
    auto doc = load_yaml_file(p);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().file == p.string());
    CHECK(doc.error().line == 0);
    CHECK(doc.error().to_string() == p.string() + ": cannot open: No such file or directory");
  }
  SECTION("a directory is not a config file") {
    auto doc = load_yaml_file(dir.path);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().to_string() == dir.path.string() + ": cannot read: Is a directory");
  }
  SECTION("an oversized file is refused before parsing") {
    fs::path p = dir.write("huge.yaml", std::string(kMaxConfigFileSize + 1, '#'));
    auto doc = load_yaml_file(p);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().message == "file is larger than the 4 MiB limit for config files");
  }
  SECTION("a file of exactly the limit is accepted") {
    fs::path p = dir.write("big.yaml", std::string(kMaxConfigFileSize, '#'));
    auto doc = load_yaml_file(p);
    REQUIRE(doc.ok());
    CHECK(doc->root.is_null());
  }
}

TEST_CASE("config: ConfigError formatting", "[config]") {
  CHECK(ConfigError{"f.yaml", 3, 7, "connections.home.remote_addrs", "bad"}.to_string() ==
        "f.yaml:3:7: connections.home.remote_addrs: bad");
  CHECK(ConfigError{"f.yaml", 3, 7, "", "bad"}.to_string() == "f.yaml:3:7: bad");
  CHECK(ConfigError{"f.yaml", 0, 0, "", "cannot open: x"}.to_string() == "f.yaml: cannot open: x");
}

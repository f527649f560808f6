#pragma once
// Loading YAML into yaml-cpp nodes without letting yaml-cpp's exceptions escape, and a node
// wrapper that remembers where each value came from (file, 1-based line:column, dotted field
// path), so every later check can point at the exact place to fix.

#include <yaml-cpp/yaml.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::config {

struct YamlEntry;

// A YAML node plus its origin. Copies are cheap enough for config loading (yaml-cpp nodes share
// their data; the strings are short).
class YamlNode {
 public:
  // line/column are 1-based.
  YamlNode(std::string file, std::string path, YAML::Node node, int line, int column);

  const std::string& file() const { return file_; }
  // Dotted path from the root: "" for the root, "connections.home", "remote_addrs[1]".
  const std::string& path() const { return path_; }
  const YAML::Node& yaml() const { return node_; }
  int line() const { return line_; }
  int column() const { return column_; }

  // A key without a value ("key:" or "key: ~") is null.
  bool is_null() const;
  bool is_scalar() const;
  bool is_sequence() const;
  bool is_map() const;
  // The scalar's text; "" unless is_scalar().
  std::string scalar() const;
  // "a mapping", "a sequence", "a scalar", "no value": for "expected X, found Y" messages.
  std::string_view kind() const;

  // An error located at this node and naming its path.
  ConfigError error(std::string message) const;
  // The dotted path of a child key / sequence item of this node.
  std::string child_path(std::string_view key) const;
  std::string item_path(size_t index) const;

  // The entries of a mapping in document order, duplicates included. A null node counts as an
  // empty mapping ("connections:" with nothing under it); any other non-mapping is an error, as
  // is a key that is not a scalar.
  Result<std::vector<YamlEntry>, ConfigError> entries() const;
  // The value under `key`, nullopt if absent. With duplicate keys the first one wins;
  // check_keys() (yaml_keys.hpp) reports duplicates.
  Result<std::optional<YamlNode>, ConfigError> find(std::string_view key) const;
  // The items of a sequence; a null node counts as an empty sequence.
  Result<std::vector<YamlNode>, ConfigError> items() const;

 private:
  std::string file_;
  std::string path_;
  YAML::Node node_;
  int line_;
  int column_;
};

struct YamlEntry {
  std::string key;
  YamlNode key_node;  // where the key is written: for "unknown key" / "duplicate key" errors
  YamlNode value;     // a null value is located at its key (yaml-cpp gives it no useful mark)
};

struct YamlDocument {
  YamlNode root;  // null for an empty document, located at 1:1

  const std::string& file() const { return root.file(); }
};

// Parses `text`; errors name `display_name` as the file. Syntax errors carry yaml-cpp's position
// converted to 1-based line:column. A stream with more than one document is refused: a second
// "---" in a config file is a mistake, not a feature we support.
Result<YamlDocument, ConfigError> load_yaml_string(std::string_view text, std::string display_name);

// Reads and parses a file; errors name the path as given. Unreadable files (missing, permission,
// a directory) report strerror; files above kMaxConfigFileSize are refused.
Result<YamlDocument, ConfigError> load_yaml_file(const std::filesystem::path& path);

// Runs a loader over a parsed document, turning anything it throws (only std::bad_alloc and the
// like: the loaders themselves do not throw) into a ConfigError, so no exception reaches a
// daemon's start-up or reload.
template <class Load>
auto guarded_load(const YamlDocument& doc, Load&& load) -> decltype(load(doc)) {
  try {
    return load(doc);
  } catch (const std::exception& e) {
    return Unexpected{
        ConfigError{doc.file(), 0, 0, "", std::string("internal error: ") + e.what()}};
  }
}

// Config files are small; the cap stops a mistaken path (a log, /dev/zero) from eating memory.
inline constexpr size_t kMaxConfigFileSize = 4 * 1024 * 1024;

}  // namespace ikeme::config

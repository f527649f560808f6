#include "config/yaml_document.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

namespace ikeme::config {
namespace {

// yaml-cpp marks are 0-based; null marks (nodes built by yaml-cpp itself) fall back to `def`.
int one_based(int zero_based, int def) {
  return zero_based < 0 ? def : zero_based + 1;
}

ConfigError file_error(std::string file, std::string message) {
  return ConfigError{std::move(file), 0, 0, "", std::move(message)};
}

// yaml-cpp only throws on misuse we guard against, but nothing may escape this module: any
// stray exception becomes an error at the node that was being read.
template <class F>
auto guarded(const YamlNode& at, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const YAML::Exception& e) {
    return Unexpected{at.error("YAML error: " + e.msg)};
  } catch (const std::exception& e) {
    return Unexpected{at.error(std::string("YAML error: ") + e.what())};
  }
}

// YAML reserves '%', '@' and '`' at the start of a plain scalar, and strongSwan users write
// %any and @fqdn identities unquoted; yaml-cpp then only says "unknown token".
std::string reserved_indicator_hint(std::string_view text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return "";
  const char c = text[static_cast<size_t>(pos)];
  if (c != '%' && c != '@' && c != '`') return "";
  const size_t end = text.find_first_of(" \t\r\n,]}#", static_cast<size_t>(pos));
  const std::string_view word =
      text.substr(static_cast<size_t>(pos), end - static_cast<size_t>(pos));
  return std::string("; a value starting with '") + c + "' must be quoted, e.g. \"" +
         std::string(word) + "\"";
}

}  // namespace

YamlNode::YamlNode(std::string file, std::string path, YAML::Node node, int line, int column)
    : file_(std::move(file)),
      path_(std::move(path)),
      node_(std::move(node)),
      line_(line),
      column_(column) {}

bool YamlNode::is_null() const {
  return !node_.IsDefined() || node_.IsNull();
}
bool YamlNode::is_scalar() const {
  return node_.IsDefined() && node_.IsScalar();
}
bool YamlNode::is_sequence() const {
  return node_.IsDefined() && node_.IsSequence();
}
bool YamlNode::is_map() const {
  return node_.IsDefined() && node_.IsMap();
}
std::string YamlNode::scalar() const {
  return is_scalar() ? node_.Scalar() : std::string();
}

std::string_view YamlNode::kind() const {
  if (is_map()) return "a mapping";
  if (is_sequence()) return "a sequence";
  if (is_scalar()) return "a scalar";
  return "no value";
}

ConfigError YamlNode::error(std::string message) const {
  return ConfigError{file_, line_, column_, path_, std::move(message)};
}

std::string YamlNode::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string YamlNode::item_path(size_t index) const {
  return path_ + "[" + std::to_string(index) + "]";
}

Result<std::vector<YamlEntry>, ConfigError> YamlNode::entries() const {
  using R = Result<std::vector<YamlEntry>, ConfigError>;
  if (is_null()) return std::vector<YamlEntry>{};
  if (!is_map())
    return Unexpected{error(std::string("expected a mapping, found ") + std::string(kind()))};
  return guarded(*this, [&]() -> R {
    std::vector<YamlEntry> out;
    for (const auto& kv : node_) {
      const YAML::Mark km = kv.first.Mark();
      int kline = one_based(km.line, line_), kcol = one_based(km.column, column_);
      if (!kv.first.IsScalar())
        return Unexpected{
            ConfigError{file_, kline, kcol, path_,
                        "mapping keys must be plain strings, found " +
                            std::string(kv.first.IsMap() ? "a mapping" : "a sequence")}};
      std::string key = kv.first.Scalar();
      std::string path = child_path(key);
      YamlNode key_node(file_, path, kv.first, kline, kcol);
      // A null value's own mark points at whatever token follows it (often the next line), so
      // "key has no value" is reported at the key.
      const bool null_value = !kv.second.IsDefined() || kv.second.IsNull();
      const YAML::Mark vm = kv.second.Mark();
      int vline = null_value ? kline : one_based(vm.line, kline);
      int vcol = null_value ? kcol : one_based(vm.column, kcol);
      YamlNode value(file_, path, kv.second, vline, vcol);
      out.push_back(YamlEntry{std::move(key), std::move(key_node), std::move(value)});
    }
    return out;
  });
}

Result<std::optional<YamlNode>, ConfigError> YamlNode::find(std::string_view key) const {
  auto all = entries();
  if (!all) return Unexpected{all.error()};
  for (auto& e : *all)
    if (e.key == key) return std::optional<YamlNode>(std::move(e.value));
  return std::optional<YamlNode>();
}

Result<std::vector<YamlNode>, ConfigError> YamlNode::items() const {
  using R = Result<std::vector<YamlNode>, ConfigError>;
  if (is_null()) return std::vector<YamlNode>{};
  if (!is_sequence())
    return Unexpected{error(std::string("expected a sequence, found ") + std::string(kind()))};
  return guarded(*this, [&]() -> R {
    std::vector<YamlNode> out;
    for (const auto& item : node_) {
      const YAML::Mark m = item.Mark();
      // Like null map values, a null item ("- " alone) has a misleading mark: use the sequence's.
      const bool null_item = !item.IsDefined() || item.IsNull();
      out.emplace_back(file_, item_path(out.size()), item,
                       null_item ? line_ : one_based(m.line, line_),
                       null_item ? column_ : one_based(m.column, column_));
    }
    return out;
  });
}

Result<YamlDocument, ConfigError> load_yaml_string(std::string_view text,
                                                   std::string display_name) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return Unexpected{ConfigError{display_name, one_based(e.mark.line, 1),
                                  one_based(e.mark.column, 1), "",
                                  e.msg + reserved_indicator_hint(text, e.mark.pos)}};
  } catch (const std::exception& e) {
    return Unexpected{file_error(display_name, std::string("YAML error: ") + e.what())};
  }
  if (docs.size() > 1) {
    const YAML::Mark m = docs[1].Mark();
    return Unexpected{ConfigError{display_name, one_based(m.line, 1), one_based(m.column, 1), "",
                                  "a second YAML document; a config file holds exactly one"}};
  }
  if (docs.empty()) return YamlDocument{YamlNode(display_name, "", YAML::Node(), 1, 1)};
  const YAML::Mark m = docs[0].Mark();
  return YamlDocument{
      YamlNode(display_name, "", docs[0], one_based(m.line, 1), one_based(m.column, 1))};
}

Result<YamlDocument, ConfigError> load_yaml_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(name.c_str(), "rb"), &std::fclose);
  if (!f) return Unexpected{file_error(name, std::string("cannot open: ") + std::strerror(errno))};
  std::string text;
  char buf[16384];
  for (;;) {
    size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > kMaxConfigFileSize)
      return Unexpected{file_error(name, "file is larger than the " +
                                             std::to_string(kMaxConfigFileSize / (1024 * 1024)) +
                                             " MiB limit for config files")};
    if (n < sizeof buf) break;
  }
  // fopen succeeds on a directory; the read then fails with EISDIR.
  if (std::ferror(f.get()))
    return Unexpected{file_error(name, std::string("cannot read: ") + std::strerror(errno))};
  return load_yaml_string(text, name);
}

}  // namespace ikeme::config

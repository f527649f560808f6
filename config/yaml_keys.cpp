#include "config/yaml_keys.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace ikeme::config {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rolling rows of the classic dynamic programme (the transposition looks two back).
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string_view> closest_key(std::string_view key,
                                            std::span<const std::string_view> allowed) {
  const size_t limit = key.size() <= 4 ? 1 : key.size() <= 8 ? 2 : 3;
  std::optional<std::string_view> best;
  size_t best_distance = limit + 1;
  for (std::string_view candidate : allowed) {
    const size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

Status<ConfigError> check_keys(const YamlNode& map, std::span<const std::string_view> allowed,
                               std::span<const std::string_view> listed) {
  if (listed.empty()) listed = allowed;
  auto entries = map.entries();
  if (!entries) return Unexpected{entries.error()};
  for (size_t i = 0; i < entries->size(); ++i) {
    const YamlEntry& e = (*entries)[i];
    for (size_t j = 0; j < i; ++j) {
      const YamlEntry& first = (*entries)[j];
      if (first.key == e.key)
        return Unexpected{e.key_node.error("duplicate key '" + e.key + "' (first at line " +
                                           std::to_string(first.key_node.line()) + ")")};
    }
    if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
    std::string message = "unknown key '" + e.key + "'";
    if (auto hint = closest_key(e.key, allowed)) {
      message += ", did you mean '" + std::string(*hint) + "'?";
    } else if (allowed.empty()) {
      message += "; no keys are allowed here";
    } else {
      message += "; allowed keys: ";
      for (size_t k = 0; k < listed.size(); ++k)
        message += (k ? ", " : "") + std::string(listed[k]);
    }
    return Unexpected{e.key_node.error(std::move(message))};
  }
  return {};
}

Status<ConfigError> check_keys(const YamlNode& map,
                               std::initializer_list<std::string_view> allowed) {
  return check_keys(map, std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

}  // namespace ikeme::config

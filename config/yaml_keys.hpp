#pragma once
// Typo protection for config mappings: a key the schema does not know is an error, never
// silently ignored ("remote_adrs" must not quietly leave remote_addrs unset), and so is a key
// written twice (yaml-cpp keeps both; which one wins would be an accident).

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

#include "config/config_error.hpp"
#include "config/yaml_document.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::config {

// Checks every key of `map` (null counts as an empty mapping) in document order and reports the
// first problem at the key's line:column:
//   "unknown key 'remote_adrs', did you mean 'remote_addrs'?"
//   "unknown key 'zzz'; allowed keys: local_addrs, remote_addrs"
//   "duplicate key 'version' (first at line 3)"
// `listed`, when not empty, replaces `allowed` in the "allowed keys" list of the message (for
// schemas that accept some keys only to refuse their values, and should not advertise them).
Status<ConfigError> check_keys(const YamlNode& map, std::span<const std::string_view> allowed,
                               std::span<const std::string_view> listed = {});
Status<ConfigError> check_keys(const YamlNode& map,
                               std::initializer_list<std::string_view> allowed);

// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
// adjacent characters each cost 1, so the common typos "prot"/"port" and "adrs"/"addrs" are 1.
size_t edit_distance(std::string_view a, std::string_view b);

// The allowed key closest to `key` if it is close enough to be a plausible typo: distance at most
// 1 for keys up to 4 characters, 2 up to 8, 3 beyond (short keys need a tighter bound, or every
// 3-letter word would "suggest" every other). Ties go to the earlier allowed key.
std::optional<std::string_view> closest_key(std::string_view key,
                                            std::span<const std::string_view> allowed);

}  // namespace ikeme::config

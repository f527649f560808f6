#pragma once
// Typed readers for config values. Each one checks the YAML shape and the value and, on failure,
// returns a ConfigError at the value's line:column naming its dotted path, e.g.
//   peer.yaml:7:12: connections.home.rekey_time: expected a duration like 30s, 5m, 1h or ...
//
// Two layers: read_*(value) convert one node; required_*/optional_*(map, key) look a key up in
// a mapping first. A key with no value ("key:" or "key: ~") counts as absent.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "config/yaml_document.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::config {

template <class T>
using FieldResult = Result<T, ConfigError>;

// Durations are capped so that now + duration cannot overflow any clock arithmetic
// (steady_clock counts nanoseconds in 64 bits: about 292 years).
inline constexpr int64_t kMaxDurationSeconds = 2147483647;

// Any scalar, as written (YAML has no separate string type for plain scalars: 500 is "500").
FieldResult<std::string> read_string(const YamlNode& value);
// A decimal integer (optional '-') within [min, max].
FieldResult<int64_t> read_integer(const YamlNode& value, int64_t min, int64_t max);
// true/false, yes/no, on/off in any letter case.
FieldResult<bool> read_bool(const YamlNode& value);
// "30s", "5m", "1h", "2d" or plain seconds "45"; non-negative, at most kMaxDurationSeconds.
FieldResult<std::chrono::seconds> read_duration(const YamlNode& value);
// Like read_duration, to the millisecond, for timers that want less than a second (strongSwan's
// retransmit_timeout is fractional seconds): "0.5s", "250ms", "1.5m", "4" or "4.5" (seconds).
// A value finer than a millisecond ("0.0001s") is an error rather than silently rounded; the cap
// is kMaxDurationSeconds.
FieldResult<std::chrono::milliseconds> read_duration_ms(const YamlNode& value);
// A sequence of scalars, or one scalar holding a comma-separated list like swanctl.conf's
// "192.0.2.1, 198.51.100.7" (items trimmed of blanks). Empty items ("a,,b") are errors; an empty
// scalar is an empty list.
FieldResult<std::vector<std::string>> read_string_list(const YamlNode& value);

// Keyed readers. required_* report "required field is missing" at the mapping (the place the key
// belongs) with the key's path; required_string also refuses "" and required_string_list an
// empty list, since an empty required value is always a mistake.
FieldResult<std::string> required_string(const YamlNode& map, std::string_view key);
FieldResult<std::optional<std::string>> optional_string(const YamlNode& map, std::string_view key);
FieldResult<int64_t> required_integer(const YamlNode& map, std::string_view key, int64_t min,
                                      int64_t max);
FieldResult<std::optional<int64_t>> optional_integer(const YamlNode& map, std::string_view key,
                                                     int64_t min, int64_t max);
FieldResult<bool> required_bool(const YamlNode& map, std::string_view key);
FieldResult<std::optional<bool>> optional_bool(const YamlNode& map, std::string_view key);
FieldResult<std::chrono::seconds> required_duration(const YamlNode& map, std::string_view key);
FieldResult<std::optional<std::chrono::seconds>> optional_duration(const YamlNode& map,
                                                                   std::string_view key);
FieldResult<std::optional<std::chrono::milliseconds>> optional_duration_ms(const YamlNode& map,
                                                                           std::string_view key);
FieldResult<std::vector<std::string>> required_string_list(const YamlNode& map,
                                                           std::string_view key);
FieldResult<std::optional<std::vector<std::string>>> optional_string_list(const YamlNode& map,
                                                                          std::string_view key);

// The value under key if present and not null; nullopt if absent or null. Lets a caller read a
// nested mapping or apply its own read_* to a value.
FieldResult<std::optional<YamlNode>> optional_value(const YamlNode& map, std::string_view key);
// Like optional_value, but absence is a "required field is missing" error.
FieldResult<YamlNode> required_value(const YamlNode& map, std::string_view key);

}  // namespace ikeme::config

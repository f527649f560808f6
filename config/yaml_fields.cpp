#include "config/yaml_fields.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ikeme::config {
namespace {

std::string found(const YamlNode& v) {
  return ", found " + std::string(v.kind());
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Parses all of `text` as a base-10 int64; nullopt on anything else. `overflow` tells the
// caller that the text was a number, just too large for int64.
std::optional<int64_t> parse_int64(std::string_view text, bool& overflow) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v, 10);
  overflow = ec == std::errc::result_out_of_range && ptr == end;
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// Seconds per unit suffix of a duration; 0 if `c` is not a suffix.
int64_t unit_seconds(char c) {
  switch (c) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    default:
      return 0;
  }
}

template <class T, class Read>
FieldResult<std::optional<T>> optional_of(const YamlNode& map, std::string_view key, Read read) {
  auto v = optional_value(map, key);
  if (!v) return Unexpected{v.error()};
  if (!*v) return std::optional<T>();
  auto r = read(**v);
  if (!r) return Unexpected{r.error()};
  return std::optional<T>(std::move(*r));
}

template <class T, class Read>
FieldResult<T> required_of(const YamlNode& map, std::string_view key, Read read) {
  auto v = required_value(map, key);
  if (!v) return Unexpected{v.error()};
  return read(*v);
}

}  // namespace

FieldResult<std::string> read_string(const YamlNode& value) {
  if (!value.is_scalar()) return Unexpected{value.error("expected a string" + found(value))};
  return value.scalar();
}

FieldResult<int64_t> read_integer(const YamlNode& value, int64_t min, int64_t max) {
  if (!value.is_scalar()) return Unexpected{value.error("expected an integer" + found(value))};
  const std::string text = value.scalar();
  bool overflow = false;
  auto v = parse_int64(text, overflow);
  if (!v && !overflow) return Unexpected{value.error("expected an integer, got '" + text + "'")};
  if (!v || *v < min || *v > max)
    return Unexpected{value.error("value " + text + " is out of range " + std::to_string(min) +
                                  ".." + std::to_string(max))};
  return *v;
}

FieldResult<bool> read_bool(const YamlNode& value) {
  if (!value.is_scalar()) return Unexpected{value.error("expected a boolean" + found(value))};
  const std::string text = lower(value.scalar());
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  return Unexpected{
      value.error("expected a boolean (true/false, yes/no, on/off), got '" + value.scalar() + "'")};
}

FieldResult<std::chrono::seconds> read_duration(const YamlNode& value) {
  if (!value.is_scalar()) return Unexpected{value.error("expected a duration" + found(value))};
  const std::string text = value.scalar();
  std::string_view digits = text;
  int64_t unit = 1;  // plain seconds unless a suffix says otherwise
  if (const int64_t u = digits.empty() ? 0 : unit_seconds(digits.back()); u != 0) {
    unit = u;
    digits.remove_suffix(1);
  }
  const auto bad = [&] {
    return Unexpected{value.error(
        "expected a duration like 30s, 5m, 1h, 2d or plain seconds, got '" + text + "'")};
  };
  // from_chars would accept a '-'; durations are never negative.
  if (digits.empty() || !std::isdigit(static_cast<unsigned char>(digits.front()))) return bad();
  bool overflow = false;
  auto n = parse_int64(digits, overflow);
  if (!n && !overflow) return bad();
  if (!n || *n > kMaxDurationSeconds / unit)
    return Unexpected{value.error("duration '" + text + "' exceeds the maximum of " +
                                  std::to_string(kMaxDurationSeconds) + " seconds")};
  return std::chrono::seconds(*n * unit);
}

FieldResult<std::chrono::milliseconds> read_duration_ms(const YamlNode& value) {
  if (!value.is_scalar()) return Unexpected{value.error("expected a duration" + found(value))};
  const std::string text = value.scalar();
  std::string_view number = text;
  int64_t unit_ms = 1000;  // plain seconds unless a suffix says otherwise
  if (number.ends_with("ms")) {
    unit_ms = 1;
    number.remove_suffix(2);
  } else if (const int64_t u = number.empty() ? 0 : unit_seconds(number.back()); u != 0) {
    unit_ms = u * 1000;
    number.remove_suffix(1);
  }
  const auto bad = [&] {
    return Unexpected{value.error(
        "expected a duration like 0.5s, 250ms, 30s, 5m, 1h, 2d or plain seconds, got '" + text +
        "'")};
  };
  const size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
  const auto all_digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
  };
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(fraction))) return bad();
  const int64_t max_ms = kMaxDurationSeconds * 1000;
  const auto too_long = [&] {
    return Unexpected{value.error("duration '" + text + "' exceeds the maximum of " +
                                  std::to_string(kMaxDurationSeconds) + " seconds")};
  };
  bool overflow = false;
  auto n = parse_int64(whole, overflow);
  if (!n || *n > max_ms / unit_ms) return too_long();
  int64_t ms = *n * unit_ms;
  if (!fraction.empty()) {
    // At most 9 fraction digits keep fraction * unit_ms (unit_ms <= 86400000) inside int64.
    const std::string_view digits = fraction.substr(0, std::min<size_t>(fraction.size(), 9));
    if (fraction.find_first_not_of('0', digits.size()) != std::string_view::npos)
      return Unexpected{value.error("duration '" + text + "' is finer than a millisecond")};
    int64_t scale = 1;
    for (size_t i = 0; i < digits.size(); ++i) scale *= 10;
    const int64_t f = *parse_int64(digits, overflow) * unit_ms;
    if (f % scale != 0)
      return Unexpected{value.error("duration '" + text + "' is finer than a millisecond")};
    ms += f / scale;
    if (ms > max_ms) return too_long();
  }
  return std::chrono::milliseconds(ms);
}

FieldResult<std::vector<std::string>> read_string_list(const YamlNode& value) {
  std::vector<std::string> out;
  if (value.is_sequence()) {
    auto items = value.items();
    if (!items) return Unexpected{items.error()};
    for (const YamlNode& item : *items) {
      if (item.is_null()) return Unexpected{item.error("list item has no value")};
      auto s = read_string(item);
      if (!s) return Unexpected{s.error()};
      if (s->empty()) return Unexpected{item.error("empty list item")};
      out.push_back(std::move(*s));
    }
    return out;
  }
  if (value.is_null()) return out;
  if (!value.is_scalar())
    return Unexpected{value.error("expected a string or a list of strings" + found(value))};
  const std::string text = value.scalar();
  if (trim(text).empty()) return out;
  std::string_view rest = text;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty())
      return Unexpected{value.error("empty item in comma-separated list '" + text + "'")};
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

FieldResult<std::optional<YamlNode>> optional_value(const YamlNode& map, std::string_view key) {
  auto v = map.find(key);
  if (!v) return Unexpected{v.error()};
  if (*v && (*v)->is_null()) return std::optional<YamlNode>();
  return std::move(*v);
}

FieldResult<YamlNode> required_value(const YamlNode& map, std::string_view key) {
  auto v = map.find(key);
  if (!v) return Unexpected{v.error()};
  if (!*v) {
    ConfigError e = map.error("required field is missing");
    e.field = map.child_path(key);
    return Unexpected{std::move(e)};
  }
  if ((*v)->is_null()) return Unexpected{(*v)->error("required field has no value")};
  return std::move(**v);
}

FieldResult<std::string> required_string(const YamlNode& map, std::string_view key) {
  return required_of<std::string>(map, key, [](const YamlNode& v) -> FieldResult<std::string> {
    auto s = read_string(v);
    if (s && s->empty()) return Unexpected{v.error("must not be empty")};
    return s;
  });
}

FieldResult<std::optional<std::string>> optional_string(const YamlNode& map, std::string_view key) {
  return optional_of<std::string>(map, key, read_string);
}

FieldResult<int64_t> required_integer(const YamlNode& map, std::string_view key, int64_t min,
                                      int64_t max) {
  return required_of<int64_t>(map, key,
                              [&](const YamlNode& v) { return read_integer(v, min, max); });
}

FieldResult<std::optional<int64_t>> optional_integer(const YamlNode& map, std::string_view key,
                                                     int64_t min, int64_t max) {
  return optional_of<int64_t>(map, key,
                              [&](const YamlNode& v) { return read_integer(v, min, max); });
}

FieldResult<bool> required_bool(const YamlNode& map, std::string_view key) {
  return required_of<bool>(map, key, read_bool);
}

FieldResult<std::optional<bool>> optional_bool(const YamlNode& map, std::string_view key) {
  return optional_of<bool>(map, key, read_bool);
}

FieldResult<std::chrono::seconds> required_duration(const YamlNode& map, std::string_view key) {
  return required_of<std::chrono::seconds>(map, key, read_duration);
}

FieldResult<std::optional<std::chrono::seconds>> optional_duration(const YamlNode& map,
                                                                   std::string_view key) {
  return optional_of<std::chrono::seconds>(map, key, read_duration);
}

FieldResult<std::optional<std::chrono::milliseconds>> optional_duration_ms(const YamlNode& map,
                                                                           std::string_view key) {
  return optional_of<std::chrono::milliseconds>(map, key, read_duration_ms);
}

FieldResult<std::vector<std::string>> required_string_list(const YamlNode& map,
                                                           std::string_view key) {
  using List = std::vector<std::string>;
  return required_of<List>(map, key, [](const YamlNode& v) -> FieldResult<List> {
    auto list = read_string_list(v);
    if (list && list->empty()) return Unexpected{v.error("must not be empty")};
    return list;
  });
}

FieldResult<std::optional<std::vector<std::string>>> optional_string_list(const YamlNode& map,
                                                                          std::string_view key) {
  return optional_of<std::vector<std::string>>(map, key, read_string_list);
}

}  // namespace ikeme::config

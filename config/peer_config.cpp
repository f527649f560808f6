// The peer configuration file: a YAML mirror of swanctl.conf plus a `daemon:` section for what
// strongswan.conf holds. Reading happens in three passes: the shape and keys of each section
// (unknown, duplicate and refused keys), the typed values, and last the checks that span
// sections (a PSK connection without any secret that could ever apply to it).
//
// The swanctl keys ikeme does not implement are listed in the k*Refused tables below; each is
// accepted only with the value that describes what ikeme does anyway (docs/configuration.md has
// the same table for users).

#include "config/peer_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "config/secret.hpp"
#include "config/yaml_document.hpp"
#include "config/yaml_fields.hpp"
#include "config/yaml_keys.hpp"
#include "ike/codec/ip_address.hpp"
#include "ike/pki/certificate_key.hpp"
#include "ike/sa/identity.hpp"
#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"

// Propagates an error from a Result/Status-returning call: `CFG_TRY(x, read(...))` declares `x`
// as the value. Only for this file; undefined at its end.
#define CFG_CONCAT_(a, b) a##b
#define CFG_CONCAT(a, b) CFG_CONCAT_(a, b)
#define CFG_TRY(name, expr)                                                               \
  auto CFG_CONCAT(name, _result_) = (expr);                                               \
  if (!CFG_CONCAT(name, _result_)) return Unexpected{CFG_CONCAT(name, _result_).error()}; \
  auto& name = *CFG_CONCAT(name, _result_)
#define CFG_CHECK(expr)                                                      \
  do {                                                                       \
    if (auto status_ = (expr); !status_) return Unexpected{status_.error()}; \
  } while (false)

namespace ikeme::config {
namespace {

using ike::AuthConfig;
using ike::AuthMethodConfig;
using ike::ChildConfig;
using ike::ChildMode;
using ike::ConnectionConfig;
using ike::DpdAction;
using ike::Identity;
using ike::Proposal;
using ike::ProtocolId;
using ike::SharedSecret;
using ike::StartAction;
using ike::Subsystem;
using ike::TrafficSelector;

template <class T>
using R = Result<T, ConfigError>;
using Check = Status<ConfigError>;

// strongSwan's defaults for `proposals` / `esp_proposals`, also what the keyword "default"
// in a proposal list stands for.
constexpr std::string_view kDefaultIkeProposals[] = {
    "aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384", "aes256-sha512-modp3072"};
constexpr std::string_view kDefaultEspProposals[] = {"aes128gcm16", "aes128-sha256"};

// Pre-shared keys shorter than this are refused: they fall to an offline dictionary attack on
// one captured IKE_AUTH.
constexpr size_t kMinPskBytes = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// ---------------------------------------------------------------------------------------------
// Keys swanctl.conf has and ikeme does not implement.

enum class Harmless {
  Nothing,   // any value is refused (subsections such as cert<suffix>)
  Empty,     // an empty value or list is accepted
  Bool,      // `value` is "yes" or "no"
  Integer,   // `value` is the accepted integer
  Duration,  // `value` is the accepted duration in seconds
  Text,      // `value` lists the accepted words, comma-separated, compared case-insensitively
};

struct RefusedKey {
  std::string_view key;
  Harmless harmless;
  std::string_view value = {};
};

constexpr RefusedKey kRootRefused[] = {
    {"authorities", Harmless::Empty},
};

// swanctl pool attributes other than addrs and dns.
constexpr RefusedKey kPoolRefused[] = {
    {"nbns", Harmless::Empty},          {"dhcp", Harmless::Empty},
    {"netmask", Harmless::Empty},       {"server", Harmless::Empty},
    {"subnet", Harmless::Empty},        {"split_include", Harmless::Empty},
    {"split_exclude", Harmless::Empty},
};

constexpr RefusedKey kConnectionRefused[] = {
    {"aggressive", Harmless::Bool, "no"},     {"pull", Harmless::Bool, "yes"},
    {"dscp", Harmless::Text, "000000"},       {"mobike", Harmless::Bool, "no"},
    {"childless", Harmless::Text, "never"},   {"send_certreq", Harmless::Bool, "no"},
    {"send_cert", Harmless::Text, "never"},   {"ppk_id", Harmless::Empty},
    {"ppk_required", Harmless::Bool, "no"},   {"unique", Harmless::Text, "no"},
    {"reauth_time", Harmless::Duration, "0"}, {"rekey_time", Harmless::Duration, "0"},
    {"over_time", Harmless::Duration, "0"},   {"rand_time", Harmless::Duration, "0"},
    {"if_id_in", Harmless::Integer, "0"},     {"if_id_out", Harmless::Integer, "0"},
};

constexpr RefusedKey kLocalRefused[] = {
    {"round", Harmless::Integer, "0"},
    {"eap_id", Harmless::Empty},
    {"aaa_id", Harmless::Empty},
    {"xauth_id", Harmless::Empty},
};

constexpr RefusedKey kRemoteRefused[] = {
    {"round", Harmless::Integer, "0"}, {"eap_id", Harmless::Empty},
    {"groups", Harmless::Empty},       {"cert_policy", Harmless::Empty},
    {"certs", Harmless::Empty},        {"revocation", Harmless::Text, "relaxed"},
};

constexpr RefusedKey kChildRefused[] = {
    {"ah_proposals", Harmless::Empty},
    {"rand_time", Harmless::Duration, "0"},
    {"rekey_bytes", Harmless::Integer, "0"},
    {"life_bytes", Harmless::Integer, "0"},
    {"rand_bytes", Harmless::Integer, "0"},
    {"rekey_packets", Harmless::Integer, "0"},
    {"life_packets", Harmless::Integer, "0"},
    {"rand_packets", Harmless::Integer, "0"},
    {"updown", Harmless::Empty},
    {"hostaccess", Harmless::Bool, "no"},
    {"policies", Harmless::Bool, "yes"},
    {"policies_fwd_out", Harmless::Bool, "no"},
    {"ipcomp", Harmless::Bool, "no"},
    {"inactivity", Harmless::Duration, "0"},
    {"reqid", Harmless::Integer, "0"},
    {"priority", Harmless::Integer, "0"},
    {"interface", Harmless::Empty},
    {"mark_in", Harmless::Text, "0,0/0,0/0x00000000"},
    {"mark_in_sa", Harmless::Bool, "no"},
    {"mark_out", Harmless::Text, "0,0/0,0/0x00000000"},
    {"set_mark_in", Harmless::Text, "0,0/0,0/0x00000000"},
    {"set_mark_out", Harmless::Text, "0,0/0,0/0x00000000"},
    {"if_id_in", Harmless::Integer, "0"},
    {"if_id_out", Harmless::Integer, "0"},
    {"label", Harmless::Empty},
    {"label_mode", Harmless::Text, "system"},
    {"tfc_padding", Harmless::Integer, "0"},
    {"replay_window", Harmless::Integer, "32"},
    {"hw_offload", Harmless::Text, "no"},
    {"copy_df", Harmless::Bool, "yes"},
    {"copy_ecn", Harmless::Bool, "yes"},
    {"copy_dscp", Harmless::Text, "out"},
    {"sha256_96", Harmless::Bool, "no"},
    {"close_action", Harmless::Text, "none"},
};

// "'no'", "an empty value", "'0' or '0/0'".
std::string describe_harmless(const RefusedKey& r) {
  switch (r.harmless) {
    case Harmless::Nothing:
      return "";
    case Harmless::Empty:
      return "an empty value";
    case Harmless::Duration:
      return in_quotes(std::string(r.value) + "s");
    case Harmless::Bool:
    case Harmless::Integer:
      return in_quotes(r.value);
    case Harmless::Text: {
      std::string out;
      std::string_view rest = r.value;
      for (;;) {
        const size_t comma = rest.find(',');
        if (!out.empty()) out += comma == std::string_view::npos ? " or " : ", ";
        out += in_quotes(rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return out;
    }
  }
  return "";
}

bool is_harmless(const YamlNode& value, const RefusedKey& r) {
  if (value.is_null()) return true;  // "key:" alone counts as absent
  switch (r.harmless) {
    case Harmless::Nothing:
      return false;
    case Harmless::Empty: {
      auto list = read_string_list(value);
      return list && list->empty();
    }
    case Harmless::Bool: {
      auto b = read_bool(value);
      return b && *b == (r.value == "yes");
    }
    case Harmless::Integer: {
      auto n = read_integer(value, std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max());
      int64_t want = 0;
      std::from_chars(r.value.data(), r.value.data() + r.value.size(), want);
      return n && *n == want;
    }
    case Harmless::Duration: {
      auto d = read_duration(value);
      int64_t want = 0;
      std::from_chars(r.value.data(), r.value.data() + r.value.size(), want);
      return d && d->count() == want;
    }
    case Harmless::Text: {
      if (!value.is_scalar()) return false;
      const std::string text = lower(value.scalar());
      std::string_view rest = r.value;
      for (;;) {
        const size_t comma = rest.find(',');
        if (rest.substr(0, comma) == text) return true;
        if (comma == std::string_view::npos) return false;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  return false;
}

ConfigError refused_error(const YamlEntry& e, const RefusedKey& r) {
  std::string message = "key '" + e.key + "' is not supported by ikeme";
  if (r.harmless != Harmless::Nothing)
    message += " (only " + describe_harmless(r) + " is accepted)";
  return e.key_node.error(std::move(message));
}

// Checks a mapping's keys: every key must be in `known`, in `refused` or in `extra` (keys the
// caller matched by a pattern such as id<suffix>), none may repeat, and a refused key must hold
// its harmless value.
Check check_section(const YamlNode& map, std::span<const std::string_view> known,
                    std::span<const RefusedKey> refused,
                    const std::vector<std::string>& extra = {}) {
  CFG_TRY(entries, map.entries());
  std::vector<std::string_view> allowed(known.begin(), known.end());
  for (const RefusedKey& r : refused) allowed.push_back(r.key);
  for (const std::string& k : extra) allowed.push_back(k);
  CFG_CHECK(check_keys(map, allowed, known));  // the message lists implemented keys only
  for (const YamlEntry& e : entries)
    for (const RefusedKey& r : refused)
      if (r.key == e.key && !is_harmless(e.value, r)) return Unexpected{refused_error(e, r)};
  return {};
}

Check check_section(const YamlNode& map, std::initializer_list<std::string_view> known,
                    std::span<const RefusedKey> refused = {},
                    const std::vector<std::string>& extra = {}) {
  return check_section(map, std::span<const std::string_view>(known.begin(), known.size()), refused,
                       extra);
}

// A mapping of user-chosen names (connections, children, secrets): only duplicates are errors.
Check check_names(const YamlNode& map, const std::vector<YamlEntry>& entries) {
  std::vector<std::string> names;
  for (const YamlEntry& e : entries) names.push_back(e.key);
  std::vector<std::string_view> allowed(names.begin(), names.end());
  return check_keys(map, allowed);
}

// The value under `key` if present and not null, else nullopt; a mapping value must really be
// one (null counts as an empty mapping).
R<std::optional<YamlNode>> optional_map(const YamlNode& map, std::string_view key) {
  CFG_TRY(v, optional_value(map, key));
  if (v && !v->is_map())
    return Unexpected{v->error("expected a mapping, found " + std::string(v->kind()))};
  return std::move(v);
}

// ---------------------------------------------------------------------------------------------
// Values.

// One list item with the node to blame for it: the item itself in a YAML sequence, the whole
// scalar in a comma-separated string.
struct Item {
  std::string text;
  YamlNode node;
};

R<std::vector<Item>> read_items(const YamlNode& value) {
  std::vector<Item> out;
  if (value.is_sequence()) {
    CFG_TRY(items, value.items());
    for (const YamlNode& item : items) {
      if (item.is_null()) return Unexpected{item.error("list item has no value")};
      // One scalar per item; read_string_list gives the comma-separated form's errors.
      if (!item.is_scalar()) return Unexpected{read_string(item).error()};
      CFG_TRY(text, read_string_list(item));
      if (text.empty()) return Unexpected{item.error("empty list item")};
      if (text.size() > 1)
        return Unexpected{item.error("a list item holds one value; write '" + item.scalar() +
                                     "' as separate items")};
      out.push_back(Item{text[0], item});
    }
    return out;
  }
  CFG_TRY(texts, read_string_list(value));
  for (std::string& t : texts) out.push_back(Item{std::move(t), value});
  return out;
}

// IP addresses only; with `allow_any`, "%any" alone stands for "any" (an empty list).
R<std::vector<IpAddress>> read_addresses(const YamlNode& value, bool allow_any) {
  CFG_TRY(items, read_items(value));
  std::vector<IpAddress> out;
  std::optional<YamlNode> any;
  for (const Item& item : items) {
    if (allow_any && item.text == "%any") {
      any = item.node;
      continue;
    }
    if (auto ip = IpAddress::parse(item.text)) {
      out.push_back(*ip);
      continue;
    }
    const std::string& t = item.text;
    std::string why;
    if (t.starts_with("%"))
      why = in_quotes(t) + " is not supported" +
            (allow_any ? "; use %any or IP addresses" : "; use IP addresses");
    else if (t.find('/') != std::string::npos)
      why = "subnet " + in_quotes(t) + ": subnets are not supported, only single IP addresses";
    else if (auto dash = t.find('-'); dash != std::string::npos &&
                                      IpAddress::parse(t.substr(0, dash)) &&
                                      IpAddress::parse(t.substr(dash + 1)))
      why =
          "range " + in_quotes(t) + ": address ranges are not supported, only single IP addresses";
    else
      why = in_quotes(t) + " is not an IP address; hostnames are not supported, only IP addresses";
    return Unexpected{item.node.error(why)};
  }
  if (any && !out.empty())
    return Unexpected{any->error("'%any' cannot be combined with addresses")};
  return out;
}

R<Identity> read_identity(const YamlNode& value) {
  CFG_TRY(text, read_string(value));
  if (text.empty()) return Unexpected{value.error("must not be empty")};
  if (text == "%any") return Identity::any();
  if (text.starts_with("%"))
    return Unexpected{value.error("unknown special identity " + in_quotes(text) + "; only %any")};
  if (!IpAddress::parse(text)) {
    if (text.find('=') != std::string::npos)
      return Unexpected{
          value.error("distinguished-name identities are not supported; use an FQDN, user@FQDN, IP "
                      "address or @#hex key id")};
    const size_t colon = text.find(':');
    if (colon != std::string::npos && colon > 0 &&
        std::all_of(text.begin(), text.begin() + static_cast<long>(colon),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }))
      return Unexpected{value.error("typed identities like " +
                                    in_quotes(text.substr(0, colon + 1)) +
                                    " are not supported; write the identity without the prefix")};
  }
  auto id = Identity::parse(text);
  if (!id) return Unexpected{value.error("invalid identity " + in_quotes(text))};
  return std::move(*id);
}

// A proposal list; absent means strongSwan's defaults, and the word "default" inside a list
// stands for them too.
R<std::vector<Proposal>> read_proposals(const std::optional<YamlNode>& value, ProtocolId protocol,
                                        std::span<const std::string_view> defaults) {
  std::vector<Proposal> out;
  const auto add_defaults = [&] {
    for (std::string_view d : defaults) out.push_back(*ike::parse_proposal(d, protocol));
  };
  if (!value) {
    add_defaults();
  } else {
    CFG_TRY(items, read_items(*value));
    if (items.empty()) return Unexpected{value->error("at least one proposal is required")};
    for (const Item& item : items) {
      if (lower(item.text) == "default") {
        add_defaults();
        continue;
      }
      auto p = ike::parse_proposal(item.text, protocol);
      if (!p) return Unexpected{item.node.error(p.error())};
      out.push_back(std::move(*p));
    }
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].number = static_cast<uint8_t>(i + 1);
  if (out.size() > 255) return Unexpected{value->error("more than 255 proposals")};
  return out;
}

// Traffic selectors; absent or "dynamic" alone is the empty list (the engine substitutes the
// IKE SA's address).
R<std::vector<TrafficSelector>> read_selectors(const std::optional<YamlNode>& value) {
  std::vector<TrafficSelector> out;
  if (!value) return out;
  CFG_TRY(items, read_items(*value));
  std::optional<YamlNode> dynamic;
  for (const Item& item : items) {
    auto ts = ike::parse_traffic_selector(item.text);
    if (!ts) return Unexpected{item.node.error(ts.error())};
    if (!*ts) {
      dynamic = item.node;
      continue;
    }
    out.push_back(std::move(**ts));
  }
  if (dynamic && !out.empty())
    return Unexpected{dynamic->error(
        "'dynamic' combined with other traffic selectors is not supported by ikeme")};
  return out;
}

// A decimal number such as 1.8 (strongSwan's retransmit_base) within [min, max].
R<double> read_decimal(const YamlNode& value, double min, double max, std::string_view range) {
  if (!value.is_scalar())
    return Unexpected{value.error("expected a number, found " + std::string(value.kind()))};
  const std::string text = value.scalar();
  double v = 0;
  const char* end = text.data() + text.size();
  // from_chars would accept "-1", "inf" and "nan"; a plain decimal starts with a digit.
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text.front())) == 0)
    return Unexpected{value.error("expected a number like 1.8, got " + in_quotes(text))};
  auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::fixed);
  if (ec != std::errc() || ptr != end)
    return Unexpected{value.error("expected a number like 1.8, got " + in_quotes(text))};
  if (v < min || v > max)
    return Unexpected{value.error("value " + text + " is out of range " + std::string(range))};
  return v;
}

// The value of `key` read with `read` (nullopt when absent or null).
template <class T, class Read>
R<std::optional<T>> optional_read(const YamlNode& map, std::string_view key, Read read) {
  CFG_TRY(v, optional_value(map, key));
  if (!v) return std::optional<T>();
  CFG_TRY(r, read(*v));
  return std::optional<T>(std::move(r));
}

// One of `words` (lower case), case-insensitively; the error lists them.
R<std::string> read_word(const YamlNode& value, std::initializer_list<std::string_view> words) {
  CFG_TRY(text, read_string(value));
  const std::string l = lower(text);
  for (std::string_view w : words)
    if (l == w) return l;
  std::string list;
  size_t i = 0;
  for (std::string_view w : words)
    list += (i++ == 0 ? "" : i == words.size() ? " or " : ", ") + in_quotes(w);
  return Unexpected{value.error("expected " + list + ", got " + in_quotes(text))};
}

// ---------------------------------------------------------------------------------------------
// daemon:

constexpr std::string_view kDaemonKeys[] = {"listen",
                                            "port",
                                            "port_nat_t",
                                            "control_socket",
                                            "retransmit_timeout",
                                            "retransmit_base",
                                            "retransmit_tries",
                                            "cookie_threshold",
                                            "half_open_limit",
                                            "half_open_timeout",
                                            "keepalive",
                                            "fragment_size",
                                            "esp_backend",
                                            "tun_name",
                                            "tun_mtu",
                                            "tun_offload",
                                            "replay_window",
                                            "install_routes",
                                            "firewall",
                                            "log"};

struct LogKey {
  std::string_view key;
  Subsystem subsystem;
};
constexpr LogKey kLogSubsystems[] = {
    {"ike", Subsystem::IKE}, {"net", Subsystem::NET}, {"enc", Subsystem::ENC},
    {"cfg", Subsystem::CFG}, {"chd", Subsystem::CHD}, {"knl", Subsystem::KNL},
    {"med", Subsystem::MED}, {"ice", Subsystem::ICE},
};

R<LogConfig> read_log(const YamlNode& map) {
  CFG_CHECK(check_section(
      map, {"default", "ike", "net", "enc", "cfg", "chd", "knl", "med", "ice", "file"}));
  LogConfig log;
  CFG_TRY(def, optional_integer(map, "default", -1, 4));
  if (def) log.default_level = static_cast<int>(*def);
  for (const LogKey& k : kLogSubsystems) {
    CFG_TRY(level, optional_integer(map, k.key, -1, 4));
    if (level) log.levels[k.subsystem] = static_cast<int>(*level);
  }
  CFG_TRY(file, optional_string(map, "file"));
  if (file) log.file = *file;
  return log;
}

// Positive durations (a zero timer would fire continuously).
R<std::optional<ike::Duration>> optional_positive_ms(const YamlNode& map, std::string_view key) {
  CFG_TRY(v, optional_value(map, key));
  if (!v) return std::optional<ike::Duration>();
  CFG_TRY(d, read_duration_ms(*v));
  if (d.count() == 0) return Unexpected{v->error("must be greater than 0")};
  return std::optional<ike::Duration>(d);
}

Check read_daemon(const YamlNode& map, PeerConfig& out) {
  CFG_CHECK(check_section(map, kDaemonKeys, {}));
  ike::EngineConfig& e = out.engine;
  CFG_TRY(listen, optional_value(map, "listen"));
  if (listen) {
    CFG_TRY(addrs, read_addresses(*listen, false));
    out.daemon.listen = std::move(addrs);
  }
  CFG_TRY(port, optional_integer(map, "port", 1, 65535));
  if (port) e.port = static_cast<uint16_t>(*port);
  CFG_TRY(nat_t, optional_value(map, "port_nat_t"));
  if (nat_t) {
    CFG_TRY(p, read_integer(*nat_t, 1, 65535));
    e.port_nat_t = static_cast<uint16_t>(p);
  }
  if (e.port == e.port_nat_t) {
    CFG_TRY(port_node, optional_value(map, "port"));
    const YamlNode& at = nat_t ? *nat_t : *port_node;  // one of them was set to make them equal
    return Unexpected{
        at.error("port and port_nat_t must differ (both are " + std::to_string(e.port) + ")")};
  }
  CFG_TRY(socket, optional_value(map, "control_socket"));
  if (socket) {
    CFG_TRY(path, read_string(*socket));
    if (path.empty()) return Unexpected{socket->error("must not be empty")};
    out.daemon.control_socket = path;
  }
  CFG_TRY(timeout, optional_positive_ms(map, "retransmit_timeout"));
  if (timeout) e.retransmit.timeout = *timeout;
  CFG_TRY(base, optional_read<double>(map, "retransmit_base", [](const YamlNode& v) {
            return read_decimal(v, 1.0, 10.0, "1..10");
          }));
  if (base) e.retransmit.base = *base;
  CFG_TRY(tries, optional_integer(map, "retransmit_tries", 0, 100));
  if (tries) e.retransmit.tries = static_cast<unsigned>(*tries);
  CFG_TRY(cookies, optional_integer(map, "cookie_threshold", 0, 1000000));
  if (cookies) e.cookie_threshold = static_cast<unsigned>(*cookies);
  CFG_TRY(half_open, optional_integer(map, "half_open_limit", 1, 10000000));
  if (half_open) e.half_open_limit = static_cast<unsigned>(*half_open);
  CFG_TRY(half_open_timeout, optional_positive_ms(map, "half_open_timeout"));
  if (half_open_timeout) e.half_open_timeout = *half_open_timeout;
  CFG_TRY(keepalive, optional_positive_ms(map, "keepalive"));
  if (keepalive) e.keepalive_interval = *keepalive;
  CFG_TRY(fragment, optional_integer(map, "fragment_size", 576, 65535));
  if (fragment) e.fragment_size = static_cast<size_t>(*fragment);
  CFG_TRY(backend, optional_value(map, "esp_backend"));
  if (backend) {
    CFG_TRY(word, read_word(*backend, {"auto", "xfrm", "userspace", "none"}));
    out.daemon.esp_backend = word == "xfrm"        ? EspBackend::Xfrm
                             : word == "userspace" ? EspBackend::Userspace
                             : word == "none"      ? EspBackend::None
                                                   : EspBackend::Auto;
  }
  CFG_TRY(tun, optional_value(map, "tun_name"));
  if (tun) {
    CFG_TRY(name, read_string(*tun));
    // IFNAMSIZ - 1 characters, no '/', whitespace or ':' (the kernel's dev_valid_name).
    bool valid = !name.empty() && name.size() <= 15 && name != "." && name != "..";
    for (char ch : name)
      if (ch == '/' || ch == ':' || static_cast<unsigned char>(ch) <= ' ') valid = false;
    if (!valid)
      return Unexpected{
          tun->error("expected an interface name of 1 to 15 characters without "
                     "'/', ':' or whitespace, got " +
                     in_quotes(name))};
    out.daemon.tun_name = name;
  }
  CFG_TRY(mtu, optional_integer(map, "tun_mtu", 576, 65535));
  if (mtu) out.daemon.tun_mtu = static_cast<uint32_t>(*mtu);
  CFG_TRY(offload, optional_bool(map, "tun_offload"));
  if (offload) out.daemon.tun_offload = *offload;
  CFG_TRY(window, optional_integer(map, "replay_window", 64, 65536));
  if (window) out.daemon.replay_window = static_cast<uint32_t>(*window);
  CFG_TRY(routes, optional_bool(map, "install_routes"));
  if (routes) out.daemon.install_routes = *routes;
  CFG_TRY(firewall, optional_bool(map, "firewall"));
  if (firewall) out.daemon.firewall = *firewall;
  CFG_TRY(log, optional_map(map, "log"));
  if (log) {
    CFG_TRY(l, read_log(*log));
    out.daemon.log = std::move(l);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// ice: what the connectivity checks of mediated connections may disclose and use.

Check read_ice(const YamlNode& map, PeerConfig& out) {
  CFG_CHECK(check_section(
      map, {"exclude_interfaces", "exclude_addresses", "transaction_timeout", "disclose_ipv6"}));
  CFG_TRY(timeout, optional_positive_ms(map, "transaction_timeout"));
  if (timeout) out.ice.transaction_timeout = *timeout;
  CFG_TRY(ipv6, optional_bool(map, "disclose_ipv6"));
  if (ipv6) out.ice.disclose_ipv6 = *ipv6;
  CFG_TRY(interfaces, optional_value(map, "exclude_interfaces"));
  if (interfaces) {
    CFG_TRY(names, read_string_list(*interfaces));
    out.ice.exclusions.interfaces = std::move(names);
  }
  CFG_TRY(addresses, optional_value(map, "exclude_addresses"));
  if (addresses) {
    CFG_TRY(texts, read_string_list(*addresses));
    for (const std::string& t : texts) {
      auto prefix = ice::AddressPrefix::parse(t);
      if (!prefix)
        return Unexpected{
            addresses->error("invalid address or prefix " + in_quotes(t) + ": " + prefix.error())};
      out.ice.exclusions.prefixes.push_back(*prefix);
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// connections:

constexpr std::string_view kConnectionKeys[] = {
    "version",   "local_addrs", "remote_addrs",   "local_port",  "remote_port",
    "proposals", "dpd_delay",   "dpd_timeout",    "keyingtries", "fragmentation",
    "mediation", "mediated_by", "mediation_peer", "encap",       "vips",
    "pools",     "local",       "remote",         "children",    "srflx_refresh"};

constexpr std::string_view kChildKeys[] = {"local_ts",   "remote_ts",    "esp_proposals",
                                           "mode",       "start_action", "dpd_action",
                                           "rekey_time", "life_time"};

// What the cross-section checks need to point at.
struct AuthSide {
  AuthConfig config;
  std::optional<YamlNode> auth;     // the `auth` value, if written
  std::optional<YamlNode> id;       // the `id` value, if written
  std::optional<YamlNode> certs;    // the `certs` value (local, auth: pubkey)
  std::optional<YamlNode> pubkeys;  // the `pubkeys` value (auth: pubkey with raw keys)
};

struct ParsedConnection {
  ConnectionConfig config;
  YamlNode node;
  AuthSide local, remote;
  std::optional<YamlNode> mediated_by;
};

// A file named in the config: absolute, or relative to the config file's directory.
std::string resolve_path(const YamlNode& at, const std::string& file) {
  const std::filesystem::path p(file);
  if (p.is_absolute()) return file;
  return (std::filesystem::path(at.file()).parent_path() / p).string();
}

// Turns a PKI loading error into a config error at `at`, naming the file.
ConfigError pki_error(const YamlNode& at, const std::string& file, const ike::pki::PkiError& e,
                      std::string_view what) {
  if (e.kind == ike::pki::PkiErrorKind::Io)
    return at.error("cannot read " + std::string(what) + " file " + in_quotes(file) + ": " +
                    e.detail);
  if (e.kind == ike::pki::PkiErrorKind::Parse)
    return at.error(in_quotes(file) + " is not a " + std::string(what) + ": " + e.detail);
  return at.error(in_quotes(file) + ": " + e.message());
}

// The file list of `certs`, `cacerts` or `crls`; at least one file.
R<std::vector<Item>> read_files(const YamlNode& value) {
  CFG_TRY(items, read_items(value));
  if (items.empty()) return Unexpected{value.error("at least one file is required")};
  return std::move(items);
}

R<std::shared_ptr<const ike::pki::Certificate>> load_certificate(const Item& item) {
  auto cert = ike::pki::Certificate::load(resolve_path(item.node, item.text));
  if (!cert) return Unexpected{pki_error(item.node, item.text, cert.error(), "certificate")};
  return std::make_shared<const ike::pki::Certificate>(std::move(*cert));
}

// Adds trust anchors (every certificate of each file) to `store`.
Check add_cas(const YamlNode& value, ike::pki::TrustStore& store) {
  CFG_TRY(items, read_files(value));
  for (const Item& item : items) {
    auto added = store.add_ca_file(resolve_path(item.node, item.text));
    if (!added) {
      if (added.error().kind == ike::pki::PkiErrorKind::NotCa)
        return Unexpected{item.node.error(in_quotes(item.text) + " is not a CA certificate (" +
                                          in_quotes(added.error().subject) +
                                          " lacks the CA basic constraint)")};
      return Unexpected{pki_error(item.node, item.text, added.error(), "certificate")};
    }
  }
  return {};
}

// The top-level `crls`, kept as files so that every trust store (global and per connection)
// gets them.
struct GlobalTrust {
  std::vector<Item> crls;
  std::shared_ptr<const ike::pki::TrustStore> store;  // the top-level cacerts and crls, if any
};

Check add_crls(const std::vector<Item>& crls, ike::pki::TrustStore& store) {
  for (const Item& item : crls) {
    auto added = store.add_crl_file(resolve_path(item.node, item.text));
    if (!added) return Unexpected{pki_error(item.node, item.text, added.error(), "CRL")};
  }
  return {};
}

// swanctl's `pubkeys`: raw public key files, PEM or DER SubjectPublicKeyInfo or PKCS#1
// RSAPublicKey.
R<std::vector<std::shared_ptr<const ike::crypto::PublicKey>>> load_public_keys(
    const YamlNode& value) {
  CFG_TRY(items, read_files(value));
  std::vector<std::shared_ptr<const ike::crypto::PublicKey>> keys;
  for (const Item& item : items) {
    auto data = ike::pki::read_file(resolve_path(item.node, item.text));
    if (!data) return Unexpected{pki_error(item.node, item.text, data.error(), "public key")};
    auto key = ike::crypto::PublicKey::load(*data);
    if (!key)
      return Unexpected{
          item.node.error(in_quotes(item.text) + " is not a public key: " + key.error().detail)};
    keys.push_back(std::make_shared<const ike::crypto::PublicKey>(std::move(*key)));
  }
  return keys;
}

R<AuthSide> read_auth(const YamlNode& map, bool local, const GlobalTrust& global) {
  // swanctl's cert<suffix> (both sides) and cacert<suffix> (remote) subsections.
  CFG_TRY(entries, map.entries());
  for (const YamlEntry& e : entries) {
    for (std::string_view prefix : {"cert", "cacert"}) {
      if (!e.key.starts_with(prefix) || (prefix == "cacert" && local)) continue;
      const std::string_view rest = std::string_view(e.key).substr(prefix.size());
      if (rest.empty() || (rest[0] != '_' && rest != "s"))
        return Unexpected{refused_error(e, RefusedKey{e.key, Harmless::Nothing})};
    }
  }
  CFG_CHECK(check_section(
      map,
      local ? std::initializer_list<std::string_view>{"auth", "id", "certs", "pubkeys"}
            : std::initializer_list<std::string_view>{"auth", "id", "cacerts", "ca_id", "pubkeys"},
      local ? std::span<const RefusedKey>(kLocalRefused)
            : std::span<const RefusedKey>(kRemoteRefused)));
  AuthSide side;
  CFG_TRY(auth, optional_value(map, "auth"));
  if (auth) {
    CFG_TRY(method, read_string(*auth));
    const std::string m = lower(method);
    if (m == "psk") {
      side.config.method = AuthMethodConfig::Psk;
    } else if (m == "pubkey") {
      side.config.method = AuthMethodConfig::Pubkey;
    } else if (m.starts_with("rsa") || m.starts_with("ecdsa") || m.starts_with("ed25519") ||
               m.starts_with("ed448") || m.starts_with("bliss")) {
      return Unexpected{auth->error("auth " + in_quotes(method) +
                                    " is not supported by ikeme; use auth: pubkey (the signature "
                                    "scheme is negotiated)")};
    } else if (m.starts_with("eap")) {
      return Unexpected{auth->error("EAP authentication is not supported by ikeme (auth " +
                                    in_quotes(method) + "); use auth: psk or auth: pubkey")};
    } else if (m.starts_with("xauth")) {
      return Unexpected{auth->error(
          "XAuth is IKEv1-only and not supported by ikeme; use auth: psk or auth: pubkey")};
    } else {
      return Unexpected{auth->error("unknown auth method " + in_quotes(method) +
                                    "; ikeme supports 'psk' and 'pubkey'")};
    }
    side.auth = *auth;
  }
  CFG_TRY(id, optional_value(map, "id"));
  if (id) {
    CFG_TRY(identity, read_identity(*id));
    side.config.id = std::move(identity);
    side.id = *id;
  }
  const bool pubkey = side.config.method == AuthMethodConfig::Pubkey;
  const std::string_view files_key = local ? "certs" : "cacerts";
  CFG_TRY(files, optional_value(map, files_key));
  if (files && !pubkey) {
    auto list = read_string_list(*files);
    if (!list || !list->empty())  // an empty value is harmless, as swanctl treats it
      return Unexpected{files->error("'" + std::string(files_key) + "' needs auth: pubkey")};
    files.reset();
  }
  CFG_TRY(pubkeys, optional_value(map, "pubkeys"));
  if (pubkeys) {
    auto list = read_string_list(*pubkeys);
    if (list && list->empty()) {
      pubkeys.reset();  // an empty value is harmless, as swanctl treats it
    } else if (!pubkey) {
      return Unexpected{pubkeys->error("'pubkeys' needs auth: pubkey")};
    } else if (files) {
      return Unexpected{pubkeys->error(std::string("'pubkeys' and '") + std::string(files_key) +
                                       "' cannot be combined; ikeme authenticates " +
                                       (local ? "us" : "the peer") +
                                       " either by certificate or by raw public key")};
    }
  }
  if (pubkeys) {
    CFG_TRY(keys, load_public_keys(*pubkeys));
    if (local && keys.size() != 1)
      return Unexpected{pubkeys->error("local 'pubkeys' takes exactly one public key file (" +
                                       std::to_string(keys.size()) + " given)")};
    if (!local && side.config.id.is_any())
      return Unexpected{
          (side.id ? *side.id : *pubkeys)
              .error("a peer authenticated by 'pubkeys' needs a configured remote 'id' (not "
                     "%any): a raw public key vouches for no identity")};
    side.config.pubkeys = std::move(keys);
    side.pubkeys = *pubkeys;
  }
  if (local && pubkey && !pubkeys) {
    if (!files)
      return Unexpected{
          auth->error("auth: pubkey needs 'certs': our certificate file (and any intermediate CA "
                      "files), or 'pubkeys': our raw public key file")};
    CFG_TRY(items, read_files(*files));
    for (size_t i = 0; i < items.size(); ++i) {
      CFG_TRY(cert, load_certificate(items[i]));
      if (i == 0)
        side.config.cert = std::move(cert);
      else
        side.config.intermediates.push_back(std::move(cert));
    }
    side.certs = *files;
  }
  if (!local && files) {
    ike::pki::TrustStore store;
    CFG_CHECK(add_cas(*files, store));
    CFG_CHECK(add_crls(global.crls, store));
    side.config.trust = std::make_shared<const ike::pki::TrustStore>(std::move(store));
  }
  if (!local) {
    CFG_TRY(ca_id, optional_value(map, "ca_id"));
    if (ca_id && !(ca_id->is_scalar() && ca_id->scalar().empty())) {  // "" is harmless
      CFG_TRY(subject, read_string(*ca_id));
      if (!pubkey) return Unexpected{ca_id->error("'ca_id' needs auth: pubkey")};
      if (pubkeys)
        return Unexpected{
            ca_id->error("'ca_id' cannot be combined with 'pubkeys' (no CA is "
                         "involved in raw public key authentication)")};
      // The subject DN of one of this side's trust anchors, written as Certificate::subject().
      const ike::pki::TrustStore* store =
          side.config.trust ? side.config.trust.get() : global.store.get();
      if (store)
        for (const ike::pki::Certificate& ca : store->cas())
          if (ca.subject() == subject)
            side.config.ca = std::make_shared<const ike::pki::Certificate>(ca.clone());
      if (!side.config.ca)
        return Unexpected{ca_id->error(
            "no trusted CA has subject " + in_quotes(subject) + " (ca_id names a certificate of " +
            (side.config.trust ? "this side's" : "the top-level") + " cacerts by its subject DN)")};
    }
  }
  return side;
}

// "yes" / "accept" / "force" -> true, "no" -> false (swanctl's fragmentation values; booleans in
// any of read_bool's spellings too).
R<bool> read_fragmentation(const YamlNode& value) {
  CFG_TRY(text, read_string(value));
  const std::string l = lower(text);
  if (l == "accept" || l == "force") return true;
  auto b = read_bool(value);
  if (b) return *b;
  return Unexpected{
      value.error("expected 'yes', 'no', 'accept' or 'force', got " + in_quotes(text))};
}

struct ParsedChild {
  ChildConfig config;
  std::optional<YamlNode> start_action;
};

R<ParsedChild> read_child(const std::string& name, const YamlNode& map) {
  CFG_CHECK(check_section(map, kChildKeys, kChildRefused));
  ParsedChild out;
  ChildConfig& c = out.config;
  c.name = name;
  CFG_TRY(local_ts_node, optional_value(map, "local_ts"));
  CFG_TRY(local_ts, read_selectors(local_ts_node));
  c.local_ts = std::move(local_ts);
  CFG_TRY(remote_ts_node, optional_value(map, "remote_ts"));
  CFG_TRY(remote_ts, read_selectors(remote_ts_node));
  c.remote_ts = std::move(remote_ts);
  CFG_TRY(esp_node, optional_value(map, "esp_proposals"));
  CFG_TRY(esp, read_proposals(esp_node, ProtocolId::ESP, kDefaultEspProposals));
  c.esp_proposals = std::move(esp);

  CFG_TRY(mode, optional_value(map, "mode"));
  if (mode) {
    CFG_TRY(text, read_string(*mode));
    const std::string m = lower(text);
    if (m == "tunnel") {
      c.mode = ChildMode::Tunnel;
    } else if (m == "transport") {
      c.mode = ChildMode::Transport;
    } else if (m == "beet" || m == "transport_proxy" || m == "pass" || m == "drop") {
      return Unexpected{mode->error("mode " + in_quotes(text) +
                                    " is not supported by ikeme; use tunnel or transport")};
    } else {
      return Unexpected{mode->error("expected 'tunnel' or 'transport', got " + in_quotes(text))};
    }
  }

  CFG_TRY(start, optional_value(map, "start_action"));
  if (start) {
    CFG_TRY(text, read_string(*start));
    const std::string s = lower(text);
    if (s == "none") {
      c.start_action = StartAction::None;
    } else if (s == "start") {
      c.start_action = StartAction::Start;
    } else if (s == "trap") {
      c.start_action = StartAction::Trap;
    } else if (s == "trap|start" || s == "start|trap") {
      return Unexpected{start->error("start_action " + in_quotes(text) +
                                     " is not supported by ikeme; use 'start' or 'trap'")};
    } else {
      return Unexpected{start->error("expected 'none', 'start' or 'trap', got " + in_quotes(text))};
    }
    out.start_action = *start;
  }

  CFG_TRY(dpd, optional_value(map, "dpd_action"));
  if (dpd) {
    CFG_TRY(word, read_word(*dpd, {"clear", "restart", "trap", "none"}));
    c.dpd_action = word == "restart" ? DpdAction::Restart
                   : word == "trap"  ? DpdAction::Trap
                                     : DpdAction::Clear;  // "none" is strongSwan's old "clear"
  }

  CFG_TRY(rekey, optional_duration(map, "rekey_time"));
  if (rekey) c.rekey_time_s = static_cast<uint64_t>(rekey->count());
  CFG_TRY(life_node, optional_value(map, "life_time"));
  if (life_node) {
    CFG_TRY(life, read_duration(*life_node));
    c.life_time_s = static_cast<uint64_t>(life.count());
    if (c.rekey_time_s > 0 && c.life_time_s <= c.rekey_time_s)
      return Unexpected{life_node->error("life_time (" + std::to_string(c.life_time_s) +
                                         "s) must be greater than rekey_time (" +
                                         std::to_string(c.rekey_time_s) + "s)")};
  } else {
    c.life_time_s = c.rekey_time_s + c.rekey_time_s / 10;  // swanctl: rekey_time + 10%
  }
  return out;
}

// A local address the daemon does not bind can never carry this connection's IKE traffic.
Check check_listened(const YamlNode& at, const std::vector<IpAddress>& local_addrs,
                     const std::vector<IpAddress>& listen) {
  if (listen.empty()) return {};  // both wildcards
  const IpAddress any4 = *IpAddress::parse("0.0.0.0"), any6 = *IpAddress::parse("::");
  for (const IpAddress& a : local_addrs) {
    const IpAddress& wildcard = a.is_v4() ? any4 : any6;
    if (std::find(listen.begin(), listen.end(), a) != listen.end() ||
        std::find(listen.begin(), listen.end(), wildcard) != listen.end())
      continue;
    std::string bound;
    for (const IpAddress& l : listen) bound += (bound.empty() ? "" : ", ") + l.to_string();
    return Unexpected{at.error(a.to_string() + " is not an address the daemon listens on (" +
                               "daemon.listen: " + bound + ")")};
  }
  return {};
}

R<ParsedConnection> read_connection(const std::string& name, const YamlNode& map,
                                    const ike::EngineConfig& engine,
                                    const std::vector<IpAddress>& listen,
                                    const GlobalTrust& global) {
  // swanctl's local<suffix> / remote<suffix>: further authentication rounds.
  CFG_TRY(entries, map.entries());
  for (const YamlEntry& e : entries) {
    for (std::string_view side : {"local", "remote"}) {
      if (!e.key.starts_with(side) || e.key.size() == side.size() || e.key[side.size()] == '_')
        continue;
      return Unexpected{e.key_node.error("section '" + e.key +
                                         "': multiple authentication rounds are not supported "
                                         "by ikeme; use one 'local' and one 'remote' section")};
    }
  }
  CFG_CHECK(check_section(map, kConnectionKeys, kConnectionRefused));

  ParsedConnection out{ConnectionConfig{}, map, {}, {}, {}};
  ConnectionConfig& c = out.config;
  c.name = name;

  CFG_TRY(version, optional_value(map, "version"));
  if (version) {
    CFG_TRY(v, read_integer(*version, 0, 2));
    if (v == 1)
      return Unexpected{
          version->error("IKEv1 is not supported by ikeme; use version 2 (or 0, which means 2)")};
  }
  CFG_TRY(local_addrs, optional_value(map, "local_addrs"));
  if (local_addrs) {
    CFG_TRY(a, read_addresses(*local_addrs, true));
    c.local_addrs = std::move(a);
    CFG_CHECK(check_listened(*local_addrs, c.local_addrs, listen));
  }
  CFG_TRY(remote_addrs, optional_value(map, "remote_addrs"));
  if (remote_addrs) {
    CFG_TRY(a, read_addresses(*remote_addrs, true));
    c.remote_addrs = std::move(a);
  }
  CFG_TRY(local_port, optional_value(map, "local_port"));
  if (local_port) {
    CFG_TRY(p, read_integer(*local_port, 1, 65535));
    if (p != engine.port)
      return Unexpected{local_port->error(
          "per-connection local ports are not supported by ikeme: local_port must equal "
          "daemon.port (" +
          std::to_string(engine.port) + ")")};
  }
  CFG_TRY(remote_port, optional_integer(map, "remote_port", 1, 65535));
  if (remote_port) c.remote_port = static_cast<uint16_t>(*remote_port);
  CFG_TRY(proposals_node, optional_value(map, "proposals"));
  CFG_TRY(proposals, read_proposals(proposals_node, ProtocolId::IKE, kDefaultIkeProposals));
  c.proposals = std::move(proposals);
  CFG_TRY(dpd_delay, optional_duration_ms(map, "dpd_delay"));
  if (dpd_delay) c.dpd_delay = *dpd_delay;
  CFG_TRY(dpd_timeout, optional_duration_ms(map, "dpd_timeout"));
  if (dpd_timeout) c.dpd_timeout = *dpd_timeout;
  CFG_TRY(keyingtries, optional_integer(map, "keyingtries", 0, 4294967295));
  if (keyingtries) c.keyingtries = static_cast<unsigned>(*keyingtries);
  CFG_TRY(fragmentation, optional_read<bool>(map, "fragmentation", read_fragmentation));
  if (fragmentation) c.fragmentation = *fragmentation;
  CFG_TRY(mediation, optional_bool(map, "mediation"));
  if (mediation) c.mediation = *mediation;
  CFG_TRY(srflx_node, optional_value(map, "srflx_refresh"));
  CFG_TRY(srflx_refresh, optional_duration_ms(map, "srflx_refresh"));
  if (srflx_refresh) {
    if (!c.mediation)
      return Unexpected{
          srflx_node->error("srflx_refresh is for mediation connections (mediation: yes) only")};
    c.srflx_refresh = *srflx_refresh;
  }
  CFG_TRY(encap, optional_bool(map, "encap"));
  if (encap) c.encap = *encap;

  CFG_TRY(vips, optional_value(map, "vips"));
  if (vips) {
    CFG_TRY(a, read_addresses(*vips, false));
    c.vips = std::move(a);
  }
  CFG_TRY(pools, optional_value(map, "pools"));
  if (pools) {
    CFG_TRY(items, read_items(*pools));
    for (const Item& item : items) {
      bool known = IpAddress::parse(item.text).has_value();  // a fixed address
      for (const ike::PoolConfig& p : engine.pools) known = known || p.name == item.text;
      if (!known) {
        std::string names;
        for (const ike::PoolConfig& p : engine.pools) names += (names.empty() ? "" : ", ") + p.name;
        return Unexpected{
            item.node.error("unknown pool " + in_quotes(item.text) +
                            (names.empty() ? "; the top-level 'pools' section defines none"
                                           : "; defined pools: " + names) +
                            " (or write a single IP address to assign that fixed address)")};
      }
      c.pools.push_back(item.text);
    }
  }
  CFG_TRY(mediated_by, optional_value(map, "mediated_by"));
  CFG_TRY(mediation_peer, optional_value(map, "mediation_peer"));
  if (mediated_by && !mediated_by->is_null()) {
    CFG_TRY(by, read_string(*mediated_by));
    if (by.empty()) mediated_by.reset();  // swanctl's default: not mediated
  }
  if (mediation_peer && !mediation_peer->is_null()) {
    CFG_TRY(peer_text, read_string(*mediation_peer));
    if (peer_text.empty()) mediation_peer.reset();
  } else {
    mediation_peer.reset();
  }
  if (mediated_by && mediated_by->is_null()) mediated_by.reset();
  if (mediated_by) {
    CFG_TRY(by, read_string(*mediated_by));
    if (c.mediation)
      return Unexpected{
          mediated_by->error("a mediation connection (mediation: yes) cannot itself be mediated")};
    c.mediated_by = by;
    out.mediated_by = *mediated_by;
    if (!mediation_peer)
      return Unexpected{mediated_by->error(
          "a mediated connection needs mediation_peer: the peer's identity at the mediation "
          "server")};
  }
  if (mediation_peer) {
    if (!mediated_by) return Unexpected{mediation_peer->error("mediation_peer needs mediated_by")};
    CFG_TRY(peer, read_identity(*mediation_peer));
    c.mediation_peer = peer;
  }

  CFG_TRY(local, optional_map(map, "local"));
  if (local) {
    CFG_TRY(side, read_auth(*local, true, global));
    out.local = std::move(side);
  }
  CFG_TRY(remote, optional_map(map, "remote"));
  if (remote) {
    CFG_TRY(side, read_auth(*remote, false, global));
    out.remote = std::move(side);
  }
  c.local = out.local.config;
  c.remote = out.remote.config;

  CFG_TRY(children, optional_value(map, "children"));
  if (children) {
    CFG_TRY(child_entries, children->entries());
    if (c.mediation && !child_entries.empty())
      return Unexpected{children->error(
          "a mediation connection (mediation: yes) carries no CHILD_SAs; remove 'children'")};
    CFG_CHECK(check_names(*children, child_entries));
    for (const YamlEntry& e : child_entries) {
      if (!e.value.is_null() && !e.value.is_map())
        return Unexpected{e.value.error("a child must be a mapping of its settings, found " +
                                        std::string(e.value.kind()))};
      CFG_TRY(child, read_child(e.key, e.value));
      if (child.start_action && child.config.start_action != StartAction::None &&
          c.remote_addrs.empty() && c.mediated_by.empty())
        return Unexpected{child.start_action->error(
            "start_action " + in_quotes(child.start_action->scalar()) +
            " needs the connection's remote_addrs: an initiator must know whom to contact")};
      c.children.push_back(std::move(child.config));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pools: (swanctl's virtual IP pools)

Check read_pools(const YamlNode& map, std::vector<ike::PoolConfig>& out) {
  CFG_TRY(entries, map.entries());
  CFG_CHECK(check_names(map, entries));
  for (const YamlEntry& e : entries) {
    if (!e.value.is_map())
      return Unexpected{e.value.error("a pool must be a mapping with 'addrs' (and 'dns'), found " +
                                      std::string(e.value.kind()))};
    if (IpAddress::parse(e.key))
      return Unexpected{e.key_node.error(
          "a pool may not be named like an IP address; such names in a connection's 'pools' "
          "stand for that fixed address")};
    CFG_CHECK(check_section(e.value, {"addrs", "dns"}, kPoolRefused));
    ike::PoolConfig pool;
    pool.name = e.key;
    CFG_TRY(addrs, required_value(e.value, "addrs"));
    CFG_TRY(text, read_string(addrs));
    auto range = ike::parse_pool_addrs(text);
    if (!range) return Unexpected{addrs.error(range.error())};
    pool.first = range->first;
    pool.last = range->second;
    CFG_TRY(dns, optional_value(e.value, "dns"));
    if (dns) {
      CFG_TRY(a, read_addresses(*dns, false));
      pool.dns = std::move(a);
    }
    out.push_back(std::move(pool));
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// secrets:

// swanctl's secret kinds, by the prefix of their section name.
constexpr std::string_view kOtherSecretKinds[] = {"eap",   "xauth",  "ntlm", "ppk",
                                                  "pkcs8", "pkcs12", "token"};

// The sections holding a private key file, and the key type each requires (swanctl: private
// takes any, rsa only RSA keys, ecdsa only EC keys).
enum class KeyKind { Any, Rsa, Ecdsa };
struct KeySection {
  std::string_view prefix;
  KeyKind kind;
};
constexpr KeySection kKeySections[] = {
    {"private", KeyKind::Any}, {"rsa", KeyKind::Rsa}, {"ecdsa", KeyKind::Ecdsa}};

// A private<suffix>, rsa<suffix> or ecdsa<suffix> section: a private key file (PEM or DER) and its
// optional passphrase.
struct LoadedKey {
  std::shared_ptr<const ike::crypto::PrivateKey> key;
  YamlNode file;  // the `file` value, for "matches no certificate"
  bool used = false;
};

R<LoadedKey> read_private_key(const YamlNode& map, const KeySection& section) {
  CFG_CHECK(check_section(map, {"file", "secret"}));
  CFG_TRY(file_node, required_value(map, "file"));
  CFG_TRY(file, read_string(file_node));
  if (file.empty()) return Unexpected{file_node.error("must not be empty")};
  CFG_TRY(passphrase_node, optional_value(map, "secret"));
  std::string passphrase;
  if (passphrase_node) {
    CFG_TRY(text, read_string(*passphrase_node));
    passphrase = std::move(text);
  }
  auto data = ike::pki::read_file(resolve_path(file_node, file));
  if (!data) return Unexpected{pki_error(file_node, file, data.error(), "private key")};
  auto key = ike::crypto::PrivateKey::load(*data, passphrase);
  if (!key) {
    // An encrypted key that does not open is blamed on the passphrase when one is given.
    const std::string why =
        "cannot load private key " + in_quotes(file) + ": " + key.error().detail;
    return Unexpected{passphrase_node ? passphrase_node->error(why + " (wrong passphrase?)")
                                      : file_node.error(why)};
  }
  const bool is_rsa = key->type() == ike::crypto::KeyType::RSA;
  if ((section.kind == KeyKind::Rsa && !is_rsa) || (section.kind == KeyKind::Ecdsa && is_rsa))
    return Unexpected{file_node.error(in_quotes(file) + " holds an " + key->describe() +
                                      " key, but an " + std::string(section.prefix) +
                                      "<suffix> section takes only " +
                                      (section.kind == KeyKind::Rsa ? "RSA" : "ECDSA") +
                                      " keys (use a private<suffix> section for any key type)")};
  return LoadedKey{std::make_shared<const ike::crypto::PrivateKey>(std::move(*key)), file_node,
                   false};
}

R<SharedSecret> read_ike_secret(const YamlNode& map) {
  CFG_TRY(entries, map.entries());
  std::vector<std::string> id_keys;
  for (const YamlEntry& e : entries)
    if (e.key.starts_with("id")) id_keys.push_back(e.key);
  CFG_CHECK(check_section(map, {"secret", "id"}, {}, id_keys));
  SharedSecret s;
  for (const YamlEntry& e : entries) {
    if (!e.key.starts_with("id") || e.value.is_null()) continue;
    CFG_TRY(id, read_identity(e.value));
    if (id.is_any())
      return Unexpected{e.value.error(
          "'%any' cannot be a secret's id; leave out every id for a secret that applies to all "
          "identities")};
    s.ids.push_back(std::move(id));
  }
  CFG_TRY(secret, required_secret(map, "secret"));
  if (secret.size() < kMinPskBytes) {
    YamlNode at = **map.find("secret");
    return Unexpected{at.error("pre-shared key of " + std::to_string(secret.size()) +
                               " bytes is too weak; at least " + std::to_string(kMinPskBytes) +
                               " are required")};
  }
  s.secret = std::move(secret);
  return s;
}

Check read_secrets(const YamlNode& map, std::vector<SharedSecret>& out,
                   std::vector<LoadedKey>& keys) {
  CFG_TRY(entries, map.entries());
  CFG_CHECK(check_names(map, entries));
  for (const YamlEntry& e : entries) {
    const KeySection* section = nullptr;
    for (const KeySection& k : kKeySections)
      if (e.key.starts_with(k.prefix)) section = &k;
    if (section) {
      if (!e.value.is_map())
        return Unexpected{
            e.value.error("a private key must be a mapping with 'file' and 'secret', found " +
                          std::string(e.value.kind()))};
      CFG_TRY(key, read_private_key(e.value, *section));
      keys.push_back(std::move(key));
      continue;
    }
    if (!e.key.starts_with("ike")) {
      for (std::string_view kind : kOtherSecretKinds)
        if (e.key.starts_with(kind))
          return Unexpected{e.key_node.error("secrets of type '" + std::string(kind) +
                                             "' are not supported by ikeme; only ike<suffix> "
                                             "(pre-shared keys) and private<suffix>, "
                                             "rsa<suffix>, ecdsa<suffix> (private key files)")};
      return Unexpected{e.key_node.error("unknown secret section " + in_quotes(e.key) +
                                         "; IKE pre-shared keys go in sections named "
                                         "ike<suffix>, e.g. ike-home")};
    }
    if (!e.value.is_map())
      return Unexpected{e.value.error("a secret must be a mapping with 'id' and 'secret', found " +
                                      std::string(e.value.kind()))};
    CFG_TRY(secret, read_ike_secret(e.value));
    out.push_back(std::move(secret));
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Checks across sections.

bool lists(const SharedSecret& s, const Identity& id) {
  return std::any_of(s.ids.begin(), s.ids.end(), [&](const Identity& i) { return i == id; });
}

// A PSK connection for which ike::find_psk could never find a secret: there is no secret at
// all, or the local identity is explicit and no secret names it, names the (explicit) remote
// identity or names nobody. With a %any remote, any secret may name the peer's actual identity.
Check check_psk_reachable(const ParsedConnection& p, const std::vector<SharedSecret>& secrets) {
  const ConnectionConfig& c = p.config;
  const bool psk =
      c.local.method == AuthMethodConfig::Psk || c.remote.method == AuthMethodConfig::Psk;
  if (!psk) return {};
  if (secrets.empty()) {
    const AuthSide& side = c.local.method == AuthMethodConfig::Psk ? p.local : p.remote;
    const YamlNode at = side.auth ? *side.auth : p.node;
    return Unexpected{at.error(
        "connection '" + c.name + "' authenticates with a pre-shared key (auth: psk" +
        (side.auth ? "" : ", the default") + "), but 'secrets' holds no ike<suffix> section")};
  }
  if (c.local.id.is_any() || c.remote.id.is_any()) return {};
  for (const SharedSecret& s : secrets)
    if (s.ids.empty() || lists(s, c.local.id) || lists(s, c.remote.id)) return {};
  return Unexpected{p.local.id->error(
      "no secret can apply to this connection: none lists " + in_quotes(c.local.id.to_string()) +
      " or " + in_quotes(c.remote.id.to_string()) + ", and none is without ids")};
}

// A local auth: pubkey side gets the private key whose public half is in its certificate (or is
// its raw public key).
Check pair_key(ParsedConnection& p, std::vector<LoadedKey>& keys) {
  AuthConfig& local = p.config.local;
  if (local.method != AuthMethodConfig::Pubkey) return {};
  const bool raw = !local.pubkeys.empty();
  for (LoadedKey& k : keys) {
    if (raw ? !k.key->matches(*local.pubkeys.front())
            : !ike::pki::certificate_matches_key(*local.cert, *k.key))
      continue;
    local.key = k.key;
    k.used = true;
    return {};
  }
  YamlNode at = raw ? *p.local.pubkeys : *p.local.certs;
  if (at.is_sequence()) {
    auto items = at.items();
    if (items && !items->empty()) at = (*items)[0];
  }
  return Unexpected{at.error(
      "no private key in 'secrets' (private<suffix>, rsa<suffix> or ecdsa<suffix> sections) "
      "matches " +
      (raw ? "public key " + local.pubkeys.front()->describe()
           : "certificate " + in_quotes(local.cert->subject())))};
}

// The document root's `connections:` entries; each a mapping (null = all defaults).
Check read_connections(const YamlNode& map, std::vector<ParsedConnection>& out,
                       const PeerConfig& config, const GlobalTrust& global) {
  CFG_TRY(entries, map.entries());
  CFG_CHECK(check_names(map, entries));
  for (const YamlEntry& e : entries) {
    if (!e.value.is_null() && !e.value.is_map())
      return Unexpected{e.value.error("a connection must be a mapping of its settings, found " +
                                      std::string(e.value.kind()))};
    CFG_TRY(conn, read_connection(e.key, e.value, config.engine, config.daemon.listen, global));
    out.push_back(std::move(conn));
  }
  return {};
}

R<PeerConfig> load_document(const YamlDocument& doc, const PeerConfigOptions& options) {
  const YamlNode& root = doc.root;
  if (!root.is_null() && !root.is_map())
    return Unexpected{root.error("expected a mapping with daemon, connections and secrets, found " +
                                 std::string(root.kind()))};
  CFG_CHECK(check_section(root,
                          {"daemon", "ice", "connections", "secrets", "cacerts", "crls", "pools"},
                          kRootRefused, options.extra_sections));
  PeerConfig out;
  CFG_TRY(daemon, optional_map(root, "daemon"));
  if (daemon) CFG_CHECK(read_daemon(*daemon, out));
  CFG_TRY(ice, optional_map(root, "ice"));
  if (ice) CFG_CHECK(read_ice(*ice, out));

  // Global trust anchors and CRLs, before the connections whose own `cacerts` also get the CRLs.
  GlobalTrust global;
  CFG_TRY(cacerts, optional_value(root, "cacerts"));
  CFG_TRY(crls, optional_value(root, "crls"));
  if (crls) {
    CFG_TRY(items, read_files(*crls));
    global.crls = std::move(items);
  }
  if (cacerts || crls) {
    ike::pki::TrustStore store;
    if (cacerts) CFG_CHECK(add_cas(*cacerts, store));
    CFG_CHECK(add_crls(global.crls, store));
    out.engine.trust_store = std::make_shared<const ike::pki::TrustStore>(std::move(store));
    global.store = out.engine.trust_store;
  }

  CFG_TRY(pools, optional_map(root, "pools"));
  if (pools) CFG_CHECK(read_pools(*pools, out.engine.pools));

  std::vector<ParsedConnection> connections;
  CFG_TRY(conns, optional_map(root, "connections"));
  if (conns) CFG_CHECK(read_connections(*conns, connections, out, global));
  // A fixed address in a connection's `pools` is a pool of one address, named by the address.
  for (const ParsedConnection& p : connections) {
    for (const std::string& name : p.config.pools) {
      auto ip = IpAddress::parse(name);
      bool defined = false;
      for (const ike::PoolConfig& pool : out.engine.pools) defined = defined || pool.name == name;
      if (ip && !defined) out.engine.pools.push_back(ike::PoolConfig{name, *ip, *ip, {}});
    }
  }

  std::vector<LoadedKey> keys;
  CFG_TRY(secrets, optional_map(root, "secrets"));
  if (secrets) CFG_CHECK(read_secrets(*secrets, out.engine.ike_secrets, keys));

  for (ParsedConnection& p : connections) {
    if (!options.external_psks) CFG_CHECK(check_psk_reachable(p, out.engine.ike_secrets));
    CFG_CHECK(pair_key(p, keys));
    if (p.config.remote.method == AuthMethodConfig::Pubkey && p.config.remote.pubkeys.empty() &&
        !p.config.remote.trust && !out.engine.trust_store)
      return Unexpected{p.remote.auth->error(
          "the peer's certificate cannot be verified: no trusted CA; add 'cacerts' here or at "
          "the top level")};
    out.engine.connections.push_back(p.config);
  }
  for (const ParsedConnection& p : connections) {
    if (!p.mediated_by) continue;
    bool found = false;
    for (const ParsedConnection& m : connections)
      if (m.config.name == p.config.mediated_by && m.config.mediation) found = true;
    if (!found)
      return Unexpected{p.mediated_by->error(in_quotes(p.config.mediated_by) +
                                             " is not a connection with mediation: yes")};
  }
  for (const LoadedKey& k : keys)
    if (!k.used)
      return Unexpected{k.file.error(
          "private key matches no connection's certificate or public key (local certs or "
          "pubkeys of an auth: pubkey connection)")};
  return out;
}

// Nothing below throws by design (yaml-cpp is guarded in yaml_document.cpp); this catches what
// is left, such as std::bad_alloc, so the loader never throws into the daemon's start-up.
R<PeerConfig> load(const YamlDocument& doc, const PeerConfigOptions& options = {}) {
  try {
    return load_document(doc, options);
  } catch (const std::exception& e) {
    return Unexpected{
        ConfigError{doc.file(), 0, 0, "", std::string("internal error: ") + e.what()}};
  }
}

}  // namespace

Result<PeerConfig, ConfigError> load_peer_config(const std::filesystem::path& path) {
  CFG_TRY(doc, load_yaml_file(path));
  return load(doc);
}

Result<PeerConfig, ConfigError> load_peer_config_document(const YamlDocument& doc,
                                                          const PeerConfigOptions& options) {
  return load(doc, options);
}

Result<PeerConfig, ConfigError> load_peer_config_string(std::string_view yaml,
                                                        const std::string& display_name) {
  CFG_TRY(doc, load_yaml_string(yaml, display_name));
  return load(doc);
}

}  // namespace ikeme::config

#undef CFG_CHECK
#undef CFG_TRY
#undef CFG_CONCAT
#undef CFG_CONCAT_

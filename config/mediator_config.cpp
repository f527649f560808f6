#include "config/mediator_config.hpp"

#include <cstdlib>

#include "config/yaml_fields.hpp"
#include "config/yaml_keys.hpp"

namespace ikeme::config {
namespace {

template <class T>
using R = Result<T, ConfigError>;
using Check = Status<ConfigError>;

constexpr std::string_view kMediatorKeys[] = {"directory", "metrics", "ke_reuse", "ke_pregenerate",
                                              "limits"};
constexpr std::string_view kLimitKeys[] = {
    "max_endpoints",    "max_pending_per_peer", "connects_per_second", "connects_burst",
    "inits_per_second", "inits_burst",          "max_tracked_sources", "max_registrations",
    "relay_timeout",    "callback_timeout"};

R<double> read_rate(const YamlNode& value) {
  auto text = read_string(value);
  if (!text) return Unexpected{text.error()};
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !(v > 0) || v > 1e9)
    return Unexpected{value.error("expected a positive number, found '" + *text + "'")};
  return v;
}

template <class T>
Check set_integer(const YamlNode& map, std::string_view key, int64_t min, int64_t max, T& out) {
  auto v = optional_integer(map, key, min, max);
  if (!v) return Unexpected{v.error()};
  if (*v) out = static_cast<T>(**v);
  return {};
}

Check set_rate(const YamlNode& map, std::string_view key, double& out) {
  auto v = optional_value(map, key);
  if (!v) return Unexpected{v.error()};
  if (!*v) return {};
  auto r = read_rate(**v);
  if (!r) return Unexpected{r.error()};
  out = *r;
  return {};
}

Check set_duration(const YamlNode& map, std::string_view key, ike::Duration& out) {
  auto v = optional_duration_ms(map, key);
  if (!v) return Unexpected{v.error()};
  if (*v) {
    if ((*v)->count() == 0)
      return Unexpected{required_value(map, key)->error("must be longer than 0")};
    out = **v;
  }
  return {};
}

Check read_limits(const YamlNode& map, Limits& l) {
  if (auto k = check_keys(map, kLimitKeys); !k) return k;
  if (auto c = set_integer(map, "max_endpoints", 1, 1000, l.max_endpoints); !c) return c;
  if (auto c = set_integer(map, "max_pending_per_peer", 1, 100000, l.max_pending_per_peer); !c)
    return c;
  if (auto c = set_rate(map, "connects_per_second", l.connects_per_second); !c) return c;
  if (auto c = set_rate(map, "connects_burst", l.connects_burst); !c) return c;
  if (auto c = set_rate(map, "inits_per_second", l.inits_per_second); !c) return c;
  if (auto c = set_rate(map, "inits_burst", l.inits_burst); !c) return c;
  if (auto c = set_integer(map, "max_tracked_sources", 16, 100000000, l.max_tracked_sources); !c)
    return c;
  if (auto c = set_integer(map, "max_registrations", 1, 100000000, l.max_registrations); !c)
    return c;
  if (auto c = set_duration(map, "relay_timeout", l.relay_timeout); !c) return c;
  if (auto c = set_duration(map, "callback_timeout", l.callback_timeout); !c) return c;
  for (auto [rate, burst] : {std::pair{"connects_per_second", "connects_burst"},
                             std::pair{"inits_per_second", "inits_burst"}}) {
    double r = rate[0] == 'c' ? l.connects_per_second : l.inits_per_second;
    double b = rate[0] == 'c' ? l.connects_burst : l.inits_burst;
    if (b < 1) {
      auto at = optional_value(map, burst);
      const YamlNode& node = at && *at ? **at : map;
      return Unexpected{node.error(std::string("must be at least 1 (") + rate + " is " +
                                   std::to_string(r) + ")")};
    }
  }
  return {};
}

R<ike::Endpoint> read_listen_endpoint(const YamlNode& value) {
  auto text = read_string(value);
  if (!text) return Unexpected{text.error()};
  // "127.0.0.1:9477" or "[::1]:9477"
  std::string host, port;
  if (text->starts_with("[")) {
    auto close = text->find("]:");
    if (close != std::string::npos) {
      host = text->substr(1, close - 1);
      port = text->substr(close + 2);
    }
  } else if (auto colon = text->rfind(':'); colon != std::string::npos) {
    host = text->substr(0, colon);
    port = text->substr(colon + 1);
  }
  auto addr = IpAddress::parse(host);
  char* end = nullptr;
  long p = port.empty() ? 0 : std::strtol(port.c_str(), &end, 10);
  if (!addr || port.empty() || *end != '\0' || p < 1 || p > 65535)
    return Unexpected{
        value.error("expected ADDRESS:PORT like 127.0.0.1:9477 or [::1]:9477, "
                    "found '" +
                    *text + "'")};
  return ike::Endpoint{*addr, static_cast<uint16_t>(p)};
}

R<MediatorConfig> load_document(const YamlDocument& doc) {
  PeerConfigOptions options;
  options.extra_sections = {"mediator"};
  options.external_psks = true;  // the directory holds the pseudonyms' secrets
  auto base = load_peer_config_document(doc, options);
  if (!base) return Unexpected{base.error()};
  MediatorConfig out;
  out.base = std::move(*base);
  const YamlNode& root = doc.root;

  auto daemon = optional_value(root, "daemon");
  if (!daemon) return Unexpected{daemon.error()};
  bool socket_set = false;
  if (*daemon) {
    auto socket = optional_value(**daemon, "control_socket");
    if (!socket) return Unexpected{socket.error()};
    socket_set = socket->has_value();
  }
  if (!socket_set) out.base.daemon.control_socket = kDefaultMediatorControlSocket;

  if (out.base.engine.connections.empty())
    return Unexpected{
        root.error("no connections: the mediator needs at least one connection "
                   "with mediation: yes")};
  auto conns = required_value(root, "connections");
  for (const ike::ConnectionConfig& c : out.base.engine.connections) {
    if (c.mediation && c.children.empty()) continue;
    auto at = conns->find(c.name);
    YamlNode node = at && *at ? **at : *conns;
    // Point at `mediation:` (or `children:`) when it is written.
    if (auto key = node.find(c.mediation ? "children" : "mediation"); key && *key) node = **key;
    return Unexpected{node.error(
        c.mediation ? "a mediation server's connection carries no children"
                    : "the mediator accepts mediation connections only: set mediation: yes")};
  }

  auto med = required_value(root, "mediator");
  if (!med) return Unexpected{med.error()};
  if (!med->is_map())
    return Unexpected{med->error("expected a mapping, found " + std::string(med->kind()))};
  if (auto k = check_keys(*med, kMediatorKeys); !k) return Unexpected{k.error()};
  auto dir = required_string(*med, "directory");
  if (!dir) return Unexpected{dir.error()};
  std::filesystem::path dir_path(*dir);
  if (dir_path.is_relative()) dir_path = std::filesystem::path(doc.file()).parent_path() / dir_path;
  out.mediator.directory = dir_path.lexically_normal();
  auto metrics = optional_value(*med, "metrics");
  if (!metrics) return Unexpected{metrics.error()};
  if (*metrics) {
    auto ep = read_listen_endpoint(**metrics);
    if (!ep) return Unexpected{ep.error()};
    out.mediator.metrics = *ep;
  }
  auto reuse = optional_duration_ms(*med, "ke_reuse");
  if (!reuse) return Unexpected{reuse.error()};
  if (*reuse) out.base.engine.ke_reuse_lifetime = **reuse;
  auto pregenerate = optional_integer(*med, "ke_pregenerate", 0, 4096);
  if (!pregenerate) return Unexpected{pregenerate.error()};
  if (*pregenerate) out.mediator.ke_pregenerate = static_cast<unsigned>(**pregenerate);
  auto limits = optional_value(*med, "limits");
  if (!limits) return Unexpected{limits.error()};
  if (*limits) {
    if (!(*limits)->is_map())
      return Unexpected{
          (*limits)->error("expected a mapping, found " + std::string((*limits)->kind()))};
    if (auto c = read_limits(**limits, out.mediator.limits); !c) return Unexpected{c.error()};
  }
  return out;
}

R<MediatorConfig> load(const YamlDocument& doc) {
  return guarded_load(doc, load_document);
}

}  // namespace

Result<MediatorConfig, ConfigError> load_mediator_config(const std::filesystem::path& path) {
  auto doc = load_yaml_file(path);
  if (!doc) return Unexpected{doc.error()};
  return load(*doc);
}

Result<MediatorConfig, ConfigError> load_mediator_config_string(std::string_view yaml,
                                                                const std::string& display_name) {
  auto doc = load_yaml_string(yaml, display_name);
  if (!doc) return Unexpected{doc.error()};
  return load(*doc);
}

}  // namespace ikeme::config

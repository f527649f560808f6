#pragma once
// The mediator's configuration file (YAML): a peer configuration (daemon:, connections:,
// secrets:, cacerts:, crls: exactly as in docs/configuration.md) whose connections are the
// server's mediation connections, plus a `mediator:` section:
//
//   mediator:
//     directory: directory.yaml   # the pseudonym directory (directory_file.hpp), required
//     metrics: 127.0.0.1:9477     # Prometheus text over HTTP; absent = off
//     ke_reuse: 10s               # DH private value reuse (RFC 7296 §2.12); 0 = off (default)
//     ke_pregenerate: 256         # single-use key pairs made ahead per DH group; 0 = off
//     limits: { max_endpoints: 16, connects_per_second: 5, ... }   (mediator_limits.hpp)
//
// Every error names file:line:column and the key.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "config/mediator_limits.hpp"
#include "config/peer_config.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::config {

inline constexpr const char* kDefaultMediatorControlSocket = "/run/ikeme/mediator.sock";

struct MediatorSettings {
  std::filesystem::path directory;       // absolute, or relative to the config file's folder
  std::optional<ike::Endpoint> metrics;  // where the Prometheus endpoint listens; none = off
  // Fresh single-use DH key pairs kept ready per proposed group, generated on libuv's thread
  // pool (mediator/key_pair_refiller.hpp); 0 = generate each in the engine call. Only without
  // ke_reuse.
  unsigned ke_pregenerate = 256;
  Limits limits;
};

struct MediatorConfig {
  PeerConfig base;  // daemon settings and the engine (the mediation connections, credentials)
  MediatorSettings mediator;
};

Result<MediatorConfig, ConfigError> load_mediator_config(const std::filesystem::path& path);
Result<MediatorConfig, ConfigError> load_mediator_config_string(std::string_view yaml,
                                                                const std::string& display_name);

}  // namespace ikeme::config

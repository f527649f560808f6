#pragma once
// The peer daemon's configuration file (YAML), shaped like swanctl.conf so that a strongSwan
// user can translate one line by line, plus a `daemon:` section for what strongswan.conf holds.
// See docs/configuration.md for every key.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/yaml_document.hpp"
#include "ice/candidates.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/actions.hpp"
#include "ike/sa/connection.hpp"

namespace ikeme::config {

struct LogConfig {
  int default_level = 1;                 // strongSwan levels: -1 silent .. 4 raw
  std::map<ike::Subsystem, int> levels;  // per subsystem overrides
  std::string file;                      // empty = stderr
};

// The ESP data plane (esp-kernel/dataplane.hpp's Backend; config/ does not depend on esp-kernel).
enum class EspBackend { Auto, Xfrm, Userspace, None };

struct DaemonSettings {
  std::vector<IpAddress> listen;  // addresses to bind; empty = 0.0.0.0 and ::
  std::string control_socket = "/run/ikeme/peer.sock";
  EspBackend esp_backend = EspBackend::Auto;
  std::string tun_name = "ikeme0";  // userspace data plane
  uint32_t tun_mtu = 1400;
  bool tun_offload = true;        // userspace: IFF_VNET_HDR, TSO/USO in, joined TCP segments out
  uint32_t replay_window = 1024;  // packets, a multiple of 64 (rounded up)
  bool install_routes = true;     // routes to the remote traffic selectors
  bool firewall = false;          // nftables rules admitting each CHILD_SA's traffic
  LogConfig log;
};

// The `ice:` section: addresses never disclosed to a mediated peer nor used for checks.
struct IceSettings {
  ice::ExclusionList exclusions;
  // How long one attempt's connectivity checks may take before it fails (and is retried).
  ike::Duration transaction_timeout{30000};
  bool disclose_ipv6 = true;  // IPv6 host addresses are HOST candidates too
};

struct PeerConfig {
  DaemonSettings daemon;
  IceSettings ice;
  ike::EngineConfig engine;  // connections, secrets, ports, retransmission, limits
};

// For a program whose configuration is a peer configuration plus sections of its own (the
// mediator): those top-level sections are allowed (the caller reads them), and PSK connections
// may get their secrets from elsewhere (the mediator's pseudonym directory).
struct PeerConfigOptions {
  std::vector<std::string> extra_sections;
  bool external_psks = false;
};
Result<PeerConfig, ConfigError> load_peer_config_document(const YamlDocument& doc,
                                                          const PeerConfigOptions& options);

// Loads and validates a peer configuration. Every error names file, line, column and key.
Result<PeerConfig, ConfigError> load_peer_config(const std::filesystem::path& path);
Result<PeerConfig, ConfigError> load_peer_config_string(std::string_view yaml,
                                                        const std::string& display_name);

}  // namespace ikeme::config

#pragma once
// The mediator's pseudonym directory file (YAML; docs/mediator.md):
//
//   pseudonyms:
//     6cu1UTVw@medsrv.org:
//       psk: 0sW3C9...            # strongSwan secret syntax (0x hex, 0s base64, or text)
//       may_connect: [av9oEPMz@medsrv.org, friends]
//     bob-laptop@medsrv.org:
//       auth: pubkey              # a certificate for this identity from the mediator's cacerts
//   groups:
//     friends: [av9oEPMz@medsrv.org, bob-laptop@medsrv.org]
//
// Default deny: may_connect lists pseudonyms and group names; nothing else is reachable. Every
// error names file:line:column and the key.

#include <filesystem>
#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "config/pseudonym_directory.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::config {

Result<Directory, ConfigError> load_directory(const std::filesystem::path& path);
Result<Directory, ConfigError> load_directory_string(std::string_view yaml,
                                                     const std::string& display_name);

// Pre-shared keys shorter than this are refused (as in the peer configuration).
inline constexpr size_t kMinDirectoryPskBytes = 8;

}  // namespace ikeme::config

#pragma once
// The command line both daemons share: --config FILE, --foreground, --help, --version.

#include <optional>
#include <string>

namespace ikeme::peer {

struct DaemonArgs {
  std::string config;
  bool foreground = false;
};

// Parses argv. Returns the exit code when the program should stop here (0 after --help or
// --version, 2 after a usage error, both printed), nullopt to go on with `out`.
std::optional<int> parse_daemon_args(int argc, char** argv, const char* program, const char* usage,
                                     DaemonArgs& out);

}  // namespace ikeme::peer

#pragma once
// ikemectl's daemon commands (list-conns, list-sas, initiate, terminate, rekey, stats, reload):
// their command lines, the request each sends over the control socket, and how replies are shown.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/codec/result.hpp"

namespace ikeme::ctl {

struct CtlOptions {
  std::string socket;  // the daemon's control socket
  bool json = false;   // print the daemon's replies as they are
};

struct CtlCommand {
  std::string name;  // "list-sas", ...
  CtlOptions options;
  std::string ike, child;
  uint32_t id = 0;
  uint32_t child_id = 0;             // rekey
  std::chrono::seconds timeout{10};  // initiate/terminate: how long to wait for the outcome
  bool help = false;
};

bool is_daemon_command(const std::string& name);

// Parses a command's arguments (after its name); `options` carries --socket/--json given before
// the command, which may also come after it. The error is a usage message (exit code 2).
Result<CtlCommand, std::string> parse_daemon_command(const std::string& name,
                                                     const std::vector<std::string>& args,
                                                     CtlOptions options);
// The request line for the daemon (one JSON object).
std::string request_for(const CtlCommand& command);
// The command's usage text.
std::string daemon_command_usage(const std::string& name);

// Runs a parsed command against the daemon; returns the exit code (0 ok, 1 failure).
int run_daemon_command(const CtlCommand& command);

}  // namespace ikeme::ctl

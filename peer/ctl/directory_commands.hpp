#pragma once
// ikemectl directory: edits ikeme-mediator's pseudonym directory file offline (the running
// mediator notices the change and reloads it):
//   ikemectl directory [--file PATH] list
//   ikemectl directory [--file PATH] add [PSEUDONYM] [--domain DOMAIN] [--may-connect A,B]
//                                        [--pubkey]
//   ikemectl directory [--file PATH] remove PSEUDONYM
// `add` without a pseudonym makes a random one (8 letters and digits @DOMAIN) and, unless
// --pubkey, a random 32-byte PSK, and prints both for the new peer's configuration. Edits are
// safe: the file is read and validated first (a broken file is not touched), the result is
// validated again, written to a temporary file in the same folder and renamed over the old one,
// so the mediator never reads half a file. The other entries are kept (YAML comments are not).

#include <string>
#include <vector>

namespace ikeme::ctl {

inline constexpr const char* kDefaultDirectoryFile = "/etc/ikeme/directory.yaml";

// Returns the exit code (0 ok, 1 failure, 2 usage).
int run_directory_command(const std::vector<std::string>& args, bool json);
std::string directory_usage();

}  // namespace ikeme::ctl

// ikemectl: the control CLI of ikeme. Today it decodes captures; the daemon commands (status,
// list-sas, initiate, terminate) arrive with the peer runtime.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ikeme_version.hpp"
#include "peer/ctl/decode.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikemectl [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  decode FILE   print the IKE/IKE-ME messages, ESP packets and keepalives of a pcap/pcapng\n"
    "                capture (see 'ikemectl decode --help')\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help and exit\n"
    "  -V, --version  show the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& first = args.front();
  if (first == "-h" || first == "--help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (first == "-V" || first == "--version") {
    std::printf("ikemectl %s\n", ikeme::kVersion);
    return 0;
  }
  if (first == "decode") return ikeme::ctl::run_decode({args.begin() + 1, args.end()});
  if (!first.empty() && first[0] == '-') {
    std::fprintf(stderr, "ikemectl: unknown option '%s'\n%s", first.c_str(), kUsage);
    return 2;
  }
  std::fprintf(stderr, "ikemectl: unknown command '%s'\n%s", first.c_str(), kUsage);
  return 2;
}

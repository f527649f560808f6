// ikeme-peer: the agent on each host. This build knows its command line; the IKE engine, the
// mediation client and the data plane join it issue by issue (see docs/architecture.md).

#include <getopt.h>

#include <cstdio>

#include "ikeme_version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikeme-peer [--help] [--version]\n"
    "\n"
    "The ikeme peer agent: keeps a mediation connection, exchanges endpoints, runs\n"
    "connectivity checks and builds direct IPsec tunnels to other peers.\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help and exit\n"
    "  -V, --version  show the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
  static const option kOptions[] = {
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;  // we print our own message
  int c = 0;
  while ((c = getopt_long(argc, argv, "hV", kOptions, nullptr)) != -1) {
    switch (c) {
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      case 'V':
        std::printf("ikeme-peer %s\n", ikeme::kVersion);
        return 0;
      default:
        if (optopt) {
          std::fprintf(stderr, "%s: unknown option '-%c'\n%s", "ikeme-peer", optopt, kUsage);
        } else {
          std::fprintf(stderr, "%s: unknown option '%s'\n%s", "ikeme-peer", argv[optind - 1],
                       kUsage);
        }
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "ikeme-peer: unexpected argument '%s'\n%s", argv[optind], kUsage);
    return 2;
  }
  std::fprintf(stderr,
               "ikeme-peer: this build has no IKE runtime yet; only --help and --version work\n");
  return 1;
}

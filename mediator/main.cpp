// ikeme-mediator: the public mediation server. This build knows its command line; the IKE
// engine, registrations and the ME_CONNECT relay join it issue by issue (docs/architecture.md).

#include <getopt.h>

#include <cstdio>

#include "ikeme_version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikeme-mediator [--help] [--version]\n"
    "\n"
    "The ikeme mediation server: peers behind NATs register under pseudonyms, learn\n"
    "their public endpoint and exchange endpoints with each other (ME_CONNECT).\n"
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
        std::printf("ikeme-mediator %s\n", ikeme::kVersion);
        return 0;
      default:
        if (optopt) {
          std::fprintf(stderr, "%s: unknown option '-%c'\n%s", "ikeme-mediator", optopt, kUsage);
        } else {
          std::fprintf(stderr, "%s: unknown option '%s'\n%s", "ikeme-mediator", argv[optind - 1],
                       kUsage);
        }
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "ikeme-mediator: unexpected argument '%s'\n%s", argv[optind], kUsage);
    return 2;
  }
  std::fprintf(
      stderr,
      "ikeme-mediator: this build has no IKE runtime yet; only --help and --version work\n");
  return 1;
}

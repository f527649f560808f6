#include "peer/daemon_args.hpp"

#include <getopt.h>

#include <cstdio>

#include "ikeme_version.hpp"

namespace ikeme::peer {

std::optional<int> parse_daemon_args(int argc, char** argv, const char* program, const char* usage,
                                     DaemonArgs& out) {
  static const option kOptions[] = {
      {"config", required_argument, nullptr, 'c'},
      {"foreground", no_argument, nullptr, 'f'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;  // we print our own message
  int c = 0;
  while ((c = getopt_long(argc, argv, ":c:fhV", kOptions, nullptr)) != -1) {
    switch (c) {
      case 'c':
        out.config = optarg;
        break;
      case 'f':
        out.foreground = true;
        break;
      case 'h':
        std::fputs(usage, stdout);
        return 0;
      case 'V':
        std::printf("%s %s\n", program, ikeme::kVersion);
        return 0;
      case ':':
        std::fprintf(stderr, "%s: option '%s' needs an argument\n%s", program, argv[optind - 1],
                     usage);
        return 2;
      default:
        if (optopt)
          std::fprintf(stderr, "%s: unknown option '-%c'\n%s", program, optopt, usage);
        else
          std::fprintf(stderr, "%s: unknown option '%s'\n%s", program, argv[optind - 1], usage);
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\n%s", program, argv[optind], usage);
    return 2;
  }
  if (out.config.empty()) {
    std::fprintf(stderr, "%s: --config FILE is required\n%s", program, usage);
    return 2;
  }
  return std::nullopt;
}

}  // namespace ikeme::peer

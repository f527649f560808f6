// ikeme-peer: the agent on each host. Reads its configuration, listens for IKE on UDP, keeps the
// IKE SAs of its connections through the sans-IO engine and answers ikemectl on its control
// socket (docs/operations.md). The mediation client and the data plane join it later.

#include <getopt.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "config/peer_config.hpp"
#include "ike/crypto/random.hpp"
#include "ikeme_version.hpp"
#include "peer/config_paths.hpp"
#include "peer/daemon.hpp"
#include "peer/daemonize.hpp"
#include "peer/log_sink.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikeme-peer --config FILE [--foreground] [--help] [--version]\n"
    "\n"
    "The ikeme peer agent: keeps a mediation connection, exchanges endpoints, runs\n"
    "connectivity checks and builds direct IPsec tunnels to other peers.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the peer configuration (YAML, see docs/configuration.md)\n"
    "  -f, --foreground   stay in the foreground (default: detach once started)\n"
    "  -h, --help         show this help and exit\n"
    "  -V, --version      show the version and exit\n"
    "\n"
    "Signals: SIGTERM/SIGINT delete all IKE SAs and exit, SIGHUP reloads FILE.\n"
    "Control it with ikemectl (see docs/operations.md).\n";

int fail(const std::string& message) {
  std::fprintf(stderr, "ikeme-peer: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ikeme;
  static const option kOptions[] = {
      {"config", required_argument, nullptr, 'c'},
      {"foreground", no_argument, nullptr, 'f'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;  // we print our own message
  std::string config_arg;
  bool foreground = false;
  int c = 0;
  while ((c = getopt_long(argc, argv, ":c:fhV", kOptions, nullptr)) != -1) {
    switch (c) {
      case 'c':
        config_arg = optarg;
        break;
      case 'f':
        foreground = true;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      case 'V':
        std::printf("ikeme-peer %s\n", ikeme::kVersion);
        return 0;
      case ':':
        std::fprintf(stderr, "ikeme-peer: option '%s' needs an argument\n%s", argv[optind - 1],
                     kUsage);
        return 2;
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
  if (config_arg.empty()) {
    std::fprintf(stderr, "ikeme-peer: --config FILE is required\n%s", kUsage);
    return 2;
  }

  std::error_code ec;
  std::filesystem::path base = std::filesystem::current_path(ec);
  if (ec) return fail("cannot determine the working directory: " + ec.message());
  auto loaded = config::load_peer_config(config_arg);
  if (!loaded) return fail(loaded.error().to_string());
  config::PeerConfig cfg = std::move(*loaded);
  peer::absolutize_paths(cfg, base);

  // Writes to a control client that went away must fail with EPIPE, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);

  std::optional<peer::Detacher> detacher;
  if (!foreground) {
    auto d = peer::Detacher::detach();  // returns in the child only
    if (!d) return fail("cannot detach: " + d.error());
    detacher = *d;
  }

  peer::LogSink log;
  if (auto s = log.configure(cfg.daemon.log, !foreground); !s) return fail(s.error());
  auto rng = ike::crypto::DrbgRng::create();
  if (!rng) return fail("cannot seed the random generator: " + rng.error().detail);

  peer::DaemonOptions options;
  options.config_path = (base / config_arg).lexically_normal();
  options.base_dir = base;
  options.detached = !foreground;
  auto daemon =
      std::make_unique<peer::Daemon>(options, std::move(cfg), std::move(rng.value()), log);
  if (auto s = daemon->start(); !s) {
    if (log.target() != "stderr") log.log(ike::Subsystem::CFG, 0, "cannot start: " + s.error());
    return fail(s.error());
  }
  if (detacher) detacher->ready();
  int code = daemon->run();
  daemon.reset();  // closes the loop before the log goes away
  return code;
}

// ikeme-peer: the agent on each host. Reads its configuration, listens for IKE on UDP, keeps the
// IKE SAs of its connections through the sans-IO engine and answers ikemectl on its control
// socket (docs/operations.md). The mediation client and the data plane join it later.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "config/peer_config.hpp"
#include "ike/crypto/random.hpp"
#include "peer/config_paths.hpp"
#include "peer/daemon.hpp"
#include "peer/daemon_args.hpp"
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
  peer::DaemonArgs args;
  if (auto exit_code = peer::parse_daemon_args(argc, argv, "ikeme-peer", kUsage, args))
    return *exit_code;
  const std::string& config_arg = args.config;
  const bool foreground = args.foreground;

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

// ikeme-peer: the agent on each host. Reads its configuration, listens for IKE on UDP, keeps the
// IKE SAs of its connections through the sans-IO engine and answers ikemectl on its control
// socket (docs/operations.md); runs the mediation client (IKE-ME) and the ESP data plane.

#include "config/peer_config.hpp"
#include "peer/config_paths.hpp"
#include "peer/daemon.hpp"
#include "peer/daemon_main.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  using namespace ikeme;
  constexpr const char* kProgram = "ikeme-peer";
  peer::DaemonArgs args;
  if (auto exit_code = peer::parse_daemon_args(argc, argv, kProgram, kUsage, args))
    return *exit_code;
  auto base = peer::working_directory(kProgram);
  if (!base) return 1;
  auto loaded = config::load_peer_config(args.config);
  if (!loaded) return peer::fail_to_start(kProgram, loaded.error().to_string());
  config::PeerConfig cfg = std::move(*loaded);
  peer::absolutize_paths(cfg, *base);
  const config::LogConfig log_config = cfg.daemon.log;
  return peer::run_daemon<peer::DaemonOptions>(
      kProgram, args, *base, log_config,
      [&](const peer::DaemonOptions& options, auto rng, auto& log) {
        return std::make_unique<peer::Daemon>(options, std::move(cfg), std::move(rng), log);
      });
}

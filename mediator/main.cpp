// ikeme-mediator: the public mediation server. Peers behind NATs register under pseudonyms
// (IKE-ME mediation connections), learn their server-reflexive endpoint and exchange endpoints
// with each other through the ME_CONNECT relay (docs/mediator.md).

#include "config/directory_file.hpp"
#include "config/mediator_config.hpp"
#include "mediator/daemon.hpp"
#include "peer/config_paths.hpp"
#include "peer/daemon_main.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikeme-mediator --config FILE [--foreground] [--help] [--version]\n"
    "\n"
    "The ikeme mediation server: peers behind NATs register under pseudonyms, learn\n"
    "their public endpoint and exchange endpoints with each other (ME_CONNECT).\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the mediator configuration (YAML, see docs/mediator.md)\n"
    "  -f, --foreground   stay in the foreground (default: detach once started)\n"
    "  -h, --help         show this help and exit\n"
    "  -V, --version      show the version and exit\n"
    "\n"
    "Signals: SIGTERM/SIGINT delete all IKE SAs and exit, SIGHUP reloads FILE and the\n"
    "directory (which is also reloaded whenever its file changes).\n"
    "Control it with ikemectl (list-peers, stats, reload, directory; docs/ikemectl.md).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace ikeme;
  constexpr const char* kProgram = "ikeme-mediator";
  peer::DaemonArgs args;
  if (auto exit_code = peer::parse_daemon_args(argc, argv, kProgram, kUsage, args))
    return *exit_code;
  auto base = peer::working_directory(kProgram);
  if (!base) return 1;
  auto loaded = config::load_mediator_config(args.config);
  if (!loaded) return peer::fail_to_start(kProgram, loaded.error().to_string());
  config::MediatorConfig cfg = std::move(*loaded);
  peer::absolutize_paths(cfg.base, *base);
  if (cfg.mediator.directory.is_relative())
    cfg.mediator.directory = (*base / cfg.mediator.directory).lexically_normal();
  auto directory = config::load_directory(cfg.mediator.directory);
  if (!directory) return peer::fail_to_start(kProgram, directory.error().to_string());
  const config::LogConfig log_config = cfg.base.daemon.log;
  return peer::run_daemon<mediator::DaemonOptions>(
      kProgram, args, *base, log_config,
      [&](const mediator::DaemonOptions& options, auto rng, auto& log) {
        return std::make_unique<mediator::Daemon>(options, std::move(cfg), std::move(*directory),
                                                  std::move(rng), log);
      });
}

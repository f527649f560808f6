// ikeme-mediator: the public mediation server. Peers behind NATs register under pseudonyms
// (IKE-ME mediation connections), learn their server-reflexive endpoint and exchange endpoints
// with each other through the ME_CONNECT relay (docs/mediator.md).

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "config/directory_file.hpp"
#include "config/mediator_config.hpp"
#include "ike/crypto/random.hpp"
#include "mediator/daemon.hpp"
#include "peer/config_paths.hpp"
#include "peer/daemon_args.hpp"
#include "peer/daemonize.hpp"
#include "peer/log_sink.hpp"

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

int fail(const std::string& message) {
  std::fprintf(stderr, "ikeme-mediator: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ikeme;
  peer::DaemonArgs args;
  if (auto exit_code = peer::parse_daemon_args(argc, argv, "ikeme-mediator", kUsage, args))
    return *exit_code;
  const std::string& config_arg = args.config;
  const bool foreground = args.foreground;

  std::error_code ec;
  std::filesystem::path base = std::filesystem::current_path(ec);
  if (ec) return fail("cannot determine the working directory: " + ec.message());
  auto loaded = config::load_mediator_config(config_arg);
  if (!loaded) return fail(loaded.error().to_string());
  config::MediatorConfig cfg = std::move(*loaded);
  peer::absolutize_paths(cfg.base, base);
  if (cfg.mediator.directory.is_relative())
    cfg.mediator.directory = (base / cfg.mediator.directory).lexically_normal();
  auto directory = config::load_directory(cfg.mediator.directory);
  if (!directory) return fail(directory.error().to_string());

  std::signal(SIGPIPE, SIG_IGN);  // a control client that went away must not kill us

  std::optional<peer::Detacher> detacher;
  if (!foreground) {
    auto d = peer::Detacher::detach();  // returns in the child only
    if (!d) return fail("cannot detach: " + d.error());
    detacher = *d;
  }
  peer::LogSink log;
  if (auto s = log.configure(cfg.base.daemon.log, !foreground); !s) return fail(s.error());
  auto rng = ike::crypto::DrbgRng::create();
  if (!rng) return fail("cannot seed the random generator: " + rng.error().detail);

  mediator::DaemonOptions options;
  options.config_path = (base / config_arg).lexically_normal();
  options.base_dir = base;
  options.detached = !foreground;
  auto daemon = std::make_unique<mediator::Daemon>(options, std::move(cfg), std::move(*directory),
                                                   std::move(rng.value()), log);
  if (auto s = daemon->start(); !s) {
    if (log.target() != "stderr") log.log(ike::Subsystem::CFG, 0, "cannot start: " + s.error());
    return fail(s.error());
  }
  if (detacher) detacher->ready();
  int code = daemon->run();
  daemon.reset();  // closes the loop before the log goes away
  return code;
}

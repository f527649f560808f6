#pragma once
// What ikeme-peer's and ikeme-mediator's main() share once the configuration is loaded: ignore
// SIGPIPE, detach unless --foreground (the parent exits once the daemon is ready), open the log,
// seed the random generator, start the daemon and run its loop. Errors before the loop runs are
// printed as "PROGRAM: message" and give exit code 1.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "config/peer_config.hpp"
#include "ike/crypto/random.hpp"
#include "peer/daemon_args.hpp"
#include "peer/daemonize.hpp"
#include "peer/log_sink.hpp"

namespace ikeme::peer {

inline int fail_to_start(const char* program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program, message.c_str());
  return 1;
}

// The working directory, which relative paths in the configuration and --config are taken from.
inline std::optional<std::filesystem::path> working_directory(const char* program) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::current_path(ec);
  if (ec) {
    fail_to_start(program, "cannot determine the working directory: " + ec.message());
    return std::nullopt;
  }
  return base;
}

// `make(options, rng, log)` builds the daemon (a type with start() -> Status and run() -> int)
// from its Options (config_path, base_dir, detached), the seeded generator and the open log.
template <class Options, class MakeDaemon>
int run_daemon(const char* program, const DaemonArgs& args, const std::filesystem::path& base,
               const config::LogConfig& log_config, MakeDaemon make) {
  // Writes to a control client that went away must fail with EPIPE, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  std::optional<Detacher> detacher;
  if (!args.foreground) {
    auto d = Detacher::detach();  // returns in the child only
    if (!d) return fail_to_start(program, "cannot detach: " + d.error());
    detacher = *d;
  }
  LogSink log;
  if (auto s = log.configure(log_config, !args.foreground); !s)
    return fail_to_start(program, s.error());
  auto rng = ike::crypto::DrbgRng::create();
  if (!rng)
    return fail_to_start(program, "cannot seed the random generator: " + rng.error().detail);

  Options options;
  options.config_path = (base / args.config).lexically_normal();
  options.base_dir = base;
  options.detached = !args.foreground;
  auto daemon = make(options, std::move(rng.value()), log);
  if (auto s = daemon->start(); !s) {
    if (log.target() != "stderr") log.log(ike::Subsystem::CFG, 0, "cannot start: " + s.error());
    return fail_to_start(program, s.error());
  }
  if (detacher) detacher->ready();
  int code = daemon->run();
  daemon.reset();  // closes the loop before the log goes away
  return code;
}

}  // namespace ikeme::peer

#pragma once
// Where the daemon's log lines go: stderr, the configured file (appended to, reopened on reload so
// that logrotate works) or, for a detached daemon without a file, syslog. Filters by level.

#include <cstdio>
#include <string>

#include "config/peer_config.hpp"
#include "ike/codec/result.hpp"
#include "peer/log_format.hpp"

namespace ikeme::peer {

class LogSink {
 public:
  LogSink() = default;
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Applies a (new) log configuration: levels and target. `detached`: stderr is gone, so an
  // empty `file` means syslog. On error (the file cannot be opened) the previous target stays.
  Status<std::string> configure(const config::LogConfig& config, bool detached);

  bool enabled(ike::Subsystem s, int level) const { return filter_.enabled(s, level); }
  void write(const ike::LogLine& line);
  void log(ike::Subsystem s, int level, std::string text) {
    if (enabled(s, level)) write(ike::LogLine{s, level, 0, "", std::move(text)});
  }
  std::string target() const;  // "stderr", "syslog" or the file name

 private:
  void close_file();
  LogFilter filter_;
  FILE* file_ = nullptr;  // owned unless stderr
  std::string file_name_;
  bool syslog_ = false;
};

}  // namespace ikeme::peer

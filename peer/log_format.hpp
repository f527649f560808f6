#pragma once
// How the daemon writes a log line, strongSwan's way, and which lines it writes at all.
//
//   13:00:01.123 [IKE] <home|1> IKE_SA home[1] established between ...
//   13:00:01.120 [NET] <3> received packet: from 127.0.0.2[15002] to ...   (SA without a name yet)
//   13:00:00.001 [CFG] loaded 2 connections from /etc/ikeme/peer.yaml      (not tied to an SA)
//
// The level decides whether a line is written (see LogFilter) and is not printed, as with
// strongSwan's default `log_level = no`. Pure functions: no clock and no file here.

#include <chrono>
#include <string>
#include <string_view>

#include "config/peer_config.hpp"
#include "ike/sa/actions.hpp"

namespace ikeme::peer {

// Per-subsystem levels from the configuration: a line is written when its level is at most the
// level configured for its subsystem (or the default level). -1 silences a subsystem.
class LogFilter {
 public:
  LogFilter() = default;
  explicit LogFilter(const config::LogConfig& config) : config_(config) {}
  int level(ike::Subsystem s) const;
  bool enabled(ike::Subsystem s, int level) const { return level <= this->level(s); }

 private:
  config::LogConfig config_;
};

// "<home|1> ", "<1> " (SA without a connection yet), "<home> " (no SA) or "" (neither).
std::string log_context(const ike::LogLine& line);

// One line without the trailing newline: "<time> [<SUBSYS>] <context>text". Control characters
// in the text (a peer's identity may carry any bytes) are escaped as \xNN so that one LogLine
// stays one line of output.
std::string format_log_line(const ike::LogLine& line, std::string_view time_text);

// "HH:MM:SS.mmm" of a wall-clock instant in local time.
std::string wall_clock_text(std::chrono::system_clock::time_point t);

}  // namespace ikeme::peer

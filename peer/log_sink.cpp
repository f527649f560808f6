#include "peer/log_sink.hpp"

#include <syslog.h>

#include <cerrno>
#include <cstring>

namespace ikeme::peer {

LogSink::~LogSink() {
  close_file();
  if (syslog_) closelog();
}

void LogSink::close_file() {
  if (file_ && file_ != stderr) std::fclose(file_);
  file_ = nullptr;
}

Status<std::string> LogSink::configure(const config::LogConfig& config, bool detached) {
  if (!config.file.empty()) {
    FILE* f = std::fopen(config.file.c_str(), "ae");
    if (!f) return Unexpected{"cannot open log file " + config.file + ": " + std::strerror(errno)};
    setvbuf(f, nullptr, _IOLBF, 0);
    close_file();
    if (syslog_) closelog();
    syslog_ = false;
    file_ = f;
    file_name_ = config.file;
  } else if (detached) {
    close_file();
    if (!syslog_) openlog("ikeme-peer", LOG_PID, LOG_DAEMON);
    syslog_ = true;
    file_name_.clear();
  } else {
    close_file();
    if (syslog_) closelog();
    syslog_ = false;
    file_ = stderr;
    file_name_.clear();
  }
  filter_ = LogFilter(config);
  return {};
}

std::string LogSink::target() const {
  if (syslog_) return "syslog";
  if (!file_name_.empty()) return file_name_;
  return "stderr";
}

void LogSink::write(const ike::LogLine& line) {
  if (!enabled(line.subsystem, line.level)) return;
  if (syslog_) {
    // syslog adds its own time stamp.
    std::string text = format_log_line(line, "");
    syslog(line.level <= 0 ? LOG_NOTICE : LOG_INFO, "%s", text.c_str() + 1);
    return;
  }
  FILE* out = file_ ? file_ : stderr;
  std::string text = format_log_line(line, wall_clock_text(std::chrono::system_clock::now()));
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace ikeme::peer

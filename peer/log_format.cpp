#include "peer/log_format.hpp"

#include <cstdio>
#include <ctime>

namespace ikeme::peer {

int LogFilter::level(ike::Subsystem s) const {
  auto it = config_.levels.find(s);
  return it != config_.levels.end() ? it->second : config_.default_level;
}

std::string log_context(const ike::LogLine& line) {
  if (line.ike_sa_id == 0 && line.connection.empty()) return "";
  std::string out = "<" + line.connection;
  if (line.ike_sa_id != 0) {
    if (!line.connection.empty()) out += "|";
    out += std::to_string(line.ike_sa_id);
  }
  return out + "> ";
}

namespace {

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string format_log_line(const ike::LogLine& line, std::string_view time_text) {
  std::string out;
  out.reserve(time_text.size() + line.text.size() + 32);
  out += time_text;
  out += " [";
  out += ike::name(line.subsystem);
  out += "] ";
  append_escaped(out, log_context(line));
  append_escaped(out, line.text);
  return out;
}

std::string wall_clock_text(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace ikeme::peer

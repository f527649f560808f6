// The daemon's log lines: strongSwan's shape, SA context, escaping, and per-subsystem filtering.

#include <catch2/catch.hpp>

#include <regex>

#include "peer/log_format.hpp"

using namespace ikeme;
using namespace ikeme::peer;
using ike::Subsystem;

TEST_CASE("peer log: lines: time, subsystem, SA context and text", "[peer]") {
  ike::LogLine l{Subsystem::IKE, 0, 1, "home", "IKE_SA home[1] established"};
  CHECK(format_log_line(l, "13:00:01.123") ==
        "13:00:01.123 [IKE] <home|1> IKE_SA home[1] established");
  CHECK(format_log_line(ike::LogLine{Subsystem::NET, 2, 3, "", "received packet"}, "t") ==
        "t [NET] <3> received packet");
  CHECK(format_log_line(ike::LogLine{Subsystem::CFG, 1, 0, "", "loaded"}, "t") == "t [CFG] loaded");
  CHECK(format_log_line(ike::LogLine{Subsystem::KNL, 1, 0, "home", "x"}, "t") ==
        "t [KNL] <home> x");
  CHECK(format_log_line(ike::LogLine{Subsystem::ICE, 1, 0, "", "x"}, "t") == "t [ICE] x");
}

TEST_CASE("peer log: lines: control characters cannot split a line", "[peer]") {
  ike::LogLine l{Subsystem::IKE, 1, 2, "a\nb", "peer id 'x\ny\r\x1b[31m' \x7f"};
  CHECK(format_log_line(l, "t") == "t [IKE] <a\\x0ab|2> peer id 'x\\x0ay\\x0d\\x1b[31m' \\x7f");
  // Bytes >= 0x80 (UTF-8) pass unchanged.
  CHECK(format_log_line(ike::LogLine{Subsystem::IKE, 1, 0, "", "caf\xc3\xa9"}, "t") ==
        "t [IKE] caf\xc3\xa9");
}

TEST_CASE("peer log: filter: per-subsystem levels over the default, -1 silences", "[peer]") {
  config::LogConfig c;
  c.default_level = 1;
  c.levels[Subsystem::NET] = 2;
  c.levels[Subsystem::ENC] = -1;
  LogFilter f(c);
  CHECK(f.enabled(Subsystem::IKE, 0));
  CHECK(f.enabled(Subsystem::IKE, 1));
  CHECK_FALSE(f.enabled(Subsystem::IKE, 2));
  CHECK(f.enabled(Subsystem::NET, 2));
  CHECK_FALSE(f.enabled(Subsystem::NET, 3));
  CHECK_FALSE(f.enabled(Subsystem::ENC, 0));
  CHECK(f.level(Subsystem::CHD) == 1);
  CHECK(f.level(Subsystem::ENC) == -1);
  LogFilter defaults;  // LogConfig's defaults: level 1 everywhere
  CHECK(defaults.enabled(Subsystem::KNL, 1));
  CHECK_FALSE(defaults.enabled(Subsystem::KNL, 2));
}

TEST_CASE("peer log: time stamps: HH:MM:SS.mmm", "[peer]") {
  std::string t = wall_clock_text(std::chrono::system_clock::now());
  CHECK(std::regex_match(t, std::regex(R"(\d\d:\d\d:\d\d\.\d\d\d)")));
  auto epoch_plus = std::chrono::system_clock::time_point(std::chrono::milliseconds(1234567));
  CHECK(wall_clock_text(epoch_plus).substr(5) == ":34.567");  // minutes/hours depend on the zone
}

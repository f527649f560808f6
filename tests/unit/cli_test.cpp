// The executables' command lines: --help and --version succeed, unknown options fail with a
// message and a non-zero exit, and `ikemectl decode` prints the capture's messages.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const char* const kPrograms[] = {IKEME_PEER_PATH, IKEME_MEDIATOR_PATH, IKEME_CTL_PATH};

}  // namespace

TEST_CASE("each executable prints --help and --version", "[cli]") {
  for (const char* prog : kPrograms) {
    INFO(prog);
    Run help = run(std::string(prog) + " --help");
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("usage: ") == 0);
    Run version = run(std::string(prog) + " --version");
    CHECK(version.exit_code == 0);
    CHECK(version.output.find(" 0.1.0\n") != std::string::npos);
  }
}

TEST_CASE("each executable rejects an unknown option clearly", "[cli]") {
  for (const char* prog : kPrograms) {
    INFO(prog);
    Run r = run(std::string(prog) + " --no-such-option");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("unknown option '--no-such-option'") != std::string::npos);
  }
  Run cmd = run(std::string(IKEME_CTL_PATH) + " frobnicate");
  CHECK(cmd.exit_code == 2);
  CHECK(cmd.output.find("unknown command 'frobnicate'") != std::string::npos);
  Run dec = run(std::string(IKEME_CTL_PATH) + " decode --bogus x.pcap");
  CHECK(dec.exit_code == 2);
  CHECK(dec.output.find("unknown option '--bogus'") != std::string::npos);
}

TEST_CASE("ikemectl decode prints the strongSwan capture with IKE-ME names", "[cli]") {
  std::string pcap = std::string(IKEME_TEST_DATA_DIR) + "/strongswan-p2p/public.pcap";
  Run r = run(std::string(IKEME_CTL_PATH) + " decode " + pcap);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("  0.000000 192.0.2.2[1210] -> 192.0.2.100[500]  IKE_SA_INIT request 0 [ SA "
                      "KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) "
                      "N(ME_MED) ]\n") != std::string::npos);
  CHECK(r.output.find("192.0.2.1[1137] -> 192.0.2.100[4500]  ME_CONNECT request 2 [ SK ]") !=
        std::string::npos);
  CHECK(r.output.find("IKE_AUTH response 1 [ EF(1/2) ]") != std::string::npos);
  CHECK(r.output.find("INFORMATIONAL response 2 [ N(ME_CID) N(ME_EP) N(ME_CAUTH) ]\n"
                      "             ME_ENDPOINT PEER_REFLEXIVE 192.0.2.1[1137] prio 0x0080ffff") !=
        std::string::npos);
  CHECK(r.output.find("ESP SPI 0xc2960779 seq 1 (120 bytes)") != std::string::npos);
  CHECK(r.output.find("# 73 frames: 33 IKE messages, 0 malformed, 40 ESP, 0 keepalives") !=
        std::string::npos);
}

TEST_CASE("ikemectl decode reports an unreadable capture", "[cli]") {
  Run r = run(std::string(IKEME_CTL_PATH) + " decode /nonexistent/capture.pcap");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("cannot read capture: /nonexistent/capture.pcap") != std::string::npos);
}

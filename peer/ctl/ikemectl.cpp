// ikemectl: the control CLI of ikeme. Daemon commands talk to ikeme-peer over its control socket
// (daemon_commands.hpp); `decode` reads captures offline (decode.hpp).

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ikeme_version.hpp"
#include "peer/ctl/control_client.hpp"
#include "peer/ctl/daemon_commands.hpp"
#include "peer/ctl/decode.hpp"
#include "peer/ctl/directory_commands.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ikemectl [--help] [--version] [--socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands of the running ikeme-peer (through its control socket):\n"
    "  list-conns [--ike NAME]                 the loaded connections\n"
    "  list-sas [--ike NAME | --id N]          the IKE SAs and their CHILD_SAs\n"
    "  list-pools                              virtual IP pools and their leases\n"
    "  list-addresses                          host addresses and whether mediated\n"
    "                                          connections disclose them\n"
    "  initiate --ike NAME [--child NAME] [--timeout SEC]\n"
    "                                          start a connection and wait for the outcome\n"
    "  terminate (--ike NAME | --id N) [--timeout SEC]\n"
    "                                          delete IKE SAs and wait until they are gone\n"
    "  rekey --child-id N                      rekey CHILD_SA N now (CREATE_CHILD_SA)\n"
    "  explain CONN                            why a (mediated) connection is not up\n"
    "  stats                                   the daemon's counters\n"
    "  reload                                  reload the daemon's configuration\n"
    "Commands of the running ikeme-mediator (--socket, default /run/ikeme/mediator.sock\n"
    "for list-peers):\n"
    "  list-peers                              registered pseudonyms and their endpoints\n"
    "  stats, reload                           as above\n"
    "  directory [--file PATH] list | add [PSEUDONYM] | remove PSEUDONYM\n"
    "                                          edit the pseudonym directory (offline)\n"
    "Offline:\n"
    "  decode FILE   print the IKE/IKE-ME messages, ESP packets and keepalives of a pcap/pcapng\n"
    "                capture (see 'ikemectl decode --help')\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH  the daemon's control socket (default /run/ikeme/peer.sock)\n"
    "  -j, --json         print the daemon's JSON replies as they are\n"
    "  -h, --help         show this help and exit ('ikemectl COMMAND --help' for a command)\n"
    "  -V, --version      show the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace ikeme::ctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& first = args.front();
  if (first == "-h" || first == "--help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (first == "-V" || first == "--version") {
    std::printf("ikemectl %s\n", ikeme::kVersion);
    return 0;
  }
  CtlOptions options;
  options.socket = kDefaultSocket;
  bool socket_given = false;
  size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    const std::string& a = args[i];
    if (a == "-j" || a == "--json") {
      options.json = true;
    } else if (a == "-s" || a == "--socket") {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        std::fprintf(stderr, "ikemectl: %s needs a path\n%s", a.c_str(), kUsage);
        return 2;
      }
      options.socket = args[++i];
      socket_given = true;
    } else if (a.rfind("--socket=", 0) == 0 && a.size() > 9) {
      options.socket = a.substr(9);
      socket_given = true;
    } else {
      std::fprintf(stderr, "ikemectl: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (i == args.size()) {
    std::fprintf(stderr, "ikemectl: no command given\n%s", kUsage);
    return 2;
  }
  const std::string& command = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
  if (command == "decode") return run_decode(rest);
  if (command == "directory") return run_directory_command(rest, options.json);
  if (command == "list-peers" && !socket_given) options.socket = kDefaultMediatorSocket;
  if (is_daemon_command(command)) {
    auto parsed = parse_daemon_command(command, rest, options);
    if (!parsed) {
      std::fprintf(stderr, "ikemectl %s: %s\n%s", command.c_str(), parsed.error().c_str(),
                   daemon_command_usage(command).c_str());
      return 2;
    }
    if (parsed->help) {
      std::fputs(daemon_command_usage(command).c_str(), stdout);
      return 0;
    }
    return run_daemon_command(*parsed);
  }
  std::fprintf(stderr, "ikemectl: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}

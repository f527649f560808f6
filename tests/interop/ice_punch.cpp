// ice_punch: the ICE agent (ice/) on real UDP sockets, for the double-NAT testbed
// (tests/interop/ice_punch_test.sh). It stands in for the peer agent's glue until that exists:
// it gathers host addresses with getifaddrs, learns its server-reflexive endpoint from an echo
// server (tests/interop/lib/udp_probe.py --echo, answering "seen ADDR:PORT"), exchanges
// endpoints with its peer through files (instead of ME_CONNECT through a mediation server), runs
// the checks, and on nomination sends a stand-in for IKE_SA_INIT over the nominated pair; the
// responder reports the pair it arrived over. Test material only: the connect ID and the keys
// are fixed.
//
// usage: ice_punch ROLE BASE_ADDR PORT ECHO_ADDR:PORT DIR NAME PEER [EXCLUDE_IF...]
//   ROLE initiator|responder; writes DIR/NAME.endpoints, waits for DIR/PEER.endpoints and DIR/go.
// Prints what it gathered, the agent's log lines (ICE) and one result line:
//   "NOMINATED <pair, reason, timings>" (exit 0) or "FAILED <reason> ..." with the pairs (exit 1),
// then (after a nomination) "TYPE <remote type>" and "CHECKS_MS <ms from start to the outcome>".

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ice/agent.hpp"
#include "ice/candidates.hpp"
#include "ice/priority.hpp"

using namespace ikeme;

namespace {

const Bytes kConnectId{0x1c, 0xe0, 0x00, 0x01};
const Bytes kInitiatorKey(16, 0xA1), kResponderKey(16, 0xB2);
const char kIkeSaInit[] = "ikeme-ice-punch IKE_SA_INIT stand-in";

ike::Timestamp now_ms() {
  return std::chrono::duration_cast<ike::Timestamp>(
      std::chrono::steady_clock::now().time_since_epoch());
}

int die(const std::string& why) {
  std::fprintf(stderr, "ice_punch: %s\n", why.c_str());
  return 2;
}

sockaddr_in to_sockaddr(const ike::Endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  std::memcpy(&sa.sin_addr, e.address.bytes().data(), 4);
  return sa;
}

ike::Endpoint from_sockaddr(const sockaddr_in& sa) {
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &sa.sin_addr, 4);
  return ike::Endpoint{IpAddress::v4(b), ntohs(sa.sin_port)};
}

std::optional<ike::Endpoint> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  auto addr = IpAddress::parse(text.substr(0, colon));
  if (!addr) return std::nullopt;
  return ike::Endpoint{*addr, static_cast<uint16_t>(std::stoi(text.substr(colon + 1)))};
}

struct Socket {
  int fd = -1;
  ike::Endpoint local;
};

bool wait_for_file(const std::string& path, int seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    if (access(path.c_str(), R_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void print(const ice::AgentOutput& out) {
  for (const auto& l : out.logs) std::printf("[%s] %s\n", ike::name(l.subsystem), l.text.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8)
    return die("usage: ROLE BASE_ADDR PORT ECHO_ADDR:PORT DIR NAME PEER [EXCLUDE_IF...]");
  const bool initiator = std::string(argv[1]) == "initiator";
  auto base_addr = IpAddress::parse(argv[2]);
  const uint16_t port = static_cast<uint16_t>(std::stoi(argv[3]));
  auto echo = parse_endpoint(argv[4]);
  const std::string dir = argv[5], name = argv[6], peer = argv[7];
  ice::ExclusionList exclusions;
  for (int i = 8; i < argc; ++i) exclusions.interfaces.push_back(argv[i]);
  if (!base_addr || !echo) return die("bad address");

  // Gathering: every IPv4 address of this namespace, minus exclusions.
  ice::GatherInput in;
  in.port = port;
  ifaddrs* ifa = nullptr;
  if (getifaddrs(&ifa) != 0) return die("getifaddrs failed");
  for (ifaddrs* i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto ep = from_sockaddr(*reinterpret_cast<sockaddr_in*>(i->ifa_addr));
    in.hosts.push_back(ice::HostAddress{ep.address, i->ifa_name});
  }
  freeifaddrs(ifa);
  // The base (the address towards the server) first, as the daemon would order them.
  std::stable_partition(in.hosts.begin(), in.hosts.end(),
                        [&](const ice::HostAddress& h) { return h.address == *base_addr; });

  // One socket per usable host address.
  std::map<ike::Endpoint, Socket> sockets;
  auto open_socket = [&](const IpAddress& a) -> int {
    ike::Endpoint local{a, port};
    if (sockets.count(local)) return sockets[local].fd;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa = to_sockaddr(local);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
    sockets[local] = Socket{fd, local};
    return fd;
  };
  int base_fd = open_socket(*base_addr);
  if (base_fd < 0) return die("cannot bind " + base_addr->to_string());

  // The server-reflexive endpoint, as a mediation server would report it.
  sockaddr_in server = to_sockaddr(*echo);
  std::optional<ike::Endpoint> srflx;
  for (int attempt = 0; attempt < 5 && !srflx; ++attempt) {
    const char probe[] = "register";
    sendto(base_fd, probe, sizeof probe - 1, 0, reinterpret_cast<sockaddr*>(&server),
           sizeof server);
    pollfd p{base_fd, POLLIN, 0};
    if (poll(&p, 1, 500) <= 0) continue;
    char buf[256];
    ssize_t n = recv(base_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    buf[n] = 0;
    std::string reply(buf);
    if (reply.rfind("seen ", 0) == 0) srflx = parse_endpoint(reply.substr(5));
  }
  if (!srflx) return die("no answer from the echo server");
  in.server_reflexive = srflx;
  in.server_reflexive_base = ike::Endpoint{*base_addr, port};

  auto gathered = ice::gather_candidates(in, exclusions, 8);
  for (const auto& c : gathered.candidates) std::printf("gathered %s\n", c.to_string().c_str());
  for (const auto& s : gathered.skipped) std::printf("skipped %s\n", s.c_str());
  for (const auto& c : gathered.candidates)
    if (c.type == ike::EndpointType::HOST && open_socket(c.address.address) < 0)
      return die("cannot bind " + c.address.to_string());
  {
    std::ofstream f(dir + "/" + name + ".endpoints.tmp");
    for (const auto& e : ice::to_me_endpoints(gathered.candidates))
      f << static_cast<int>(e.type) << " " << e.address->to_string() << " " << e.port << " "
        << e.priority << "\n";
  }
  std::rename((dir + "/" + name + ".endpoints.tmp").c_str(),
              (dir + "/" + name + ".endpoints").c_str());
  if (!wait_for_file(dir + "/" + peer + ".endpoints", 30) || !wait_for_file(dir + "/go", 30))
    return die("the peer's endpoints never came");
  std::vector<ike::MeEndpoint> remote;
  {
    std::ifstream f(dir + "/" + peer + ".endpoints");
    int type;
    std::string addr;
    unsigned port_in, prio;
    while (f >> type >> addr >> port_in >> prio)
      remote.push_back(ike::MeEndpoint{prio, static_cast<ike::EndpointType>(type),
                                       static_cast<uint16_t>(port_in), IpAddress::parse(addr)});
  }

  ice::AgentConfig config;
  config.transaction_timeout = std::chrono::seconds(5);
  ice::IceAgent agent(
      config,
      ice::SessionParams{name, initiator ? ice::Role::Initiator : ice::Role::Responder, kConnectId,
                         initiator ? kInitiatorKey : kResponderKey,
                         initiator ? kResponderKey : kInitiatorKey, gathered.candidates, remote});
  const ike::Timestamp started = now_ms();
  std::optional<ice::Nomination> nomination;
  std::optional<ice::Failure> failure;
  auto carry_out = [&](ice::AgentOutput& out) {
    print(out);
    for (const auto& d : out.sends) {
      auto s = sockets.find(d.from);
      if (s == sockets.end()) continue;
      sockaddr_in to = to_sockaddr(d.to);
      sendto(s->second.fd, d.data.data(), d.data.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof to);
    }
    if (out.nomination) nomination = out.nomination;
    if (out.failure) failure = out.failure;
    out = ice::AgentOutput{};
  };
  ice::AgentOutput out;
  agent.start(now_ms(), out);
  carry_out(out);
  while (!nomination && !failure) {
    auto next = agent.next_timeout();
    int wait = next ? static_cast<int>(std::max<int64_t>(0, (*next - now_ms()).count())) : 1000;
    std::vector<pollfd> fds;
    std::vector<const Socket*> which;
    for (const auto& [ep, s] : sockets) {
      fds.push_back(pollfd{s.fd, POLLIN, 0});
      which.push_back(&s);
    }
    poll(fds.data(), fds.size(), wait);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      uint8_t buf[2048];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      ByteView data(buf, static_cast<size_t>(n));
      ike::Endpoint remote_ep = from_sockaddr(from);
      if (agent.handle_datagram(which[i]->local, remote_ep, data, now_ms(), out)) {
        carry_out(out);
      } else if (!initiator && n > 4 &&
                 std::string(reinterpret_cast<char*>(buf) + 4, n - 4) == kIkeSaInit) {
        agent.peer_nominated(which[i]->local, remote_ep, now_ms(), out);
        carry_out(out);
      }
    }
    if (auto t = agent.next_timeout(); t && *t <= now_ms()) {
      agent.handle_timeout(now_ms(), out);
      carry_out(out);
    }
  }
  if (nomination) {
    if (initiator) {  // the stand-in for IKE_SA_INIT with N(ME_CONNECTID)
      std::string msg = std::string(4, '\0') + kIkeSaInit;
      sockaddr_in to = to_sockaddr(nomination->remote);
      sendto(sockets[nomination->local].fd, msg.data(), msg.size(), 0,
             reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    std::printf("NOMINATED %s\n", nomination->to_string().c_str());
    std::printf("CHECKS_MS %lld\n",
                static_cast<long long>((nomination->timings.finished - started).count()));
    std::printf("TYPE %s\n", ike::name(nomination->remote_type).c_str());
    std::fflush(stdout);
    return 0;
  }
  std::printf("FAILED %s\n", failure->to_string().c_str());
  for (const auto& p : failure->pairs) std::printf("  %s\n", p.to_string().c_str());
  return 1;
}

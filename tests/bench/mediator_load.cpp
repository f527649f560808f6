// Load client for ikeme-mediator: registers COUNT synthetic peers (mediation connections, PSK)
// over loopback as fast as the server takes them, WINDOW at a time, from SOURCES loopback
// addresses (127.0.1.1, 127.0.1.2, ...), each with its own sans-IO IkeEngine and UDP sockets on
// the server's two ports. Prints registrations per second; tests/bench/mediator_scale.sh starts
// the server and measures its memory per registered peer.
//
// usage: mediator_load SERVER PORT PORT_NAT_T COUNT [--window W] [--sources S]
//                      [--prefix NAME] [--domain D] [--psk SECRET] [--ke-reuse SECONDS]
//                      [--remember-dh] [--timeout SECONDS]
// Pseudonyms are NAME00000@D ... (default p00000@load.test); the server's directory must list
// them with SECRET. --ke-reuse makes the client reuse its DH private value (RFC 7296 §2.12) so
// that the client's own X25519 work does not hide the server's rate. --remember-dh makes each of
// the client's DH values remember the shared secret per server public value (a server with
// ke_reuse sends the same value for up to 1000 SAs): the client then computes one X25519 shared
// secret per (client value, server value) pair instead of one per registration. A shortcut of
// the load generator only: the server still computes a shared secret for every registration.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"
#include "ike/sa/proposals.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

struct Node {
  IpAddress address;
  std::unique_ptr<crypto::DrbgRng> rng;
  std::unique_ptr<IkeEngine> engine;
  int fd[2] = {-1, -1};  // port, port_nat_t
  uint16_t port[2] = {0, 0};
  std::vector<std::string> names;  // its connections, in start order
  size_t next = 0;
};

// See --remember-dh above. Counts in `computed`/`remembered` (shared by all of them).
class RememberingKeyExchange final : public crypto::KeyExchange {
 public:
  RememberingKeyExchange(std::unique_ptr<crypto::KeyExchange> inner, uint64_t& computed,
                         uint64_t& remembered)
      : inner_(std::move(inner)), computed_(computed), remembered_(remembered) {}
  DhGroup group() const override { return inner_->group(); }
  const Bytes& public_value() const override { return inner_->public_value(); }
  Result<std::unique_ptr<crypto::KeyExchange>, crypto::CryptoError> duplicate(
      crypto::Rng& rng) const override {
    return inner_->duplicate(rng);  // a plain copy: it remembers nothing
  }
  Result<Bytes, crypto::CryptoError> shared_secret(ByteView peer_public) override {
    Bytes key(peer_public.begin(), peer_public.end());
    if (auto it = memo_.find(key); it != memo_.end()) {
      ++remembered_;
      return it->second;
    }
    auto secret = inner_->shared_secret(peer_public);
    if (!secret) return secret;
    ++computed_;
    memo_.emplace(std::move(key), *secret);
    return secret;
  }

 private:
  std::unique_ptr<crypto::KeyExchange> inner_;
  std::map<Bytes, Bytes> memo_;  // server public value -> shared secret
  uint64_t& computed_;
  uint64_t& remembered_;
};

int bind_udp(const IpAddress& a, uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  std::memcpy(&sa.sin_addr, a.bytes().data(), 4);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

IpAddress from_v4(const sockaddr_in& sa) {
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &sa.sin_addr, 4);
  return IpAddress::v4(b);
}

Timestamp clock_now() {
  return std::chrono::duration_cast<Timestamp>(std::chrono::steady_clock::now().time_since_epoch());
}

void send_all(Node& n, Actions& out) {
  for (const SendDatagram& s : out.sends) {
    int fd = s.from.port == n.port[0] ? n.fd[0] : n.fd[1];
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(s.to.port);
    std::memcpy(&to.sin_addr, s.to.address.bytes().data(), 4);
    (void)sendto(fd, s.data.data(), s.data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  out = Actions{};
}

int usage() {
  std::fputs(
      "usage: mediator_load SERVER PORT PORT_NAT_T COUNT [--window W] [--sources S]\n"
      "       [--prefix NAME] [--domain D] [--psk SECRET] [--ke-reuse SECONDS] [--remember-dh]\n"
      "       [--timeout S]\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return usage();
  auto server = IpAddress::parse(argv[1]);
  uint16_t port = static_cast<uint16_t>(std::atoi(argv[2]));
  uint16_t port_nat_t = static_cast<uint16_t>(std::atoi(argv[3]));
  size_t count = static_cast<size_t>(std::atol(argv[4]));
  size_t window = 256, sources = 32;
  std::string prefix = "p", domain = "load.test", psk = "load-test-pre-shared-key";
  int ke_reuse_s = 0, timeout_s = 120;
  bool remember_dh = false;
  for (int i = 5; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--remember-dh") {
      remember_dh = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[i + 1];
    if (k == "--window")
      window = static_cast<size_t>(std::atol(v.c_str()));
    else if (k == "--sources")
      sources = static_cast<size_t>(std::atol(v.c_str()));
    else if (k == "--prefix")
      prefix = v;
    else if (k == "--domain")
      domain = v;
    else if (k == "--psk")
      psk = v;
    else if (k == "--ke-reuse")
      ke_reuse_s = std::atoi(v.c_str());
    else if (k == "--timeout")
      timeout_s = std::atoi(v.c_str());
    else
      return usage();
  }
  if (!server || !server->is_v4() || count == 0 || sources == 0 || sources > 250 || window == 0)
    return usage();

  uint64_t dh_computed = 0, dh_remembered = 0;
  std::vector<Node> nodes(sources);
  auto proposal = parse_proposal("aes128-sha256-x25519", ProtocolId::IKE);
  for (size_t s = 0; s < sources; ++s) {
    Node& n = nodes[s];
    n.address = *IpAddress::parse("127.0.1." + std::to_string(s + 1));
    EngineConfig e;
    e.port = port;
    e.port_nat_t = port_nat_t;
    e.retransmit.timeout = Duration(2000);
    e.retransmit.tries = 3;
    e.ke_reuse_lifetime = Duration(ke_reuse_s * 1000);
    e.ike_secrets = {SharedSecret{{}, Bytes(psk.begin(), psk.end())}};
    if (remember_dh)
      e.key_exchange_factory = [&](DhGroup group, crypto::Rng& rng)
          -> Result<std::unique_ptr<crypto::KeyExchange>, crypto::CryptoError> {
        auto ke = crypto::KeyExchange::create(group, rng);
        if (!ke) return Unexpected{ke.error()};
        return std::unique_ptr<crypto::KeyExchange>(std::make_unique<RememberingKeyExchange>(
            std::move(ke.value()), dh_computed, dh_remembered));
      };
    for (size_t i = s; i < count; i += sources) {
      char name[64];
      std::snprintf(name, sizeof name, "%s%05zu", prefix.c_str(), i);
      ConnectionConfig c;
      c.name = name;
      c.remote_addrs = {*server};
      c.remote_port = port;
      c.proposals = {*proposal};
      c.local.id = *Identity::parse(std::string(name) + "@" + domain);
      c.mediation = true;
      c.keyingtries = 1;
      e.connections.push_back(std::move(c));
      n.names.push_back(name);
    }
    auto rng = crypto::DrbgRng::create();
    if (!rng) return std::fprintf(stderr, "cannot seed the random generator\n"), 1;
    n.rng = std::move(*rng);
    n.engine = std::make_unique<IkeEngine>(std::move(e), *n.rng);
    n.port[0] = port;
    n.port[1] = port_nat_t;
    n.fd[0] = bind_udp(n.address, port);
    n.fd[1] = bind_udp(n.address, port_nat_t);
    if (n.fd[0] < 0 || n.fd[1] < 0)
      return std::fprintf(stderr, "cannot bind %s ports %u/%u: %s\n", n.address.to_string().c_str(),
                          port, port_nat_t, std::strerror(errno)),
             1;
  }

  std::vector<pollfd> fds;
  for (size_t s = 0; s < sources; ++s)
    for (int k = 0; k < 2; ++k) fds.push_back(pollfd{nodes[s].fd[k], POLLIN, 0});
  auto finished = [&] {
    uint64_t est = 0, failed = 0;
    for (const Node& n : nodes) {
      est += n.engine->stats().ike_established;
      failed += n.engine->stats().ike_failed;
    }
    return std::pair{est, failed};
  };
  const Timestamp start = clock_now();
  const Timestamp deadline = start + Duration(timeout_s * 1000);
  size_t started = 0, rr = 0;
  std::vector<uint8_t> buf(65536);
  uint64_t established = 0, failed = 0;
  while (established + failed < count && clock_now() < deadline) {
    // Keep WINDOW registrations in flight.
    while (started < count && started - (established + failed) < window) {
      Node& n = nodes[rr++ % sources];
      if (n.next >= n.names.size()) continue;
      Actions out;
      auto st = n.engine->initiate(n.names[n.next++], "", clock_now(), out, n.address);
      if (!st) std::fprintf(stderr, "initiate: %s\n", st.error().c_str());
      send_all(n, out);
      ++started;
    }
    int ready = poll(fds.data(), fds.size(), 5);
    if (ready > 0) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        Node& n = nodes[i / 2];
        uint16_t local_port = n.port[i % 2];
        for (int burst = 0; burst < 64; ++burst) {
          sockaddr_in from{};
          socklen_t len = sizeof from;
          ssize_t r = recvfrom(fds[i].fd, buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &len);
          if (r <= 0) break;
          Endpoint remote{from_v4(from), ntohs(from.sin_port)};
          Actions out;
          n.engine->handle_datagram(Endpoint{n.address, local_port}, remote,
                                    ByteView(buf.data(), static_cast<size_t>(r)), clock_now(), out);
          send_all(n, out);
        }
      }
    }
    Timestamp now = clock_now();
    for (Node& n : nodes)
      if (auto t = n.engine->next_timeout(); t && *t <= now) {
        Actions out;
        n.engine->handle_timeout(now, out);
        send_all(n, out);
      }
    std::tie(established, failed) = finished();
  }
  double secs = std::chrono::duration<double>(clock_now() - start).count();
  std::printf(
      "mediator_load: %llu of %zu registrations established in %.3f s = %.0f registrations/s "
      "(%llu failed, window %zu, %zu source addresses, client DH reuse %s)\n",
      static_cast<unsigned long long>(established), count, secs,
      static_cast<double>(established) / secs, static_cast<unsigned long long>(failed), window,
      sources, ke_reuse_s ? "on" : "off");
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("mediator_load: client CPU %.3f ms per registration (%.1f s in %.1f s)\n",
              established ? cpu * 1000 / static_cast<double>(established) : 0.0, cpu, secs);
  if (remember_dh)
    std::printf(
        "mediator_load: client remembers DH shared secrets per server value: %llu X25519 shared "
        "secrets computed, %llu remembered (the server computes one per registration)\n",
        static_cast<unsigned long long>(dh_computed),
        static_cast<unsigned long long>(dh_remembered));
  std::fflush(stdout);
  // The server keeps the registrations after we exit: no DELETE is sent, and it runs no
  // liveness checks, so the caller measures its memory afterwards.
  for (Node& n : nodes) {
    close(n.fd[0]);
    close(n.fd[1]);
  }
  return established == count ? 0 : 1;
}

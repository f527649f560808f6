// In-process benchmark of the sans-IO IKE engine: complete IKE_SA + CHILD_SA setups (PSK,
// aes128-sha256-x25519, ESP aes128gcm16) between two engines, no sockets. It measures the
// protocol and crypto cost alone, the floor under what the daemons can reach on real sockets.
// Usage: engine_setup_rate [COUNT]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"
#include "ike/sa/proposals.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

ConnectionConfig connection(const char* local_id, const char* remote_id, const char* remote) {
  ConnectionConfig c;
  c.name = "bench";
  if (remote) c.remote_addrs = {*IpAddress::parse(remote)};
  c.proposals = {*parse_proposal("aes128-sha256-x25519", ProtocolId::IKE)};
  c.local.id = *Identity::parse(local_id);
  c.remote.id = *Identity::parse(remote_id);
  ChildConfig child;
  child.name = "bench";
  child.esp_proposals = {*parse_proposal("aes128gcm16", ProtocolId::ESP)};
  c.children = {child};
  return c;
}

EngineConfig config(ConnectionConfig c) {
  EngineConfig e;
  e.connections = {std::move(c)};
  SharedSecret s;
  s.ids = {*Identity::parse("alice@bench"), *Identity::parse("bob@bench")};
  std::string psk = "benchmark pre-shared key";
  s.secret = Bytes(psk.begin(), psk.end());
  e.ike_secrets = {s};
  e.cookie_threshold = 1u << 30;
  e.half_open_limit = 1u << 30;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 2000;
  crypto::DeterministicRng rng_a(1), rng_b(2);
  IkeEngine a(config(connection("alice@bench", "bob@bench", "192.0.2.2")), rng_a);
  IkeEngine b(config(connection("bob@bench", "alice@bench", nullptr)), rng_b);
  Endpoint ea{*IpAddress::parse("192.0.2.1"), 500}, eb{*IpAddress::parse("192.0.2.2"), 500};
  auto start = std::chrono::steady_clock::now();
  Timestamp now{0};
  size_t children = 0;
  for (int i = 0; i < count; ++i) {
    Actions out;
    if (!a.initiate("bench", "", now, out, ea.address).ok()) return 1;
    std::deque<std::pair<bool, SendDatagram>> queue;  // (to b?, datagram)
    for (auto& s : out.sends) queue.emplace_back(true, std::move(s));
    children += out.children.size();
    while (!queue.empty()) {
      auto [to_b, d] = std::move(queue.front());
      queue.pop_front();
      Actions r;
      if (to_b)
        b.handle_datagram(eb, ea, d.data, now, r);
      else
        a.handle_datagram(ea, eb, d.data, now, r);
      for (auto& s : r.sends) queue.emplace_back(!to_b, std::move(s));
      children += r.children.size();
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bool ok = a.sa_count() == static_cast<size_t>(count) &&
            b.sa_count() == static_cast<size_t>(count) && children == 2u * count;
  std::printf(
      "ikeme engine in-process: %d IKE_SA+CHILD_SA setups in %.3f s = %.0f setups/s (one core)%s\n",
      count, seconds, count / seconds, ok ? "" : " [INCOMPLETE]");
  return ok ? 0 : 1;
}

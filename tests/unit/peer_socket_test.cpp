// The daemon's UDP sockets on loopback: a wildcard socket learns the address a datagram was sent
// to (IP_PKTINFO) and sends from a chosen address; socket choice for a source; the route source.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <thread>

#include "esp-kernel/userspace/udp_batch.hpp"
#include "peer/route_source.hpp"
#include "peer/socket_set.hpp"
#include "peer/udp_socket.hpp"

using namespace ikeme;
using namespace ikeme::peer;

namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// Waits briefly for one datagram (loopback delivers at once, but do not spin forever).
bool receive(UdpSocket& s, ReceivedDatagram& d, std::array<uint8_t, 2048>& buf) {
  std::string error;
  for (int i = 0; i < 200; ++i) {
    auto st = s.receive(buf, d, error);
    if (st == UdpSocket::RecvStatus::Datagram) return true;
    if (st == UdpSocket::RecvStatus::Error) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

TEST_CASE("peer sockets: UDP socket: pktinfo tells the local address and sets the source",
          "[peer]") {
  auto wild = UdpSocket::open(ike::Endpoint{IpAddress(), 0});
  REQUIRE(wild.ok());
  CHECK(wild->wildcard());
  REQUIRE(wild->bound().port != 0);
  auto other = UdpSocket::open(ike::Endpoint{ip("127.0.0.1"), 0});
  REQUIRE(other.ok());
  CHECK_FALSE(other->wildcard());

  // To 127.0.0.2 (on lo): the wildcard socket is told it arrived for 127.0.0.2.
  const uint8_t hello[] = {1, 2, 3};
  REQUIRE(
      other->send(other->bound(), ike::Endpoint{ip("127.0.0.2"), wild->bound().port}, hello).ok());
  std::array<uint8_t, 2048> buf;
  ReceivedDatagram d;
  REQUIRE(receive(*wild, d, buf));
  CHECK(d.size == 3);
  CHECK_FALSE(d.truncated);
  CHECK(d.local == ike::Endpoint{ip("127.0.0.2"), wild->bound().port});
  CHECK(d.remote == other->bound());

  // The answer from 127.0.0.2 through pktinfo arrives with that source.
  REQUIRE(wild->send(d.local, d.remote, hello).ok());
  ReceivedDatagram back;
  REQUIRE(receive(*other, back, buf));
  CHECK(back.remote == d.local);
  CHECK(back.local == other->bound());
}

TEST_CASE("peer sockets: UDP socket: bind errors name the address", "[peer]") {
  auto a = UdpSocket::open(ike::Endpoint{ip("127.0.0.1"), 0});
  REQUIRE(a.ok());
  auto b = UdpSocket::open(a->bound());
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().find("bind to 127.0.0.1[") == 0);
  CHECK(b.error().find("Address already in use") != std::string::npos);
}

TEST_CASE("peer sockets: socket set: the socket and source for a datagram", "[peer]") {
  std::vector<std::string> warnings;
  auto set = SocketSet::open({ip("127.0.0.1")}, {0}, false, warnings);
  REQUIRE(set.ok());
  REQUIRE(set->sockets().size() == 1);
  uint16_t port = set->sockets()[0].bound().port;
  CHECK(set->for_source(ike::Endpoint{ip("127.0.0.1"), port}) == &set->sockets()[0]);
  CHECK(set->for_source(ike::Endpoint{IpAddress(), port}) == &set->sockets()[0]);
  CHECK(set->for_source(ike::Endpoint{ip("127.0.0.2"), port}) == nullptr);
  CHECK(set->for_source(ike::Endpoint{ip("127.0.0.1"), static_cast<uint16_t>(port + 1)}) ==
        nullptr);
  CHECK(set->for_source(ike::Endpoint{ip("::1"), port}) == nullptr);
  // Initiating: a routed source we cannot send from falls back to our bound address.
  CHECK(set->initiation_source(ip("127.0.0.1")) == ip("127.0.0.1"));
  CHECK(set->initiation_source(ip("127.0.0.9")) == ip("127.0.0.1"));
  CHECK(set->initiation_source(ip("::1")) == std::nullopt);
  CHECK(warnings.empty());
}

TEST_CASE("peer sockets: route source: the kernel's source address towards a destination",
          "[peer]") {
  auto src = route_source(ike::Endpoint{ip("127.0.0.2"), 500});
  REQUIRE(src.ok());
  CHECK(src->is_v4());
  CHECK(src->to_string().rfind("127.", 0) == 0);
}

TEST_CASE("peer sockets: UDP GSO batches arrive one by one, or as one UDP GRO read",
          "[peer][offload]") {
  auto rx = UdpSocket::open(ike::Endpoint{ip("127.0.0.1"), 0});
  auto tx = UdpSocket::open(ike::Endpoint{IpAddress(), 0});  // wildcard: pktinfo + UDP_SEGMENT
  REQUIRE(rx.ok());
  REQUIRE(tx.ok());
  esp::UdpBatchSender batch;
  REQUIRE(batch.add_socket(tx->fd()).ok());
  std::vector<std::vector<uint8_t>> data;
  for (int i = 0; i < 6; ++i) data.emplace_back(i < 5 ? 1000 : 300, static_cast<uint8_t>(i + 1));
  bool gro = false, gso = true;
  SECTION("GSO, no GRO") {}
  SECTION("GSO and GRO") {
    gro = true;
  }
  SECTION("GSO off") {
    gso = false;
  }
  if (gro) {
    int on = 1;
    REQUIRE(::setsockopt(rx->fd(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0);
  }
  batch.set_gso(gso);
  const ike::Endpoint from{ip("127.0.0.1"), tx->bound().port};
  for (const auto& d : data) REQUIRE(batch.queue(from, rx->bound(), d));
  std::string error;
  REQUIRE(batch.flush(error) == 0);
  CHECK(batch.gso() == gso);
  CHECK(batch.messages_sent() == (gso ? 1u : 6u));

  std::vector<uint8_t> buffers(8 * 65536);
  std::array<ReceivedDatagram, 8> meta;
  std::vector<std::vector<uint8_t>> got;
  for (int tries = 0; tries < 200 && got.size() < (gro ? 1u : 6u); ++tries) {
    const int n = rx->receive_many(buffers, 65536, meta, error);
    REQUIRE(n >= 0);
    for (int i = 0; i < n; ++i) {
      const uint8_t* b = buffers.data() + static_cast<size_t>(i) * 65536;
      got.emplace_back(b, b + meta[static_cast<size_t>(i)].size);
      CHECK(meta[static_cast<size_t>(i)].remote == from);
      CHECK(meta[static_cast<size_t>(i)].segment_size == (gro ? 1000u : 0u));
    }
    if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (gro) {
    REQUIRE(got.size() == 1);
    std::vector<uint8_t> joined;
    for (const auto& d : data) joined.insert(joined.end(), d.begin(), d.end());
    CHECK(got[0] == joined);
  } else {
    CHECK(got == data);
  }
}

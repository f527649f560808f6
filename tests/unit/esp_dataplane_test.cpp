// The userspace data plane's pure parts: routes for traffic selectors (prefix cover, the peer's
// address left out), packet-to-selector matching, and the factory's names. The TUN device and
// netlink side runs in tests/interop/userspace_esp.sh (needs root and namespaces).

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "esp-kernel/dataplane.hpp"
#include "esp-kernel/userspace/route_netlink.hpp"
#include "esp-kernel/userspace/udp_batch.hpp"
#include "esp-kernel/userspace/userspace_dataplane.hpp"
#include "esp-kernel/xfrm/xfrm_dataplane.hpp"
#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;
using namespace ikeme::esp;

namespace {

ike::TrafficSelector ts(const char* text) {
  auto t = ike::parse_traffic_selector(text);
  REQUIRE(t.ok());
  REQUIRE(t->has_value());
  return **t;
}

std::vector<std::string> prefixes(const char* text, const char* exclude = nullptr) {
  std::optional<IpAddress> x;
  if (exclude) x = IpAddress::parse(exclude);
  std::vector<std::string> out;
  for (const Prefix& p : selector_prefixes(ts(text), x)) out.push_back(p.to_string());
  return out;
}

std::vector<uint8_t> ipv4(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t proto,
                          uint16_t sport = 0, uint16_t dport = 0) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x45;
  p[9] = proto;
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  p[20] = static_cast<uint8_t>(sport >> 8);
  p[21] = static_cast<uint8_t>(sport);
  p[22] = static_cast<uint8_t>(dport >> 8);
  p[23] = static_cast<uint8_t>(dport);
  return p;
}

}  // namespace

TEST_CASE("data plane: routes cover a selector's range with the fewest prefixes", "[esp]") {
  CHECK(prefixes("10.2.0.0/16") == std::vector<std::string>{"10.2.0.0/16"});
  CHECK(prefixes("10.2.0.10/32") == std::vector<std::string>{"10.2.0.10/32"});
  CHECK(prefixes("2001:db8::/48") == std::vector<std::string>{"2001:db8::/48"});
  CHECK(prefixes("0.0.0.0/0") == std::vector<std::string>{"0.0.0.0/0"});
  CHECK(prefixes("::/0") == std::vector<std::string>{"::/0"});
  // The peer's own address is left out: a route to it through the tunnel would loop its ESP.
  auto all = prefixes("0.0.0.0/0", "192.0.2.2");
  CHECK(all.size() == 32);
  CHECK(all.front() == "0.0.0.0/1");
  CHECK(std::find(all.begin(), all.end(), "192.0.2.3/32") != all.end());
  CHECK(std::find(all.begin(), all.end(), "192.0.2.2/32") == all.end());
  CHECK(prefixes("10.2.0.0/16", "192.0.2.2") == std::vector<std::string>{"10.2.0.0/16"});
  CHECK(prefixes("::/0", "2001:db8::1").size() == 128);
  CHECK(prefixes("::/0", "192.0.2.2") == std::vector<std::string>{"::/0"});  // other family
}

TEST_CASE("data plane: packets are matched to selectors by address, protocol and port", "[esp]") {
  std::vector<ike::TrafficSelector> local = {ts("10.1.0.0/16")},
                                    remote = {ts("10.2.0.10/32[tcp/443]")};
  CHECK(packet_matches(ipv4({10, 1, 2, 3}, {10, 2, 0, 10}, 6, 40000, 443), local, remote));
  CHECK_FALSE(packet_matches(ipv4({10, 1, 2, 3}, {10, 2, 0, 10}, 6, 40000, 80), local, remote));
  CHECK_FALSE(packet_matches(ipv4({10, 1, 2, 3}, {10, 2, 0, 10}, 17, 40000, 443), local, remote));
  CHECK_FALSE(packet_matches(ipv4({10, 3, 0, 1}, {10, 2, 0, 10}, 6, 40000, 443), local, remote));
  std::vector<ike::TrafficSelector> any = {ts("0.0.0.0/0")};
  CHECK(packet_matches(ipv4({1, 2, 3, 4}, {5, 6, 7, 8}, 1), any, any));
  // Garbage, truncated headers and the other family never match.
  CHECK_FALSE(packet_matches(std::vector<uint8_t>{0x45, 0, 0}, any, any));
  CHECK_FALSE(packet_matches(std::vector<uint8_t>(40, 0x60), any, any));
  CHECK_FALSE(packet_matches(std::vector<uint8_t>{}, any, any));
}

TEST_CASE("data plane: backend names and the none backend", "[esp]") {
  CHECK(name(Backend::Auto) == "auto");
  CHECK(name(Backend::Xfrm) == "xfrm");
  CHECK(name(Backend::Userspace) == "userspace");
  CHECK(name(Backend::None) == "none");
  DataplaneOptions o;
  o.backend = Backend::None;
  auto d = make_dataplane(nullptr, o, {});
  REQUIRE_FALSE(d.ok());
  // esp_backend: xfrm on a kernel without ESP (this host) fails with the kernel's reason before
  // anything is created; where the kernel has ESP, the VM test (ctest xfrm_kernel) covers it.
  if (auto probe = probe_kernel_esp(); !probe) {
    o.backend = Backend::Xfrm;
    auto x = make_dataplane(nullptr, o, {});
    REQUIRE_FALSE(x.ok());
    CHECK_THAT(x.error(), Catch::StartsWith("xfrm: ") && Catch::Contains(probe.error()));
  }
}

namespace {

// A UDP socket on loopback for the batch sender tests.
struct LoopbackSocket {
  int fd = -1;
  uint16_t port = 0;
  explicit LoopbackSocket(const char* address) {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &a.sin_addr);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~LoopbackSocket() { ::close(fd); }
  // One datagram: its bytes and the sender's address.
  std::pair<Bytes, std::string> receive() const {
    Bytes buf(2048);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return {};
    buf.resize(static_cast<size_t>(n));
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
    return {buf, text};
  }
};

ike::Endpoint endpoint(const char* address, uint16_t port) {
  return ike::Endpoint{*IpAddress::parse(address), port};
}

}  // namespace

TEST_CASE("data plane: ESP-in-UDP batches go out with sendmmsg, from the chosen source", "[esp]") {
  LoopbackSocket receiver("127.0.0.1");
  SECTION("a socket bound to its address") {
    LoopbackSocket sender("127.0.0.1");
    UdpBatchSender batch;
    REQUIRE(batch.add_socket(sender.fd).ok());
    CHECK(batch.can_send_from(endpoint("127.0.0.1", sender.port)));
    CHECK_FALSE(batch.can_send_from(endpoint("127.0.0.1", static_cast<uint16_t>(sender.port + 1))));
    CHECK_FALSE(batch.queue(endpoint("127.0.0.2", sender.port),
                            endpoint("127.0.0.1", receiver.port), Bytes{1}));
    std::vector<Bytes> data = {{1, 2, 3}, {4, 5}, {6}};
    for (const Bytes& d : data)
      REQUIRE(
          batch.queue(endpoint("127.0.0.1", sender.port), endpoint("127.0.0.1", receiver.port), d));
    CHECK(batch.queued() == 3);
    std::string error;
    CHECK(batch.flush(error) == 0);
    CHECK(batch.queued() == 0);
    for (const Bytes& d : data) CHECK(receiver.receive().first == d);
  }
  SECTION("a wildcard socket sends from the address asked for (IP_PKTINFO)") {
    LoopbackSocket sender("0.0.0.0");
    UdpBatchSender batch;
    REQUIRE(batch.add_socket(sender.fd).ok());
    const Bytes payload = {9, 9};  // queued data must live until the flush
    REQUIRE(batch.queue(endpoint("127.0.0.2", sender.port), endpoint("127.0.0.1", receiver.port),
                        payload));
    std::string error;
    CHECK(batch.flush(error) == 0);
    auto [bytes, from] = receiver.receive();
    CHECK(bytes == Bytes{9, 9});
    CHECK(from == "127.0.0.2");
  }
}

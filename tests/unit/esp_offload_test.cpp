// The userspace data plane's TUN offload helpers (pure functions over buffers): the Internet
// checksum against a plain 16-bit reference sum, GSO segmentation (gso_segmenter.hpp) of TCP and
// UDP super-packets over IPv4 and IPv6 with every segment's lengths, IDs, sequence numbers,
// flags and checksums checked against independently built packets, the checksum completion of
// single packets, refusals; and the receive side's TCP coalescing (tcp_coalescer.hpp): what is
// joined, what must not be, the order within a flow, and joined packets cut again by the
// segmenter giving back the original segments byte for byte.

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "esp-kernel/userspace/gso_segmenter.hpp"
#include "esp-kernel/userspace/inet_checksum.hpp"
#include "esp-kernel/userspace/tcp_coalescer.hpp"

using namespace ikeme;
using namespace ikeme::esp;

namespace {

using Bytes = std::vector<uint8_t>;

// RFC 1071 the slow way: big-endian 16-bit words, an odd byte padded with zero.
uint16_t reference_sum(const Bytes& data) {
  uint32_t s = 0;
  for (size_t i = 0; i < data.size(); i += 2)
    s += static_cast<uint32_t>(data[i] << 8 | (i + 1 < data.size() ? data[i + 1] : 0));
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

Bytes payload_bytes(size_t n, uint8_t seed) {
  Bytes b(n);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

struct Tcp {
  bool v6 = false;
  uint32_t seq = 1000, ack = 5000;
  uint8_t flags = 0x10;  // ACK
  uint16_t window = 502, ip_id = 77;
  Bytes options;  // a multiple of 4
  uint16_t sport = 40000, dport = 5201;
  uint8_t src_last = 10;
};

// The pseudo header (RFC 9293 §3.1 / RFC 8200 §8.1) spelt out byte by byte.
Bytes pseudo_header(const Bytes& p, size_t l4, uint8_t proto) {
  Bytes ph;
  const bool v4 = l4 == 20 || (p[0] >> 4) == 4;
  const size_t off = v4 ? 12 : 8, n = v4 ? 8 : 32;
  ph.insert(ph.end(), p.begin() + static_cast<long>(off), p.begin() + static_cast<long>(off + n));
  const uint32_t len = static_cast<uint32_t>(p.size() - l4);
  if (v4) {
    ph.push_back(0);
    ph.push_back(proto);
    ph.push_back(static_cast<uint8_t>(len >> 8));
    ph.push_back(static_cast<uint8_t>(len));
  } else {
    for (int s : {24, 16, 8, 0}) ph.push_back(static_cast<uint8_t>(len >> s));
    ph.insert(ph.end(), {0, 0, 0, proto});
  }
  return ph;
}

// Whether the transport checksum of `p` (header at l4) is right.
bool transport_checksum_ok(const Bytes& p, size_t l4, uint8_t proto) {
  Bytes all = pseudo_header(p, l4, proto);
  all.insert(all.end(), p.begin() + static_cast<long>(l4), p.end());
  return reference_sum(all) == 0xffff;
}

void set_transport_checksum(Bytes& p, size_t l4, uint8_t proto, size_t field) {
  p[l4 + field] = p[l4 + field + 1] = 0;
  Bytes all = pseudo_header(p, l4, proto);
  all.insert(all.end(), p.begin() + static_cast<long>(l4), p.end());
  const uint16_t c = static_cast<uint16_t>(~reference_sum(all));
  p[l4 + field] = static_cast<uint8_t>(c >> 8);
  p[l4 + field + 1] = static_cast<uint8_t>(c);
}

bool ipv4_header_ok(const Bytes& p) {
  return reference_sum(Bytes(p.begin(), p.begin() + (p[0] & 0x0f) * 4)) == 0xffff;
}

void put16(Bytes& p, size_t at, uint16_t v) {
  p[at] = static_cast<uint8_t>(v >> 8);
  p[at + 1] = static_cast<uint8_t>(v);
}

void put32(Bytes& p, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

size_t ip_header(Bytes& p, bool v6, uint8_t proto, size_t l4_len, uint16_t id, uint8_t src_last) {
  if (!v6) {
    p.assign(20, 0);
    p[0] = 0x45;
    put16(p, 2, static_cast<uint16_t>(20 + l4_len));
    put16(p, 4, id);
    p[6] = 0x40;  // DF
    p[8] = 64;
    p[9] = proto;
    const uint8_t addrs[8] = {10, 1, 0, src_last, 10, 2, 0, 10};
    std::memcpy(&p[12], addrs, 8);
    put16(p, 10, static_cast<uint16_t>(~reference_sum(p)));
    return 20;
  }
  p.assign(40, 0);
  p[0] = 0x60;
  put16(p, 4, static_cast<uint16_t>(l4_len));
  p[6] = proto;
  p[7] = 64;
  p[8] = 0xfd;
  p[23] = src_last;
  p[24] = 0xfd;
  p[25] = 2;
  p[39] = 10;
  return 40;
}

// A complete, correctly checksummed TCP segment.
Bytes tcp_packet(const Tcp& t, const Bytes& payload) {
  Bytes p;
  const size_t thl = 20 + t.options.size();
  const size_t l4 = ip_header(p, t.v6, IPPROTO_TCP, thl + payload.size(), t.ip_id, t.src_last);
  p.resize(l4 + thl, 0);
  put16(p, l4, t.sport);
  put16(p, l4 + 2, t.dport);
  put32(p, l4 + 4, t.seq);
  put32(p, l4 + 8, t.ack);
  p[l4 + 12] = static_cast<uint8_t>((thl / 4) << 4);
  p[l4 + 13] = t.flags;
  put16(p, l4 + 14, t.window);
  std::copy(t.options.begin(), t.options.end(), p.begin() + static_cast<long>(l4 + 20));
  p.insert(p.end(), payload.begin(), payload.end());
  set_transport_checksum(p, l4, IPPROTO_TCP, 16);
  return p;
}

Bytes udp_packet(bool v6, const Bytes& payload, uint16_t id = 9) {
  Bytes p;
  const size_t l4 = ip_header(p, v6, IPPROTO_UDP, 8 + payload.size(), id, 10);
  p.resize(l4 + 8, 0);
  put16(p, l4, 5000);
  put16(p, l4 + 2, 6000);
  put16(p, l4 + 4, static_cast<uint16_t>(8 + payload.size()));
  p.insert(p.end(), payload.begin(), payload.end());
  set_transport_checksum(p, l4, IPPROTO_UDP, 6);
  return p;
}

const Bytes kTimestamps = {1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78};

// What the kernel hands out with TSO: one header for the whole payload, the transport checksum
// field holding the pseudo header's sum (CHECKSUM_PARTIAL), the IPv4 length of the whole.
Bytes gso_super_packet(Tcp t, const Bytes& payload, VirtioNetHdr& h, uint16_t mss) {
  Bytes p = tcp_packet(t, payload);
  const size_t l4 = t.v6 ? 40 : 20;
  Bytes ph = pseudo_header(p, l4, IPPROTO_TCP);
  put16(p, l4 + 16, reference_sum(ph));
  h = VirtioNetHdr{};
  h.flags = VirtioNetHdr::kNeedsCsum;
  h.gso_type = t.v6 ? VirtioNetHdr::kGsoTcpV6 : VirtioNetHdr::kGsoTcpV4;
  h.hdr_len = static_cast<uint16_t>(l4 + 20 + t.options.size());
  h.gso_size = mss;
  h.csum_start = static_cast<uint16_t>(l4);
  h.csum_offset = 16;
  return p;
}

struct Collected {
  std::vector<Bytes> packets;
  Bytes room = Bytes(1500);
  size_t room_size = 1500;
  SegmentSink sink() {
    return SegmentSink{[this] { return std::span<uint8_t>(room.data(), room_size); },
                       [this](size_t n) {
                         packets.emplace_back(room.begin(), room.begin() + static_cast<long>(n));
                       }};
  }
};

struct Written {
  std::vector<std::pair<VirtioNetHdr, Bytes>> writes;
  TcpCoalescer::Write writer() {
    return [this](const VirtioNetHdr& h, std::span<const uint8_t> p) {
      writes.emplace_back(h, Bytes(p.begin(), p.end()));
    };
  }
};

}  // namespace

TEST_CASE("InetChecksum equals the 16-bit reference sum for any length and split",
          "[esp][offload]") {
  for (size_t n = 0; n < 80; ++n) {
    const Bytes data = payload_bytes(n, static_cast<uint8_t>(n));
    InetChecksum whole;
    whole.add(data);
    CHECK(whole.folded() == reference_sum(data));
    // Split at an even offset into two spans.
    const size_t cut = (n / 3) & ~size_t{1};
    InetChecksum parts;
    parts.add(std::span<const uint8_t>(data.data(), cut));
    parts.add(std::span<const uint8_t>(data.data() + cut, n - cut));
    CHECK(parts.folded() == reference_sum(data));
  }
  InetChecksum zero;
  CHECK(zero.folded() == 0);
  CHECK(zero.final_value() == 0xffff);  // ~0 would be 0xffff anyway; 0 is never stored
  InetChecksum all_ones;
  all_ones.add(Bytes{0xff, 0xff});
  CHECK(all_ones.final_value() == 0xffff);  // ~0xffff = 0 goes out as 0xffff
}

TEST_CASE("TCP GSO over IPv4 with options is cut into checked segments", "[esp][offload]") {
  const uint16_t mss = 1348;
  const Bytes payload = payload_bytes(3 * mss + 500, 1);
  Tcp t;
  t.options = kTimestamps;
  t.flags = 0x10 | 0x08 | 0x80;  // ACK PSH CWR
  t.seq = 0xfffff000;            // the sequence numbers wrap inside the packet
  VirtioNetHdr h;
  const Bytes super = gso_super_packet(t, payload, h, mss);
  Collected out;
  auto n = segment_packet(h, super, out.sink());
  REQUIRE(n.ok());
  REQUIRE(*n == 4);
  REQUIRE(out.packets.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    const size_t len = i < 3 ? mss : 500;
    Tcp expect = t;
    expect.seq = t.seq + static_cast<uint32_t>(i * mss);
    expect.ip_id = static_cast<uint16_t>(t.ip_id + i);
    expect.flags = static_cast<uint8_t>(0x10 | (i == 3 ? 0x08 : 0) | (i == 0 ? 0x80 : 0));
    const Bytes want =
        tcp_packet(expect, Bytes(payload.begin() + static_cast<long>(i * mss),
                                 payload.begin() + static_cast<long>(i * mss + len)));
    CHECK(out.packets[i] == want);
    CHECK(ipv4_header_ok(out.packets[i]));
    CHECK(transport_checksum_ok(out.packets[i], 20, IPPROTO_TCP));
  }
}

TEST_CASE("TCP GSO over IPv6, an exact multiple of the segment size", "[esp][offload]") {
  const uint16_t mss = 1000;
  const Bytes payload = payload_bytes(2 * mss, 2);
  Tcp t;
  t.v6 = true;
  t.flags = 0x10 | 0x01;  // ACK FIN: FIN only on the last segment
  VirtioNetHdr h;
  const Bytes super = gso_super_packet(t, payload, h, mss);
  Collected out;
  auto n = segment_packet(h, super, out.sink());
  REQUIRE(n.ok());
  REQUIRE(*n == 2);
  for (size_t i = 0; i < 2; ++i) {
    Tcp expect = t;
    expect.seq = t.seq + static_cast<uint32_t>(i * mss);
    expect.flags = i == 1 ? 0x11 : 0x10;
    CHECK(out.packets[i] ==
          tcp_packet(expect, Bytes(payload.begin() + static_cast<long>(i * mss),
                                   payload.begin() + static_cast<long>((i + 1) * mss))));
    CHECK(transport_checksum_ok(out.packets[i], 40, IPPROTO_TCP));
  }
}

TEST_CASE("UDP GSO (USO) over IPv4 and IPv6", "[esp][offload]") {
  for (bool v6 : {false, true}) {
    const uint16_t seg = 1200;
    const Bytes payload = payload_bytes(2 * seg + 7, 3);
    Bytes super = udp_packet(v6, payload);
    const size_t l4 = v6 ? 40 : 20;
    put16(super, l4 + 6, reference_sum(pseudo_header(super, l4, IPPROTO_UDP)));
    VirtioNetHdr h;
    h.flags = VirtioNetHdr::kNeedsCsum;
    h.gso_type = VirtioNetHdr::kGsoUdpL4;
    h.gso_size = seg;
    h.csum_start = static_cast<uint16_t>(l4);
    h.csum_offset = 6;
    Collected out;
    auto n = segment_packet(h, super, out.sink());
    REQUIRE(n.ok());
    REQUIRE(*n == 3);
    for (size_t i = 0; i < 3; ++i) {
      const size_t len = i < 2 ? seg : 7;
      const Bytes want = udp_packet(v6,
                                    Bytes(payload.begin() + static_cast<long>(i * seg),
                                          payload.begin() + static_cast<long>(i * seg + len)),
                                    static_cast<uint16_t>(9 + i));
      CHECK(out.packets[i] == want);
      CHECK(transport_checksum_ok(out.packets[i], l4, IPPROTO_UDP));
    }
  }
}

TEST_CASE("A single packet: partial checksum completed, or copied unchanged", "[esp][offload]") {
  Tcp t;
  const Bytes complete = tcp_packet(t, payload_bytes(333, 4));  // odd payload length
  Bytes partial = complete;
  put16(partial, 36, reference_sum(pseudo_header(partial, 20, IPPROTO_TCP)));
  VirtioNetHdr h;
  h.flags = VirtioNetHdr::kNeedsCsum;
  h.csum_start = 20;
  h.csum_offset = 16;
  Collected out;
  REQUIRE(segment_packet(h, partial, out.sink()).ok());
  REQUIRE(out.packets.size() == 1);
  CHECK(out.packets[0] == complete);

  const Bytes icmp = {0x45, 0,  0,  28, 0, 1,  0, 0, 64, 1, 0, 0, 10, 1,
                      0,    10, 10, 2,  0, 10, 8, 0, 0,  0, 0, 0, 0,  0};
  Collected plain;
  REQUIRE(segment_packet(VirtioNetHdr{}, icmp, plain.sink()).ok());
  CHECK(plain.packets == std::vector<Bytes>{icmp});
}

TEST_CASE("Segmentation refuses what it cannot cut", "[esp][offload]") {
  Tcp t;
  VirtioNetHdr h;
  const Bytes super = gso_super_packet(t, payload_bytes(3000, 5), h, 1000);
  SECTION("a segment larger than the room") {
    Collected out;
    out.room_size = 900;
    CHECK_FALSE(segment_packet(h, super, out.sink()).ok());
    CHECK(out.packets.empty());
  }
  SECTION("UFO") {
    VirtioNetHdr u = h;
    u.gso_type = VirtioNetHdr::kGsoUdp;
    Collected out;
    CHECK_FALSE(segment_packet(u, super, out.sink()).ok());
  }
  SECTION("TCP GSO on a UDP packet, or with the other IP version") {
    Collected out;
    CHECK_FALSE(segment_packet(h, udp_packet(false, payload_bytes(3000, 6)), out.sink()).ok());
    VirtioNetHdr v6 = h;
    v6.gso_type = VirtioNetHdr::kGsoTcpV6;
    CHECK_FALSE(segment_packet(v6, super, out.sink()).ok());
  }
  SECTION("gso_size 0, truncated headers, a checksum outside the packet") {
    Collected out;
    VirtioNetHdr zero = h;
    zero.gso_size = 0;
    CHECK_FALSE(segment_packet(zero, super, out.sink()).ok());
    CHECK_FALSE(segment_packet(h, Bytes(super.begin(), super.begin() + 30), out.sink()).ok());
    VirtioNetHdr single;
    single.flags = VirtioNetHdr::kNeedsCsum;
    single.csum_start = 20;
    single.csum_offset = 200;
    CHECK_FALSE(segment_packet(single, Bytes(super.begin(), super.begin() + 100), out.sink()).ok());
    CHECK(out.packets.empty());
  }
}

TEST_CASE("Coalescing joins a TCP flow and the segmenter cuts it back", "[esp][offload]") {
  for (bool v6 : {false, true}) {
    const uint16_t mss = 1348;
    std::vector<Bytes> segments;
    Tcp t;
    t.v6 = v6;
    t.options = kTimestamps;
    for (size_t i = 0; i < 5; ++i) {
      const size_t len = i < 4 ? mss : 99;
      t.ip_id = static_cast<uint16_t>(100 + i);
      t.flags = i == 4 ? 0x18 : 0x10;  // PSH on the last
      segments.push_back(tcp_packet(t, payload_bytes(len, static_cast<uint8_t>(i))));
      t.seq += static_cast<uint32_t>(len);
    }
    Written w;
    TcpCoalescer c(w.writer());
    for (const Bytes& s : segments) c.add(s);
    c.flush();
    REQUIRE(w.writes.size() == 1);
    const auto& [h, joined] = w.writes[0];
    CHECK(h.gso_type == (v6 ? VirtioNetHdr::kGsoTcpV6 : VirtioNetHdr::kGsoTcpV4));
    CHECK(h.flags == VirtioNetHdr::kNeedsCsum);
    CHECK(h.gso_size == mss);
    CHECK(h.hdr_len == (v6 ? 40 : 20) + 32);
    CHECK(joined.size() == (v6 ? 40u : 20u) + 32 + 4 * mss + 99);
    if (!v6) CHECK(ipv4_header_ok(joined));
    CHECK(c.stats().coalesced == 5);
    // The segmenter (as if the kernel had handed out the joined packet) gives back the
    // originals, checksums included.
    Collected out;
    auto n = segment_packet(h, joined, out.sink());
    REQUIRE(n.ok());
    CHECK(out.packets == segments);
  }
}

TEST_CASE("Coalescing keeps apart what must not be joined", "[esp][offload]") {
  Tcp t;
  t.options = kTimestamps;
  const Bytes data = payload_bytes(1000, 7);
  auto next = [&](Tcp& x) { x.seq += 1000; };
  Written w;
  TcpCoalescer c(w.writer());

  SECTION("a sequence gap") {
    c.add(tcp_packet(t, data));
    t.seq += 2000;
    c.add(tcp_packet(t, data));
    c.flush();
    CHECK(w.writes.size() == 2);
  }
  SECTION("another acknowledgment number, window, or timestamp") {
    c.add(tcp_packet(t, data));
    Tcp a = t;
    next(a);
    a.ack += 1;
    c.add(tcp_packet(a, data));
    Tcp b = a;
    next(b);
    b.window += 1;
    c.add(tcp_packet(b, data));
    Tcp d = b;
    next(d);
    d.options[11] ^= 1;
    c.add(tcp_packet(d, data));
    c.flush();
    CHECK(w.writes.size() == 4);
    for (const auto& [h, p] : w.writes) CHECK(h.gso_type == VirtioNetHdr::kGsoNone);
  }
  SECTION("a short segment ends the run") {
    c.add(tcp_packet(t, Bytes(data.begin(), data.begin() + 500)));
    t.seq += 500;
    c.add(tcp_packet(t, data));
    c.flush();
    CHECK(w.writes.size() == 2);
  }
  SECTION("SYN, FIN, RST, URG and ECE segments, empty ACKs, IPv4 options and fragments") {
    for (uint8_t flags : {0x12, 0x11, 0x14, 0x30, 0x50}) {
      Tcp x = t;
      x.flags = flags;
      c.add(tcp_packet(x, data));
    }
    c.add(tcp_packet(t, {}));
    Bytes opt = tcp_packet(t, data);
    opt.insert(opt.begin() + 20, {1, 1, 1, 0});  // IPv4 options (NOPs, EOL)
    opt[0] = 0x46;
    put16(opt, 2, static_cast<uint16_t>(opt.size()));
    c.add(opt);
    Bytes frag = tcp_packet(t, data);
    frag[6] = 0x20;  // MF
    c.add(frag);
    c.flush();
    CHECK(w.writes.size() == 8);
    CHECK(c.stats().coalesced == 0);
  }
  SECTION("a segment with a wrong checksum is written alone, as it came") {
    c.add(tcp_packet(t, data));
    Tcp a = t;
    next(a);
    Bytes bad = tcp_packet(a, data);
    bad.back() ^= 0x55;
    c.add(bad);
    c.flush();
    REQUIRE(w.writes.size() == 2);
    CHECK(w.writes[1].second == bad);
  }
  SECTION("non-TCP packets pass at once; a FIN follows the data of its flow") {
    c.add(tcp_packet(t, data));
    Tcp a = t;
    next(a);
    c.add(tcp_packet(a, data));
    const Bytes udp = udp_packet(false, data);
    c.add(udp);
    CHECK(w.writes.size() == 1);  // the UDP packet; the TCP run is held
    CHECK(w.writes[0].second == udp);
    Tcp fin = a;
    next(fin);
    fin.flags = 0x11;
    const Bytes fin_packet = tcp_packet(fin, {});
    c.add(fin_packet);
    REQUIRE(w.writes.size() == 3);
    CHECK(w.writes[1].first.gso_type == VirtioNetHdr::kGsoTcpV4);
    CHECK(w.writes[2].second == fin_packet);
  }
  SECTION("64 KiB at most, nine flows at once, nothing lost") {
    std::vector<Tcp> flows(9, t);
    for (size_t f = 0; f < flows.size(); ++f) flows[f].src_last = static_cast<uint8_t>(20 + f);
    size_t bytes_in = 0;
    // Bursts of 5 segments per flow; the ninth flow evicts the oldest held one.
    for (int round = 0; round < 14; ++round)
      for (Tcp& f : flows)
        for (int i = 0; i < 5; ++i) {
          c.add(tcp_packet(f, data));
          next(f);
          bytes_in += data.size();
        }
    c.flush();
    // One flow alone: 70 segments of 1000 bytes do not fit one 64 KiB packet.
    Tcp alone = t;
    alone.src_last = 99;
    for (int i = 0; i < 70; ++i) {
      c.add(tcp_packet(alone, data));
      next(alone);
      bytes_in += data.size();
    }
    c.flush();
    size_t bytes_out = 0;
    for (const auto& [h, p] : w.writes) {
      CHECK(p.size() <= 65535);
      bytes_out += p.size() - 20 - 32;
    }
    CHECK(bytes_out == bytes_in);
    CHECK(w.writes.size() == 9 * 14 + 2);
  }
}

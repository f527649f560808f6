#include "esp-kernel/userspace/gso_segmenter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "esp-kernel/userspace/inet_checksum.hpp"

namespace ikeme::esp {
namespace {

constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

// The packet's IP and transport header layout, checked against its size.
struct Layout {
  bool v4 = true;
  size_t l4 = 0;   // transport header offset
  size_t hdr = 0;  // IP + transport header length
  uint8_t protocol = 0;
};

Result<Layout, std::string> layout_of(std::span<const uint8_t> p, uint8_t gso) {
  Layout l;
  if (p.empty()) return Unexpected{std::string("empty packet")};
  const uint8_t version = p[0] >> 4;
  if (version == 4) {
    if (p.size() < 20) return Unexpected{std::string("truncated IPv4 header")};
    l.l4 = size_t{p[0] & 0x0fu} * 4;
    if (l.l4 < 20 || l.l4 > p.size()) return Unexpected{std::string("bad IPv4 header length")};
    l.protocol = p[9];
  } else if (version == 6) {
    if (p.size() < 40) return Unexpected{std::string("truncated IPv6 header")};
    l.v4 = false;
    l.l4 = 40;
    l.protocol = p[6];  // a GSO packet with extension headers is refused below
  } else {
    return Unexpected{"IP version " + std::to_string(version)};
  }
  const bool tcp_gso = gso == VirtioNetHdr::kGsoTcpV4 || gso == VirtioNetHdr::kGsoTcpV6;
  if (tcp_gso) {
    if (l.protocol != IPPROTO_TCP)
      return Unexpected{std::string(l.v4 ? "TCP GSO on a non-TCP packet"
                                         : "TCP GSO on IPv6 with extension headers or not TCP")};
    if (l.v4 != (gso == VirtioNetHdr::kGsoTcpV4))
      return Unexpected{std::string("TCP GSO type does not match the IP version")};
    if (p.size() < l.l4 + 20) return Unexpected{std::string("truncated TCP header")};
    const size_t thl = static_cast<size_t>(p[l.l4 + 12] >> 4) * 4;
    if (thl < 20 || p.size() < l.l4 + thl) return Unexpected{std::string("bad TCP header length")};
    l.hdr = l.l4 + thl;
  } else {  // UDP L4
    if (l.protocol != IPPROTO_UDP)
      return Unexpected{std::string(l.v4 ? "UDP GSO on a non-UDP packet"
                                         : "UDP GSO on IPv6 with extension headers or not UDP")};
    if (p.size() < l.l4 + 8) return Unexpected{std::string("truncated UDP header")};
    l.hdr = l.l4 + 8;
  }
  return l;
}

Result<size_t, std::string> complete_checksum(const VirtioNetHdr& h,
                                              std::span<const uint8_t> packet,
                                              const SegmentSink& sink) {
  std::span<uint8_t> room = sink.room();
  if (room.size() < packet.size())
    return Unexpected{"packet of " + std::to_string(packet.size()) + " bytes exceeds the room of " +
                      std::to_string(room.size())};
  std::memcpy(room.data(), packet.data(), packet.size());
  if (h.flags & VirtioNetHdr::kNeedsCsum) {
    const size_t start = h.csum_start, field = size_t{h.csum_start} + h.csum_offset;
    if (field + 2 > packet.size() || start >= packet.size())
      return Unexpected{std::string("checksum position outside the packet")};
    // The field holds the pseudo header's sum; the sum from csum_start on includes it.
    InetChecksum c;
    c.add(std::span<const uint8_t>(room.data() + start, packet.size() - start));
    store16(room.data() + field, c.final_value());
  }
  sink.emit(packet.size());
  return size_t{1};
}

}  // namespace

Result<size_t, std::string> segment_packet(const VirtioNetHdr& h, std::span<const uint8_t> p,
                                           const SegmentSink& sink) {
  const uint8_t gso = h.gso_type & static_cast<uint8_t>(~VirtioNetHdr::kGsoEcn);
  if (gso == VirtioNetHdr::kGsoNone) return complete_checksum(h, p, sink);
  if (gso == VirtioNetHdr::kGsoUdp)
    return Unexpected{std::string("UFO (UDP fragmentation offload) is not supported")};
  if (gso != VirtioNetHdr::kGsoTcpV4 && gso != VirtioNetHdr::kGsoTcpV6 &&
      gso != VirtioNetHdr::kGsoUdpL4)
    return Unexpected{"unknown GSO type " + std::to_string(gso)};
  if (h.gso_size == 0) return Unexpected{std::string("GSO packet with gso_size 0")};
  auto layout = layout_of(p, gso);
  if (!layout) return Unexpected{layout.error()};
  const Layout l = *layout;
  const bool tcp = gso != VirtioNetHdr::kGsoUdpL4;
  const size_t payload = p.size() - l.hdr;
  const size_t mss = h.gso_size;
  const uint16_t ip_id = l.v4 ? load16(p.data() + 4) : 0;
  const uint32_t seq = tcp ? load32(p.data() + l.l4 + 4) : 0;
  const size_t addr_len = l.v4 ? 4 : 16;
  const size_t addr_off = l.v4 ? 12 : 8;
  size_t count = 0;
  for (size_t off = 0; off < payload || (payload == 0 && count == 0); off += mss) {
    const size_t len = std::min(mss, payload - off);
    const bool last = off + len >= payload;
    std::span<uint8_t> room = sink.room();
    const size_t size = l.hdr + len;
    if (room.size() < size)
      return Unexpected{"segment of " + std::to_string(size) + " bytes exceeds the room of " +
                        std::to_string(room.size())};
    uint8_t* s = room.data();
    std::memcpy(s, p.data(), l.hdr);
    std::memcpy(s + l.hdr, p.data() + l.hdr + off, len);
    if (l.v4) {
      store16(s + 2, static_cast<uint16_t>(size));
      store16(s + 4, static_cast<uint16_t>(ip_id + count));  // as the kernel's TSO does
      fix_ipv4_header_checksum(s, l.l4);
    } else {
      store16(s + 4, static_cast<uint16_t>(size - 40));
    }
    uint8_t* th = s + l.l4;
    const size_t l4_len = size - l.l4;
    size_t csum_field;
    if (tcp) {
      store32(th + 4, static_cast<uint32_t>(seq + off));
      if (!last) th[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
      if (count > 0) th[13] &= static_cast<uint8_t>(~kTcpCwr);
      csum_field = 16;
    } else {
      store16(th + 4, static_cast<uint16_t>(l4_len));
      csum_field = 6;
    }
    store16(th + csum_field, 0);
    InetChecksum c;
    c.add_pseudo_header(std::span<const uint8_t>(s + addr_off, addr_len),
                        std::span<const uint8_t>(s + addr_off + addr_len, addr_len),
                        tcp ? IPPROTO_TCP : IPPROTO_UDP, static_cast<uint32_t>(l4_len));
    c.add(std::span<const uint8_t>(th, l4_len));
    store16(th + csum_field, c.final_value());
    sink.emit(size);
    ++count;
    if (payload == 0) break;
  }
  return count;
}

}  // namespace ikeme::esp

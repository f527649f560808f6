#include "esp-kernel/userspace/tcp_coalescer.hpp"

#include <netinet/in.h>

#include <cstring>

#include "esp-kernel/userspace/inet_checksum.hpp"

namespace ikeme::esp {
namespace {

constexpr uint8_t kTcpPsh = 0x08, kTcpAck = 0x10;

bool same(const uint8_t* a, const uint8_t* b, size_t n) {
  return std::memcmp(a, b, n) == 0;
}

// The transport offset of an IPv4/IPv6 TCP packet, 0 if it is none (for keeping order).
size_t tcp_offset(std::span<const uint8_t> p) {
  if (p.size() >= 20 && p[0] >> 4 == 4 && p[9] == IPPROTO_TCP) {
    const size_t ihl = size_t{p[0] & 0x0fu} * 4;
    return ihl >= 20 && p.size() >= ihl + 4 ? ihl : 0;
  }
  if (p.size() >= 44 && p[0] >> 4 == 6 && p[6] == IPPROTO_TCP) return 40;
  return 0;
}

}  // namespace

bool coalescable_tcp(std::span<const uint8_t> p, size_t& hdr) {
  size_t l4;
  if (p.size() >= 20 && p[0] == 0x45) {  // IPv4 without options
    if (p[9] != IPPROTO_TCP || load16(p.data() + 2) != p.size()) return false;
    if (load16(p.data() + 6) & 0x3fff) return false;  // MF or a fragment offset
    l4 = 20;
  } else if (p.size() >= 40 && p[0] >> 4 == 6) {
    if (p[6] != IPPROTO_TCP || size_t{load16(p.data() + 4)} + 40 != p.size()) return false;
    l4 = 40;
  } else {
    return false;
  }
  if (p.size() < l4 + 20) return false;
  const size_t thl = static_cast<size_t>(p[l4 + 12] >> 4) * 4;
  if (thl < 20 || p.size() <= l4 + thl) return false;  // no payload: nothing to join
  const uint8_t flags = p[l4 + 13];
  if ((flags & ~(kTcpPsh | kTcpAck)) || !(flags & kTcpAck)) return false;
  // The joined packet reaches TCP with a partial checksum that the kernel does not verify, so
  // each segment is verified here.
  const bool v4 = l4 == 20;
  InetChecksum c;
  c.add_pseudo_header(p.subspan(v4 ? 12 : 8, v4 ? 4 : 16), p.subspan(v4 ? 16 : 24, v4 ? 4 : 16),
                      IPPROTO_TCP, static_cast<uint32_t>(p.size() - l4));
  c.add(p.subspan(l4));
  if (c.folded() != 0xffff) return false;
  hdr = l4 + thl;
  return true;
}

TcpCoalescer::TcpCoalescer(Write write) : write_(std::move(write)) {}

TcpCoalescer::Flow* TcpCoalescer::find(std::span<const uint8_t> p, bool v4) {
  const size_t l4 = v4 ? 20 : 40;
  const size_t addr_off = v4 ? 12 : 8, addr_len = v4 ? 8 : 32;
  for (Flow& f : flows_) {
    if (!f.used || f.v4 != v4 || f.l4 != l4) continue;
    if (same(f.data.data() + addr_off, p.data() + addr_off, addr_len) &&
        same(f.data.data() + l4, p.data() + l4, 4))
      return &f;
  }
  return nullptr;
}

TcpCoalescer::Flow* TcpCoalescer::free_flow() {
  Flow* oldest = nullptr;
  for (Flow& f : flows_) {
    if (!f.used) return &f;
    if (!oldest || f.age < oldest->age) oldest = &f;
  }
  emit(*oldest);
  return oldest;
}

bool TcpCoalescer::can_append(const Flow& f, std::span<const uint8_t> p, size_t hdr) const {
  const size_t payload = p.size() - hdr;
  if (f.closed || hdr != f.hdr || payload > f.mss || f.segments >= kMaxSegments ||
      f.size + payload > kMaxPacket)
    return false;
  const uint8_t* a = f.data.data();
  const uint8_t* b = p.data();
  const size_t l4 = f.l4;
  if (load32(b + l4 + 4) != f.next_seq) return false;
  if (f.v4) {
    // Version/IHL/TOS, flags/fragment offset, TTL/protocol.
    if (!same(a, b, 2) || !same(a + 6, b + 6, 4)) return false;
  } else {
    // Version/traffic class/flow label, next header/hop limit.
    if (!same(a, b, 4) || !same(a + 6, b + 6, 2)) return false;
  }
  // Acknowledgment number, data offset, window and options equal; flags but PSH equal (the
  // joined header gets PSH if any segment had it).
  if (!same(a + l4 + 8, b + l4 + 8, 5) || !same(a + l4 + 14, b + l4 + 14, 2)) return false;
  if ((a[l4 + 13] & ~kTcpPsh) != (b[l4 + 13] & ~kTcpPsh)) return false;
  return same(a + l4 + 20, b + l4 + 20, hdr - l4 - 20);
}

void TcpCoalescer::add(std::span<const uint8_t> p) {
  size_t hdr = 0;
  if (!coalescable_tcp(p, hdr)) {
    // Not joinable: after whatever its flow holds, as it came.
    if (const size_t l4 = tcp_offset(p)) {
      const bool v4 = p[0] >> 4 == 4;
      if (l4 == (v4 ? 20u : 40u))
        if (Flow* f = find(p, v4)) emit(*f);
    }
    write_(VirtioNetHdr{}, p);
    ++stats_.written;
    return;
  }
  const bool v4 = p[0] >> 4 == 4;
  const size_t l4 = v4 ? 20 : 40;
  const bool psh = p[l4 + 13] & kTcpPsh;
  Flow* f = find(p, v4);
  if (f && can_append(*f, p, hdr)) {
    const size_t payload = p.size() - hdr;
    f->data.insert(f->data.end(), p.begin() + static_cast<std::ptrdiff_t>(hdr), p.end());
    f->size += payload;
    f->next_seq += static_cast<uint32_t>(payload);
    ++f->segments;
    if (psh) f->data[l4 + 13] |= kTcpPsh;
    if (payload < f->mss || psh) emit(*f);  // nothing can follow it
    return;
  }
  if (f) emit(*f);
  if (psh) {  // ends its run before it starts
    write_(VirtioNetHdr{}, p);
    ++stats_.written;
    return;
  }
  f = free_flow();
  f->used = true;
  f->v4 = v4;
  f->closed = false;
  f->l4 = l4;
  f->hdr = hdr;
  f->size = p.size();
  f->mss = p.size() - hdr;
  f->segments = 1;
  f->next_seq = load32(p.data() + l4 + 4) + static_cast<uint32_t>(f->mss);
  f->age = clock_++;
  if (f->data.capacity() < kMaxPacket) f->data.reserve(kMaxPacket);
  f->data.assign(p.begin(), p.end());
}

void TcpCoalescer::flush() {
  for (Flow& f : flows_)
    if (f.used) emit(f);
}

void TcpCoalescer::emit(Flow& f) {
  f.used = false;
  VirtioNetHdr h;
  uint8_t* d = f.data.data();
  if (f.segments > 1) {
    if (f.v4) {
      store16(d + 2, static_cast<uint16_t>(f.size));
      fix_ipv4_header_checksum(d, f.l4);
    } else {
      store16(d + 4, static_cast<uint16_t>(f.size - 40));
    }
    // CHECKSUM_PARTIAL: the field holds the pseudo header's sum over the joined length.
    InetChecksum c;
    c.add_pseudo_header(std::span<const uint8_t>(d + (f.v4 ? 12 : 8), f.v4 ? 4 : 16),
                        std::span<const uint8_t>(d + (f.v4 ? 16 : 24), f.v4 ? 4 : 16), IPPROTO_TCP,
                        static_cast<uint32_t>(f.size - f.l4));
    store16(d + f.l4 + 16, c.folded());
    h.flags = VirtioNetHdr::kNeedsCsum;
    h.gso_type = f.v4 ? VirtioNetHdr::kGsoTcpV4 : VirtioNetHdr::kGsoTcpV6;
    h.hdr_len = static_cast<uint16_t>(f.hdr);
    h.gso_size = static_cast<uint16_t>(f.mss);
    h.csum_start = static_cast<uint16_t>(f.l4);
    h.csum_offset = 16;
    stats_.coalesced += f.segments;
  }
  ++stats_.written;
  write_(h, std::span<const uint8_t>(d, f.size));
}

}  // namespace ikeme::esp

#include "esp-kernel/xfrm/xfrm_selectors.hpp"

#include <array>

namespace ikeme::esp::xfrm {
namespace {

using U128 = unsigned __int128;

U128 to_number(const IpAddress& a) {
  U128 n = 0;
  for (uint8_t b : a.bytes()) n = (n << 8) | b;
  return n;
}

IpAddress from_number(U128 n, bool v4) {
  if (v4) {
    std::array<uint8_t, 4> b{};
    for (int i = 3; i >= 0; --i, n >>= 8) b[i] = static_cast<uint8_t>(n);
    return IpAddress::v4(b);
  }
  std::array<uint8_t, 16> b{};
  for (int i = 15; i >= 0; --i, n >>= 8) b[i] = static_cast<uint8_t>(n);
  return IpAddress::v6(b);
}

// Covers [start, end] of a `bits`-wide space with aligned blocks, largest first: calls
// emit(block start, number of host bits) for each.
template <class Emit>
void cover_range(U128 start, U128 end, unsigned bits, Emit emit) {
  while (true) {
    unsigned host_bits = 0;
    // Grow the block while it stays aligned at `start` and inside the range.
    while (host_bits < bits) {
      const unsigned next = host_bits + 1;
      const U128 mask = (next >= 128) ? ~U128(0) : ((U128(1) << next) - 1);
      if ((start & mask) != 0) break;
      if (start + mask > end || start + mask < start) break;
      host_bits = next;
    }
    emit(start, host_bits);
    const U128 size_minus_one = host_bits >= 128 ? ~U128(0) : ((U128(1) << host_bits) - 1);
    const U128 last = start + size_minus_one;
    if (last >= end) return;
    start = last + 1;
  }
}

}  // namespace

std::vector<Prefix> range_to_prefixes(const IpAddress& start, const IpAddress& end) {
  std::vector<Prefix> out;
  if (start.family() != end.family()) return out;
  const U128 s = to_number(start), e = to_number(end);
  if (s > e) return out;
  const bool v4 = start.is_v4();
  const unsigned bits = v4 ? 32 : 128;
  cover_range(s, e, bits, [&](U128 block, unsigned host_bits) {
    out.push_back(Prefix{from_number(block, v4), static_cast<uint8_t>(bits - host_bits)});
  });
  return out;
}

std::vector<PortMask> port_range_to_masks(uint16_t start, uint16_t end) {
  std::vector<PortMask> out;
  if (start > end) return out;
  cover_range(start, end, 16, [&](U128 block, unsigned host_bits) {
    const uint16_t mask = static_cast<uint16_t>(0xffffu << host_bits);
    out.push_back(PortMask{static_cast<uint16_t>(block), mask});
  });
  return out;
}

namespace {

std::vector<PortMask> ports_of(const ike::TrafficSelector& ts) {
  if (ts.opaque_ports()) return {PortMask{}};
  return port_range_to_masks(ts.start_port, ts.end_port);
}

std::vector<Prefix> prefixes_of(const ike::TrafficSelector& ts) {
  auto start = IpAddress::from_bytes(ts.start_address);
  auto end = IpAddress::from_bytes(ts.end_address);
  if (!start || !end) return {};
  return range_to_prefixes(*start, *end);
}

}  // namespace

std::vector<Selector> selectors_between(const ike::TrafficSelector& source,
                                        const ike::TrafficSelector& destination) {
  std::vector<Selector> out;
  if (source.type != destination.type) return out;
  uint8_t protocol = source.ip_protocol;
  if (protocol == 0) {
    protocol = destination.ip_protocol;
  } else if (destination.ip_protocol != 0 && destination.ip_protocol != protocol) {
    return out;
  }
  for (const Prefix& sp : prefixes_of(source)) {
    for (const Prefix& dp : prefixes_of(destination)) {
      for (const PortMask& sport : ports_of(source)) {
        for (const PortMask& dport : ports_of(destination)) {
          out.push_back(Selector{{sp, sport}, {dp, dport}, protocol});
        }
      }
    }
  }
  return out;
}

uint32_t policy_priority(const Selector& s) {
  // Like strongSwan's kernel-netlink: a base, minus points for specificity.
  uint32_t priority = 200000;
  priority -= 512u * (s.source.prefix.length + s.destination.prefix.length);
  if (s.protocol != 0) priority -= 256;
  if (s.source.port.mask != 0) priority -= 64;
  if (s.destination.port.mask != 0) priority -= 64;
  return priority;
}

}  // namespace ikeme::esp::xfrm

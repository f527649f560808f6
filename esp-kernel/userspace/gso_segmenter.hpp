#pragma once
// Cuts what a TUN device with offloads (TUNSETOFFLOAD: TUN_F_CSUM, TSO4/6, USO4/6) hands out into
// the MTU-sized IP packets the peer expects, one ESP packet each: a TCP or UDP GSO super-packet
// into gso_size segments with their own IP lengths, IPv4 IDs and checksums, TCP sequence numbers
// and flags; a single packet whose checksum the kernel left partial gets it completed. A pure
// function over buffers (no I/O), so that tests can compare every segment with a reference.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "esp-kernel/userspace/virtio_net_hdr.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::esp {

// Where the segments go: `room()` gives the buffer the next segment is written to (its size is
// the largest segment the caller accepts), `emit(size)` hands over the segment just written to
// the start of that room.
struct SegmentSink {
  std::function<std::span<uint8_t>()> room;
  std::function<void(size_t size)> emit;
};

// Writes the segments of `packet` (what followed the virtio_net_hdr `hdr`) to `sink` and returns
// their number. Errors (nothing emitted, or the segments before the error): a malformed or
// unsupported packet (UFO, IPv6 extension headers before a GSO transport header, a checksum
// position outside the packet) or a segment larger than the room.
Result<size_t, std::string> segment_packet(const VirtioNetHdr& hdr, std::span<const uint8_t> packet,
                                           const SegmentSink& sink);

}  // namespace ikeme::esp

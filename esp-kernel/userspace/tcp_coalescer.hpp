#pragma once
// The receive side's GRO: TCP segments of one flow that arrive back to back (decrypted from one
// batch of ESP datagrams) are joined into one GSO packet and written to a TUN device opened with
// IFF_VNET_HDR in a single write, so that the kernel's TCP receive path runs once per up to 64
// KiB instead of once per segment. The rules follow the kernel's tcp_gro_receive: same addresses
// and ports, identical IP header fields (but length, ID and checksum), identical TCP header
// fields (but sequence number, checksum and PSH), identical options (timestamps included), the
// next segment starts where the previous one ended, every segment but the last has the first
// one's payload size, no SYN/FIN/RST/URG/ECE/CWR, IPv4 without options or fragmentation, IPv6
// without extension headers, each segment's checksum verified before it is joined (the joined
// packet is handed over with a partial checksum the kernel trusts). Everything else is written
// as it came, in order within its flow. A pure class over buffers: the writes go to a callback.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "esp-kernel/userspace/virtio_net_hdr.hpp"

namespace ikeme::esp {

class TcpCoalescer {
 public:
  static constexpr size_t kMaxFlows = 8;       // flows joined at the same time
  static constexpr size_t kMaxSegments = 64;   // segments per joined packet (as GRO)
  static constexpr size_t kMaxPacket = 65535;  // the IPv4 total length / IPv6 payload length

  // Gets every packet to write: its virtio header and the IP packet.
  using Write = std::function<void(const VirtioNetHdr& hdr, std::span<const uint8_t> packet)>;

  explicit TcpCoalescer(Write write);

  // One decrypted IP packet. It is copied if it may be joined with what follows; otherwise
  // written at once (after the held packet of its flow, if any).
  void add(std::span<const uint8_t> packet);
  // Writes everything held (end of a receive batch).
  void flush();

  struct Stats {
    uint64_t written = 0;    // writes
    uint64_t coalesced = 0;  // segments that went into a joined packet (2 or more segments)
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Flow {
    bool used = false;
    bool v4 = true;
    bool closed = false;  // a short or PSH segment ended it
    size_t l4 = 0, hdr = 0, size = 0, mss = 0, segments = 0;
    uint32_t next_seq = 0;
    uint64_t age = 0;           // insertion order, to evict the oldest
    std::vector<uint8_t> data;  // the joined packet: the first segment's headers + payloads
  };
  Flow* find(std::span<const uint8_t> packet, bool v4);
  Flow* free_flow();
  void emit(Flow& f);
  bool can_append(const Flow& f, std::span<const uint8_t> p, size_t hdr) const;

  Write write_;
  std::array<Flow, kMaxFlows> flows_;
  uint64_t clock_ = 0;
  Stats stats_;
};

// Whether a TCP packet (IPv4 without options or IPv6 without extension headers) is one the
// coalescer may join: its header length in `hdr` if so.
bool coalescable_tcp(std::span<const uint8_t> packet, size_t& hdr);

}  // namespace ikeme::esp

#pragma once
// The virtio_net_hdr a TUN device opened with IFF_VNET_HDR puts in front of every packet it
// hands out and expects in front of every packet written to it (linux/virtio_net.h, legacy
// layout: 10 bytes, fields in the machine's byte order). It tells a GSO "super-packet" (one TCP
// or UDP header for up to 64 KiB of payload, cut into gso_size pieces by whoever sends it on)
// and a checksum left for the receiver to complete (NEEDS_CSUM: the field holds the pseudo
// header's sum, the rest is summed from csum_start on and stored at csum_start + csum_offset).

#include <cstddef>
#include <cstdint>
#include <span>

namespace ikeme::esp {

struct VirtioNetHdr {
  static constexpr size_t kSize = 10;
  static constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
  enum Gso : uint8_t {
    kGsoNone = 0,
    kGsoTcpV4 = 1,
    kGsoUdp = 3,  // UFO: IP fragmentation, never enabled here
    kGsoTcpV6 = 4,
    kGsoUdpL4 = 5,  // USO: UDP segmentation (Linux 6.2)
    kGsoEcn = 0x80,
  };

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;

  static VirtioNetHdr decode(std::span<const uint8_t, kSize> bytes);
  void encode(std::span<uint8_t, kSize> bytes) const;
};

}  // namespace ikeme::esp

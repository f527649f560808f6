#include "esp-kernel/userspace/virtio_net_hdr.hpp"

#include <cstring>

namespace ikeme::esp {
namespace {

// Legacy virtio headers (what TUN uses unless TUNSETVNETLE/BE says otherwise) are in the
// machine's byte order.
uint16_t native16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void put_native16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

}  // namespace

VirtioNetHdr VirtioNetHdr::decode(std::span<const uint8_t, kSize> b) {
  VirtioNetHdr h;
  h.flags = b[0];
  h.gso_type = b[1];
  h.hdr_len = native16(&b[2]);
  h.gso_size = native16(&b[4]);
  h.csum_start = native16(&b[6]);
  h.csum_offset = native16(&b[8]);
  return h;
}

void VirtioNetHdr::encode(std::span<uint8_t, kSize> b) const {
  b[0] = flags;
  b[1] = gso_type;
  put_native16(&b[2], hdr_len);
  put_native16(&b[4], gso_size);
  put_native16(&b[6], csum_start);
  put_native16(&b[8], csum_offset);
}

}  // namespace ikeme::esp

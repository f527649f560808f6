#pragma once
// The userspace data plane's TUN device: created through /dev/net/tun (IFF_TUN | IFF_NO_PI, so
// every read/write is one bare IPv4 or IPv6 packet), non-persistent so that the kernel removes
// it when the daemon exits or crashes (a restarted daemon finds the name free again), brought up
// with its MTU through ioctl. Addresses and routes go through route_netlink.hpp.
//
// Offloads (when asked for and the kernel has them): IFF_VNET_HDR puts a virtio_net_hdr in
// front of every packet, and TUNSETOFFLOAD lets the kernel hand out unchecksummed packets and
// TCP (and, from Linux 6.2, UDP) GSO super-packets of up to 64 KiB, which the reader segments;
// writes may then carry GSO packets too (joined TCP segments).

#include <cstdint>
#include <span>
#include <string>

#include "esp-kernel/userspace/virtio_net_hdr.hpp"

#include "ike/codec/result.hpp"

namespace ikeme::esp {

class TunDevice {
 public:
  // Creates (or, if a persistent device of that name exists, attaches to and takes over) the
  // TUN device `name`, non-blocking, sets its MTU and brings it up. With `offload`, also
  // IFF_VNET_HDR and as many of TUN_F_CSUM, TSO4/6 and USO4/6 as the kernel takes (offloads()
  // tells which); without them, or on a kernel that refuses IFF_VNET_HDR, plain packets.
  static Result<TunDevice, std::string> open(const std::string& name, uint32_t mtu,
                                             bool offload = false);

  TunDevice() = default;
  TunDevice(TunDevice&& o) noexcept;
  TunDevice& operator=(TunDevice&& o) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  uint32_t mtu() const { return mtu_; }
  // Whether the device existed already (a persistent leftover we attached to). It was taken
  // down and up again, so no route through it survived; its addresses are the caller's to flush.
  bool taken_over() const { return taken_over_; }

  // Whether every read and write starts with a virtio_net_hdr.
  bool vnet_hdr() const { return vnet_hdr_; }
  // The offloads in effect, for the log: "none" or e.g. "csum tso4 tso6 uso4 uso6".
  const std::string& offloads() const { return offloads_; }

  // One packet (with its virtio_net_hdr if vnet_hdr()) into `buffer`: its size, 0 when nothing
  // is waiting, -1 on error (errno set).
  long read(std::span<uint8_t> buffer);
  // One packet to the kernel; false on error (errno set). Without vnet_hdr() `hdr` is ignored
  // and must be the empty header.
  bool write(std::span<const uint8_t> packet);
  bool write(const VirtioNetHdr& hdr, std::span<const uint8_t> packet);

  void close();  // closing removes the (non-persistent) device

 private:
  int fd_ = -1;
  std::string name_;
  int ifindex_ = 0;
  uint32_t mtu_ = 0;
  bool taken_over_ = false;
  bool vnet_hdr_ = false;
  std::string offloads_ = "none";
};

// Sets or clears IFF_UP on an interface.
Status<std::string> set_up(const std::string& name, bool up);

}  // namespace ikeme::esp

#pragma once
// The userspace data plane's TUN device: created through /dev/net/tun (IFF_TUN | IFF_NO_PI, so
// every read/write is one bare IPv4 or IPv6 packet), non-persistent so that the kernel removes
// it when the daemon exits or crashes (a restarted daemon finds the name free again), brought up
// with its MTU through ioctl. Addresses and routes go through route_netlink.hpp.

#include <cstdint>
#include <span>
#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::esp {

class TunDevice {
 public:
  // Creates (or, if a persistent device of that name exists, attaches to and takes over) the
  // TUN device `name`, non-blocking, sets its MTU and brings it up.
  static Result<TunDevice, std::string> open(const std::string& name, uint32_t mtu);

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

  // One packet into `buffer`: its size, 0 when nothing is waiting, -1 on error (errno set).
  long read(std::span<uint8_t> buffer);
  // One packet to the kernel; false on error (errno set).
  bool write(std::span<const uint8_t> packet);

  void close();  // closing removes the (non-persistent) device

 private:
  int fd_ = -1;
  std::string name_;
  int ifindex_ = 0;
  uint32_t mtu_ = 0;
  bool taken_over_ = false;
};

// Sets or clears IFF_UP on an interface.
Status<std::string> set_up(const std::string& name, bool up);

}  // namespace ikeme::esp

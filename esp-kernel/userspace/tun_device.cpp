#include "esp-kernel/userspace/tun_device.hpp"

#include <fcntl.h>
#include <net/if.h>
// after net/if.h: linux/if_tun.h only needs the ioctl numbers and flags
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ikeme::esp {
namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// SIOCSIFMTU and SIOCSIFFLAGS go through any socket of the namespace.
Status<std::string> configure_link(const std::string& name, uint32_t mtu) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Unexpected{errno_text("socket")};
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(s, SIOCSIFMTU, &ifr) < 0) {
    std::string e = errno_text("setting MTU " + std::to_string(mtu) + " on " + name);
    ::close(s);
    return Unexpected{e};
  }
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    std::string e = errno_text("reading the flags of " + name);
    ::close(s);
    return Unexpected{e};
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
    std::string e = errno_text("bringing " + name + " up");
    ::close(s);
    return Unexpected{e};
  }
  ::close(s);
  return {};
}

}  // namespace

Status<std::string> set_up(const std::string& name, bool up) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Unexpected{errno_text("socket")};
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(up ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP));
    rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  std::string e =
      rc == 0
          ? std::string()
          : errno_text(std::string(up ? "bringing " : "taking ") + name + (up ? " up" : " down"));
  ::close(s);
  if (rc != 0) return Unexpected{e};
  return {};
}

namespace {

// Newer than some installed headers (Linux 6.2).
constexpr unsigned kTunUso4 = 0x20, kTunUso6 = 0x40;

// Enables the largest set of offloads the kernel accepts; their names, or "none".
std::string enable_offloads(int fd) {
  const std::pair<unsigned, const char*> sets[] = {
      {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | kTunUso4 | kTunUso6, "csum tso4 tso6 uso4 uso6"},
      {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, "csum tso4 tso6"},
      {TUN_F_CSUM, "csum"},
  };
  for (const auto& [flags, names] : sets)
    if (::ioctl(fd, TUNSETOFFLOAD, flags) == 0) return names;
  return "none";
}

}  // namespace

Result<TunDevice, std::string> TunDevice::open(const std::string& name, uint32_t mtu,
                                               bool offload) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return Unexpected{"TUN device name '" + name + "' must have 1 to " +
                      std::to_string(IFNAMSIZ - 1) + " characters"};
  TunDevice t;
  // A device of that name that exists before we attach is a leftover (persistent) one.
  t.taken_over_ = if_nametoindex(name.c_str()) != 0;
  t.fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (t.fd_ < 0) return Unexpected{errno_text("opening /dev/net/tun")};
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  int rc = ::ioctl(t.fd_, TUNSETIFF, &ifr);
  if (rc < 0 && offload && errno == EINVAL) {
    // A kernel (or a persistent device) without IFF_VNET_HDR: plain packets.
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    rc = ::ioctl(t.fd_, TUNSETIFF, &ifr);
  } else if (rc == 0 && offload) {
    t.vnet_hdr_ = true;
  }
  if (rc < 0) {
    if (errno == EBUSY)
      return Unexpected{"TUN device " + name +
                        " is in use by another process (is another ikeme-peer running? set "
                        "daemon.tun_name to use another device)"};
    if (errno == EINVAL)
      return Unexpected{"cannot create TUN device " + name +
                        ": an interface of that name exists and is not a TUN device"};
    return Unexpected{errno_text("creating TUN device " + name)};
  }
  // A device left persistent (by hand or by another tool) is taken over and made
  // non-persistent: it disappears with our file descriptor.
  (void)::ioctl(t.fd_, TUNSETPERSIST, 0);
  if (t.vnet_hdr_) {
    int size = static_cast<int>(VirtioNetHdr::kSize);
    if (::ioctl(t.fd_, TUNSETVNETHDRSZ, &size) < 0)
      return Unexpected{errno_text("setting the virtio header size of " + name)};
    t.offloads_ = enable_offloads(t.fd_);
  }
  t.name_ = ifr.ifr_name;
  t.ifindex_ = static_cast<int>(if_nametoindex(t.name_.c_str()));
  if (t.ifindex_ == 0) return Unexpected{errno_text("looking up the index of " + t.name_)};
  // Taking one over: down first, which makes the kernel drop every route through it.
  if (t.taken_over_)
    if (auto s = set_up(t.name_, false); !s) return Unexpected{s.error()};
  if (auto s = configure_link(t.name_, mtu); !s) return Unexpected{s.error()};
  t.mtu_ = mtu;
  return t;
}

TunDevice::TunDevice(TunDevice&& o) noexcept
    : fd_(o.fd_),
      name_(std::move(o.name_)),
      ifindex_(o.ifindex_),
      mtu_(o.mtu_),
      taken_over_(o.taken_over_),
      vnet_hdr_(o.vnet_hdr_),
      offloads_(std::move(o.offloads_)) {
  o.fd_ = -1;
}

TunDevice& TunDevice::operator=(TunDevice&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    name_ = std::move(o.name_);
    ifindex_ = o.ifindex_;
    mtu_ = o.mtu_;
    taken_over_ = o.taken_over_;
    vnet_hdr_ = o.vnet_hdr_;
    offloads_ = std::move(o.offloads_);
    o.fd_ = -1;
  }
  return *this;
}

TunDevice::~TunDevice() {
  close();
}

void TunDevice::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

long TunDevice::read(std::span<uint8_t> buffer) {
  ssize_t n = ::read(fd_, buffer.data(), buffer.size());
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  return static_cast<long>(n);
}

bool TunDevice::write(std::span<const uint8_t> packet) {
  return write(VirtioNetHdr{}, packet);
}

bool TunDevice::write(const VirtioNetHdr& hdr, std::span<const uint8_t> packet) {
  if (!vnet_hdr_)
    return ::write(fd_, packet.data(), packet.size()) == static_cast<ssize_t>(packet.size());
  uint8_t head[VirtioNetHdr::kSize];
  hdr.encode(std::span<uint8_t, VirtioNetHdr::kSize>(head, VirtioNetHdr::kSize));
  iovec iov[2] = {{head, sizeof head}, {const_cast<uint8_t*>(packet.data()), packet.size()}};
  const ssize_t want = static_cast<ssize_t>(sizeof head + packet.size());
  return ::writev(fd_, iov, 2) == want;
}

}  // namespace ikeme::esp

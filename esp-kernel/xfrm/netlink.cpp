#include "esp-kernel/xfrm/netlink.hpp"

#include <sys/socket.h>

namespace ikeme::esp::xfrm {

int address_family(const IpAddress& a) {
  return a.is_v4() ? AF_INET : AF_INET6;
}

NlAddr make_addr(const IpAddress& a, unsigned prefix_length) {
  auto bytes = a.bytes();
  NlAddr addr(nl_addr_build(address_family(a), bytes.data(), bytes.size()));
  if (addr) nl_addr_set_prefixlen(addr.get(), static_cast<int>(prefix_length));
  return addr;
}

NlAddr make_addr(const IpAddress& a) {
  return make_addr(a, a.is_v4() ? 32 : 128);
}

NlAddr zero_addr(bool v4) {
  return make_addr(v4 ? IpAddress() : *IpAddress::parse("::"), 0);
}

std::optional<IpAddress> to_ip(const nl_addr* a) {
  if (!a) return std::nullopt;
  auto* raw = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  return IpAddress::from_bytes(ByteView(raw, nl_addr_get_len(a)));
}

std::string nl_error(int code) {
  return std::string(nl_geterror(code)) + " (" + std::to_string(code) + ")";
}

Result<NlSock, std::string> connect_netlink(int protocol) {
  NlSock sock(nl_socket_alloc());
  if (!sock) return Unexpected(std::string("cannot allocate a netlink socket"));
  if (int err = nl_connect(sock.get(), protocol); err < 0) {
    return Unexpected("cannot open a netlink socket: " + nl_error(err));
  }
  return sock;
}

}  // namespace ikeme::esp::xfrm

#pragma once
// RAII ownership for libnl-3 objects and small conversions between ikeme values and libnl's.

#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <memory>
#include <optional>
#include <string>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::esp::xfrm {

template <class T, void (*Free)(T*)>
struct NlDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};

using NlSock = std::unique_ptr<nl_sock, NlDeleter<nl_sock, nl_socket_free>>;
using NlAddr = std::unique_ptr<nl_addr, NlDeleter<nl_addr, nl_addr_put>>;
using XfrmSa = std::unique_ptr<xfrmnl_sa, NlDeleter<xfrmnl_sa, xfrmnl_sa_put>>;
using XfrmSp = std::unique_ptr<xfrmnl_sp, NlDeleter<xfrmnl_sp, xfrmnl_sp_put>>;
using XfrmSel = std::unique_ptr<xfrmnl_sel, NlDeleter<xfrmnl_sel, xfrmnl_sel_put>>;
using XfrmLifetime =
    std::unique_ptr<xfrmnl_ltime_cfg, NlDeleter<xfrmnl_ltime_cfg, xfrmnl_ltime_cfg_put>>;

int address_family(const IpAddress& a);
NlAddr make_addr(const IpAddress& a, unsigned prefix_length);
NlAddr make_addr(const IpAddress& a);  // full length
NlAddr zero_addr(bool v4);
std::optional<IpAddress> to_ip(const nl_addr* a);

// libnl's message for a (negative) libnl error code, with the code.
std::string nl_error(int code);

// A connected netlink socket of `protocol` (NETLINK_XFRM, NETLINK_ROUTE).
Result<NlSock, std::string> connect_netlink(int protocol);

}  // namespace ikeme::esp::xfrm

#include "esp-kernel/xfrm/xfrm_events.hpp"

#include <linux/xfrm.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cstring>

namespace ikeme::esp::xfrm {
namespace {

IpAddress from_xfrm(const xfrm_address_t& a, uint16_t family) {
  if (family == AF_INET6) {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &a.a6, 16);
    return IpAddress::v6(b);
  }
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &a.a4, 4);
  return IpAddress::v4(b);
}

// A selector side (address/prefix, port/mask) as an IKE traffic selector range.
ike::TrafficSelector side_to_ts(const xfrm_address_t& addr, uint8_t prefix, uint16_t port_be,
                                uint16_t mask_be, uint8_t proto, uint16_t family) {
  ike::TrafficSelector ts;
  const bool v6 = family == AF_INET6;
  ts.type = v6 ? ike::TsType::IPV6_ADDR_RANGE : ike::TsType::IPV4_ADDR_RANGE;
  ts.ip_protocol = proto;
  const IpAddress base = from_xfrm(addr, family);
  Bytes start(base.bytes().begin(), base.bytes().end()), end = start;
  const unsigned bits = v6 ? 128 : 32;
  for (unsigned i = 0; i < bits; ++i) {
    const uint8_t bit = static_cast<uint8_t>(0x80 >> (i % 8));
    if (i >= prefix) {
      start[i / 8] &= static_cast<uint8_t>(~bit);
      end[i / 8] |= bit;
    }
  }
  ts.start_address = std::move(start);
  ts.end_address = std::move(end);
  const uint16_t port = ntohs(port_be), mask = ntohs(mask_be);
  if (mask != 0) {
    ts.start_port = port & mask;
    ts.end_port = static_cast<uint16_t>((port & mask) | static_cast<uint16_t>(~mask));
  }
  return ts;
}

}  // namespace

std::optional<KernelEvent> decode_xfrm_event(const nlmsghdr* hdr) {
  const auto payload = hdr->nlmsg_len >= NLMSG_HDRLEN ? hdr->nlmsg_len - NLMSG_HDRLEN : 0u;
  if (hdr->nlmsg_type == XFRM_MSG_EXPIRE) {
    if (payload < sizeof(xfrm_user_expire)) return std::nullopt;
    xfrm_user_expire e;
    std::memcpy(&e, NLMSG_DATA(hdr), sizeof e);
    KernelEvent ev;
    ev.kind = e.hard ? KernelEvent::Kind::HardExpire : KernelEvent::Kind::SoftExpire;
    ev.spi = ntohl(e.state.id.spi);
    ev.destination = from_xfrm(e.state.id.daddr, e.state.family);
    ev.reqid = e.state.reqid;
    return ev;
  }
  if (hdr->nlmsg_type == XFRM_MSG_ACQUIRE) {
    if (payload < sizeof(xfrm_user_acquire)) return std::nullopt;
    xfrm_user_acquire a;
    std::memcpy(&a, NLMSG_DATA(hdr), sizeof a);
    KernelEvent ev;
    ev.kind = KernelEvent::Kind::Acquire;
    ev.destination = from_xfrm(a.id.daddr, a.sel.family);
    const xfrm_selector& s = a.sel;
    ev.source = side_to_ts(s.saddr, s.prefixlen_s, s.sport, s.sport_mask, s.proto, s.family);
    ev.target = side_to_ts(s.daddr, s.prefixlen_d, s.dport, s.dport_mask, s.proto, s.family);
    // The policy's template carries the reqid (XFRMA_TMPL follows the fixed part).
    const auto* attr =
        nlmsg_find_attr(const_cast<nlmsghdr*>(hdr), sizeof(xfrm_user_acquire), XFRMA_TMPL);
    if (attr && nla_len(attr) >= static_cast<int>(sizeof(xfrm_user_tmpl))) {
      xfrm_user_tmpl t;
      std::memcpy(&t, nla_data(attr), sizeof t);
      ev.reqid = t.reqid;
    }
    return ev;
  }
  return std::nullopt;
}

XfrmEventListener::XfrmEventListener(NlSock sock, Handler handler, ErrorLog log)
    : sock_(std::move(sock)), handler_(std::move(handler)), log_(std::move(log)) {}

Result<std::unique_ptr<XfrmEventListener>, std::string> XfrmEventListener::start(uv_loop_t* loop,
                                                                                 Handler handler,
                                                                                 ErrorLog log) {
  NlSock sock(nl_socket_alloc());
  if (!sock) return Unexpected(std::string("cannot allocate a netlink socket"));
  // Notifications carry no sequence numbers of ours.
  nl_socket_disable_seq_check(sock.get());
  if (int err = nl_connect(sock.get(), NETLINK_XFRM); err < 0) {
    return Unexpected("cannot open the XFRM event socket: " + nl_error(err));
  }
  if (int err = nl_socket_add_memberships(sock.get(), XFRMNLGRP_EXPIRE, XFRMNLGRP_ACQUIRE, 0);
      err < 0) {
    return Unexpected("cannot join the XFRM expire/acquire groups: " + nl_error(err));
  }
  nl_socket_set_nonblocking(sock.get());
  // Bursts of expiries must not be lost to a full receive buffer.
  nl_socket_set_buffer_size(sock.get(), 1 << 20, 0);
  std::unique_ptr<XfrmEventListener> self(
      new XfrmEventListener(std::move(sock), std::move(handler), std::move(log)));
  nl_socket_modify_cb(self->sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, &XfrmEventListener::on_message,
                      self.get());
  auto poll = FdPoll::start(
      loop, nl_socket_get_fd(self->sock_.get()),
      [listener = self.get()](int status) { listener->on_readable(status); }, "the XFRM socket");
  if (!poll) return Unexpected(poll.error());
  self->poll_ = std::move(*poll);
  return self;
}

XfrmEventListener::~XfrmEventListener() {
  stop();
}

void XfrmEventListener::stop() {
  poll_.reset();  // detaches the fd from epoll: closing the socket now is safe
  sock_.reset();
}

void XfrmEventListener::on_readable(int status) {
  if (status < 0) {
    log_(std::string("XFRM event socket: ") + uv_strerror(status));
    return;
  }
  int err = nl_recvmsgs_default(sock_.get());
  if (err < 0 && err != -NLE_AGAIN) {
    // ENOBUFS: the kernel dropped notifications; say so, the socket keeps working.
    log_("reading XFRM events failed: " + nl_error(err));
  }
}

int XfrmEventListener::on_message(nl_msg* msg, void* arg) {
  auto* self = static_cast<XfrmEventListener*>(arg);
  if (auto ev = decode_xfrm_event(nlmsg_hdr(msg))) self->handler_(*ev);
  return NL_OK;
}

}  // namespace ikeme::esp::xfrm

#include "peer/host_address_monitor.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <utility>

namespace ikeme::peer {

using esp::xfrm::nl_error;
using esp::xfrm::NlSock;

namespace {

bool is_type(nl_object* o, const char* type) {
  const char* t = nl_object_get_type(o);
  return t && std::strcmp(t, type) == 0;
}

LinkState link_state(rtnl_link* l) {
  const unsigned flags = rtnl_link_get_flags(l);
  const char* name = rtnl_link_get_name(l);
  return LinkState{rtnl_link_get_ifindex(l), name ? name : "", (flags & IFF_UP) != 0,
                   (flags & IFF_RUNNING) != 0, (flags & IFF_LOOPBACK) != 0};
}

std::optional<AddressState> address_state(rtnl_addr* a) {
  const int family = rtnl_addr_get_family(a);
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  auto ip = esp::xfrm::to_ip(rtnl_addr_get_local(a));
  if (!ip) return std::nullopt;
  const unsigned flags = rtnl_addr_get_flags(a);
  const int scope = rtnl_addr_get_scope(a);
  AddressState s;
  s.ifindex = rtnl_addr_get_ifindex(a);
  s.address = *ip;
  s.prefix_length = static_cast<uint8_t>(rtnl_addr_get_prefixlen(a));
  s.link_scope = scope == RT_SCOPE_LINK || scope == RT_SCOPE_HOST;
  s.tentative = (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0;
  s.deprecated = (flags & IFA_F_DEPRECATED) != 0;
  return s;
}

template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, esp::xfrm::NlDeleter<T, Free>>;
using Cache = Owned<nl_cache, nl_cache_free>;

}  // namespace

HostAddressMonitor::HostAddressMonitor(NlSock events, NlSock dump, HostAddressPolicy policy,
                                       OnChange on_change, Log log)
    : events_(std::move(events)),
      dump_(std::move(dump)),
      set_(std::move(policy)),
      on_change_(std::move(on_change)),
      log_(std::move(log)) {}

Result<std::unique_ptr<HostAddressMonitor>, std::string> HostAddressMonitor::start(
    uv_loop_t* loop, HostAddressPolicy policy, OnChange on_change, Log log) {
  auto events = esp::xfrm::connect_netlink(NETLINK_ROUTE);
  if (!events) return Unexpected("address notifications: " + events.error());
  // Notifications carry no sequence numbers of ours.
  nl_socket_disable_seq_check(events->get());
  if (int err = nl_socket_add_memberships(events->get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
                                          RTNLGRP_IPV6_IFADDR, 0);
      err < 0)
    return Unexpected("cannot join the rtnetlink link/address groups: " + nl_error(err));
  nl_socket_set_nonblocking(events->get());
  // A burst (a container runtime creating dozens of veths) must not overflow it.
  nl_socket_set_buffer_size(events->get(), 1 << 20, 0);
  auto dump = esp::xfrm::connect_netlink(NETLINK_ROUTE);
  if (!dump) return Unexpected("address dump: " + dump.error());

  std::unique_ptr<HostAddressMonitor> self(
      new HostAddressMonitor(std::move(*events), std::move(*dump), std::move(policy),
                             std::move(on_change), std::move(log)));
  // Subscribed first, dumped second: a change in between is in both (applying it twice is
  // harmless) rather than in neither.
  if (auto d = self->dump(); !d) return Unexpected(d.error());
  nl_socket_modify_cb(self->events_.get(), NL_CB_VALID, NL_CB_CUSTOM,
                      &HostAddressMonitor::on_message, self.get());
  auto poll = esp::FdPoll::start(
      loop, nl_socket_get_fd(self->events_.get()),
      [monitor = self.get()](int status) { monitor->on_readable(status); }, "the rtnetlink socket");
  if (!poll) return Unexpected(poll.error());
  self->poll_ = std::move(*poll);
  return self;
}

HostAddressMonitor::~HostAddressMonitor() {
  stop();
}

void HostAddressMonitor::stop() {
  poll_.reset();  // detaches the fd from epoll: closing the sockets now is safe
  events_.reset();
  dump_.reset();
}

Result<HostAddressSet::Changes, std::string> HostAddressMonitor::dump() {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(dump_.get(), AF_UNSPEC, &raw); err < 0)
    return Unexpected("listing interfaces: " + nl_error(err));
  Cache links(raw);
  raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(dump_.get(), &raw); err < 0)
    return Unexpected("listing addresses: " + nl_error(err));
  Cache addrs(raw);
  std::vector<LinkState> link_list;
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o))
    link_list.push_back(link_state(reinterpret_cast<rtnl_link*>(o)));
  std::vector<AddressState> addr_list;
  for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o))
    if (auto a = address_state(reinterpret_cast<rtnl_addr*>(o))) addr_list.push_back(*a);
  return set_.replace(std::move(link_list), std::move(addr_list));
}

void HostAddressMonitor::set_policy(HostAddressPolicy policy) {
  report(set_.set_policy(std::move(policy)));
}

void HostAddressMonitor::report(HostAddressSet::Changes changes) {
  if (!changes.empty() && on_change_) on_change_(changes);
}

void HostAddressMonitor::on_readable(int status) {
  if (status < 0) {
    log_(1, std::string("rtnetlink socket: ") + uv_strerror(status));
    return;
  }
  int err = nl_recvmsgs_default(events_.get());
  if (err == -NLE_NOMEM) {
    // ENOBUFS: the kernel dropped notifications. What we know may be stale: ask again.
    log_(1, "address notifications were lost (receive buffer full), listing them again");
    auto changes = dump();
    if (!changes)
      log_(0, "cannot list host addresses again: " + changes.error());
    else
      pending_.insert(pending_.end(), changes->begin(), changes->end());
  } else if (err < 0 && err != -NLE_AGAIN) {
    log_(1, "reading address notifications failed: " + nl_error(err));
  }
  report(std::exchange(pending_, {}));
}

int HostAddressMonitor::on_message(nl_msg* msg, void* arg) {
  auto* self = static_cast<HostAddressMonitor*>(arg);
  nl_msg_parse(
      msg,
      [](nl_object* o, void* a) {
        auto* me = static_cast<HostAddressMonitor*>(a);
        const int t = nl_object_get_msgtype(o);
        HostAddressSet::Changes c;
        if (is_type(o, "route/link")) {
          auto* l = reinterpret_cast<rtnl_link*>(o);
          // Bridge port notifications (AF_BRIDGE) describe the port, not the interface.
          if (rtnl_link_get_family(l) == AF_BRIDGE) return;
          if (t == RTM_DELLINK)
            c = me->set_.link_removed(rtnl_link_get_ifindex(l));
          else
            c = me->set_.link_changed(link_state(l));
        } else if (is_type(o, "route/addr")) {
          auto s = address_state(reinterpret_cast<rtnl_addr*>(o));
          if (!s) return;
          if (t == RTM_DELADDR)
            c = me->set_.address_removed(s->ifindex, s->address);
          else
            c = me->set_.address_added(*s);
        }
        me->pending_.insert(me->pending_.end(), c.begin(), c.end());
      },
      self);
  return NL_OK;
}

}  // namespace ikeme::peer

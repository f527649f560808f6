#pragma once
// The host's interfaces and addresses through rtnetlink (libnl-route-3), kept current on the
// daemon's libuv loop: a dump of links and addresses at start, then the RTNLGRP_LINK,
// RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR notifications on a socket polled with uv_poll.
// What is disclosed and the diffing live in HostAddressSet (host_address_set.hpp, pure); this
// class only turns netlink messages into its inputs. If the kernel drops notifications (ENOBUFS)
// everything is dumped again and the differences are reported like any other change.

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "esp-kernel/fd_poll.hpp"
#include "esp-kernel/xfrm/netlink.hpp"
#include "ike/codec/result.hpp"
#include "peer/host_address_set.hpp"

namespace ikeme::peer {

class HostAddressMonitor {
 public:
  // Changes to the disclosed set, one call per batch of notifications read.
  using OnChange = std::function<void(const HostAddressSet::Changes&)>;
  using Log = std::function<void(int level, std::string)>;

  // Subscribes, then dumps (so no change between the two is lost). The initial dump's addresses
  // are not reported through `on_change`: read them with addresses().
  static Result<std::unique_ptr<HostAddressMonitor>, std::string> start(uv_loop_t* loop,
                                                                        HostAddressPolicy policy,
                                                                        OnChange on_change,
                                                                        Log log);
  ~HostAddressMonitor();
  HostAddressMonitor(const HostAddressMonitor&) = delete;
  HostAddressMonitor& operator=(const HostAddressMonitor&) = delete;

  const HostAddressSet& addresses() const { return set_; }
  // A reload or a virtual IP changed what is disclosed: changes go to `on_change`.
  void set_policy(HostAddressPolicy policy);
  // Stops polling and closes the sockets (the uv handle closes asynchronously).
  void stop();

 private:
  HostAddressMonitor(esp::xfrm::NlSock events, esp::xfrm::NlSock dump, HostAddressPolicy policy,
                     OnChange on_change, Log log);
  Result<HostAddressSet::Changes, std::string> dump();
  void on_readable(int status);
  static int on_message(nl_msg* msg, void* self);
  void report(HostAddressSet::Changes changes);

  esp::xfrm::NlSock events_, dump_;
  HostAddressSet set_;
  OnChange on_change_;
  Log log_;
  HostAddressSet::Changes pending_;    // collected while reading one batch
  std::unique_ptr<esp::FdPoll> poll_;  // stopped before the sockets close
};

}  // namespace ikeme::peer

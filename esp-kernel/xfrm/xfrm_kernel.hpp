#pragma once
// The kernel's SA and policy databases over NETLINK_XFRM (libnl-xfrm-3): add and delete ESP SAs
// and policies, read an SA's counters, and flush entries by reqid range. No ikeme bookkeeping
// here; XfrmDataplane decides what to install.

#include <cstdint>
#include <optional>
#include <string>

#include "esp-kernel/xfrm/netlink.hpp"
#include "esp-kernel/xfrm/xfrm_algorithms.hpp"
#include "esp-kernel/xfrm/xfrm_selectors.hpp"
#include "ike/codec/bytes.hpp"
#include "ike/sa/connection.hpp"

namespace ikeme::esp::xfrm {

struct SaSpec {
  uint32_t spi = 0;
  IpAddress source, destination;  // outer addresses
  ike::ChildMode mode = ike::ChildMode::Tunnel;
  uint32_t reqid = 0;
  KernelAlgorithms algorithms;
  ByteView encr_key, integ_key;
  bool esn = false;
  uint32_t replay_window = 32;  // packets; inbound SAs (0 for outbound ones)
  // ESP-in-UDP (RFC 3948): source and destination UDP ports.
  std::optional<std::pair<uint16_t, uint16_t>> udp_encap;
  uint64_t soft_seconds = 0, hard_seconds = 0;  // 0: no limit
  std::optional<Selector> selector;             // transport mode: the SA's traffic
};

enum class PolicyDir : uint8_t { In = 0, Out = 1, Fwd = 2 };  // XFRM_POLICY_IN/OUT/FWD

struct PolicySpec {
  Selector selector;
  PolicyDir dir = PolicyDir::Out;
  uint32_t priority = 0;
  // The template: outer addresses of the SA the policy requires, its mode and reqid.
  IpAddress tmpl_source, tmpl_destination;
  ike::ChildMode mode = ike::ChildMode::Tunnel;
  uint32_t reqid = 0;
  bool bypass = false;  // no template: the traffic passes in the clear
};

struct SaUsage {
  uint64_t bytes = 0, packets = 0;
  uint64_t replay = 0, integrity_failed = 0;
  uint64_t use_time = 0;  // seconds since the epoch of the last packet, 0 if none
};

struct FlushCount {
  unsigned sas = 0, policies = 0;
};

class XfrmKernel {
 public:
  static Result<XfrmKernel, std::string> open();

  Status<std::string> add_sa(const SaSpec& sa);
  Status<std::string> delete_sa(const IpAddress& destination, uint32_t spi);
  Status<std::string> add_policy(const PolicySpec& policy);
  Status<std::string> delete_policy(const Selector& selector, PolicyDir dir);
  Result<SaUsage, std::string> sa_usage(const IpAddress& destination, uint32_t spi);
  // Deletes every SA and policy (template) whose reqid lies in [first, last].
  Result<FlushCount, std::string> flush_reqids(uint32_t first, uint32_t last);

 private:
  explicit XfrmKernel(NlSock sock) : sock_(std::move(sock)) {}
  // Sends a built request (takes ownership) and waits for the kernel's ack.
  Status<std::string> transact(nl_msg* msg);
  // Sends a dump request of `type` and hands every answer to the collector behind `found`.
  Status<std::string> dump(int type, void* found);
  NlSock sock_;
};

// The kernel's SA selector/policy selector for `s`.
XfrmSel make_selector(const Selector& s);

}  // namespace ikeme::esp::xfrm

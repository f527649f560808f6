#include "esp-kernel/xfrm/xfrm_dataplane.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <utility>
#include <vector>

#include "esp-kernel/xfrm/routes.hpp"
#include "esp-kernel/xfrm/xfrm_events.hpp"
#include "esp-kernel/xfrm/xfrm_firewall.hpp"
#include "esp-kernel/xfrm/xfrm_kernel.hpp"
#include "ike/sa/traffic_selectors.hpp"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif

namespace ikeme::esp {
namespace {

using namespace xfrm;

// The policy a CHILD_SA installs for one selector and direction (its template: the SA's outer
// addresses, mode and reqid).
PolicySpec policy_for(const ike::ChildSaParams& c, uint32_t reqid, const Selector& sel,
                      PolicyDir dir) {
  const bool outbound = dir == PolicyDir::Out;
  PolicySpec p;
  p.selector = sel;
  p.dir = dir;
  p.priority = policy_priority(sel);
  p.tmpl_source = outbound ? c.local.address : c.remote.address;
  p.tmpl_destination = outbound ? c.remote.address : c.local.address;
  p.mode = c.mode;
  p.reqid = reqid;
  return p;
}

constexpr uint32_t kReqidSpan = 0x10000;  // reqids reqid_base .. reqid_base + 0xffff
// The kernel's replay bitmap holds at most XFRMA_REPLAY_ESN_MAX (4096) bytes... of which it
// accepts 128 32-bit words: 4096 packets.
constexpr uint32_t kMaxReplayWindow = 4096;
// Bypass policies for the IKE traffic itself win over every CHILD_SA policy (lower = stronger).
constexpr uint32_t kBypassPriority = 1;
constexpr int kIpsecWarning = 1, kIpsecControl = 2;

std::string hex32(uint32_t v) {
  char buf[12];
  snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

std::string child_name(const ike::ChildSaParams& c) {
  return c.child + "{" + std::to_string(c.unique_id) + "}";
}

// The UDP traffic of the IKE SA between two endpoints, one direction.
Selector ike_selector(const ike::Endpoint& from, const ike::Endpoint& to) {
  const uint8_t bits = from.address.is_v4() ? 32 : 128;
  return Selector{{{from.address, bits}, {from.port, 0xffff}},
                  {{to.address, bits}, {to.port, 0xffff}},
                  IPPROTO_UDP};
}

bool covers(const std::vector<ike::TrafficSelector>& list, const IpAddress& a) {
  const ike::TrafficSelector host = ike::host_selector(a);
  for (const auto& ts : list) {
    if (ts.type == host.type && ike::contains(ts, host)) return true;
  }
  return false;
}

class XfrmDataplane final : public Dataplane {
 public:
  XfrmDataplane(DataplaneOptions options, DataplaneHooks hooks, XfrmKernel kernel,
                RouteManager routes)
      : options_(std::move(options)),
        hooks_(std::move(hooks)),
        kernel_(std::move(kernel)),
        routes_(std::move(routes)) {}
  ~XfrmDataplane() override { shutdown(); }

  Status<std::string> start(uv_loop_t* loop);

  Backend backend() const override { return Backend::Xfrm; }
  Status<std::string> install(const ike::ChildSaParams& child) override;
  Status<std::string> remove(const ike::ChildSaParams& child) override;
  std::optional<SaCounters> counters(uint32_t unique_id) const override;
  Status<std::string> add_virtual_ip(const IpAddress& vip) override;
  Status<std::string> remove_virtual_ip(const IpAddress& vip) override;
  Status<std::string> prepare_nat_t_socket(int fd) override;
  // ESP reaches the kernel directly (UDP_ENCAP on the NAT-T socket); nothing arrives here.
  void handle_esp(const ike::Endpoint&, const ike::Endpoint&, std::span<uint8_t>,
                  ike::Timestamp) override {}
  void shutdown() override;

 private:
  struct Policy {
    Selector selector;
    PolicyDir dir;
  };
  struct Installed {
    ike::ChildSaParams params;  // keys wiped
    uint32_t reqid = 0;
    bool sa_in = false, sa_out = false;
    std::vector<Policy> policies;
    std::vector<Prefix> routes;
    bool firewall = false;
    bool bypass = false;  // holds a reference on bypass_ for its endpoints
    // ChildSaParams::outbound_after_replaced: the outbound SA, added when the replaced CHILD_SA
    // is removed or its outbound SA expires (the keys are kept until then).
    std::optional<SaSpec> pending_out;
    Bytes pending_encr, pending_integ;
  };
  using EndpointPair = std::pair<ike::Endpoint, ike::Endpoint>;

  void log(int level, std::string text) const {
    if (hooks_.log) hooks_.log(ike::Subsystem::KNL, level, std::move(text));
  }
  uint32_t reqid_of(uint32_t unique_id) const {
    return options_.reqid_base + (unique_id % kReqidSpan);
  }
  bool our_reqid(uint32_t reqid) const {
    return reqid >= options_.reqid_base && reqid - options_.reqid_base < kReqidSpan;
  }
  void flush_stale();
  // Adds the pending outbound SA of every CHILD_SA that replaces `unique_id`.
  void activate_replacements(uint32_t unique_id);
  void on_kernel_event(const KernelEvent& ev);
  Status<std::string> install_policies(const ike::ChildSaParams& c, Installed& rec);
  void install_routes(const ike::ChildSaParams& c, Installed& rec);
  Status<std::string> acquire_bypass(const ike::ChildSaParams& c);
  void release_bypass(const ike::ChildSaParams& c);
  Status<std::string> teardown(Installed& rec);

  DataplaneOptions options_;
  DataplaneHooks hooks_;
  mutable XfrmKernel kernel_;  // counters() reads the kernel
  RouteManager routes_;
  std::unique_ptr<XfrmEventListener> listener_;
  std::map<uint32_t, Installed> children_;   // by unique_id
  std::map<EndpointPair, unsigned> bypass_;  // IKE endpoint pairs -> CHILD_SAs needing a bypass
  std::map<IpAddress, int> vips_;            // virtual IPs we added -> interface
  std::vector<bool> rules_added_ = {false, false};  // [v4, v6]: routing rule for table 220
  std::optional<ike::Endpoint> last_local_, last_remote_;
  bool firewall_ready_ = false;
  bool shut_down_ = false;
};

Status<std::string> XfrmDataplane::start(uv_loop_t* loop) {
  if (options_.replay_window > kMaxReplayWindow) {
    log(kIpsecWarning, "replay_window " + std::to_string(options_.replay_window) +
                           " exceeds the kernel's limit: inbound SAs use " +
                           std::to_string(kMaxReplayWindow));
  }
  flush_stale();
  if (options_.firewall) {
    if (auto st = run_nft(nft_table_script()); !st) {
      return Unexpected("firewall: creating table inet " + std::string(kNftTable) + ": " +
                        st.error());
    }
    firewall_ready_ = true;
    log(kIpsecControl, std::string("firewall: nftables table inet ") + kNftTable + " ready");
  }
  auto listener = XfrmEventListener::start(
      loop, [this](const KernelEvent& ev) { on_kernel_event(ev); },
      [this](std::string text) { log(kIpsecWarning, std::move(text)); });
  if (!listener) return Unexpected(listener.error());
  listener_ = std::move(*listener);
  return {};
}

void XfrmDataplane::flush_stale() {
  const uint32_t first = options_.reqid_base, last = options_.reqid_base + (kReqidSpan - 1);
  auto flushed = kernel_.flush_reqids(first, last);
  if (!flushed) {
    log(kIpsecWarning, "flushing stale XFRM state failed: " + flushed.error());
  } else if (flushed->sas || flushed->policies) {
    log(0, "removed " + std::to_string(flushed->sas) + " SAs and " +
               std::to_string(flushed->policies) + " policies a previous run left behind (reqids " +
               hex32(first) + ".." + hex32(last) + ")");
  }
  if (auto routes = routes_.flush_routes(); !routes) {
    log(kIpsecWarning, "flushing stale routes failed: " + routes.error());
  } else if (*routes) {
    log(0, "removed " + std::to_string(*routes) + " routes a previous run left in table 220");
  }
  // A table from an earlier run with the firewall option; without nft there is none.
  if (auto st = run_nft(nft_remove_table_script()); !st && options_.firewall) {
    log(kIpsecWarning, "firewall: removing a stale table: " + st.error());
  }
}

Status<std::string> XfrmDataplane::install(const ike::ChildSaParams& c) {
  if (shut_down_) return Unexpected(std::string("the XFRM data plane is shut down"));
  if (children_.count(c.unique_id)) {
    return Unexpected("CHILD_SA " + child_name(c) + " is installed already");
  }
  auto algs = kernel_algorithms(c.algorithms);
  if (!algs) return Unexpected("CHILD_SA " + child_name(c) + ": " + algs.error());
  if (c.local.address.family() != c.remote.address.family()) {
    return Unexpected("CHILD_SA " + child_name(c) + ": outer addresses of different families");
  }
  Installed rec;
  rec.params = c;
  rec.params.encr_key_in.clear(), rec.params.encr_key_out.clear();
  rec.params.integ_key_in.clear(), rec.params.integ_key_out.clear();
  // A rekeyed CHILD_SA keeps its predecessor's reqid: the policies (updated in place) then hold
  // both while they overlap, and inbound packets on either pass the policy check.
  const Installed* replaced = nullptr;
  if (c.replaces) {
    if (auto r = children_.find(c.replaces); r != children_.end()) replaced = &r->second;
  }
  rec.reqid = replaced ? replaced->reqid : reqid_of(c.unique_id);
  last_local_ = c.local, last_remote_ = c.remote;

  auto base_spec = [&](bool inbound) {
    SaSpec s;
    s.spi = inbound ? c.spi_in : c.spi_out;
    s.source = inbound ? c.remote.address : c.local.address;
    s.destination = inbound ? c.local.address : c.remote.address;
    s.mode = c.mode;
    s.reqid = rec.reqid;
    s.algorithms = *algs;
    s.encr_key = inbound ? ByteView(c.encr_key_in) : ByteView(c.encr_key_out);
    s.integ_key = inbound ? ByteView(c.integ_key_in) : ByteView(c.integ_key_out);
    s.esn = c.algorithms.esn;
    s.replay_window = inbound ? std::min(options_.replay_window, kMaxReplayWindow) : 0;
    if (c.udp_encapsulation) {
      s.udp_encap =
          inbound ? std::pair(c.remote.port, c.local.port) : std::pair(c.local.port, c.remote.port);
    }
    s.soft_seconds = c.rekey_time_s;
    s.hard_seconds = c.life_time_s;
    if (c.mode == ike::ChildMode::Transport && c.local_ts.size() == 1 && c.remote_ts.size() == 1) {
      auto sels = inbound ? selectors_between(c.remote_ts[0], c.local_ts[0])
                          : selectors_between(c.local_ts[0], c.remote_ts[0]);
      if (sels.size() == 1) s.selector = sels[0];
    }
    return s;
  };

  auto fail = [&](const std::string& what) -> Status<std::string> {
    (void)teardown(rec);
    return Unexpected("CHILD_SA " + child_name(c) + ": " + what);
  };
  if (auto st = kernel_.add_sa(base_spec(true)); !st) return fail(st.error());
  rec.sa_in = true;
  if (replaced && replaced->sa_out && c.outbound_after_replaced) {
    // The peer may not have the new SA yet: keep sending on the old one until it goes.
    rec.pending_out = base_spec(false);
    rec.pending_encr = c.encr_key_out;
    rec.pending_integ = c.integ_key_out;
  } else {
    if (auto st = kernel_.add_sa(base_spec(false)); !st) return fail(st.error());
    rec.sa_out = true;
  }
  if (auto st = acquire_bypass(c); !st) return fail(st.error());
  rec.bypass = covers(c.local_ts, c.local.address) && covers(c.remote_ts, c.remote.address);
  if (auto st = install_policies(c, rec); !st) return fail(st.error());
  if (options_.install_routes && c.mode == ike::ChildMode::Tunnel) install_routes(c, rec);
  if (options_.firewall && firewall_ready_) {
    const bool take_over = replaced && replaced->firewall;
    if (auto st = run_nft(
            nft_child_add_script(c.unique_id, rec.reqid, c.local_ts, c.remote_ts, take_over));
        !st) {
      return fail("firewall: " + st.error());
    }
    rec.firewall = true;
    log(kIpsecControl, "firewall: added chains " + nft_child_chain(c.unique_id, true) + "/" +
                           nft_child_chain(c.unique_id, false) + " for reqid " + hex32(rec.reqid) +
                           " admitting " + ike::to_string(c.remote_ts) + " -> " +
                           ike::to_string(c.local_ts) + " and the reverse");
  }
  log(kIpsecControl, "installed CHILD_SA " + child_name(c) + " in the kernel: SPIs " +
                         hex32(c.spi_in) + "_i " + hex32(c.spi_out) + "_o, reqid " +
                         hex32(rec.reqid) + ", " + algs->encr_name +
                         (algs->aead ? "" : "+" + algs->integ_name) +
                         (c.mode == ike::ChildMode::Tunnel ? ", tunnel" : ", transport") +
                         (c.udp_encapsulation ? ", UDP-encapsulated" : "") + ", " +
                         std::to_string(rec.policies.size()) + " policies, " +
                         std::to_string(rec.routes.size()) + " routes");
  children_.emplace(c.unique_id, std::move(rec));
  return {};
}

Status<std::string> XfrmDataplane::acquire_bypass(const ike::ChildSaParams& c) {
  // When the CHILD_SA's selectors cover the IKE endpoints themselves (transport mode, host to
  // host tunnels), IKE's own datagrams would be matched by its policies and encrypted or dropped.
  // Bypass policies for the IKE SA's UDP flow keep them in the clear (strongSwan uses per-socket
  // policies for the same reason).
  if (!covers(c.local_ts, c.local.address) || !covers(c.remote_ts, c.remote.address)) return {};
  const EndpointPair key{c.local, c.remote};
  if (bypass_[key]++ > 0) return {};
  const Selector out = ike_selector(c.local, c.remote), in = ike_selector(c.remote, c.local);
  for (auto [sel, dir] : {std::pair{out, PolicyDir::Out}, std::pair{in, PolicyDir::In}}) {
    PolicySpec p;
    p.selector = sel;
    p.dir = dir;
    p.priority = kBypassPriority;
    p.bypass = true;
    if (auto st = kernel_.add_policy(p); !st) {
      if (--bypass_[key] == 0) bypass_.erase(key);
      return st;
    }
  }
  return {};
}

void XfrmDataplane::release_bypass(const ike::ChildSaParams& c) {
  const EndpointPair key{c.local, c.remote};
  auto it = bypass_.find(key);
  if (it == bypass_.end() || --it->second > 0) return;
  bypass_.erase(it);
  (void)kernel_.delete_policy(ike_selector(c.local, c.remote), PolicyDir::Out);
  (void)kernel_.delete_policy(ike_selector(c.remote, c.local), PolicyDir::In);
}

Status<std::string> XfrmDataplane::install_policies(const ike::ChildSaParams& c, Installed& rec) {
  for (const auto& lts : c.local_ts) {
    for (const auto& rts : c.remote_ts) {
      auto add = [&](const Selector& sel, PolicyDir dir, bool) -> Status<std::string> {
        if (auto st = kernel_.add_policy(policy_for(c, rec.reqid, sel, dir)); !st) return st;
        rec.policies.push_back(Policy{sel, dir});
        return {};
      };
      for (const Selector& sel : selectors_between(lts, rts)) {
        if (auto st = add(sel, PolicyDir::Out, true); !st) return st;
      }
      for (const Selector& sel : selectors_between(rts, lts)) {
        if (auto st = add(sel, PolicyDir::In, false); !st) return st;
        if (c.mode == ike::ChildMode::Tunnel) {
          if (auto st = add(sel, PolicyDir::Fwd, false); !st) return st;
        }
      }
    }
  }
  if (rec.policies.empty()) {
    return Unexpected("traffic selectors " + ike::to_string(c.local_ts) +
                      " === " + ike::to_string(c.remote_ts) + " yield no XFRM policy");
  }
  return {};
}

void XfrmDataplane::install_routes(const ike::ChildSaParams& c, Installed& rec) {
  auto path = routes_.path_to(c.remote.address);
  if (!path) {
    log(kIpsecWarning, "CHILD_SA " + child_name(c) + ": no routes installed: " + path.error());
    return;
  }
  // A virtual IP arrives before its CHILD_SA (the daemon applies it first) and waits on lo; now
  // that the peer's interface is known, it moves there, as strongSwan places virtual IPs.
  const int lo = routes_.loopback_ifindex();
  for (auto& [vip, ifindex] : vips_) {
    if (ifindex != lo || path->ifindex == lo || !covers(c.local_ts, vip)) continue;
    auto added = routes_.add_address(vip, path->ifindex);
    if (!added) {
      log(kIpsecWarning, "moving virtual IP " + vip.to_string() + ": " + added.error());
      continue;
    }
    (void)routes_.delete_address(vip, lo);
    ifindex = path->ifindex;
    log(kIpsecControl, "virtual IP " + vip.to_string() + " moved to the interface towards " +
                           c.remote.address.to_string());
  }
  // The paper's src route: traffic we originate towards the remote subnets leaves with our
  // address inside the local selectors (a virtual IP or the subnet gateway address), so that it
  // matches the policies.
  const std::optional<IpAddress> src = routes_.owned_address_in(c.local_ts);
  if (!src) {
    log(kIpsecControl, "CHILD_SA " + child_name(c) + ": no local address inside " +
                           ike::to_string(c.local_ts) + ", routes without src");
  }
  for (const auto& rts : c.remote_ts) {
    if (rts.type != ike::host_selector(c.remote.address).type) continue;
    auto start = IpAddress::from_bytes(rts.start_address);
    auto end = IpAddress::from_bytes(rts.end_address);
    if (!start || !end) continue;
    for (const Prefix& p : range_to_prefixes(*start, *end)) {
      const bool v4 = p.address.is_v4();
      if (!rules_added_[v4 ? 0 : 1]) {
        auto added = routes_.ensure_rule(v4);
        if (!added) {
          log(kIpsecWarning, added.error());
        } else {
          rules_added_[v4 ? 0 : 1] = *added;
        }
      }
      if (auto st = routes_.add_route(p, *path, src); !st) {
        log(kIpsecWarning, "CHILD_SA " + child_name(c) + ": " + st.error());
        continue;
      }
      rec.routes.push_back(p);
    }
  }
}

Status<std::string> XfrmDataplane::teardown(Installed& rec) {
  const ike::ChildSaParams& c = rec.params;
  std::string errors;
  auto note = [&](const Status<std::string>& st) {
    if (!st) errors += (errors.empty() ? "" : "; ") + st.error();
  };
  if (rec.firewall) {
    // A rekeyed successor with the same reqid took the map entries over.
    const bool successor = std::any_of(children_.begin(), children_.end(), [&](const auto& o) {
      return &o.second != &rec && o.second.reqid == rec.reqid && o.second.firewall;
    });
    const Status<std::string> st =
        run_nft(nft_child_remove_script(c.unique_id, rec.reqid, successor));
    note(st);
    if (st)
      log(kIpsecControl, "firewall: removed chains " + nft_child_chain(c.unique_id, true) + "/" +
                             nft_child_chain(c.unique_id, false) + " of CHILD_SA " + child_name(c));
    rec.firewall = false;
  }
  // A CHILD_SA with the same selectors installed later (a new mediated SA replacing one after a
  // NAT rebinding) took these policies over (policies are updated in place) and needs the same
  // routes: they stay, and a policy goes back to the newest other CHILD_SA that holds it.
  auto heir_of = [&](auto holds) {
    const Installed* heir = nullptr;
    for (const auto& [id, other] : children_)
      if (&other != &rec && holds(other) &&
          (!heir || other.params.unique_id > heir->params.unique_id))
        heir = &other;
    return heir;
  };
  for (const Prefix& p : rec.routes) {
    auto shared = [&](const Installed& o) {
      return std::find(o.routes.begin(), o.routes.end(), p) != o.routes.end();
    };
    if (!heir_of(shared)) note(routes_.delete_route(p));
  }
  rec.routes.clear();
  for (const Policy& p : rec.policies) {
    auto shared = [&](const Installed& o) {
      return std::any_of(o.policies.begin(), o.policies.end(), [&](const Policy& q) {
        return q.selector == p.selector && q.dir == p.dir;
      });
    };
    if (const Installed* heir = heir_of(shared))
      note(kernel_.add_policy(policy_for(heir->params, heir->reqid, p.selector, p.dir)));
    else
      note(kernel_.delete_policy(p.selector, p.dir));
  }
  rec.policies.clear();
  if (rec.bypass) {
    release_bypass(c);
    rec.bypass = false;
  }
  // An SA the kernel already removed (hard expiry) is not an error.
  if (rec.sa_in) (void)kernel_.delete_sa(c.local.address, c.spi_in);
  if (rec.sa_out) (void)kernel_.delete_sa(c.remote.address, c.spi_out);
  rec.sa_in = rec.sa_out = false;
  for (Bytes* k : {&rec.pending_encr, &rec.pending_integ}) {
    std::fill(k->begin(), k->end(), 0);
    k->clear();
  }
  rec.pending_out.reset();
  if (!errors.empty()) return Unexpected(errors);
  return {};
}

Status<std::string> XfrmDataplane::remove(const ike::ChildSaParams& c) {
  auto it = children_.find(c.unique_id);
  if (it == children_.end()) {
    return Unexpected("CHILD_SA " + child_name(c) + " is not installed");
  }
  // A successor's outbound SA first: between the old one's removal and its addition the
  // policy would have no SA and the kernel would drop what it matches.
  activate_replacements(c.unique_id);
  auto st = teardown(it->second);
  log(kIpsecControl, "removed CHILD_SA " + child_name(c) + " from the kernel");
  children_.erase(it);
  if (!st) return Unexpected("CHILD_SA " + child_name(c) + ": " + st.error());
  return {};
}

std::optional<SaCounters> XfrmDataplane::counters(uint32_t unique_id) const {
  auto it = children_.find(unique_id);
  if (it == children_.end()) return std::nullopt;
  const ike::ChildSaParams& c = it->second.params;
  SaCounters out;
  // The kernel stamps the last use in wall-clock seconds; report it on the monotonic clock.
  const auto wall_now = static_cast<int64_t>(std::time(nullptr));
  const auto mono_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  auto last_ms = [&](uint64_t use_time) -> std::optional<uint64_t> {
    if (use_time == 0) return std::nullopt;
    const int64_t ago_ms = (wall_now - static_cast<int64_t>(use_time)) * 1000;
    return static_cast<uint64_t>(std::max<int64_t>(0, mono_now - std::max<int64_t>(0, ago_ms)));
  };
  if (auto in = kernel_.sa_usage(c.local.address, c.spi_in)) {
    out.bytes_in = in->bytes, out.packets_in = in->packets;
    out.dropped_replay = in->replay, out.dropped_integrity = in->integrity_failed;
    out.last_in_ms = last_ms(in->use_time);
  }
  if (auto o = kernel_.sa_usage(c.remote.address, c.spi_out)) {
    out.bytes_out = o->bytes, out.packets_out = o->packets;
    out.last_out_ms = last_ms(o->use_time);
  }
  return out;
}

Status<std::string> XfrmDataplane::add_virtual_ip(const IpAddress& vip) {
  if (vips_.count(vip)) return {};
  // On the interface towards the peer (the IKE SA's), like strongSwan; without a peer yet, lo.
  int ifindex = routes_.loopback_ifindex();
  if (last_remote_) {
    if (auto path = routes_.path_to(last_remote_->address)) ifindex = path->ifindex;
  }
  auto added = routes_.add_address(vip, ifindex);
  if (!added) return Unexpected(added.error());
  if (*added) vips_[vip] = ifindex;
  log(kIpsecControl, "virtual IP " + vip.to_string() + (*added ? " added" : " already present"));
  return {};
}

Status<std::string> XfrmDataplane::remove_virtual_ip(const IpAddress& vip) {
  auto it = vips_.find(vip);
  if (it == vips_.end()) return {};  // not ours: left alone
  auto st = routes_.delete_address(vip, it->second);
  vips_.erase(it);
  return st;
}

Status<std::string> XfrmDataplane::prepare_nat_t_socket(int fd) {
  int type = UDP_ENCAP_ESPINUDP;
  if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) != 0) {
    return Unexpected(std::string("setting UDP_ENCAP_ESPINUDP on the NAT-T socket: ") +
                      std::strerror(errno));
  }
  return {};
}

void XfrmDataplane::activate_replacements(uint32_t unique_id) {
  for (auto& [id, rec] : children_) {
    if (!rec.pending_out || rec.params.replaces != unique_id) continue;
    SaSpec spec = *rec.pending_out;
    spec.encr_key = rec.pending_encr;
    spec.integ_key = rec.pending_integ;
    const Status<std::string> st = kernel_.add_sa(spec);
    for (Bytes* k : {&rec.pending_encr, &rec.pending_integ}) {
      std::fill(k->begin(), k->end(), 0);
      k->clear();
    }
    rec.pending_out.reset();
    if (!st) {
      log(kIpsecWarning, "CHILD_SA " + child_name(rec.params) + ": adding its outbound SA " +
                             hex32(rec.params.spi_out) + " failed: " + st.error());
      continue;
    }
    rec.sa_out = true;
    log(kIpsecControl, "CHILD_SA " + child_name(rec.params) + " sends on its outbound SA " +
                           hex32(rec.params.spi_out) + " now that {" + std::to_string(unique_id) +
                           "} is gone");
  }
}

void XfrmDataplane::on_kernel_event(const KernelEvent& ev) {
  if (!our_reqid(ev.reqid)) return;  // another IKE daemon's SA or policy
  DataplaneEvent out;
  if (ev.kind == KernelEvent::Kind::Acquire) {
    out.kind = DataplaneEvent::Kind::Acquire;
    out.source = ev.source;
    out.destination = ev.target;
    log(kIpsecControl, "acquire for " + (ev.source ? ike::to_string(*ev.source) : "?") +
                           " === " + (ev.target ? ike::to_string(*ev.target) : "?"));
    if (hooks_.on_event) hooks_.on_event(out);
    return;
  }
  out.kind = ev.kind == KernelEvent::Kind::HardExpire ? DataplaneEvent::Kind::HardExpire
                                                      : DataplaneEvent::Kind::SoftExpire;
  out.spi = ev.spi;
  for (auto& [id, rec] : children_) {
    const auto& c = rec.params;
    if (c.spi_in == ev.spi && c.local.address == ev.destination) {
      out.unique_id = id, out.inbound = true;
      if (out.kind == DataplaneEvent::Kind::HardExpire) rec.sa_in = false;
    } else if (c.spi_out == ev.spi && c.remote.address == ev.destination) {
      out.unique_id = id, out.inbound = false;
      if (out.kind == DataplaneEvent::Kind::HardExpire) rec.sa_out = false;
    }
  }
  if (out.kind == DataplaneEvent::Kind::HardExpire && out.unique_id && !out.inbound)
    activate_replacements(out.unique_id);
  if (out.unique_id == 0) {
    log(kIpsecControl, "expire for unknown SA " + hex32(ev.spi) + ", ignored");
    return;
  }
  log(kIpsecControl, std::string(out.kind == DataplaneEvent::Kind::HardExpire ? "hard" : "soft") +
                         " expiry of " + (out.inbound ? "inbound" : "outbound") + " SA " +
                         hex32(ev.spi) + " of CHILD_SA {" + std::to_string(out.unique_id) + "}");
  if (hooks_.on_event) hooks_.on_event(out);
}

void XfrmDataplane::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (listener_) listener_->stop();
  for (auto& [id, rec] : children_) {
    if (auto st = teardown(rec); !st) log(kIpsecWarning, "shutdown: " + st.error());
  }
  children_.clear();
  for (auto& [vip, ifindex] : vips_) (void)routes_.delete_address(vip, ifindex);
  vips_.clear();
  for (int i = 0; i < 2; ++i) {
    if (rules_added_[i]) (void)routes_.delete_rule(i == 0);
    rules_added_[i] = false;
  }
  if (firewall_ready_) {
    if (auto st = run_nft(nft_remove_table_script()); !st) {
      log(kIpsecWarning, "firewall: removing table: " + st.error());
    } else {
      log(kIpsecControl, std::string("firewall: removed nftables table inet ") + kNftTable);
    }
    firewall_ready_ = false;
  }
  // Whatever a failed step above left behind carries our reqids.
  if (auto flushed =
          kernel_.flush_reqids(options_.reqid_base, options_.reqid_base + kReqidSpan - 1);
      flushed && (flushed->sas || flushed->policies)) {
    log(kIpsecWarning, "shutdown: flushed " + std::to_string(flushed->sas) + " SAs and " +
                           std::to_string(flushed->policies) + " policies left over");
  }
  log(kIpsecControl, "XFRM data plane shut down");
}

}  // namespace

Result<std::unique_ptr<Dataplane>, std::string> make_xfrm_dataplane(uv_loop_t* loop,
                                                                    const DataplaneOptions& options,
                                                                    DataplaneHooks hooks) {
  auto kernel = XfrmKernel::open();
  if (!kernel) return Unexpected("XFRM: " + kernel.error());
  auto routes = RouteManager::open();
  if (!routes) return Unexpected("XFRM: " + routes.error());
  auto dp = std::make_unique<XfrmDataplane>(options, std::move(hooks), std::move(*kernel),
                                            std::move(*routes));
  if (auto st = dp->start(loop); !st) return Unexpected("XFRM: " + st.error());
  return std::unique_ptr<Dataplane>(std::move(dp));
}

Status<std::string> probe_kernel_esp() {
  auto kernel = XfrmKernel::open();
  if (!kernel) return Unexpected(kernel.error());
  // A transport-mode AES-CBC/HMAC-SHA-256 SA (algorithms every ESP-capable kernel has) between
  // loopback addresses, with an SPI and reqid no IKE daemon allocates (SPIs below 0x100 are
  // reserved, so one just above).
  const IpAddress lo = *IpAddress::parse("127.0.0.1");
  const Bytes key(16, 0), integ_key(32, 0);
  SaSpec s;
  s.spi = 0x000001c0;
  s.source = lo, s.destination = lo;
  s.mode = ike::ChildMode::Transport;
  s.reqid = 0;
  s.algorithms = *kernel_algorithms(
      ike::EspAlgorithms{ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128, false});
  s.encr_key = key;
  s.integ_key = integ_key;
  auto st = kernel->add_sa(s);
  if (!st) {
    if (st.error().find("File exists") != std::string::npos) return {};  // a concurrent probe
    return Unexpected("the kernel cannot install an ESP SA: " + st.error());
  }
  (void)kernel->delete_sa(lo, s.spi);
  return {};
}

}  // namespace ikeme::esp

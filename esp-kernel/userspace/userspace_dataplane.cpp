#include "esp-kernel/userspace/userspace_dataplane.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "esp-kernel/esp_packet.hpp"
#include "esp-kernel/userspace/gso_segmenter.hpp"
#include "esp-kernel/userspace/tun_firewall.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::esp {
namespace {

// What selector matching needs from an IP header.
struct PacketView {
  bool v4 = true;
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint8_t protocol = 0;
  std::optional<uint16_t> src_port, dst_port;  // TCP/UDP/SCTP first fragments
};

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

bool has_ports(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
         proto == IPPROTO_UDPLITE;
}

std::optional<PacketView> view_packet(std::span<const uint8_t> p) {
  if (p.empty()) return std::nullopt;
  PacketView v;
  const uint8_t version = p[0] >> 4;
  size_t l4 = 0;
  if (version == 4) {
    if (p.size() < 20) return std::nullopt;
    const size_t ihl = size_t{p[0] & 0x0fu} * 4;
    if (ihl < 20 || p.size() < ihl) return std::nullopt;
    v.v4 = true;
    v.protocol = p[9];
    v.src = p.data() + 12;
    v.dst = p.data() + 16;
    const bool first_fragment = (get16(p.data() + 6) & 0x1fff) == 0;
    l4 = first_fragment ? ihl : 0;
  } else if (version == 6) {
    if (p.size() < 40) return std::nullopt;
    v.v4 = false;
    v.protocol = p[6];  // extension headers are not walked: such packets match "any" only
    v.src = p.data() + 8;
    v.dst = p.data() + 24;
    l4 = 40;
  } else {
    return std::nullopt;
  }
  if (l4 && has_ports(v.protocol) && p.size() >= l4 + 4) {
    v.src_port = get16(p.data() + l4);
    v.dst_port = get16(p.data() + l4 + 2);
  }
  return v;
}

bool in_selector(const ike::TrafficSelector& ts, bool v4, const uint8_t* addr, uint8_t proto,
                 std::optional<uint16_t> port) {
  if ((ts.type == ike::TsType::IPV4_ADDR_RANGE) != v4) return false;
  const size_t n = v4 ? 4 : 16;
  if (ts.start_address.size() != n || ts.end_address.size() != n) return false;
  if (std::memcmp(addr, ts.start_address.data(), n) < 0 ||
      std::memcmp(addr, ts.end_address.data(), n) > 0)
    return false;
  if (ts.ip_protocol != 0 && ts.ip_protocol != proto) return false;
  if (ts.start_port == 0 && ts.end_port == 65535) return true;
  if (!port) return false;  // a port-restricted selector needs ports to compare
  return *port >= ts.start_port && *port <= ts.end_port;
}

bool any_selector(const std::vector<ike::TrafficSelector>& list, bool v4, const uint8_t* addr,
                  uint8_t proto, std::optional<uint16_t> port) {
  for (const ike::TrafficSelector& ts : list)
    if (in_selector(ts, v4, addr, proto, port)) return true;
  return false;
}

}  // namespace

bool packet_matches(std::span<const uint8_t> packet, const std::vector<ike::TrafficSelector>& src,
                    const std::vector<ike::TrafficSelector>& dst) {
  auto v = view_packet(packet);
  if (!v) return false;
  return any_selector(src, v->v4, v->src, v->protocol, v->src_port) &&
         any_selector(dst, v->v4, v->dst, v->protocol, v->dst_port);
}

UserspaceDataplane::UserspaceDataplane(uv_loop_t* loop, DataplaneOptions options,
                                       DataplaneHooks hooks)
    : loop_(loop),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      // One byte more than the MTU: a read that fills the room was truncated (too big).
      slot_size_(kMaxHead + options_.tun_mtu + 1 + kMaxTail),
      buffer_(slot_size_ * kSlots) {}

Result<std::unique_ptr<UserspaceDataplane>, std::string> UserspaceDataplane::create(
    uv_loop_t* loop, const DataplaneOptions& options, DataplaneHooks hooks) {
  std::unique_ptr<UserspaceDataplane> d(new UserspaceDataplane(loop, options, std::move(hooks)));
  auto rng = ike::crypto::DrbgRng::create();
  if (!rng) return Unexpected{"random generator: " + rng.error().detail};
  d->rng_ = std::move(*rng);
  auto nl = RouteNetlink::open();
  if (!nl) return Unexpected{nl.error()};
  d->netlink_ = std::move(*nl);
  auto tun = TunDevice::open(options.tun_name, options.tun_mtu, options.tun_offload);
  if (!tun) return Unexpected{tun.error()};
  d->tun_ = std::move(*tun);
  if (d->tun_.vnet_hdr()) {
    // One byte more than the largest packet: a read that fills it was truncated.
    d->read_buffer_.resize(VirtioNetHdr::kSize + TcpCoalescer::kMaxPacket + 1);
    UserspaceDataplane* self = d.get();
    d->coalescer_ = std::make_unique<TcpCoalescer>(
        [self](const VirtioNetHdr& h, std::span<const uint8_t> p) { self->write_inner(h, p); });
  }
  if (d->tun_.taken_over()) {
    // A persistent device of that name was left behind (by a tool, or made persistent by
    // hand): its routes went with the down/up; its addresses are not ours to keep.
    auto flushed = d->netlink_.flush_addresses(d->tun_.ifindex());
    d->log(1, "took over the existing TUN device " + d->tun_.name() + " (now non-persistent); " +
                  (flushed ? std::to_string(*flushed) + " stale address(es) removed"
                           : "removing its addresses failed: " + flushed.error()));
  }
  if (auto fw = d->start_firewall(); !fw) return Unexpected{fw.error()};
  if (int rc = uv_poll_init(loop, &d->poll_, d->tun_.fd()); rc != 0)
    return Unexpected{std::string("polling the TUN device: ") + uv_strerror(rc)};
  uv_timer_init(loop, &d->timer_);
  d->handles_open_ = true;
  d->poll_.data = d->timer_.data = d.get();
  uv_poll_start(&d->poll_, UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status < 0) return;
    static_cast<UserspaceDataplane*>(h->data)->on_tun_readable();
  });
  // Lifetimes are checked once a second (they are configured in seconds).
  uv_timer_start(
      &d->timer_, [](uv_timer_t* h) { static_cast<UserspaceDataplane*>(h->data)->on_timer(); },
      1000, 1000);
  d->log(1, "userspace ESP data plane on TUN device " + d->tun_.name() + " (ifindex " +
                std::to_string(d->tun_.ifindex()) + ", MTU " + std::to_string(options.tun_mtu) +
                "), ESP-in-UDP on the NAT-T socket; offloads: " +
                (d->tun_.vnet_hdr()    ? d->tun_.offloads() + ", inbound TCP segments joined"
                 : options.tun_offload ? std::string("none (no IFF_VNET_HDR)")
                                       : std::string("off (tun_offload: no)")));
  return d;
}

UserspaceDataplane::~UserspaceDataplane() {
  shutdown();
}

void UserspaceDataplane::log(int level, std::string text) const {
  if (hooks_.log) hooks_.log(ike::Subsystem::KNL, level, std::move(text));
}

Status<std::string> UserspaceDataplane::start_firewall() {
  // A table a previous run left behind (a crash; perhaps with firewall: yes while it is off
  // now). Without nft there is none, and listing it fails.
  const bool stale = static_cast<bool>(run_nft(nft_list_table_script()));
  if (!options_.firewall) {
    if (!stale) return {};
    if (auto st = run_nft(nft_remove_table_script()); !st)
      log(0, "firewall: removing the nftables table inet " + std::string(kNftTable) +
                 " a previous run left behind failed: " + st.error());
    else
      log(1, std::string("firewall: removed the nftables table inet ") + kNftTable +
                 " a previous run left behind");
    return {};
  }
  if (auto st = nft_check_interface_name(tun_.name()); !st) return st;
  // Replaces (in one transaction) whatever table a crashed predecessor left.
  if (auto st = run_nft(nft_tun_table_script(tun_.name())); !st)
    return Unexpected{"firewall: creating nftables table inet " + std::string(kNftTable) + ": " +
                      st.error()};
  firewall_ready_ = true;
  log(1, std::string("firewall: nftables table inet ") + kNftTable + " ready" +
             (stale ? " (replacing the one a previous run left behind)" : "") +
             ": traffic crossing " + tun_.name() + " goes through per-CHILD_SA chains");
  return {};
}

std::vector<uint32_t> UserspaceDataplane::firewalled_children() const {
  std::vector<uint32_t> ids;
  for (const auto& [id, c] : children_)
    if (c->firewall) ids.push_back(id);
  return ids;
}

Status<std::string> UserspaceDataplane::add_firewall_rules(Child& c) {
  if (!firewall_ready_) return {};
  const ike::ChildSaParams& p = c.params;
  std::vector<uint32_t> ids = firewalled_children();
  ids.push_back(p.unique_id);
  std::sort(ids.begin(), ids.end());
  if (auto st = run_nft(nft_tun_child_add_script(p.unique_id, p.local_ts, p.remote_ts, ids)); !st)
    return Unexpected{"firewall: " + st.error()};
  c.firewall = true;
  log(1, "firewall: added chains " + nft_child_chain(p.unique_id, true) + "/" +
             nft_child_chain(p.unique_id, false) + " admitting " + ike::to_string(p.remote_ts) +
             " -> " + ike::to_string(p.local_ts) + " in on " + tun_.name() +
             " and the reverse out");
  return {};
}

void UserspaceDataplane::remove_firewall_rules(Child& c) {
  if (!c.firewall) return;
  c.firewall = false;  // not a dispatch target any more
  const uint32_t id = c.params.unique_id;
  if (auto st = run_nft(nft_tun_child_remove_script(id, firewalled_children())); !st)
    log(0, "firewall: removing the chains of CHILD_SA " + c.params.child + "{" +
               std::to_string(id) + "} failed: " + st.error());
  else
    log(1, "firewall: removed chains " + nft_child_chain(id, true) + "/" +
               nft_child_chain(id, false) + " of CHILD_SA " + c.params.child + "{" +
               std::to_string(id) + "}");
}

void UserspaceDataplane::add_routes(Child& c) {
  if (!options_.install_routes) return;
  std::optional<IpAddress> src = netlink_.owned_address_in(c.params.local_ts);
  if (!src)
    log(1, "no local address inside " + ike::to_string(c.params.local_ts) +
               ": routes to the remote selectors get no source address, and traffic the host "
               "sends from outside the local selectors will not match the CHILD_SA");
  for (const ike::TrafficSelector& ts : c.params.remote_ts)
    for (const Prefix& p : selector_prefixes(ts, c.params.remote.address)) {
      const std::string key = p.to_string();
      if (route_refs_[key]++ > 0) {
        c.routes.push_back(p);
        continue;
      }
      if (auto s = netlink_.add_route(tun_.ifindex(), p, src); !s) {
        route_refs_.erase(key);
        log(1, "installing route failed: " + s.error());
        continue;
      }
      c.routes.push_back(p);
      log(2, "installed route to " + key + " via " + tun_.name() +
                 (src ? " src " + src->to_string() : std::string()));
    }
}

void UserspaceDataplane::remove_routes(Child& c) {
  for (const Prefix& p : c.routes) {
    const std::string key = p.to_string();
    auto it = route_refs_.find(key);
    if (it == route_refs_.end() || --it->second > 0) continue;
    route_refs_.erase(it);
    if (auto s = netlink_.remove_route(tun_.ifindex(), p); !s)
      log(2, s.error());
    else
      log(2, "removed route to " + key + " via " + tun_.name());
  }
  c.routes.clear();
}

Status<std::string> UserspaceDataplane::install(const ike::ChildSaParams& p) {
  if (shut_down_) return Unexpected{std::string("the data plane is shut down")};
  const std::string what = p.child + "{" + std::to_string(p.unique_id) + "}";
  if (p.mode != ike::ChildMode::Tunnel)
    return Unexpected{"CHILD_SA " + what +
                      ": the userspace data plane supports tunnel mode only (transport mode "
                      "needs the kernel's XFRM, esp_backend: xfrm)"};
  if (!p.udp_encapsulation)
    return Unexpected{"CHILD_SA " + what +
                      ": the peer did not agree to UDP encapsulation, which the userspace data "
                      "plane needs (its ESP arrives only through the NAT-T socket; the "
                      "connection's encap: yes makes the peer encapsulate)"};
  if (children_.count(p.unique_id) || by_spi_.count(p.spi_in))
    return Unexpected{"CHILD_SA " + what + " is already installed"};
  auto out = OutboundSa::create(p.spi_out, p.algorithms, p.encr_key_out, p.integ_key_out, *rng_);
  if (!out) return Unexpected{"CHILD_SA " + what + " outbound SA: " + out.error()};
  auto in = InboundSa::create(p.spi_in, p.algorithms, p.encr_key_in, p.integ_key_in,
                              options_.replay_window);
  if (!in) return Unexpected{"CHILD_SA " + what + " inbound SA: " + in.error()};
  auto c = std::make_unique<Child>();
  c->params = p;
  // The keys now live in the mbedTLS contexts only.
  for (Bytes* k : {&c->params.encr_key_in, &c->params.integ_key_in, &c->params.encr_key_out,
                   &c->params.integ_key_out}) {
    std::fill(k->begin(), k->end(), 0);
    k->clear();
  }
  c->out = std::move(*out);
  c->in = std::move(*in);
  c->installed_ms = uv_now(loop_);
  // Rules first: traffic may follow the routes at once.
  if (auto fw = add_firewall_rules(*c); !fw)
    return Unexpected{"CHILD_SA " + what + ": " + fw.error()};
  add_routes(*c);
  Child* raw = c.get();
  by_spi_[p.spi_in] = raw;
  // Newest last: outbound_child() prefers it. The responder of a rekeying goes just before the
  // CHILD_SA it replaces, which keeps the traffic until it is removed (RFC 7296 §2.8).
  auto at = outbound_.end();
  if (p.outbound_after_replaced) {
    if (auto r = children_.find(p.replaces); r != children_.end())
      at = std::find(outbound_.begin(), outbound_.end(), r->second.get());
  }
  outbound_.insert(at, raw);
  last_out_ = nullptr;  // the new SA may take over traffic an older one carried
  children_[p.unique_id] = std::move(c);
  char spis[32];
  std::snprintf(spis, sizeof spis, "%08x_i %08x_o", p.spi_in, p.spi_out);
  log(1, "installed CHILD_SA " + what + " SPIs " + spis + " " + ike::to_string(p.local_ts) +
             " === " + ike::to_string(p.remote_ts) + " in userspace (" + tun_.name() + ", " +
             p.local.to_string() + " -> " + p.remote.to_string() + " ESP-in-UDP)");
  return {};
}

Status<std::string> UserspaceDataplane::remove(const ike::ChildSaParams& p) {
  auto it = children_.find(p.unique_id);
  if (it == children_.end())
    return Unexpected{"CHILD_SA " + p.child + "{" + std::to_string(p.unique_id) +
                      "} is not installed"};
  Child* c = it->second.get();
  remove_routes(*c);
  remove_firewall_rules(*c);
  by_spi_.erase(c->params.spi_in);
  outbound_.erase(std::remove(outbound_.begin(), outbound_.end(), c), outbound_.end());
  if (last_out_ == c) last_out_ = nullptr;
  log(1, "removed CHILD_SA " + c->params.child + "{" + std::to_string(p.unique_id) + "}: in " +
             std::to_string(c->in->stats().bytes) + " bytes/" +
             std::to_string(c->in->stats().packets) + " packets, out " +
             std::to_string(c->out->stats().bytes) + " bytes/" +
             std::to_string(c->out->stats().packets) + " packets");
  children_.erase(it);
  return {};
}

std::optional<SaCounters> UserspaceDataplane::counters(uint32_t unique_id) const {
  auto it = children_.find(unique_id);
  if (it == children_.end()) return std::nullopt;
  const Child& c = *it->second;
  const EspSaStats& in = c.in->stats();
  const EspSaStats& out = c.out->stats();
  SaCounters s;
  s.bytes_in = in.bytes;
  s.packets_in = in.packets;
  s.bytes_out = out.bytes;
  s.packets_out = out.packets;
  s.dropped_replay = in.dropped_replay;
  s.dropped_integrity = in.dropped_integrity;
  s.dropped_malformed = in.dropped_malformed;
  s.dropped_policy = c.dropped_policy;
  s.dummies = in.dummies;
  s.last_in_ms = c.last_in_ms;
  s.last_out_ms = c.last_out_ms;
  return s;
}

Status<std::string> UserspaceDataplane::prepare_nat_t_socket(int fd) {
  // SO_*BUFFORCE passes net.core.[rw]mem_max with CAP_NET_ADMIN (which a TUN device needs
  // anyway); the plain options are the fallback, capped by the sysctl.
  for (auto [force, plain] :
       {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
    int size = kSocketBuffer;
    if (::setsockopt(fd, SOL_SOCKET, force, &size, sizeof size) != 0 &&
        ::setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size) != 0)
      log(1, std::string("cannot enlarge the NAT-T socket's buffers: ") + std::strerror(errno));
  }
  if (auto s = sender_.add_socket(fd); !s) return s;
  if (!options_.tun_offload) {
    sender_.set_gso(false);
    return {};
  }
  // UDP GRO: ESP that a peer sent with UDP GSO (or the kernel joined) arrives as one read of up
  // to 64 KiB, which the daemon's receive loop cuts at the segment size.
  int on = 1;
  const bool gro = ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  log(1, std::string("NAT-T socket: UDP GSO for outbound ESP") +
             (gro ? ", UDP GRO for inbound ESP"
                  : std::string(", no UDP GRO (") + std::strerror(errno) + ")"));
  return {};
}

Status<std::string> UserspaceDataplane::add_virtual_ip(const IpAddress& vip) {
  if (std::find(vips_.begin(), vips_.end(), vip) != vips_.end()) return {};
  if (auto s = netlink_.add_address(tun_.ifindex(), vip, vip.is_v4() ? 32 : 128); !s) return s;
  vips_.push_back(vip);
  log(1, "installed virtual IP " + vip.to_string() + " on " + tun_.name());
  return {};
}

Status<std::string> UserspaceDataplane::remove_virtual_ip(const IpAddress& vip) {
  auto it = std::find(vips_.begin(), vips_.end(), vip);
  if (it == vips_.end()) return Unexpected{"virtual IP " + vip.to_string() + " is not installed"};
  vips_.erase(it);
  return netlink_.remove_address(tun_.ifindex(), vip, vip.is_v4() ? 32 : 128);
}

UserspaceDataplane::Child* UserspaceDataplane::outbound_child(std::span<const uint8_t> packet) {
  auto v = view_packet(packet);
  if (!v) return nullptr;
  auto matches = [&](const Child* c) {
    return any_selector(c->params.local_ts, v->v4, v->src, v->protocol, v->src_port) &&
           any_selector(c->params.remote_ts, v->v4, v->dst, v->protocol, v->dst_port);
  };
  if (last_out_ && matches(last_out_)) return last_out_;
  // The newest CHILD_SA first: a replacement (a new mediated SA after a NAT rebinding, a
  // reconnect) takes the traffic as soon as it is installed, the old one only drains inbound.
  for (auto it = outbound_.rbegin(); it != outbound_.rend(); ++it)
    if (matches(*it)) return last_out_ = *it;
  return nullptr;
}

std::span<uint8_t> UserspaceDataplane::slot_room(size_t index) {
  // A packet starts where the largest ESP header would end, so that any SA can seal it in place
  // (headroom <= kMaxHead, tailroom <= kMaxTail); one byte more than the MTU fits.
  uint8_t* slot = buffer_.data() + index * slot_size_;
  return std::span<uint8_t>(slot + kMaxHead, slot_size_ - kMaxHead - kMaxTail);
}

void UserspaceDataplane::send_batch() {
  slots_used_ = 0;
  std::string error;
  const size_t refused = sender_.flush(error);
  if (std::string gso = sender_.take_gso_error(); !gso.empty())
    log(1, "UDP GSO refused (" + gso + "): sending ESP datagram by datagram from now on");
  if (refused) {
    const uint64_t before = stats_.send_errors;
    stats_.send_errors += refused;
    if (before == 0 || std::bit_width(stats_.send_errors) != std::bit_width(before))
      log(1, "sending ESP failed: " + error + " (" + std::to_string(stats_.send_errors) +
                 " datagrams so far)");
  }
}

bool UserspaceDataplane::seal_and_queue(std::span<uint8_t> room, size_t size, uint64_t now_ms) {
  if (shut_down_) return false;
  std::span<const uint8_t> packet(room.data(), size);
  Child* c = outbound_child(packet);
  if (!c) {
    if (++stats_.no_sa == 1 || std::has_single_bit(stats_.no_sa))
      log(2, "outbound packet on " + tun_.name() +
                 " matches no CHILD_SA's traffic selectors, dropped (" +
                 std::to_string(stats_.no_sa) + " so far)");
    return true;
  }
  const uint8_t next_header = (packet[0] >> 4) == 4 ? kNextHeaderIpv4 : kNextHeaderIpv6;
  const size_t head = c->out->headroom();
  std::span<uint8_t> esp(room.data() - head, head + size + c->out->tailroom());
  auto sealed = c->out->seal(esp, size, next_header);
  if (!sealed) {
    if (!c->hard_sent) {
      log(0, "CHILD_SA " + c->params.child + "{" + std::to_string(c->params.unique_id) +
                 "}: " + sealed.error());
      c->hard_sent = true;
      if (hooks_.on_event)
        hooks_.on_event(DataplaneEvent{DataplaneEvent::Kind::HardExpire, c->params.unique_id,
                                       c->params.spi_out, false, std::nullopt, std::nullopt});
      if (shut_down_) return false;  // the hook may have shut us down
    }
    return true;
  }
  c->last_out_ms = now_ms;
  ByteView datagram(esp.data(), *sealed);
  if (!sender_.queue(c->params.local, c->params.remote, datagram) && hooks_.send_udp)
    hooks_.send_udp(c->params.local, c->params.remote, datagram);  // not a NAT-T socket
  return true;
}

void UserspaceDataplane::on_tun_readable() {
  if (shut_down_) return;
  const uint64_t now_ms = uv_now(loop_);
  auto read_failed = [this] {
    if (++stats_.device_errors == 1 || std::has_single_bit(stats_.device_errors))
      log(1, std::string("reading from ") + tun_.name() + " failed: " + std::strerror(errno));
  };
  auto too_big = [this](const std::string& why) {
    if (++stats_.too_big == 1 || std::has_single_bit(stats_.too_big))
      log(1, "packet on " + tun_.name() + " dropped: " + why);
  };
  // Bounded in reads and in segments, so that the loop turns to the sockets (the inbound ESP
  // and the ACKs of the TCP we are sending) at least every kSegmentBurst packets.
  size_t segments = 0;
  for (int i = 0; i < kReadBurst && segments < kSegmentBurst && !shut_down_; ++i) {
    if (!tun_.vnet_hdr()) {
      // Plain packets are read straight into their slot.
      if (slots_used_ == kSlots) send_batch();
      std::span<uint8_t> room = slot_room(slots_used_);
      long n = tun_.read(room);
      if (n == 0) break;
      if (n < 0) {
        read_failed();
        break;
      }
      if (static_cast<size_t>(n) == room.size()) {  // truncated by the read
        too_big("larger than tun_mtu " + std::to_string(options_.tun_mtu));
        continue;
      }
      ++slots_used_;
      ++segments;
      seal_and_queue(room, static_cast<size_t>(n), now_ms);
      continue;
    }
    long n = tun_.read(read_buffer_);
    if (n == 0) break;
    if (n < 0) {
      read_failed();
      break;
    }
    const size_t size = static_cast<size_t>(n);
    if (size < VirtioNetHdr::kSize || size == read_buffer_.size()) {
      too_big(size < VirtioNetHdr::kSize ? std::string("shorter than its virtio header")
                                         : std::string("larger than 64 KiB"));
      continue;
    }
    const VirtioNetHdr hdr = VirtioNetHdr::decode(
        std::span<const uint8_t, VirtioNetHdr::kSize>(read_buffer_.data(), VirtioNetHdr::kSize));
    std::span<const uint8_t> packet(read_buffer_.data() + VirtioNetHdr::kSize,
                                    size - VirtioNetHdr::kSize);
    SegmentSink sink{[this]() {
                       if (slots_used_ == kSlots) send_batch();
                       return slot_room(slots_used_);
                     },
                     [this, now_ms](size_t n_bytes) {
                       std::span<uint8_t> room = slot_room(slots_used_++);
                       seal_and_queue(room, n_bytes, now_ms);
                     }};
    auto cut = segment_packet(hdr, packet, sink);
    if (!cut) {
      too_big(cut.error());
      continue;
    }
    segments += *cut;
    if (hdr.gso_type != VirtioNetHdr::kGsoNone) {
      ++stats_.gso_packets;
      stats_.gso_segments += *cut;
    }
  }
  if (!shut_down_) send_batch();
}

void UserspaceDataplane::log_drop(const Child& c, std::string_view why, uint64_t count,
                                  const ike::Endpoint& from) {
  // Powers of two: the first drops are all reported, a flood only logarithmically.
  if (!std::has_single_bit(count)) return;
  char spi[16];
  std::snprintf(spi, sizeof spi, "%08x", c.params.spi_in);
  log(1, "ESP packet from " + from.to_string() + " for CHILD_SA " + c.params.child + "{" +
             std::to_string(c.params.unique_id) + "} (SPI " + spi +
             ") dropped: " + std::string(why) + " (" + std::to_string(count) + " so far)");
}

void UserspaceDataplane::handle_esp(const ike::Endpoint&, const ike::Endpoint& remote,
                                    std::span<uint8_t> datagram, ike::Timestamp now) {
  if (shut_down_) return;
  const uint32_t spi = esp_spi(ByteView(datagram.data(), datagram.size()));
  auto it = by_spi_.find(spi);
  if (it == by_spi_.end()) {
    if (++stats_.unknown_spi == 1 || std::has_single_bit(stats_.unknown_spi)) {
      char text[16];
      std::snprintf(text, sizeof text, "%08x", spi);
      log(1, "ESP packet from " + remote.to_string() + " with unknown SPI " + text + " dropped (" +
                 std::to_string(stats_.unknown_spi) + " so far)");
    }
    return;
  }
  Child& c = *it->second;
  auto opened = c.in->open(datagram);
  if (!opened) {
    const EspSaStats& s = c.in->stats();
    switch (opened.error()) {
      case DropReason::Malformed:
        log_drop(c, "malformed", s.dropped_malformed, remote);
        break;
      case DropReason::Integrity:
        log_drop(c, "integrity check failed", s.dropped_integrity, remote);
        break;
      case DropReason::Replay:
        log_drop(c, "replayed or too old", s.dropped_replay, remote);
        break;
      case DropReason::Dummy:
        break;
    }
    return;
  }
  // Tunnel mode: the inner packet must be IP of the family next header says, and lie inside
  // the CHILD_SA's selectors (remote -> local), RFC 4301 §5.2.
  std::span<const uint8_t> inner(opened->payload.data(), opened->payload.size());
  const bool ip_ok =
      !inner.empty() && ((opened->next_header == kNextHeaderIpv4 && (inner[0] >> 4) == 4) ||
                         (opened->next_header == kNextHeaderIpv6 && (inner[0] >> 4) == 6));
  if (!ip_ok || !packet_matches(inner, c.params.remote_ts, c.params.local_ts)) {
    ++c.dropped_policy;
    log_drop(c, ip_ok ? "inner addresses outside the traffic selectors" : "not an IP packet",
             c.dropped_policy, remote);
    return;
  }
  c.last_in_ms = static_cast<uint64_t>(now.count());
  if (remote != c.params.remote) {
    // RFC 3948 §3.5 / RFC 7296 §2.23: an authenticated, new (not replayed) packet from another
    // address or port means the peer's NAT rebound; replies follow it, as the IKE responder does.
    log(1, "CHILD_SA " + c.params.child + "{" + std::to_string(c.params.unique_id) +
               "}: peer's ESP now comes from " + remote.to_string() + " (was " +
               c.params.remote.to_string() + "), sending there");
    c.params.remote = remote;
  }
  if (coalescer_)
    coalescer_->add(inner);  // written by flush_received() at the latest
  else
    write_inner(VirtioNetHdr{}, inner);
}

void UserspaceDataplane::flush_received() {
  if (coalescer_ && !shut_down_) coalescer_->flush();
}

void UserspaceDataplane::write_inner(const VirtioNetHdr& hdr, std::span<const uint8_t> packet) {
  ++stats_.device_writes;
  if (hdr.gso_type != VirtioNetHdr::kGsoNone && hdr.gso_size)
    stats_.joined_segments += (packet.size() - hdr.hdr_len + hdr.gso_size - 1) / hdr.gso_size;
  if (!tun_.write(hdr, packet)) {
    if (++stats_.device_errors == 1 || std::has_single_bit(stats_.device_errors))
      log(1, std::string("writing to ") + tun_.name() + " failed: " + std::strerror(errno));
  }
}

void UserspaceDataplane::on_timer() {
  if (shut_down_ || !hooks_.on_event) return;
  const uint64_t now_ms = uv_now(loop_);
  // Events may remove children (the daemon reacts synchronously): collect first.
  std::vector<DataplaneEvent> events;
  for (auto& [id, c] : children_) {
    const uint64_t age_s = (now_ms - c->installed_ms) / 1000;
    const ike::ChildSaParams& p = c->params;
    if (p.life_time_s && age_s >= p.life_time_s && !c->hard_sent) {
      c->hard_sent = true;
      log(1, "CHILD_SA " + p.child + "{" + std::to_string(id) + "} reached its life_time (" +
                 std::to_string(p.life_time_s) + "s)");
      events.push_back(DataplaneEvent{DataplaneEvent::Kind::HardExpire, id, p.spi_in, true,
                                      std::nullopt, std::nullopt});
    } else if (p.rekey_time_s && age_s >= p.rekey_time_s && !c->soft_sent) {
      c->soft_sent = true;
      log(1, "CHILD_SA " + p.child + "{" + std::to_string(id) + "} reached its rekey_time (" +
                 std::to_string(p.rekey_time_s) + "s)");
      events.push_back(DataplaneEvent{DataplaneEvent::Kind::SoftExpire, id, p.spi_in, true,
                                      std::nullopt, std::nullopt});
    }
  }
  for (const DataplaneEvent& e : events) {
    if (shut_down_) return;
    hooks_.on_event(e);
  }
}

void UserspaceDataplane::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [id, c] : children_) remove_routes(*c);
  if (firewall_ready_) {
    // The whole table goes, with every CHILD_SA's chains.
    if (auto st = run_nft(nft_remove_table_script()); !st)
      log(0, "firewall: removing nftables table inet " + std::string(kNftTable) +
                 " failed: " + st.error());
    else
      log(1, std::string("firewall: removed nftables table inet ") + kNftTable);
    firewall_ready_ = false;
  }
  for (const IpAddress& vip : vips_)
    (void)netlink_.remove_address(tun_.ifindex(), vip, vip.is_v4() ? 32 : 128);
  vips_.clear();
  const size_t n = children_.size();
  children_.clear();
  by_spi_.clear();
  outbound_.clear();
  last_out_ = nullptr;
  if (handles_open_) {
    uv_poll_stop(&poll_);
    uv_timer_stop(&timer_);
    // The handles live in this object; the owner destroys it only after the loop ran the close
    // callbacks (the daemon runs the loop once more before closing it).
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    handles_open_ = false;
  }
  const std::string name = tun_.name();
  tun_.close();  // the non-persistent device disappears with it, and its routes with it
  log(1, "userspace data plane shut down: " + std::to_string(n) + " CHILD_SA(s) removed, " + name +
             " deleted");
}

}  // namespace ikeme::esp

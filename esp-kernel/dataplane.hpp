#pragma once
// The data plane seen from the daemon: one interface for CHILD_SAs (both directions' ESP SAs, their
// policies and routes), virtual IPs, counters and expiry events, with two backends:
//
//   - XfrmDataplane (esp-kernel/xfrm/): the Linux kernel carries ESP; SAs and policies through
//     libnl-3's XFRM API, routes and addresses through libnl-route-3. The kernel decapsulates
//     ESP-in-UDP itself on the daemon's NAT-T socket once it has UDP_ENCAP_ESPINUDP set
//     (prepare_nat_t_socket).
//   - UserspaceDataplane (esp-kernel/userspace/): a TUN device and ESP (RFC 4303) in UDP (RFC 3948)
//     on the daemon's NAT-T socket, with mbedTLS; the daemon hands it every ESP datagram it
//     receives on that socket (handle_esp) and it sends through DataplaneHooks::send_udp.
//
// Backends are I/O glue (they own a netlink socket or a TUN fd, polled on the daemon's libuv
// loop); the per-packet ESP processing itself is sans-IO (esp_packet.hpp and the SA crypto) so that
// it can be unit-tested and fuzzed. Backends never throw across the loop: every failure comes back
// as a Status or a log line.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ike/codec/bytes.hpp"
#include "ike/codec/ip_address.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/actions.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::esp {

// None: no data plane at all. CHILD_SAs are negotiated and listed but carry nothing (tests that
// run without privileges, IKE-only deployments); the daemon then creates no Dataplane.
enum class Backend { Auto, Xfrm, Userspace, None };
std::string_view name(Backend b);

// Per CHILD_SA (both directions), for `ikemectl list-sas` and stats.
struct SaCounters {
  uint64_t bytes_in = 0, packets_in = 0;
  uint64_t bytes_out = 0, packets_out = 0;
  // Inbound packets dropped, by reason (the userspace backend counts them; XFRM reports the
  // kernel's replay and integrity failure statistics where it has them).
  uint64_t dropped_replay = 0, dropped_integrity = 0, dropped_malformed = 0;
  // Userspace: decrypted inner packets whose addresses are outside the CHILD_SA's selectors
  // (RFC 4301 §5.2 inbound policy check), and dummy packets (next header 59) discarded.
  uint64_t dropped_policy = 0, dummies = 0;
  std::optional<uint64_t> last_in_ms, last_out_ms;  // monotonic ms of the last packet, if any
};

// Something the data plane reports to the IKE side.
struct DataplaneEvent {
  enum class Kind {
    SoftExpire,  // a lifetime's soft limit was reached: time to rekey
    HardExpire,  // the SA is gone: the CHILD_SA must be deleted
    Acquire,     // traffic matched a trap policy with no SA (start_action: trap)
  };
  Kind kind = Kind::SoftExpire;
  uint32_t unique_id = 0;  // the CHILD_SA (ChildSaParams::unique_id); 0 for Acquire
  uint32_t spi = 0;        // the expiring SA's SPI
  bool inbound = false;
  std::optional<ike::TrafficSelector> source, destination;  // Acquire: the triggering traffic
};

// What a backend needs from the daemon.
struct DataplaneHooks {
  // Userspace backend: send an ESP-in-UDP datagram (no non-ESP marker) from the daemon's socket
  // bound to `from`.
  std::function<void(const ike::Endpoint& from, const ike::Endpoint& to, ByteView datagram)>
      send_udp;
  std::function<void(const DataplaneEvent&)> on_event;
  std::function<void(ike::Subsystem, int level, std::string text)> log;
};

// Backend-wide counters (packets that belong to no CHILD_SA).
struct DataplaneStats {
  uint64_t unknown_spi = 0;    // inbound ESP for an SPI we do not have
  uint64_t no_sa = 0;          // outbound packets no installed CHILD_SA's selectors match
  uint64_t send_errors = 0;    // outbound ESP the socket refused
  uint64_t device_errors = 0;  // TUN read/write failures
  uint64_t too_big = 0;        // outbound packets larger than the buffers
  // Userspace with TUN offloads: GSO super-packets read and the segments cut out of them;
  // inbound TCP segments joined into GSO writes, and the writes to the device.
  uint64_t gso_packets = 0;
  uint64_t gso_segments = 0;
  uint64_t joined_segments = 0;
  uint64_t device_writes = 0;
};

struct DataplaneOptions {
  Backend backend = Backend::Auto;
  std::string tun_name = "ikeme0";  // userspace: the TUN device (created, removed on exit)
  uint32_t tun_mtu = 1400;
  // userspace: TUN offloads (IFF_VNET_HDR, TSO/USO, checksum offload; segmented in userspace)
  // and joined TCP segments on the way in; off, or where the kernel lacks them, plain packets.
  bool tun_offload = true;
  uint32_t replay_window = 1024;  // packets (RFC 4303 §3.4.3); userspace and XFRM
  // XFRM: every SA and policy we install carries reqids from this base, so that a restarted
  // daemon can flush what a crashed predecessor left behind (flush_stale) and touch nothing else.
  uint32_t reqid_base = 0x1c0e0000;
  bool install_routes = true;  // routes to remote_ts via the tunnel (the paper's `src` route)
  // nftables rules admitting each CHILD_SA's traffic (leftfirewall): XFRM matches the SA's
  // reqid (xfrm/xfrm_firewall.hpp), userspace the TUN device (userspace/tun_firewall.hpp).
  bool firewall = false;
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  virtual Backend backend() const = 0;

  // Installs both directions' SAs of a CHILD_SA, its policies (tunnel and transport) and, with
  // install_routes, routes to its remote traffic selectors.
  virtual Status<std::string> install(const ike::ChildSaParams& child) = 0;
  // Removes them again (unique_id and SPIs identify the CHILD_SA).
  virtual Status<std::string> remove(const ike::ChildSaParams& child) = 0;
  virtual std::optional<SaCounters> counters(uint32_t unique_id) const = 0;
  virtual DataplaneStats stats() const { return {}; }
  // Whether this backend can only carry ESP inside UDP (RFC 3948). The userspace backend receives
  // ESP only through the daemon's NAT-T socket, so the daemon then makes the engine fake NAT
  // detection (`encap: yes` on every connection) to have the peer encapsulate too.
  virtual bool requires_udp_encapsulation() const { return false; }

  // A virtual IP assigned to us (configuration payload): added to the TUN device or, with XFRM,
  // to the interface the route to the peer uses; removed when its IKE SA goes.
  virtual Status<std::string> add_virtual_ip(const IpAddress& vip) = 0;
  virtual Status<std::string> remove_virtual_ip(const IpAddress& vip) = 0;

  // Called for the daemon's NAT-T socket once it is bound (XFRM: sets UDP_ENCAP_ESPINUDP so the
  // kernel takes ESP-in-UDP; userspace: nothing).
  virtual Status<std::string> prepare_nat_t_socket(int fd) = 0;
  // An ESP datagram (first four bytes non-zero) received on a NAT-T socket. Only the userspace
  // backend gets these; XFRM's arrive in the kernel. The backend may decrypt it in place (the
  // buffer is the daemon's receive buffer, reused for the next datagram).
  virtual void handle_esp(const ike::Endpoint& local, const ike::Endpoint& remote,
                          std::span<uint8_t> datagram, ike::Timestamp now) = 0;
  // The end of a batch of handle_esp() calls (one drain of the sockets): the userspace backend
  // writes the TCP segments it held back to join them.
  virtual void flush_received() {}

  // Removes everything this backend installed (daemon exit). Idempotent.
  virtual void shutdown() = 0;
};

// Creates the backend the options ask for on `loop`. Auto probes whether the kernel can install
// an ESP SA and picks XFRM if so, userspace otherwise, and logs which one and why. Creation also
// flushes state a previous run left behind.
Result<std::unique_ptr<Dataplane>, std::string> make_dataplane(uv_loop_t* loop,
                                                               const DataplaneOptions& options,
                                                               DataplaneHooks hooks);

}  // namespace ikeme::esp

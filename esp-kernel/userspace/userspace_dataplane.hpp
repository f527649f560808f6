#pragma once
// The userspace ESP data plane (like strongSwan's kernel-libipsec): a TUN device whose packets
// are matched against the installed CHILD_SAs' traffic selectors, sealed (esp_sa.hpp) and sent as
// ESP-in-UDP (RFC 3948, no non-ESP marker) from the daemon's NAT-T socket; ESP datagrams the
// daemon receives on that socket are opened, replay-checked, policy-checked and written to the
// TUN device. Routes to the remote selectors point into the device, with a source address
// inside the local selectors. Tunnel mode only (transport mode would need the IKE/ESP traffic to
// the peer itself to bypass the device's routes; refused at install, as kernel-libipsec does).
//
// I/O: the TUN fd is polled on the daemon's libuv loop; reads are done in bounded bursts into
// preallocated slots, encrypted in place and sent at once; nothing is allocated per packet.
// With TUN offloads (tun_offload, the default) one read may return a GSO super-packet of up to
// 64 KiB, which gso_segmenter.hpp cuts into MTU-sized segments, each sealed into its own slot;
// inbound TCP segments of one flow are joined (tcp_coalescer.hpp) and written to the device
// once per receive batch.

#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "esp-kernel/dataplane.hpp"
#include "esp-kernel/userspace/esp_sa.hpp"
#include "esp-kernel/userspace/route_netlink.hpp"
#include "esp-kernel/userspace/tcp_coalescer.hpp"
#include "esp-kernel/userspace/tun_device.hpp"
#include "esp-kernel/userspace/udp_batch.hpp"

namespace ikeme::esp {

class UserspaceDataplane final : public Dataplane {
 public:
  static constexpr int kReadBurst = 64;  // TUN reads per readable event
  // Segments sealed per readable event at most (the loop then serves the sockets; with
  // offloads one read can give 45 segments), and slots for them: a full set of slots is sent
  // before reuse.
  static constexpr size_t kSegmentBurst = 256;
  static constexpr size_t kSlots = 128;
  // Room in front of and behind each TUN packet in its slot: the largest ESP header (SPI,
  // sequence number, 16-byte IV) and trailer (padding, pad length, next header, 32-byte ICV).
  static constexpr size_t kMaxHead = 64, kMaxTail = 128;

  static Result<std::unique_ptr<UserspaceDataplane>, std::string> create(
      uv_loop_t* loop, const DataplaneOptions& options, DataplaneHooks hooks);
  ~UserspaceDataplane() override;

  Backend backend() const override { return Backend::Userspace; }
  Status<std::string> install(const ike::ChildSaParams& child) override;
  Status<std::string> remove(const ike::ChildSaParams& child) override;
  std::optional<SaCounters> counters(uint32_t unique_id) const override;
  DataplaneStats stats() const override { return stats_; }
  bool requires_udp_encapsulation() const override { return true; }
  Status<std::string> add_virtual_ip(const IpAddress& vip) override;
  Status<std::string> remove_virtual_ip(const IpAddress& vip) override;
  // Enlarges the socket's buffers (kSocketBuffer): at line rate a burst of ESP arrives while the
  // loop is busy sealing, and the kernel's default receive buffer (~200 KB) overflows into
  // losses that TCP inside the tunnel pays for with retransmissions.
  Status<std::string> prepare_nat_t_socket(int fd) override;
  static constexpr int kSocketBuffer = 4 * 1024 * 1024;
  void handle_esp(const ike::Endpoint& local, const ike::Endpoint& remote,
                  std::span<uint8_t> datagram, ike::Timestamp now) override;
  void flush_received() override;
  void shutdown() override;

  const std::string& device_name() const { return tun_.name(); }

 private:
  struct Child {
    ike::ChildSaParams params;  // without the keys
    std::unique_ptr<OutboundSa> out;
    std::unique_ptr<InboundSa> in;
    std::vector<Prefix> routes;
    uint64_t dropped_policy = 0;
    std::optional<uint64_t> last_in_ms, last_out_ms;
    uint64_t installed_ms = 0;
    bool soft_sent = false, hard_sent = false;
    bool firewall = false;  // its nftables chains exist
  };

  UserspaceDataplane(uv_loop_t* loop, DataplaneOptions options, DataplaneHooks hooks);
  void log(int level, std::string text) const;
  void on_tun_readable();
  // Seals `size` bytes at `room` (a slot's packet area) for the matching CHILD_SA and queues
  // the ESP datagram; false if the data plane was shut down meanwhile.
  bool seal_and_queue(std::span<uint8_t> room, size_t size, uint64_t now_ms);
  std::span<uint8_t> slot_room(size_t index);
  void send_batch();
  void write_inner(const VirtioNetHdr& hdr, std::span<const uint8_t> packet);
  void on_timer();
  Child* outbound_child(std::span<const uint8_t> packet);
  void add_routes(Child& c);
  void remove_routes(Child& c);
  void log_drop(const Child& c, std::string_view why, uint64_t count, const ike::Endpoint& from);
  // The firewall option (tun_firewall.hpp): the table at start (removing a stale one), a
  // CHILD_SA's rules, and the table's removal at shutdown.
  Status<std::string> start_firewall();
  Status<std::string> add_firewall_rules(Child& c);
  void remove_firewall_rules(Child& c);
  std::vector<uint32_t> firewalled_children() const;

  uv_loop_t* loop_;
  DataplaneOptions options_;
  DataplaneHooks hooks_;
  std::unique_ptr<ike::crypto::Rng> rng_;  // AES-CBC IVs
  TunDevice tun_;
  RouteNetlink netlink_;
  uv_poll_t poll_{};
  uv_timer_t timer_{};
  bool handles_open_ = false;
  bool shut_down_ = false;
  bool firewall_ready_ = false;  // table inet ikeme created for this device

  std::map<uint32_t, std::unique_ptr<Child>> children_;  // by unique id
  std::unordered_map<uint32_t, Child*> by_spi_;          // by inbound SPI
  std::vector<Child*> outbound_;                         // lookup order (installation order)
  Child* last_out_ = nullptr;                            // most recent outbound match
  std::map<std::string, int> route_refs_;                // prefix text -> CHILD_SAs using it
  std::vector<IpAddress> vips_;
  // kSlots slots of slot_size_ bytes: TUN packets (or segments), sealed in place, queued in
  // sender_ and sent in one go at the end of the burst or when the slots are used up.
  size_t slot_size_ = 0;
  std::vector<uint8_t> buffer_;
  size_t slots_used_ = 0;
  // With offloads: one read (virtio header + up to 64 KiB) before segmentation.
  std::vector<uint8_t> read_buffer_;
  std::unique_ptr<TcpCoalescer> coalescer_;  // with offloads
  UdpBatchSender sender_;
  DataplaneStats stats_;
};

// Whether a packet's source and destination lie in the selectors (ports and protocol too where
// the selector restricts them). `packet` is a bare IPv4/IPv6 packet.
bool packet_matches(std::span<const uint8_t> packet, const std::vector<ike::TrafficSelector>& src,
                    const std::vector<ike::TrafficSelector>& dst);

}  // namespace ikeme::esp

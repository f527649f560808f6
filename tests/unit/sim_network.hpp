#pragma once
// A simulated network for the sans-IO IKE engine: nodes with addresses, an optional NAT in front
// of a node, loss rules, and a clock the test advances. Deterministic: no sockets, no threads.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"

namespace ikeme::sim {

// A node driven by something other than a bare IkeEngine (e.g. a mediation server wrapping one).
struct Driver {
  std::function<void(ike::Endpoint local, ike::Endpoint remote, ByteView data, ike::Timestamp now,
                     ike::Actions& out)>
      datagram;
  std::function<std::optional<ike::Timestamp>()> next_timeout;
  std::function<void(ike::Timestamp now, ike::Actions& out)> timeout;
};

struct Node {
  std::string name;
  IpAddress address;             // the node's own (possibly private) address
  std::optional<IpAddress> nat;  // public address of a NAT in front of it
  std::unique_ptr<ike::crypto::DeterministicRng> rng;
  std::unique_ptr<ike::IkeEngine> engine;  // null when a driver runs the node
  std::optional<Driver> driver;
  std::vector<ike::ChildSaEvent> children;
  std::vector<ike::VirtualIpEvent> vips;
  std::vector<std::string> log;
  std::vector<ike::SendDatagram> sent;  // as the node sent them (before NAT)

  bool logged(const std::string& fragment) const;
  std::vector<ike::IkeSaInfo> sas() const { return engine->list_sas(); }
};

struct InFlight {
  ike::Endpoint from, to;  // after NAT on the way out
  Bytes data;
  std::string sender;
};

class Network {
 public:
  Node& add(const std::string& name, const std::string& address, ike::EngineConfig config,
            std::optional<std::string> nat_address = std::nullopt, uint64_t seed = 0);
  // A node whose datagrams and timers go to `driver` instead of an engine of its own.
  Node& add_driven(const std::string& name, const std::string& address, Driver driver,
                   std::optional<std::string> nat_address = std::nullopt);
  Node& node(const std::string& name);

  // Drop rule: returns true to drop a datagram.
  std::function<bool(const InFlight&)> drop;
  // NATs filter like Linux's (port-restricted): a datagram to a mapping gets in only from an
  // address:port the inside endpoint has sent to. Off: full cone.
  bool restricted_nats = false;
  // The NAT in front of `node` forgets its mappings (a reboot, a timeout, a conntrack flush):
  // the node's next datagram gets a new public port.
  void rebind(const std::string& node);

  // Delivers datagrams until none are in flight (bounded), then returns.
  void run();
  // Advances time to `t`, firing timeouts on the way, delivering everything in between.
  void advance_to(ike::Timestamp t);
  void advance(ike::Duration d) { advance_to(now_ + d); }
  ike::Timestamp now() const { return now_; }

  void apply(Node& n, ike::Actions& actions);
  size_t delivered() const { return delivered_; }
  size_t dropped() const { return dropped_; }

 private:
  void deliver(const InFlight& d);
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::vector<InFlight> queue_;
  // NAT mappings: (private endpoint) <-> public port, per NAT address.
  std::map<ike::Endpoint, uint16_t> nat_out_;
  std::map<ike::Endpoint, ike::Endpoint> nat_in_;
  std::set<std::pair<ike::Endpoint, ike::Endpoint>> nat_opened_;  // (inside, remote) sent to
  uint16_t next_nat_port_ = 1100;
  ike::Timestamp now_{1000000};
  size_t delivered_ = 0, dropped_ = 0;
};

// A connection config with PSK, for tests.
ike::ConnectionConfig psk_connection(const std::string& name, const std::string& local_id,
                                     const std::string& remote_id, const std::string& remote_addr,
                                     const std::string& ike_proposal,
                                     const std::string& esp_proposal);
ike::EngineConfig engine_config(std::vector<ike::ConnectionConfig> conns, const std::string& psk,
                                std::vector<std::string> ids);

}  // namespace ikeme::sim

#pragma once
// A simulated IPv4 network with NAT routers for the ICE agent tests: private sites behind NATs
// with configurable mapping and filtering behaviour (RFC 4787 terms), a public "internet" where
// the mediation server lives, fixed one-way delays, and a count of datagrams on the public
// segment (what the namespace testbed counts with nftables). Deterministic and event-driven.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "ice/agent.hpp"

namespace ikeme::icesim {

using ike::Duration;
using ike::Endpoint;
using ike::Timestamp;

enum class Mapping { EndpointIndependent, Symmetric };  // symmetric: a port per destination
enum class Filtering { EndpointIndependent, AddressDependent, AddressPortDependent };

struct NatConfig {
  std::string public_address;
  Mapping mapping = Mapping::EndpointIndependent;
  Filtering filtering = Filtering::AddressPortDependent;  // Linux conntrack's behaviour
  uint16_t port_lo = 1100, port_hi = 1200;
  bool hairpin = false;
};

class Nat {
 public:
  explicit Nat(NatConfig c);
  const NatConfig& config() const { return c_; }
  IpAddress public_address() const { return public_; }
  // Translates an outgoing datagram's source; creates the mapping if needed.
  Endpoint outbound(const Endpoint& inside, const Endpoint& destination);
  // The inside endpoint for a datagram to `public_port` from `from`, or nullopt if filtered.
  std::optional<Endpoint> inbound(const Endpoint& from, uint16_t public_port) const;
  // Forgets every mapping (conntrack -F): the next packet out gets a fresh port.
  void rebind();

 private:
  struct Entry {
    Endpoint inside;
    uint16_t port = 0;
    std::set<Endpoint> contacted;  // destinations the inside host sent to
  };
  NatConfig c_;
  IpAddress public_;
  uint16_t next_port_;
  std::vector<Entry> entries_;
  std::map<std::pair<Endpoint, Endpoint>, size_t> symmetric_;  // (inside, destination) -> entry
  std::map<Endpoint, size_t> independent_;                     // inside -> entry
};

struct Host {
  std::string name;
  std::string site;  // hosts of one site reach each other directly
  IpAddress address;
  std::unique_ptr<ice::IceAgent> agent;
  std::optional<ice::Nomination> nomination;
  std::optional<ice::Failure> failure;
  std::vector<ike::LogLine> logs;
  std::vector<std::pair<Endpoint, Endpoint>> non_check;  // (local, remote) of other datagrams
  bool logged(const std::string& fragment) const;
};

class Network {
 public:
  Duration lan_delay{1};
  Duration internet_delay{5};  // one way between any two public addresses
  // Return true to drop a datagram on the public segment (after NAT on the way out).
  std::function<bool(const Endpoint& from, const Endpoint& to, ByteView data)> drop;

  void add_site(const std::string& site, std::optional<NatConfig> nat);
  Host& add_host(const std::string& name, const std::string& site, const std::string& address);
  Host& host(const std::string& name) { return *hosts_.at(name); }
  Nat& nat(const std::string& site) { return *nats_.at(site); }

  // The SRFLX endpoint the mediation server would report for `host`'s socket on `port`
  // (creates the NAT mapping towards the server, as registration does); nullopt without a NAT.
  std::optional<Endpoint> register_at(const std::string& host, uint16_t port,
                                      const Endpoint& server);

  void send(const std::string& from_host, const ike::SendDatagram& d);
  void apply(Host& h, ice::AgentOutput& out);
  // Runs events (deliveries and agent timeouts) until `until` or until nothing is pending.
  void run_until(Timestamp until);
  Timestamp now() const { return now_; }

  size_t public_datagrams = 0;  // seen on the public segment
  size_t dropped = 0;

 private:
  struct Event {
    Timestamp at;
    uint64_t seq;
    std::string to_host;
    Endpoint local, remote;
    Bytes data;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void deliver(const Event& e);
  Host* host_at(const IpAddress& a);
  std::map<std::string, std::unique_ptr<Host>> hosts_;
  std::map<std::string, std::unique_ptr<Nat>> nats_;  // by site
  std::set<std::string> sites_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t seq_ = 0;
  Timestamp now_{0};
};

}  // namespace ikeme::icesim

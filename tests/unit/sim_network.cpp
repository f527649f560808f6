#include "sim_network.hpp"

#include <catch2/catch.hpp>

#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::sim {

using namespace ike;

bool Node::logged(const std::string& fragment) const {
  for (const auto& l : log)
    if (l.find(fragment) != std::string::npos) return true;
  return false;
}

Node& Network::add(const std::string& name, const std::string& address, EngineConfig config,
                   std::optional<std::string> nat_address, uint64_t seed) {
  auto n = std::make_unique<Node>();
  n->name = name;
  n->address = *IpAddress::parse(address);
  if (nat_address) n->nat = *IpAddress::parse(*nat_address);
  n->rng = std::make_unique<crypto::DeterministicRng>(seed ? seed : std::hash<std::string>{}(name));
  n->engine = std::make_unique<IkeEngine>(std::move(config), *n->rng);
  Node& ref = *n;
  nodes_[name] = std::move(n);
  return ref;
}

Node& Network::add_driven(const std::string& name, const std::string& address, Driver driver,
                          std::optional<std::string> nat_address) {
  auto n = std::make_unique<Node>();
  n->name = name;
  n->address = *IpAddress::parse(address);
  if (nat_address) n->nat = *IpAddress::parse(*nat_address);
  n->driver = std::move(driver);
  Node& ref = *n;
  nodes_[name] = std::move(n);
  return ref;
}

void Network::rebind(const std::string& name) {
  const IpAddress inside = node(name).address;
  for (auto it = nat_out_.begin(); it != nat_out_.end();) {
    if (it->first.address != inside) {
      ++it;
      continue;
    }
    for (auto in = nat_in_.begin(); in != nat_in_.end();)
      in = in->second == it->first ? nat_in_.erase(in) : std::next(in);
    it = nat_out_.erase(it);
  }
  for (auto it = nat_opened_.begin(); it != nat_opened_.end();)
    it = it->first.address == inside ? nat_opened_.erase(it) : std::next(it);
}

Node& Network::node(const std::string& name) {
  return *nodes_.at(name);
}

void Network::apply(Node& n, Actions& a) {
  for (const LogLine& l : a.logs)
    n.log.push_back(std::string("[") + ike::name(l.subsystem) + "] " + l.text);
  for (const ChildSaEvent& c : a.children) n.children.push_back(c);
  for (const VirtualIpEvent& v : a.vips) n.vips.push_back(v);
  for (const SendDatagram& s : a.sends) {
    n.sent.push_back(s);
    InFlight f{s.from, s.to, s.data, n.name};
    // The sender's unspecified local address becomes its real one, as the kernel would pick it.
    if (f.from.address == IpAddress()) f.from.address = n.address;
    if (n.nat) {
      auto it = nat_out_.find(f.from);
      if (it == nat_out_.end()) {
        it = nat_out_.emplace(f.from, next_nat_port_++).first;
        nat_in_[Endpoint{*n.nat, it->second}] = f.from;
      }
      nat_opened_.emplace(f.from, f.to);
      f.from = Endpoint{*n.nat, it->second};
    }
    queue_.push_back(std::move(f));
  }
  a = Actions{};
}

void Network::deliver(const InFlight& d) {
  if (drop && drop(d)) {
    ++dropped_;
    return;
  }
  Endpoint to = d.to;
  if (auto it = nat_in_.find(to); it != nat_in_.end()) {
    if (restricted_nats && !nat_opened_.count({it->second, d.from})) {
      ++dropped_;  // filtered: the inside endpoint never sent to this source
      return;
    }
    to = it->second;  // back through the NAT
  }
  for (auto& [name, n] : nodes_) {
    if (n->address != to.address) continue;
    ++delivered_;
    Actions a;
    if (n->driver)
      n->driver->datagram(to, d.from, d.data, now_, a);
    else
      n->engine->handle_datagram(to, d.from, d.data, now_, a);
    apply(*n, a);
    return;
  }
  ++dropped_;  // nobody there
}

void Network::run() {
  for (int rounds = 0; !queue_.empty() && rounds < 10000; ++rounds) {
    InFlight d = std::move(queue_.front());
    queue_.erase(queue_.begin());
    deliver(d);
  }
}

void Network::advance_to(Timestamp t) {
  run();
  for (int guard = 0; guard < 100000; ++guard) {
    std::optional<Timestamp> next;
    auto due = [](Node& n) {
      return n.driver ? n.driver->next_timeout() : n.engine->next_timeout();
    };
    for (auto& [name, n] : nodes_)
      if (auto x = due(*n); x && (!next || *x < *next)) next = x;
    if (!next || *next > t) break;
    now_ = std::max(now_, *next);
    for (auto& [name, n] : nodes_) {
      auto x = due(*n);
      if (!x || *x > now_) continue;
      Actions a;
      if (n->driver)
        n->driver->timeout(now_, a);
      else
        n->engine->handle_timeout(now_, a);
      apply(*n, a);
    }
    run();
  }
  now_ = t;
}

ConnectionConfig psk_connection(const std::string& name, const std::string& local_id,
                                const std::string& remote_id, const std::string& remote_addr,
                                const std::string& ike_proposal, const std::string& esp_proposal) {
  ConnectionConfig c;
  c.name = name;
  if (!remote_addr.empty()) c.remote_addrs = {*IpAddress::parse(remote_addr)};
  auto ike = parse_proposal(ike_proposal, ProtocolId::IKE);
  REQUIRE(ike.ok());
  c.proposals = {*ike};
  c.local.id = *Identity::parse(local_id);
  c.remote.id = *Identity::parse(remote_id);
  ChildConfig child;
  child.name = name;
  auto esp = parse_proposal(esp_proposal, ProtocolId::ESP);
  REQUIRE(esp.ok());
  child.esp_proposals = {*esp};
  c.children = {child};
  return c;
}

EngineConfig engine_config(std::vector<ConnectionConfig> conns, const std::string& psk,
                           std::vector<std::string> ids) {
  EngineConfig e;
  e.connections = std::move(conns);
  SharedSecret s;
  for (const auto& id : ids) s.ids.push_back(*Identity::parse(id));
  s.secret = Bytes(psk.begin(), psk.end());
  e.ike_secrets = {s};
  return e;
}

}  // namespace ikeme::sim

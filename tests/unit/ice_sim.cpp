#include "ice_sim.hpp"

#include <stdexcept>

namespace ikeme::icesim {

Nat::Nat(NatConfig c)
    : c_(std::move(c)), public_(*IpAddress::parse(c_.public_address)), next_port_(c_.port_lo) {}

Endpoint Nat::outbound(const Endpoint& inside, const Endpoint& dst) {
  size_t idx;
  if (c_.mapping == Mapping::Symmetric) {
    auto it = symmetric_.find({inside, dst});
    if (it == symmetric_.end()) {
      entries_.push_back(Entry{inside, next_port_++, {}});
      it = symmetric_.emplace(std::make_pair(inside, dst), entries_.size() - 1).first;
    }
    idx = it->second;
  } else {
    auto it = independent_.find(inside);
    if (it == independent_.end()) {
      entries_.push_back(Entry{inside, next_port_++, {}});
      it = independent_.emplace(inside, entries_.size() - 1).first;
    }
    idx = it->second;
  }
  if (next_port_ > c_.port_hi) next_port_ = c_.port_lo;
  entries_[idx].contacted.insert(dst);
  return Endpoint{public_, entries_[idx].port};
}

std::optional<Endpoint> Nat::inbound(const Endpoint& from, uint16_t port) const {
  for (const auto& e : entries_) {
    if (e.port != port) continue;
    switch (c_.filtering) {
      case Filtering::EndpointIndependent:
        return e.inside;
      case Filtering::AddressDependent:
        for (const auto& c : e.contacted)
          if (c.address == from.address) return e.inside;
        break;
      case Filtering::AddressPortDependent:
        if (e.contacted.count(from)) return e.inside;
        break;
    }
  }
  return std::nullopt;
}

void Nat::rebind() {
  entries_.clear();
  symmetric_.clear();
  independent_.clear();
  next_port_ = static_cast<uint16_t>(next_port_ + 7);  // a different port next time
  if (next_port_ > c_.port_hi) next_port_ = c_.port_lo;
}

bool Host::logged(const std::string& fragment) const {
  for (const auto& l : logs)
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

void Network::add_site(const std::string& site, std::optional<NatConfig> nat) {
  sites_.insert(site);
  if (nat) nats_[site] = std::make_unique<Nat>(*nat);
}

Host& Network::add_host(const std::string& name, const std::string& site,
                        const std::string& address) {
  auto h = std::make_unique<Host>();
  h->name = name;
  h->site = site;
  h->address = *IpAddress::parse(address);
  Host& ref = *h;
  hosts_[name] = std::move(h);
  return ref;
}

Host* Network::host_at(const IpAddress& a) {
  for (auto& [n, h] : hosts_)
    if (h->address == a) return h.get();
  return nullptr;
}

std::optional<Endpoint> Network::register_at(const std::string& name, uint16_t port,
                                             const Endpoint& server) {
  Host& h = host(name);
  auto it = nats_.find(h.site);
  if (it == nats_.end()) return std::nullopt;
  return it->second->outbound(Endpoint{h.address, port}, server);
}

void Network::send(const std::string& from_host, const ike::SendDatagram& d) {
  Host& src = host(from_host);
  if (d.from.address != src.address) throw std::logic_error("sending from a foreign address");
  Host* dst = host_at(d.to.address);
  // Inside the same site: straight over the LAN.
  if (dst && dst->site == src.site) {
    queue_.push(Event{now_ + lan_delay, seq_++, dst->name, d.to, d.from, d.data});
    return;
  }
  Endpoint from = d.from;
  auto nat = nats_.find(src.site);
  if (nat != nats_.end()) {
    // A private destination of another site is not routed on the internet.
    if (dst && nats_.count(dst->site)) {
      ++dropped;
      return;
    }
    if (d.to.address == nat->second->public_address()) {  // hairpinning
      from = nat->second->outbound(d.from, d.to);
      if (!nat->second->config().hairpin) {
        ++dropped;
        return;
      }
      auto inside = nat->second->inbound(from, d.to.port);
      Host* h = inside ? host_at(inside->address) : nullptr;
      if (!h) {
        ++dropped;
        return;
      }
      queue_.push(Event{now_ + 2 * lan_delay, seq_++, h->name, *inside, from, d.data});
      return;
    }
    from = nat->second->outbound(d.from, d.to);
  }
  ++public_datagrams;
  if (drop && drop(from, d.to, d.data)) {
    ++dropped;
    return;
  }
  // On the internet: a NAT's public address, or a public host.
  for (auto& [site, n] : nats_) {
    if (n->public_address() != d.to.address) continue;
    auto inside = n->inbound(from, d.to.port);
    Host* h = inside ? host_at(inside->address) : nullptr;
    if (!h) {
      ++dropped;
      return;
    }
    queue_.push(Event{now_ + internet_delay + lan_delay, seq_++, h->name, *inside, from, d.data});
    return;
  }
  if (dst && !nats_.count(dst->site)) {
    queue_.push(Event{now_ + internet_delay, seq_++, dst->name, d.to, from, d.data});
    return;
  }
  ++dropped;
}

void Network::apply(Host& h, ice::AgentOutput& out) {
  for (auto& l : out.logs) h.logs.push_back(std::move(l));
  if (out.nomination) h.nomination = std::move(out.nomination);
  if (out.failure) h.failure = std::move(out.failure);
  for (const auto& d : out.sends) send(h.name, d);
  out = ice::AgentOutput{};
}

void Network::deliver(const Event& e) {
  Host& h = host(e.to_host);
  ice::AgentOutput out;
  bool check = h.agent && h.agent->handle_datagram(e.local, e.remote, e.data, now_, out);
  if (!check) h.non_check.emplace_back(e.local, e.remote);
  apply(h, out);
}

void Network::run_until(Timestamp until) {
  for (int guard = 0;; ++guard) {
    if (guard > 1000000) throw std::logic_error("simulation does not make progress");
    std::optional<Timestamp> next;
    if (!queue_.empty()) next = queue_.top().at;
    for (auto& [n, h] : hosts_)
      if (h->agent)
        if (auto t = h->agent->next_timeout(); t && (!next || *t < *next)) next = *t;
    if (!next || *next > until) {
      now_ = std::max(now_, until);
      return;
    }
    now_ = std::max(now_, *next);
    while (!queue_.empty() && queue_.top().at <= now_) {
      Event e = queue_.top();
      queue_.pop();
      deliver(e);
    }
    for (auto& [n, h] : hosts_) {
      if (!h->agent) continue;
      auto t = h->agent->next_timeout();
      if (t && *t <= now_) {
        ice::AgentOutput out;
        h->agent->handle_timeout(now_, out);
        apply(*h, out);
      }
    }
  }
}

}  // namespace ikeme::icesim

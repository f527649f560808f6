// ikeme-peer's host addresses: the rtnetlink monitor (host_address_monitor.hpp) started with the
// daemon, what it may disclose (ice:, daemon.listen, our TUN device and virtual IPs), its
// changes logged and handed to the mediation client, and `ikemectl list-addresses`.

#include "peer/daemon.hpp"

namespace ikeme::peer {

using ike::Subsystem;

HostAddressPolicy Daemon::host_address_policy() const {
  HostAddressPolicy p;
  p.listen = config_.daemon.listen;
  p.ipv6 = config_.ice.disclose_ipv6;
  p.exclusions = config_.ice.exclusions;
  if (dataplane_ && dataplane_->backend() == esp::Backend::Userspace)
    p.own_interfaces.push_back(config_.daemon.tun_name);
  p.own_addresses = own_vips_;
  return p;
}

void Daemon::start_host_addresses() {
  auto monitor = HostAddressMonitor::start(
      loop_.get(), host_address_policy(),
      [this](const HostAddressSet::Changes& changes) {
        const std::function<void()> work = [&] { on_host_addresses_changed(changes); };
        guarded("host addresses", work);
      },
      [this](int level, std::string text) { log(Subsystem::KNL, level, std::move(text)); });
  if (!monitor) {
    // Not fatal: mediated connections then disclose their mediation SA's local address only.
    log(Subsystem::KNL, 0,
        "cannot watch the host addresses (" + monitor.error() +
            "); mediated connections disclose only the mediation SA's local address");
    return;
  }
  host_addresses_ = std::move(*monitor);
  std::string list;
  for (const ice::HostAddress& h : host_addresses_->addresses().disclosed())
    list += (list.empty() ? "" : ", ") + h.address.to_string() + " on " + h.interface;
  log(Subsystem::KNL, 1, "host addresses: " + (list.empty() ? std::string("none") : list));
  for (const HostAddressEntry& e : host_addresses_->addresses().entries())
    if (e.withheld)
      log(Subsystem::KNL, 2,
          "host address " + e.address.to_string() + " on " + e.interface +
              " not disclosed: " + *e.withheld);
}

void Daemon::on_host_addresses_changed(const HostAddressSet::Changes& changes) {
  std::vector<IpAddress> gone;
  for (const HostAddressChange& c : changes) {
    log(Subsystem::KNL, 1, c.to_string());
    // Withheld by a reload or a virtual IP: the address still works for what uses it now.
    if (!c.appeared && !c.by_policy) gone.push_back(c.host.address);
  }
  // An address still disclosed on another interface is not gone.
  if (host_addresses_)
    for (const ice::HostAddress& h : host_addresses_->addresses().disclosed())
      std::erase(gone, h.address);
  if (!mediation_ || gone.empty() || shutting_down_) return;
  ike::Actions a;
  mediation_->host_addresses_changed(gone, now(), a);
  apply(a);
  after_engine();
}

Json Daemon::list_addresses() const {
  Json list = Json::array();
  if (host_addresses_)
    for (const HostAddressEntry& e : host_addresses_->addresses().entries()) {
      Json j = {{"address", e.address.to_string()},
                {"prefix-length", e.prefix_length},
                {"interface", e.interface},
                {"disclosed", !e.withheld.has_value()}};
      if (e.withheld) j["withheld"] = *e.withheld;
      list.push_back(std::move(j));
    }
  Json reply = ok_reply();
  reply["monitoring"] = host_addresses_ != nullptr;
  reply["addresses"] = std::move(list);
  return reply;
}

}  // namespace ikeme::peer

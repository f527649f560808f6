#include "peer/child_sa_table.hpp"

#include <cstdio>

#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::peer {

namespace {

std::string spi_hex(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", spi);
  return buf;
}

}  // namespace

std::string describe_child(const ike::ChildSaParams& p) {
  std::string mode = p.mode == ike::ChildMode::Tunnel ? "TUNNEL" : "TRANSPORT";
  if (p.udp_encapsulation) mode += "-in-UDP";
  return p.child + "{" + std::to_string(p.unique_id) + "} SPIs " + spi_hex(p.spi_in) + "_i " +
         spi_hex(p.spi_out) + "_o, " + ike::to_string(p.local_ts) +
         " === " + ike::to_string(p.remote_ts) + ", " + mode + ", " + p.local.to_string() + "..." +
         p.remote.to_string();
}

std::string ChildSaTable::apply(const ike::ChildSaEvent& event, ike::Timestamp now) {
  const ike::ChildSaParams& p = event.params;
  if (event.kind == ike::ChildSaEvent::Kind::Installed) {
    children_[p.unique_id] =
        InstalledChild{p.ike_sa_id, p.connection, p.child,        p.unique_id,  p.spi_in,
                       p.spi_out,   now,          p.rekey_time_s, p.life_time_s};
    return "CHILD_SA " + describe_child(p);
  }
  children_.erase(p.unique_id);
  return "CHILD_SA " + p.child + "{" + std::to_string(p.unique_id) + "} SPIs " + spi_hex(p.spi_in) +
         "_i " + spi_hex(p.spi_out) + "_o";
}

const InstalledChild* ChildSaTable::find(uint32_t unique_id) const {
  auto it = children_.find(unique_id);
  return it == children_.end() ? nullptr : &it->second;
}

}  // namespace ikeme::peer

#include "peer/control_json.hpp"

#include <cstdio>

#include "ike/sa/proposals.hpp"
#include "ike/sa/traffic_selectors.hpp"
#include "ikeme_version.hpp"

namespace ikeme::peer {

std::string spi64_hex(uint64_t spi) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(spi));
  return buf;
}

std::string spi32_hex(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", spi);
  return buf;
}

Json split_words(const std::string& text) {
  Json out = Json::array();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

namespace {

const char* mode_name(ike::ChildMode m) {
  return m == ike::ChildMode::Tunnel ? "TUNNEL" : "TRANSPORT";
}

int64_t seconds(ike::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

Json child_sa_json(const ike::ChildSaInfo& c, const ChildSaTable* table, ike::Timestamp now,
                   const esp::Dataplane* dataplane) {
  Json j = {
      {"name", c.name},
      {"uniqueid", c.unique_id},
      {"state", c.state},
      {"mode", mode_name(c.mode)},
      {"protocol", "ESP"},
      {"encap", c.udp_encapsulation},
      {"spi-in", spi32_hex(c.spi_in)},
      {"spi-out", spi32_hex(c.spi_out)},
      {"algorithms", c.algorithms},
      {"local-ts", split_words(c.local_ts)},
      {"remote-ts", split_words(c.remote_ts)},
      {"dataplane", dataplane ? std::string(esp::name(dataplane->backend())) : "none"},
  };
  if (auto n = dataplane ? dataplane->counters(c.unique_id) : std::nullopt) {
    j["bytes-in"] = n->bytes_in;
    j["packets-in"] = n->packets_in;
    j["bytes-out"] = n->bytes_out;
    j["packets-out"] = n->packets_out;
    // vici's use-in/use-out: seconds since the last packet.
    const int64_t now_ms = now.count();
    if (n->last_in_ms) j["use-in"] = (now_ms - static_cast<int64_t>(*n->last_in_ms)) / 1000;
    if (n->last_out_ms) j["use-out"] = (now_ms - static_cast<int64_t>(*n->last_out_ms)) / 1000;
    j["dropped-replay"] = n->dropped_replay;
    j["dropped-integrity"] = n->dropped_integrity;
    j["dropped-malformed"] = n->dropped_malformed;
    j["dropped-policy"] = n->dropped_policy;
    j["dummies"] = n->dummies;
  } else if (dataplane) {
    j["dataplane"] = "not installed";
  }
  if (const InstalledChild* k = table ? table->find(c.unique_id) : nullptr) {
    int64_t age = seconds(now - k->installed);
    j["install-time"] = age;
    if (k->rekey_time_s) j["rekey-time"] = static_cast<int64_t>(k->rekey_time_s) - age;
    if (k->life_time_s) j["life-time"] = static_cast<int64_t>(k->life_time_s) - age;
  }
  return j;
}

Json addresses_json(const std::vector<IpAddress>& list) {
  Json out = Json::array();
  for (const IpAddress& a : list) out.push_back(a.to_string());
  if (list.empty()) out.push_back("%any");
  return out;
}

// A plain list: empty stays empty (virtual IPs, DNS servers).
Json address_list_json(const std::vector<IpAddress>& list) {
  Json out = Json::array();
  for (const IpAddress& a : list) out.push_back(a.to_string());
  return out;
}

Json proposals_json(const std::vector<ike::Proposal>& list) {
  Json out = Json::array();
  for (const ike::Proposal& p : list) out.push_back(ike::describe(p));
  return out;
}

const char* start_action_name(ike::StartAction a) {
  switch (a) {
    case ike::StartAction::None:
      return "none";
    case ike::StartAction::Start:
      return "start";
    case ike::StartAction::Trap:
      return "trap";
  }
  return "?";
}

const char* dpd_action_name(ike::DpdAction a) {
  switch (a) {
    case ike::DpdAction::Clear:
      return "clear";
    case ike::DpdAction::Restart:
      return "restart";
    case ike::DpdAction::Trap:
      return "trap";
  }
  return "?";
}

Json ts_json(const std::vector<ike::TrafficSelector>& list) {
  Json out = Json::array();
  for (const auto& ts : list) out.push_back(ike::to_string(ts));
  if (list.empty()) out.push_back("dynamic");
  return out;
}

Json auth_json(const ike::AuthConfig& a) {
  return Json{{"auth", a.method == ike::AuthMethodConfig::Psk ? "psk" : "pubkey"},
              {"id", a.id.is_any() ? std::string("%any") : a.id.to_string()}};
}

}  // namespace

Json sa_json(const ike::IkeSaInfo& sa, const ChildSaTable* children, ike::Timestamp now,
             const esp::Dataplane* dataplane) {
  Json j = {
      {"name", sa.connection},
      {"uniqueid", sa.id},
      {"version", 2},
      {"state", sa.state},
      {"initiator", sa.initiator},
      {"initiator-spi", spi64_hex(sa.spi_i)},
      {"responder-spi", spi64_hex(sa.spi_r)},
      {"local-host", sa.local.address.to_string()},
      {"local-port", sa.local.port},
      {"local-id", sa.local_id},
      {"remote-host", sa.remote.address.to_string()},
      {"remote-port", sa.remote.port},
      {"remote-id", sa.remote_id},
      {"algorithms", sa.algorithms},
      {"nat-local", sa.nat_local},
      {"nat-remote", sa.nat_remote},
      {"local-vips", address_list_json(sa.local_vips)},
      {"remote-vips", address_list_json(sa.remote_vips)},
  };
  if (sa.server_reflexive) j["server-reflexive"] = sa.server_reflexive->to_string();
  Json kids = Json::array();
  for (const ike::ChildSaInfo& c : sa.children)
    kids.push_back(child_sa_json(c, children, now, dataplane));
  j["child-sas"] = std::move(kids);
  return j;
}

Json conn_json(const ike::ConnectionConfig& c) {
  Json j = {
      {"name", c.name},
      {"local-addrs", addresses_json(c.local_addrs)},
      {"remote-addrs", addresses_json(c.remote_addrs)},
      {"remote-port", c.remote_port},
      {"proposals", proposals_json(c.proposals)},
      {"local", auth_json(c.local)},
      {"remote", auth_json(c.remote)},
      {"dpd-delay", seconds(c.dpd_delay)},
      {"dpd-timeout", seconds(c.dpd_timeout)},
      {"keyingtries", c.keyingtries},
      {"fragmentation", c.fragmentation},
      {"mediation", c.mediation},
      {"vips", address_list_json(c.vips)},
      {"pools", Json(c.pools)},
  };
  if (!c.mediated_by.empty()) {
    j["mediated-by"] = c.mediated_by;
    j["mediation-peer"] = c.mediation_peer ? c.mediation_peer->to_string() : "";
  }
  Json kids = Json::array();
  for (const ike::ChildConfig& ch : c.children) {
    kids.push_back(Json{
        {"name", ch.name},
        {"mode", mode_name(ch.mode)},
        {"local-ts", ts_json(ch.local_ts)},
        {"remote-ts", ts_json(ch.remote_ts)},
        {"esp-proposals", proposals_json(ch.esp_proposals)},
        {"start-action", start_action_name(ch.start_action)},
        {"dpd-action", dpd_action_name(ch.dpd_action)},
        {"rekey-time", ch.rekey_time_s},
        {"life-time", ch.life_time_s},
    });
  }
  j["children"] = std::move(kids);
  return j;
}

Json pools_json(const std::vector<ike::PoolInfo>& pools) {
  Json out = Json::array();
  for (const ike::PoolInfo& p : pools) {
    Json leases = Json::array();
    for (const ike::LeaseInfo& l : p.leases)
      leases.push_back(Json{{"address", l.address.to_string()},
                            {"identity", l.identity},
                            {"status", l.online ? "online" : "offline"}});
    out.push_back(Json{
        {"name", p.name},
        {"base", p.first.to_string()},
        {"last", p.last.to_string()},
        {"size", p.size},
        {"online", p.online},
        {"offline", p.offline},
        {"dns", address_list_json(p.dns)},
        {"leases", std::move(leases)},
    });
  }
  return out;
}

Json stats_json(const StatsInput& in) {
  Json j = {
      {"version", ikeme::kVersion}, {"pid", in.pid},
      {"uptime", in.uptime_s},      {"config-file", in.config_file},
      {"listening", in.listening},  {"ike-sas", in.ike_sas},
      {"half-open", in.half_open},  {"child-sas", in.child_sas},
  };
  j["control-clients"] = in.control_clients;
  if (const ike::EngineStats* e = in.engine) {
    j["engine"] = Json{
        {"datagrams-in", e->datagrams_in},
        {"malformed", e->malformed},
        {"cookies-sent", e->cookies_sent},
        {"half-open-dropped", e->half_open_dropped},
        {"unknown-spi", e->unknown_spi},
        {"retries", e->retries},
        {"ike-established", e->ike_established},
        {"ike-failed", e->ike_failed},
        {"children-installed", e->children_installed},
    };
  }
  if (const DaemonCounters* d = in.daemon) {
    j["daemon"] = Json{
        {"datagrams-received", d->datagrams_received},
        {"datagrams-sent", d->datagrams_sent},
        {"send-errors", d->send_errors},
        {"receive-errors", d->receive_errors},
        {"truncated", d->truncated},
        {"esp-dropped", d->esp_dropped},
        {"esp-received", d->esp_received},
        {"keepalives-received", d->keepalives_received},
        {"control-requests", d->control_requests},
        {"control-errors", d->control_errors},
    };
  }
  if (const esp::Dataplane* dp = in.dataplane) {
    esp::DataplaneStats s = dp->stats();
    j["dataplane"] = Json{
        {"backend", esp::name(dp->backend())},
        {"unknown-spi", s.unknown_spi},
        {"no-sa", s.no_sa},
        {"send-errors", s.send_errors},
        {"device-errors", s.device_errors},
        {"too-big", s.too_big},
        {"gso-packets", s.gso_packets},
        {"gso-segments", s.gso_segments},
        {"joined-segments", s.joined_segments},
        {"device-writes", s.device_writes},
    };
  } else {
    j["dataplane"] = Json{{"backend", "none"}};
  }
  return j;
}

}  // namespace ikeme::peer

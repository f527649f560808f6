// Configuration payloads in IKE_AUTH (RFC 7296 §3.15, §2.19): the initiator asks for virtual
// IPs (and DNS servers), the responder assigns them from the connection's pools, and the
// assigned address becomes the initiator's traffic selector, as strongSwan does.

#include "ike/sa/ike_sa.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::ike {
namespace {

bool is_wildcard(const IpAddress& a) {
  for (uint8_t b : a.bytes())
    if (b != 0) return false;
  return true;
}

CfgAttr address_attr(IpAddress::Family f) {
  return f == IpAddress::Family::V4 ? CfgAttr::INTERNAL_IP4_ADDRESS : CfgAttr::INTERNAL_IP6_ADDRESS;
}

CfgAttr dns_attr(IpAddress::Family f) {
  return f == IpAddress::Family::V4 ? CfgAttr::INTERNAL_IP4_DNS : CfgAttr::INTERNAL_IP6_DNS;
}

// INTERNAL_IP6_ADDRESS carries a prefix length after the address (RFC 7296 §3.15.1).
Bytes address_value(const IpAddress& a) {
  ByteView b = a.bytes();
  Bytes v(b.begin(), b.end());
  if (!a.is_v4()) v.push_back(128);
  return v;
}

std::optional<IpAddress> value_address(const ConfigAttribute& a) {
  ByteView v(a.value);
  if (a.type == CfgAttr::INTERNAL_IP6_ADDRESS && v.size() == 17) v = v.first(16);
  return IpAddress::from_bytes(v);
}

std::string join(const std::vector<IpAddress>& list) {
  std::string s;
  for (const IpAddress& a : list) s += (s.empty() ? "" : " ") + a.to_string();
  return s;
}

}  // namespace

std::optional<Payload> IkeSa::cp_request() const {
  if (conn_->vips.empty()) return std::nullopt;
  ConfigPayload cp{CfgType::CFG_REQUEST, {}};
  for (const IpAddress& vip : conn_->vips) {
    cp.attributes.push_back(
        {address_attr(vip.family()), is_wildcard(vip) ? Bytes{} : address_value(vip)});
    cp.attributes.push_back({dns_attr(vip.family()), {}});
  }
  return Payload{PayloadType::CP, false, std::move(cp)};
}

std::vector<TrafficSelector> IkeSa::vip_request_selectors() const {
  std::vector<TrafficSelector> out;
  bool v4 = false, v6 = false;
  for (const IpAddress& vip : conn_->vips) {
    bool& seen = vip.is_v4() ? v4 : v6;
    if (seen) continue;
    seen = true;
    TrafficSelector ts;
    ts.type = vip.is_v4() ? TsType::IPV4_ADDR_RANGE : TsType::IPV6_ADDR_RANGE;
    ts.start_address.assign(vip.is_v4() ? 4 : 16, 0x00);
    ts.end_address.assign(vip.is_v4() ? 4 : 16, 0xff);
    out.push_back(std::move(ts));
  }
  return out;
}

void IkeSa::take_cp_reply(const std::vector<Payload>& inner, Actions& out) {
  if (conn_->vips.empty()) return;
  for (const Payload& p : inner) {
    const auto* cp = p.as<ConfigPayload>();
    if (!cp || cp->type != CfgType::CFG_REPLY) continue;
    for (const ConfigAttribute& a : cp->attributes) {
      bool address =
          a.type == CfgAttr::INTERNAL_IP4_ADDRESS || a.type == CfgAttr::INTERNAL_IP6_ADDRESS;
      bool dns = a.type == CfgAttr::INTERNAL_IP4_DNS || a.type == CfgAttr::INTERNAL_IP6_DNS;
      if (!address && !dns) continue;
      auto ip = value_address(a);
      if (!ip || is_wildcard(*ip)) continue;
      (address ? local_vips_ : local_dns_).push_back(*ip);
    }
  }
  for (const IpAddress& dns : local_dns_) log(out, 1, "received DNS server " + dns.to_string());
  if (local_vips_.empty()) {
    log(out, 0, "peer assigned no virtual IP (asked for " + join(conn_->vips) + ")");
    return;
  }
  for (const IpAddress& vip : local_vips_) {
    log(out, 0, "installing new virtual IP " + vip.to_string());
    out.vips.push_back(VirtualIpEvent{VirtualIpEvent::Kind::Assigned, VirtualIpEvent::Side::Local,
                                      id_, conn_->name, vip, "", local_dns_});
  }
}

IkeSa::CpResult IkeSa::respond_cp(const std::vector<Payload>& inner, std::vector<Payload>& resp,
                                  Actions& out) {
  std::vector<IpAddress> requested;  // one per family, wildcard = any
  for (const Payload& p : inner) {
    const auto* cp = p.as<ConfigPayload>();
    if (!cp || cp->type != CfgType::CFG_REQUEST) continue;
    for (const ConfigAttribute& a : cp->attributes) {
      if (a.type != CfgAttr::INTERNAL_IP4_ADDRESS && a.type != CfgAttr::INTERNAL_IP6_ADDRESS)
        continue;
      IpAddress any = a.type == CfgAttr::INTERNAL_IP4_ADDRESS ? IpAddress() : IpAddress::v6({});
      auto ip = a.value.empty() ? std::optional(any) : value_address(a);
      if (ip) requested.push_back(*ip);
    }
  }
  if (requested.empty()) return CpResult::NotRequested;
  const std::string identity = remote_id_.to_string();
  ConfigPayload reply{CfgType::CFG_REPLY, {}};
  for (const IpAddress& want : requested) {
    log(out, 1,
        "peer requested virtual IP " +
            (is_wildcard(want) ? std::string(want.is_v4() ? "%any" : "%any6") : want.to_string()));
    bool found = false;
    for (const std::string& name : conn_->pools) {
      AddressPool* pool = ctx_.pools ? ctx_.pools->find(name) : nullptr;
      if (!pool || pool->family() != want.family()) continue;
      auto got = pool->acquire(identity, is_wildcard(want) ? std::nullopt : std::optional(want),
                               initial_contact_);
      if (!got) {
        log(out, 1, "pool '" + name + "' has no address left for '" + identity + "'");
        continue;
      }
      log(out, 0, "assigning virtual IP " + got->to_string() + " to peer '" + identity + "'");
      remote_vips_.push_back(PoolLease{name, *got});
      reply.attributes.push_back({address_attr(got->family()), address_value(*got)});
      for (const IpAddress& d : pool->config().dns)
        reply.attributes.push_back(
            {dns_attr(d.family()), Bytes(d.bytes().begin(), d.bytes().end())});
      out.vips.push_back(VirtualIpEvent{VirtualIpEvent::Kind::Assigned,
                                        VirtualIpEvent::Side::Remote, id_, conn_->name, *got, name,
                                        pool->config().dns});
      found = true;
      break;
    }
    if (!found)
      log(out, 0,
          "no virtual IP found for " +
              (is_wildcard(want) ? std::string(want.is_v4() ? "%any" : "%any6")
                                 : want.to_string()) +
              " requested by '" + identity + "'" +
              (conn_->pools.empty() ? " (the connection has no pools)" : ""));
  }
  if (remote_vips_.empty()) {
    log(out, 0, "no virtual IP found, sending INTERNAL_ADDRESS_FAILURE");
    resp.push_back(make_notify(NotifyType::INTERNAL_ADDRESS_FAILURE));
    return CpResult::Failed;
  }
  resp.push_back(Payload{PayloadType::CP, false, std::move(reply)});
  return CpResult::Assigned;
}

void IkeSa::release_virtual_ips(Actions& out) {
  for (const PoolLease& l : remote_vips_) {
    AddressPool* pool = ctx_.pools ? ctx_.pools->find(l.pool) : nullptr;
    if (pool && pool->release(remote_id_.to_string(), l.address))
      log(out, 1,
          "lease " + l.address.to_string() + " of pool '" + l.pool + "' for '" +
              remote_id_.to_string() + "' is offline");
    out.vips.push_back(VirtualIpEvent{VirtualIpEvent::Kind::Released,
                                      VirtualIpEvent::Side::Remote,
                                      id_,
                                      conn_ ? conn_->name : "",
                                      l.address,
                                      l.pool,
                                      {}});
  }
  for (const IpAddress& vip : local_vips_) {
    log(out, 1, "removing virtual IP " + vip.to_string());
    out.vips.push_back(VirtualIpEvent{VirtualIpEvent::Kind::Released,
                                      VirtualIpEvent::Side::Local,
                                      id_,
                                      conn_ ? conn_->name : "",
                                      vip,
                                      "",
                                      {}});
  }
  remote_vips_.clear();
  local_vips_.clear();
}

}  // namespace ikeme::ike

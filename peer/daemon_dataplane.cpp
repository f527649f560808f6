// The daemon's side of the ESP data plane: creating the backend daemon.esp_backend asks for,
// handing it the engine's CHILD_SAs, sending its ESP-in-UDP, and acting on its expiry events.

#include <algorithm>
#include <bit>

#include "ike/codec/framing.hpp"
#include "peer/daemon.hpp"

namespace ikeme::peer {

using ike::Subsystem;

namespace {

esp::Backend backend_of(config::EspBackend b) {
  switch (b) {
    case config::EspBackend::Xfrm:
      return esp::Backend::Xfrm;
    case config::EspBackend::Userspace:
      return esp::Backend::Userspace;
    case config::EspBackend::None:
      return esp::Backend::None;
    case config::EspBackend::Auto:
      break;
  }
  return esp::Backend::Auto;
}

}  // namespace

Status<std::string> Daemon::start_dataplane() {
  const config::DaemonSettings& d = config_.daemon;
  esp::DataplaneOptions o;
  o.backend = backend_of(d.esp_backend);
  if (o.backend == esp::Backend::None) {
    log(Subsystem::KNL, 0,
        "no ESP data plane (esp_backend: none): CHILD_SAs are negotiated but carry no traffic");
    return {};
  }
  o.tun_name = d.tun_name;
  o.tun_mtu = d.tun_mtu;
  o.tun_offload = d.tun_offload;
  o.replay_window = d.replay_window;
  o.install_routes = d.install_routes;
  o.firewall = d.firewall;
  esp::DataplaneHooks hooks;
  hooks.send_udp = [this](const ike::Endpoint& from, const ike::Endpoint& to, ByteView data) {
    send_esp(from, to, data);
  };
  hooks.on_event = [this](const esp::DataplaneEvent& e) {
    // Called from the data plane's libuv callbacks: nothing may unwind through libuv.
    try {
      on_dataplane_event(e);
    } catch (const std::exception& ex) {
      log(Subsystem::CFG, 0, std::string("internal error in data plane event: ") + ex.what());
      exit_code_ = 1;
      stop();
    }
  };
  hooks.log = [this](Subsystem s, int level, std::string text) { log(s, level, std::move(text)); };
  auto dp = esp::make_dataplane(loop_.get(), o, std::move(hooks));
  if (!dp) return Unexpected{"ESP data plane: " + dp.error()};
  dataplane_ = std::move(*dp);
  for (UdpSocket& s : pump_->sockets().sockets())
    if (s.bound().port == config_.engine.port_nat_t)
      if (auto r = dataplane_->prepare_nat_t_socket(s.fd()); !r)
        return Unexpected{"ESP data plane: preparing " + s.bound().to_string() + ": " + r.error()};
  // ESP goes to the data plane at once, decrypted in place in the receive buffer.
  pump_->set_intercept(
      [this](const ReceivedDatagram& d, std::span<uint8_t> data) {
        if (d.local.port != config_.engine.port_nat_t || d.local.port == config_.engine.port)
          return false;
        if (ike::classify_nat_t(ByteView(data.data(), data.size())).kind != ike::DatagramKind::Esp)
          return false;
        ++counters_.esp_received;
        dataplane_->handle_esp(d.local, d.remote, data, now());
        return true;
      },
      [this] { dataplane_->flush_received(); });
  force_encapsulation(config_.engine, true);
  return {};
}

void Daemon::force_encapsulation(ike::EngineConfig& engine, bool announce) {
  if (!dataplane_ || !dataplane_->requires_udp_encapsulation()) return;
  size_t forced = 0;
  for (ike::ConnectionConfig& c : engine.connections)
    if (!c.encap && !c.mediation) {
      c.encap = true;
      ++forced;
    }
  if (announce && forced)
    log(Subsystem::CFG, 1,
        "the " + std::string(esp::name(dataplane_->backend())) +
            " data plane carries ESP only in UDP: encap: yes forced on " + std::to_string(forced) +
            " connection(s)");
}

void Daemon::apply_child(const ike::ChildSaEvent& e, ike::Timestamp t) {
  const ike::ChildSaParams& p = e.params;
  const bool installed = e.kind == ike::ChildSaEvent::Kind::Installed;
  std::string text = children_.apply(e, t);
  auto knl = [&](int level, std::string line) {
    if (log_.enabled(Subsystem::KNL, level))
      log_.write(ike::LogLine{Subsystem::KNL, level, p.ike_sa_id, p.connection, std::move(line)});
  };
  if (!dataplane_) {
    knl(1, text + (installed ? " not installed" : " gone") + " (esp_backend: none)");
    return;
  }
  auto s = installed ? dataplane_->install(p) : dataplane_->remove(p);
  if (!s) {
    knl(0, std::string(installed ? "unable to install " : "unable to remove ") + text + ": " +
               s.error());
    return;
  }
  knl(2, std::string(installed ? "installed " : "removed ") + text);
}

void Daemon::apply_virtual_ip(const ike::VirtualIpEvent& v) {
  const bool assigned = v.kind == ike::VirtualIpEvent::Kind::Assigned;
  auto knl = [&](int level, std::string line) {
    if (log_.enabled(Subsystem::KNL, level))
      log_.write(ike::LogLine{Subsystem::KNL, level, v.ike_sa_id, v.connection, std::move(line)});
  };
  if (v.side == ike::VirtualIpEvent::Side::Remote) {
    // An address we leased to the peer: nothing to install here, its CHILD_SA routes it.
    knl(1, "virtual IP " + v.address.to_string() + " of pool '" + v.pool + "' " +
               (assigned ? "leased to" : "released by") + " the peer");
    return;
  }
  // Never a HOST candidate while it is ours (before the kernel reports it on an interface).
  if (assigned)
    own_vips_.push_back(v.address);
  else
    std::erase(own_vips_, v.address);
  if (host_addresses_) host_addresses_->set_policy(host_address_policy());
  if (!dataplane_) {
    knl(1, "virtual IP " + v.address.to_string() + (assigned ? " assigned to us" : " released") +
               " (esp_backend: none: not added to an interface)");
    return;
  }
  auto s =
      assigned ? dataplane_->add_virtual_ip(v.address) : dataplane_->remove_virtual_ip(v.address);
  if (!s) {
    knl(0, std::string(assigned ? "unable to add virtual IP " : "unable to remove virtual IP ") +
               v.address.to_string() + ": " + s.error());
    return;
  }
  knl(1, std::string(assigned ? "virtual IP " : "removed virtual IP ") + v.address.to_string() +
             (assigned ? " assigned to us, added to the " +
                             std::string(esp::name(dataplane_->backend())) + " data plane"
                       : ""));
}

void Daemon::send_esp(const ike::Endpoint& from, const ike::Endpoint& to, ByteView data) {
  UdpSocket* s = pump_->sockets().for_source(from);
  if (!s) {
    ++counters_.send_errors;
    return;
  }
  if (auto r = s->send(from, to, data); !r) {
    ++counters_.send_errors;
    if (counters_.send_errors == 1 || std::has_single_bit(counters_.send_errors))
      log(Subsystem::NET, 1, "error sending ESP packet: " + r.error());
    return;
  }
  ++counters_.datagrams_sent;
}

void Daemon::on_dataplane_event(const esp::DataplaneEvent& e) {
  using Kind = esp::DataplaneEvent::Kind;
  if (e.kind == Kind::Acquire) {
    log(Subsystem::KNL, 1, "acquire for traffic without a CHILD_SA ignored (no trap policies)");
    return;
  }
  const InstalledChild* c = children_.find(e.unique_id);
  if (!c) return;  // already gone
  const std::string what = c->child + "{" + std::to_string(c->unique_id) + "}";
  if (e.kind == Kind::SoftExpire) {
    // XFRM reports both directions' SAs; the second report finds the rekeying under way.
    ike::Actions a;
    auto st = engine_->rekey_child(e.unique_id, now(), a);
    apply(a);
    after_engine();
    if (!st) log(Subsystem::CHD, 2, "soft lifetime of CHILD_SA " + what + ": " + st.error());
    return;
  }
  // HardExpire: the SA must not carry more traffic. A CHILD_SA that a rekeying already replaced
  // just goes; otherwise (its rekeying failed) the only way to new keys is a new IKE SA: delete
  // this one and, where we can initiate, start it again.
  {
    ike::Actions a;
    const bool replaced = engine_->expire_replaced_child(e.unique_id, now(), a);
    apply(a);
    after_engine();
    if (replaced) return;
  }
  c = children_.find(e.unique_id);
  if (!c) return;
  const uint32_t sa_id = c->ike_sa_id;
  const std::string connection = c->connection, child = c->child;
  bool can_initiate = false;
  for (const ike::ConnectionConfig& conn : engine_->config().connections)
    if (conn.name == connection && !conn.remote_addrs.empty()) can_initiate = true;
  log(Subsystem::CHD, 0,
      "CHILD_SA " + what + " expired (life time or sequence numbers used up): deleting IKE SA #" +
          std::to_string(sa_id) +
          (can_initiate ? " and reauthenticating" : " (the peer has to initiate again)"));
  ike::Actions a;
  (void)engine_->terminate(connection, sa_id, now(), a);
  apply(a);
  after_engine();
  if (can_initiate && !shutting_down_) (void)initiate(connection, child);
}

}  // namespace ikeme::peer

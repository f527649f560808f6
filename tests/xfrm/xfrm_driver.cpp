// xfrm_driver: runs the XFRM data plane (esp-kernel/xfrm) in one network namespace with a
// hand-built CHILD_SA, for tests/xfrm/xfrm_kernel_test.sh inside the VM (the host kernel has no
// ESP). Two drivers with mirrored arguments (SPIs swapped, local/remote swapped) form a working
// ESP tunnel: the keys of an SA are derived from its SPI, so both ends agree without IKE.
//
//   xfrm_driver --probe                          prints probe_kernel_esp()'s verdict (exit 0/1)
//   xfrm_driver --flush-only [--reqid-base N]    creates the backend (flushing stale state), exits
//   xfrm_driver --local A --remote B --local-ts T --remote-ts T --spi-in X --spi-out Y
//               [--mode tunnel|transport] [--encap] [--alg NAME] [--uid N] [--soft S --hard S]
//               [--firewall] [--no-routes] [--vip IP] [--state FILE]
//     installs the CHILD_SA, prints "ready", then one line per data-plane event
//     ("event soft-expire uid=1 spi=... inbound=1") and, every 200 ms, rewrites FILE with the
//     counters ("bytes_in=... packets_in=... bytes_out=... packets_out=..."); SIGTERM: shutdown
//     (everything removed) and exit 0.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "esp-kernel/xfrm/xfrm_dataplane.hpp"
#include "ike/sa/traffic_selectors.hpp"

using namespace ikeme;

namespace {

struct Args {
  bool probe = false, flush_only = false, encap = false, firewall = false, routes = true;
  std::string local, remote, local_ts, remote_ts, mode = "tunnel", alg = "aes128gcm16", vip, state;
  uint32_t spi_in = 0, spi_out = 0, uid = 1, reqid_base = 0x1c0e0000;
  uint64_t soft = 0, hard = 0;
};

[[noreturn]] void die(const std::string& why) {
  std::cerr << "xfrm_driver: " << why << "\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + k);
      return argv[++i];
    };
    if (k == "--probe")
      a.probe = true;
    else if (k == "--flush-only")
      a.flush_only = true;
    else if (k == "--encap")
      a.encap = true;
    else if (k == "--firewall")
      a.firewall = true;
    else if (k == "--no-routes")
      a.routes = false;
    else if (k == "--local")
      a.local = val();
    else if (k == "--remote")
      a.remote = val();
    else if (k == "--local-ts")
      a.local_ts = val();
    else if (k == "--remote-ts")
      a.remote_ts = val();
    else if (k == "--mode")
      a.mode = val();
    else if (k == "--alg")
      a.alg = val();
    else if (k == "--vip")
      a.vip = val();
    else if (k == "--state")
      a.state = val();
    else if (k == "--spi-in")
      a.spi_in = static_cast<uint32_t>(std::stoul(val(), nullptr, 0));
    else if (k == "--spi-out")
      a.spi_out = static_cast<uint32_t>(std::stoul(val(), nullptr, 0));
    else if (k == "--uid")
      a.uid = static_cast<uint32_t>(std::stoul(val(), nullptr, 0));
    else if (k == "--reqid-base")
      a.reqid_base = static_cast<uint32_t>(std::stoul(val(), nullptr, 0));
    else if (k == "--soft")
      a.soft = std::stoull(val());
    else if (k == "--hard")
      a.hard = std::stoull(val());
    else
      die("unknown argument " + k);
  }
  return a;
}

// Test keys: a function of the SPI only, so both ends derive the same key for one SA.
Bytes test_key(uint32_t spi, size_t n, uint8_t salt) {
  Bytes k(n);
  for (size_t i = 0; i < n; ++i) {
    k[i] = static_cast<uint8_t>((spi >> ((i % 4) * 8)) ^ (i * 37) ^ salt);
  }
  return k;
}

ike::EspAlgorithms algorithms(const std::string& name) {
  ike::EspAlgorithms a;
  if (name == "aes128gcm16") return {ike::EncrId::AES_GCM_16, 128, ike::IntegId::NONE, false};
  if (name == "aes256gcm16") return {ike::EncrId::AES_GCM_16, 256, ike::IntegId::NONE, false};
  if (name == "chacha20poly1305") {
    return {ike::EncrId::CHACHA20_POLY1305, 256, ike::IntegId::NONE, false};
  }
  if (name == "aes128-sha256") return {ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128};
  if (name == "aes256-sha384") return {ike::EncrId::AES_CBC, 256, ike::IntegId::HMAC_SHA2_384_192};
  if (name == "aes256-sha512") return {ike::EncrId::AES_CBC, 256, ike::IntegId::HMAC_SHA2_512_256};
  if (name == "aes128gcm16-esn") return {ike::EncrId::AES_GCM_16, 128, ike::IntegId::NONE, true};
  die("unknown algorithm " + name);
}

ike::TrafficSelector selector(const std::string& text) {
  auto ts = ike::parse_traffic_selector(text);
  if (!ts || !*ts) die("bad traffic selector " + text);
  return **ts;
}

IpAddress address(const std::string& text) {
  auto a = IpAddress::parse(text);
  if (!a) die("bad address " + text);
  return *a;
}

const char* kind_name(esp::DataplaneEvent::Kind k) {
  switch (k) {
    case esp::DataplaneEvent::Kind::SoftExpire:
      return "soft-expire";
    case esp::DataplaneEvent::Kind::HardExpire:
      return "hard-expire";
    case esp::DataplaneEvent::Kind::Acquire:
      return "acquire";
  }
  return "?";
}

struct Runtime {
  std::unique_ptr<esp::Dataplane> dp;
  uint32_t uid = 0;
  std::string state;
  uv_signal_t sigterm, sigint;
  uv_timer_t timer;
  int udp_fd = -1;
};

void write_state(Runtime& rt) {
  if (rt.state.empty()) return;
  auto c = rt.dp->counters(rt.uid);
  const std::string tmp = rt.state + ".tmp";
  {
    std::ofstream f(tmp);
    if (c) {
      f << "bytes_in=" << c->bytes_in << " packets_in=" << c->packets_in
        << " bytes_out=" << c->bytes_out << " packets_out=" << c->packets_out
        << " last_in=" << (c->last_in_ms ? "yes" : "no") << "\n";
    } else {
      f << "none\n";
    }
  }
  std::rename(tmp.c_str(), rt.state.c_str());
}

void stop(Runtime& rt) {
  rt.dp->shutdown();
  write_state(rt);
  uv_stop(uv_default_loop());
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.probe) {
    auto st = esp::probe_kernel_esp();
    if (st) {
      std::cout << "probe: the kernel can install ESP SAs\n";
      return 0;
    }
    std::cout << "probe: " << st.error() << "\n";
    return 1;
  }
  uv_loop_t* loop = uv_default_loop();
  Runtime rt;
  esp::DataplaneOptions options;
  options.backend = esp::Backend::Xfrm;
  options.reqid_base = a.reqid_base;
  options.firewall = a.firewall;
  options.install_routes = a.routes;
  esp::DataplaneHooks hooks;
  hooks.log = [](ike::Subsystem, int level, std::string text) {
    std::cout << "log[" << level << "] " << text << std::endl;
  };
  hooks.on_event = [&rt](const esp::DataplaneEvent& ev) {
    std::cout << "event " << kind_name(ev.kind) << " uid=" << ev.unique_id << " spi=" << std::hex
              << ev.spi << std::dec << " inbound=" << ev.inbound;
    if (ev.source && ev.destination) {
      std::cout << " ts=" << ike::to_string(*ev.source) << "==" << ike::to_string(*ev.destination);
    }
    std::cout << std::endl;
    (void)rt;
  };
  auto made = esp::make_xfrm_dataplane(loop, options, hooks);
  if (!made) die(made.error());
  rt.dp = std::move(*made);
  if (a.flush_only) {
    rt.dp->shutdown();
    uv_run(loop, UV_RUN_NOWAIT);  // lets the event socket's poll handle finish closing
    std::cout << "flushed" << std::endl;
    return 0;
  }

  ike::ChildSaParams c;
  c.connection = "test";
  c.child = "test";
  c.unique_id = a.uid;
  c.spi_in = a.spi_in;
  c.spi_out = a.spi_out;
  c.algorithms = algorithms(a.alg);
  auto sizes_aead = [&](uint32_t spi, bool encr) {
    const ike::EspAlgorithms& al = c.algorithms;
    size_t n = 0;
    if (encr) {
      n = al.encr == ike::EncrId::CHACHA20_POLY1305 ? 36
          : al.encr == ike::EncrId::AES_CBC         ? al.key_bits / 8
                                                    : al.key_bits / 8 + 4;
    } else {
      n = al.integ == ike::IntegId::HMAC_SHA2_256_128   ? 32
          : al.integ == ike::IntegId::HMAC_SHA2_384_192 ? 48
          : al.integ == ike::IntegId::HMAC_SHA2_512_256 ? 64
                                                        : 0;
    }
    return test_key(spi, n, encr ? 0x5a : 0xa5);
  };
  c.encr_key_in = sizes_aead(a.spi_in, true);
  c.integ_key_in = sizes_aead(a.spi_in, false);
  c.encr_key_out = sizes_aead(a.spi_out, true);
  c.integ_key_out = sizes_aead(a.spi_out, false);
  c.local_ts = {selector(a.local_ts)};
  c.remote_ts = {selector(a.remote_ts)};
  c.mode = a.mode == "transport" ? ike::ChildMode::Transport : ike::ChildMode::Tunnel;
  c.local = {address(a.local), static_cast<uint16_t>(a.encap ? 4500 : 500)};
  c.remote = {address(a.remote), static_cast<uint16_t>(a.encap ? 4500 : 500)};
  c.udp_encapsulation = a.encap;
  c.rekey_time_s = a.soft;
  c.life_time_s = a.hard;

  if (a.encap) {
    // The daemon's NAT-T socket: the kernel decapsulates ESP-in-UDP only on a socket with
    // UDP_ENCAP_ESPINUDP.
    const bool v4 = c.local.address.is_v4();
    rt.udp_fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    if (v4) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(4500);
      std::memcpy(&sa.sin_addr, c.local.address.bytes().data(), 4);
      if (bind(rt.udp_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind 4500");
    } else {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(4500);
      std::memcpy(&sa.sin6_addr, c.local.address.bytes().data(), 16);
      if (bind(rt.udp_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind 4500");
    }
    if (auto st = rt.dp->prepare_nat_t_socket(rt.udp_fd); !st) die(st.error());
  }
  // Before the CHILD_SA, in the daemon's order: the address waits on lo and moves to the
  // interface towards the peer when the CHILD_SA is installed.
  if (!a.vip.empty()) {
    if (auto st = rt.dp->add_virtual_ip(address(a.vip)); !st) die(st.error());
  }
  if (auto st = rt.dp->install(c); !st) die(st.error());
  rt.uid = c.unique_id;
  rt.state = a.state;
  write_state(rt);
  std::cout << "ready" << std::endl;

  uv_signal_init(loop, &rt.sigterm);
  uv_signal_init(loop, &rt.sigint);
  rt.sigterm.data = rt.sigint.data = &rt;
  auto on_signal = [](uv_signal_t* h, int) { stop(*static_cast<Runtime*>(h->data)); };
  uv_signal_start(&rt.sigterm, on_signal, SIGTERM);
  uv_signal_start(&rt.sigint, on_signal, SIGINT);
  uv_timer_init(loop, &rt.timer);
  rt.timer.data = &rt;
  uv_timer_start(
      &rt.timer, [](uv_timer_t* t) { write_state(*static_cast<Runtime*>(t->data)); }, 200, 200);
  uv_run(loop, UV_RUN_DEFAULT);
  // Close what is still open so that the loop ends with nothing allocated (ASan's leak check).
  uv_close(reinterpret_cast<uv_handle_t*>(&rt.sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt.timer), nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  std::cout << "exited" << std::endl;
  if (rt.udp_fd >= 0) close(rt.udp_fd);
  return 0;
}

#include "peer/ctl/listing.hpp"

namespace ikeme::ctl {

std::string get_string(const Json& j, const char* key, const std::string& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return fallback;
}

int64_t get_int(const Json& j, const char* key, int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  return it->get<int64_t>();
}

bool get_bool(const Json& j, const char* key, bool fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return fallback;
  return it->get<bool>();
}

const Json& get_array(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return kEmpty;
  return *it;
}

namespace {

std::string join(const Json& array, const std::string& sep) {
  std::string out;
  for (const Json& x : array) {
    if (!out.empty()) out += sep;
    out += x.is_string() ? x.get<std::string>() : x.dump();
  }
  return out;
}

void format_child(std::string& out, const Json& c) {
  std::string mode = get_string(c, "mode");
  if (get_bool(c, "encap")) mode += "-in-UDP";
  out += "  " + get_string(c, "name") + ": #" + get_string(c, "uniqueid") + ", " +
         get_string(c, "state") + ", " + mode + ", " + get_string(c, "protocol", "ESP") + ":" +
         get_string(c, "algorithms") + "\n";
  std::string times;
  if (c.contains("install-time"))
    times += "installed " + std::to_string(get_int(c, "install-time")) + "s ago";
  if (c.contains("rekey-time"))
    times += (times.empty() ? "" : ", ") + std::string("rekeying in ") +
             std::to_string(get_int(c, "rekey-time")) + "s";
  if (c.contains("life-time"))
    times += (times.empty() ? "" : ", ") + std::string("expires in ") +
             std::to_string(get_int(c, "life-time")) + "s";
  const std::string dataplane = get_string(c, "dataplane", "");
  if (dataplane == "none")
    times += (times.empty() ? "" : ", ") + std::string("no data plane");
  else if (dataplane == "not installed")
    times += (times.empty() ? "" : ", ") + std::string("not installed in the data plane");
  if (!times.empty()) out += "    " + times + "\n";
  // swanctl's traffic lines: "in  c1234567,    840 bytes,    10 packets,     2s ago".
  auto traffic = [&](const char* dir, const std::string& spi, const char* suffix) {
    std::string line = std::string("    ") + dir + spi;
    const std::string bytes = std::string("bytes-") + suffix;
    if (c.contains(bytes)) {
      char buf[96];
      std::snprintf(
          buf, sizeof buf, ", %10lld bytes, %8lld packets",
          static_cast<long long>(get_int(c, bytes.c_str(), 0)),
          static_cast<long long>(get_int(c, (std::string("packets-") + suffix).c_str(), 0)));
      line += buf;
      const std::string use = std::string("use-") + suffix;
      if (c.contains(use)) line += ", " + std::to_string(get_int(c, use.c_str(), 0)) + "s ago";
    }
    out += line + "\n";
  };
  traffic("in  ", get_string(c, "spi-in"), "in");
  traffic("out ", get_string(c, "spi-out"), "out");
  if (c.contains("dropped-replay")) {
    const int64_t replay = get_int(c, "dropped-replay", 0),
                  integ = get_int(c, "dropped-integrity", 0),
                  malformed = get_int(c, "dropped-malformed", 0),
                  policy = get_int(c, "dropped-policy", 0);
    if (replay || integ || malformed || policy)
      out += "    dropped " + std::to_string(replay) + " replayed, " + std::to_string(integ) +
             " failing integrity, " + std::to_string(malformed) + " malformed, " +
             std::to_string(policy) + " outside the selectors\n";
  }
  out += "    local  " + join(get_array(c, "local-ts"), " ") + "\n";
  out += "    remote " + join(get_array(c, "remote-ts"), " ") + "\n";
}

// " [10.3.0.1 fec3::1]" like swanctl's virtual IPs after the endpoint; nothing when none.
std::string vips(const Json& sa, const char* key) {
  const Json& list = get_array(sa, key);
  return list.empty() ? std::string() : " [" + join(list, " ") + "]";
}

}  // namespace

namespace {
// A mediated SA: mediator, pseudonyms, the nominated pair and the phase timings.
void format_mediation(std::string& out, const Json& m) {
  out += "  mediated by " + get_string(m, "mediated-by") + " as '" +
         get_string(m, "own-pseudonym") + "' with '" + get_string(m, "peer-pseudonym") + "' (" +
         get_string(m, "role") + ", connect ID " + get_string(m, "connect-id") + ")\n";
  if (m.contains("pair") && m["pair"].is_object()) {
    const Json& p = m["pair"];
    out += "  pair " + get_string(p, "local") + " (" + get_string(p, "local-type") + ") - " +
           get_string(p, "remote") + " (" + get_string(p, "remote-type") + "), rtt " +
           get_string(p, "rtt-ms") + " ms" +
           (get_bool(p, "by-peer") ? ", chosen by the peer" : "") + "\n";
  }
  if (m.contains("timings") && m["timings"].is_object()) {
    const Json& t = m["timings"];
    out += "  after ME_CONNECT: checks " + get_string(t, "checks-ms", "-") + " ms, nominated " +
           get_string(t, "nominated-ms", "-") + " ms, established " +
           get_string(t, "established-ms", "-") + " ms\n";
  }
  if (m.contains("failures")) {
    out += "  after " + get_string(m, "failures") + " failed attempt(s)";
    if (m.contains("last-failure")) out += ", the last checks: " + get_string(m, "last-failure");
    out += "\n";
  }
}
}  // namespace

std::string format_sas(const Json& sas) {
  std::string out;
  if (!sas.is_array()) return out;
  for (const Json& sa : sas) {
    if (!sa.is_object()) continue;
    bool initiator = get_bool(sa, "initiator");
    out += get_string(sa, "name") + ": #" + get_string(sa, "uniqueid") + ", " +
           get_string(sa, "state") + ", IKEv" + get_string(sa, "version", "2") + ", " +
           get_string(sa, "initiator-spi") + "_i" + (initiator ? "*" : "") + " " +
           get_string(sa, "responder-spi") + "_r" + (initiator ? "" : "*") + "\n";
    out += "  local  '" + get_string(sa, "local-id") + "' @ " + get_string(sa, "local-host") + "[" +
           get_string(sa, "local-port") + "]" + (get_bool(sa, "nat-local") ? " (behind NAT)" : "") +
           vips(sa, "local-vips") + "\n";
    out += "  remote '" + get_string(sa, "remote-id") + "' @ " + get_string(sa, "remote-host") +
           "[" + get_string(sa, "remote-port") + "]" +
           (get_bool(sa, "nat-remote") ? " (behind NAT)" : "") + vips(sa, "remote-vips") + "\n";
    std::string algs = get_string(sa, "algorithms", "");
    if (!algs.empty()) out += "  " + algs + "\n";
    std::string srflx = get_string(sa, "server-reflexive", "");
    if (!srflx.empty()) out += "  server-reflexive " + srflx + "\n";
    if (sa.contains("mediation") && sa["mediation"].is_object())
      format_mediation(out, sa["mediation"]);
    for (const Json& c : get_array(sa, "child-sas"))
      if (c.is_object()) format_child(out, c);
  }
  return out;
}

std::string format_conns(const Json& conns) {
  std::string out;
  if (!conns.is_array()) return out;
  for (const Json& c : conns) {
    if (!c.is_object()) continue;
    out += get_string(c, "name") + ": IKEv2";
    if (get_bool(c, "mediation")) out += ", mediation";
    if (c.contains("mediated-by"))
      out += ", mediated by " + get_string(c, "mediated-by") + " with '" +
             get_string(c, "mediation-peer") + "'";
    int64_t dpd = get_int(c, "dpd-delay");
    if (dpd > 0) out += ", dpd every " + std::to_string(dpd) + "s";
    out += "\n";
    out += "  local:  " + join(get_array(c, "local-addrs"), ", ") + "\n";
    out += "  remote: " + join(get_array(c, "remote-addrs"), ", ") + " port " +
           get_string(c, "remote-port") + "\n";
    out += "  proposals: " + join(get_array(c, "proposals"), ", ") + "\n";
    if (!get_array(c, "vips").empty()) out += "  vips: " + join(get_array(c, "vips"), ", ") + "\n";
    if (!get_array(c, "pools").empty())
      out += "  pools: " + join(get_array(c, "pools"), ", ") + "\n";
    for (const char* side : {"local", "remote"}) {
      const Json& auth = c.is_object() && c.contains(side) ? c[side] : Json::object();
      std::string method = get_string(auth, "auth");
      out += std::string("  ") + side + " " +
             (method == "psk"      ? "pre-shared key"
              : method == "pubkey" ? "public key"
                                   : method) +
             " authentication:\n";
      out += "    id: " + get_string(auth, "id") + "\n";
    }
    for (const Json& ch : get_array(c, "children")) {
      out += "  " + get_string(ch, "name") + ": " + get_string(ch, "mode");
      std::string start = get_string(ch, "start-action", "none");
      if (start != "none") out += ", start_action " + start;
      int64_t rekey = get_int(ch, "rekey-time");
      if (rekey > 0) out += ", rekeying every " + std::to_string(rekey) + "s";
      out += "\n";
      out += "    local:  " + join(get_array(ch, "local-ts"), " ") + "\n";
      out += "    remote: " + join(get_array(ch, "remote-ts"), " ") + "\n";
      out += "    esp proposals: " + join(get_array(ch, "esp-proposals"), ", ") + "\n";
    }
  }
  return out;
}

std::string format_pools(const Json& pools) {
  std::string out;
  if (!pools.is_array()) return out;
  for (const Json& p : pools) {
    if (!p.is_object()) continue;
    std::string range = get_string(p, "base") + "-" + get_string(p, "last");
    out += get_string(p, "name") + ": " + range + ", " + get_string(p, "size") + " addresses, " +
           get_string(p, "online") + " online, " + get_string(p, "offline") + " offline\n";
    const Json& dns = get_array(p, "dns");
    if (!dns.empty()) out += "  dns " + join(dns, " ") + "\n";
    for (const Json& l : get_array(p, "leases"))
      out += "  " + get_string(l, "address") + " " + get_string(l, "status") + " '" +
             get_string(l, "identity") + "'\n";
  }
  return out;
}

std::string format_addresses(const Json& addresses, bool monitoring) {
  if (!monitoring)
    return "the daemon does not watch the host addresses (see its log); mediated connections "
           "disclose only the mediation SA's local address\n";
  std::string out;
  for (bool disclosed : {true, false})
    for (const Json& a : addresses) {
      if (!a.is_object() || get_bool(a, "disclosed") != disclosed) continue;
      std::string where = get_string(a, "address") + "/" + get_string(a, "prefix-length") + " on " +
                          get_string(a, "interface");
      if (where.size() < 30) where.resize(30, ' ');
      out +=
          where + " " + (disclosed ? "disclosed" : "withheld: " + get_string(a, "withheld")) + "\n";
    }
  if (out.empty()) out = "no host addresses\n";
  return out;
}

std::string format_stats(const Json& s) {
  std::string out;
  const std::string program = get_string(s, "program", "ikeme-peer");
  out += program + " " + get_string(s, "version") + ", pid " + get_string(s, "pid") + ", up " +
         get_string(s, "uptime") + "s\n";
  out += "  config:    " + get_string(s, "config-file") + "\n";
  out += "  listening: " + join(get_array(s, "listening"), ", ") + "\n";
  out += "IKE SAs: " + get_string(s, "ike-sas") + " total, " + get_string(s, "half-open") +
         " half-open\n";
  if (program == "ikeme-peer") {
    std::string backend =
        s.is_object() && s.contains("dataplane") ? get_string(s["dataplane"], "backend") : "none";
    out += "CHILD_SAs: " + get_string(s, "child-sas") + " (data plane: " + backend + ")\n";
  }
  auto section = [&](const char* title, const char* key) {
    if (!s.is_object() || !s.contains(key) || !s[key].is_object()) return;
    out += std::string(title) + ":\n";
    for (const auto& [name, value] : s[key].items())
      out +=
          "  " + name + ": " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
  };
  section("mediator", "mediator");
  section("refusals", "refusals");
  section("engine", "engine");
  section("daemon", "daemon");
  section("data plane", "dataplane");
  return out;
}

std::string format_peers(const Json& peers) {
  if (peers.empty()) return "no registered peers\n";
  std::string out;
  for (const Json& p : peers)
    out += get_string(p, "pseudonym") + "  " + get_string(p, "endpoint") + "  registered " +
           get_string(p, "registered") + " (" + get_string(p, "registered-for") + "s), IKE_SA #" +
           get_string(p, "ike-sa-id") + "\n";
  return out;
}

}  // namespace ikeme::ctl

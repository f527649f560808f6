#include "ike/sa/traffic_selectors.hpp"

#include <algorithm>
#include <charconv>

namespace ikeme::ike {
namespace {

bool less_bytes(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

const char* proto_name(uint8_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "ipv6-icmp";
    default:
      return nullptr;
  }
}

// Number of leading bits the start and end share when the range is an exact prefix, else -1.
int prefix_length(const Bytes& start, const Bytes& end) {
  int bits = static_cast<int>(start.size() * 8);
  int prefix = 0;
  while (prefix < bits) {
    int byte = prefix / 8, bit = 7 - prefix % 8;
    if (((start[byte] >> bit) & 1) != ((end[byte] >> bit) & 1)) break;
    ++prefix;
  }
  for (int i = prefix; i < bits; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((start[byte] >> bit) & 1) != 0 || ((end[byte] >> bit) & 1) != 1) return -1;
  }
  return prefix;
}

}  // namespace

TrafficSelector host_selector(const IpAddress& address) {
  TrafficSelector ts;
  ts.type = address.is_v4() ? TsType::IPV4_ADDR_RANGE : TsType::IPV6_ADDR_RANGE;
  ByteView b = address.bytes();
  ts.start_address.assign(b.begin(), b.end());
  ts.end_address = ts.start_address;
  return ts;
}

Result<std::optional<TrafficSelector>, std::string> parse_traffic_selector(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Unexpected{"traffic selector '" + std::string(text) + "': " + why};
  };
  std::string_view net = text, restriction;
  if (auto br = text.find('['); br != std::string_view::npos) {
    if (text.back() != ']') return bad("missing ']'");
    net = text.substr(0, br);
    restriction = text.substr(br + 1, text.size() - br - 2);
  }
  if (net == "dynamic") {
    if (!restriction.empty())
      return bad("dynamic with a protocol/port restriction is not supported");
    return std::optional<TrafficSelector>{};
  }
  TrafficSelector ts;
  std::string_view addr = net;
  int prefix = -1;
  if (auto slash = net.find('/'); slash != std::string_view::npos) {
    addr = net.substr(0, slash);
    std::string_view len = net.substr(slash + 1);
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (ec != std::errc() || p != len.data() + len.size() || prefix < 0)
      return bad("bad prefix length");
  }
  auto ip = IpAddress::parse(addr);
  if (!ip) return bad("not an IP address");
  int bits = ip->is_v4() ? 32 : 128;
  if (prefix < 0) prefix = bits;
  if (prefix > bits) return bad("prefix length beyond " + std::to_string(bits));
  ts = host_selector(*ip);
  for (int i = prefix; i < bits; ++i) {
    ts.start_address[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
    ts.end_address[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  if (!restriction.empty()) {
    std::string_view proto = restriction, port;
    if (auto sl = restriction.find('/'); sl != std::string_view::npos) {
      proto = restriction.substr(0, sl);
      port = restriction.substr(sl + 1);
    }
    if (proto == "tcp")
      ts.ip_protocol = 6;
    else if (proto == "udp")
      ts.ip_protocol = 17;
    else if (proto == "icmp")
      ts.ip_protocol = 1;
    else if (proto == "ipv6-icmp")
      ts.ip_protocol = 58;
    else if (proto != "any" && !proto.empty()) {
      int n = -1;
      auto [p, ec] = std::from_chars(proto.data(), proto.data() + proto.size(), n);
      if (ec != std::errc() || p != proto.data() + proto.size() || n < 0 || n > 255)
        return bad("unknown protocol '" + std::string(proto) + "'");
      ts.ip_protocol = static_cast<uint8_t>(n);
    }
    if (!port.empty() && port != "%any") {
      int n = -1;
      auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (ec != std::errc() || p != port.data() + port.size() || n < 0 || n > 65535)
        return bad("bad port '" + std::string(port) + "'");
      ts.start_port = ts.end_port = static_cast<uint16_t>(n);
    }
  }
  return std::optional<TrafficSelector>{ts};
}

std::string to_string(const TrafficSelector& ts) {
  auto start = IpAddress::from_bytes(ts.start_address);
  auto end = IpAddress::from_bytes(ts.end_address);
  if (!start || !end) return "?";
  std::string s;
  int prefix = prefix_length(ts.start_address, ts.end_address);
  if (prefix >= 0)
    s = start->to_string() + "/" + std::to_string(prefix);
  else
    s = start->to_string() + ".." + end->to_string();
  bool any_port = ts.start_port == 0 && ts.end_port == 65535;
  if (ts.ip_protocol != 0 || !any_port) {
    const char* pn = proto_name(ts.ip_protocol);
    s += "[" + (pn ? std::string(pn) : std::to_string(ts.ip_protocol));
    if (!any_port) {
      s += "/";
      if (ts.opaque_ports())
        s += "OPAQUE";
      else if (ts.start_port == ts.end_port)
        s += std::to_string(ts.start_port);
      else
        s += std::to_string(ts.start_port) + "-" + std::to_string(ts.end_port);
    }
    s += "]";
  }
  return s;
}

std::string to_string(const std::vector<TrafficSelector>& list) {
  std::string s;
  for (const auto& ts : list) s += (s.empty() ? "" : " ") + to_string(ts);
  return s;
}

std::optional<TrafficSelector> intersect(const TrafficSelector& a, const TrafficSelector& b) {
  if (a.type != b.type) return std::nullopt;
  if (a.ip_protocol != 0 && b.ip_protocol != 0 && a.ip_protocol != b.ip_protocol)
    return std::nullopt;
  TrafficSelector out;
  out.type = a.type;
  out.ip_protocol = a.ip_protocol ? a.ip_protocol : b.ip_protocol;
  if (a.opaque_ports() || b.opaque_ports()) {
    if (!(a.opaque_ports() || (a.start_port == 0 && a.end_port == 65535)) ||
        !(b.opaque_ports() || (b.start_port == 0 && b.end_port == 65535)))
      return std::nullopt;
    out.start_port = 65535;
    out.end_port = 0;
  } else {
    out.start_port = std::max(a.start_port, b.start_port);
    out.end_port = std::min(a.end_port, b.end_port);
    if (out.start_port > out.end_port) return std::nullopt;
  }
  out.start_address =
      less_bytes(a.start_address, b.start_address) ? b.start_address : a.start_address;
  out.end_address = less_bytes(a.end_address, b.end_address) ? a.end_address : b.end_address;
  if (less_bytes(out.end_address, out.start_address)) return std::nullopt;
  return out;
}

std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& allowed) {
  std::vector<TrafficSelector> out;
  for (const auto& o : offered)
    for (const auto& a : allowed)
      if (auto i = intersect(o, a); i && std::find(out.begin(), out.end(), *i) == out.end())
        out.push_back(*i);
  return out;
}

bool contains(const TrafficSelector& outer, const TrafficSelector& inner) {
  auto i = intersect(outer, inner);
  return i && *i == inner;
}

bool all_within(const std::vector<TrafficSelector>& got,
                const std::vector<TrafficSelector>& asked) {
  for (const auto& g : got) {
    bool ok = false;
    for (const auto& a : asked) ok = ok || contains(a, g);
    if (!ok) return false;
  }
  return !got.empty();
}

}  // namespace ikeme::ike

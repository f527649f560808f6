#include "ice/candidates.hpp"

#include <algorithm>
#include <charconv>

#include "ice/priority.hpp"

namespace ikeme::ice {

std::string Candidate::to_string() const {
  std::string s = ike::name(type) + " " + address.to_string();
  if (base != address && base.port != 0) s += " (base " + base.to_string() + ")";
  return s;
}

Result<AddressPrefix, std::string> AddressPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return Unexpected{"'" + std::string(text) + "' is not an address or prefix"};
  unsigned max = addr->is_v4() ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || len > max)
      return Unexpected{"'" + std::string(text) + "' has a bad prefix length"};
  }
  return AddressPrefix{*addr, static_cast<uint8_t>(len)};
}

bool AddressPrefix::contains(const IpAddress& address) const {
  if (address.family() != network.family()) return false;
  ByteView a = address.bytes(), n = network.bytes();
  unsigned full = length / 8, rest = length % 8;
  if (!std::equal(a.begin(), a.begin() + full, n.begin())) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (n[full] & mask);
}

std::string AddressPrefix::to_string() const {
  return network.to_string() + "/" + std::to_string(length);
}

std::optional<std::string> ExclusionList::reason(const IpAddress& address,
                                                 std::string_view interface) const {
  if (!interface.empty() &&
      std::find(interfaces.begin(), interfaces.end(), interface) != interfaces.end())
    return "interface " + std::string(interface) + " is excluded";
  for (const auto& p : prefixes)
    if (p.contains(address)) return "in excluded " + p.to_string();
  return std::nullopt;
}

std::optional<std::string> unusable_address(const IpAddress& address, bool allow_loopback) {
  ByteView b = address.bytes();
  if (std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; })) return "unspecified";
  if (address.is_v4()) {
    if (b[0] == 127 && !allow_loopback) return "loopback";
    if (b[0] >= 224) return "multicast or reserved";
    if (b[0] == 169 && b[1] == 254) return "link-local";
    return std::nullopt;
  }
  if (std::all_of(b.begin(), b.end() - 1, [](uint8_t x) { return x == 0; }) && b[15] == 1 &&
      !allow_loopback)
    return "loopback";
  if (b[0] == 0xFF) return "multicast";
  // Link-local needs a scope (an interface) that an ME_ENDPOINT cannot carry.
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local";
  return std::nullopt;
}

Gathered gather_candidates(const GatherInput& in, const ExclusionList& exclusions,
                           size_t max_candidates) {
  Gathered out;
  std::vector<Candidate> hosts;
  for (const auto& h : in.hosts) {
    std::string where = endpoint_string(h.address, in.port);
    if (auto why = unusable_address(h.address, in.allow_loopback)) {
      out.skipped.push_back(where + ": " + *why);
      continue;
    }
    if (auto why = exclusions.reason(h.address, h.interface)) {
      out.skipped.push_back(where + ": " + *why);
      continue;
    }
    ike::Endpoint ep{h.address, in.port};
    bool dup = std::any_of(hosts.begin(), hosts.end(),
                           [&](const Candidate& c) { return c.address == ep; });
    if (dup) continue;
    hosts.push_back(
        Candidate{ike::EndpointType::HOST, ep, ep, endpoint_priority(ike::EndpointType::HOST)});
  }
  std::optional<Candidate> srflx;
  if (in.server_reflexive) {
    const ike::Endpoint& mapped = *in.server_reflexive;
    std::string where = mapped.to_string();
    bool is_host = std::any_of(hosts.begin(), hosts.end(),
                               [&](const Candidate& c) { return c.address == mapped; });
    const ike::Endpoint* base = in.server_reflexive_base ? &*in.server_reflexive_base : nullptr;
    bool base_known = base && std::any_of(hosts.begin(), hosts.end(),
                                          [&](const Candidate& c) { return c.base == *base; });
    if (is_host) {
      out.skipped.push_back(where + ": server-reflexive equals a host address (no NAT)");
    } else if (auto why = unusable_address(mapped.address, in.allow_loopback)) {
      out.skipped.push_back(where + ": server-reflexive address is " + *why);
    } else if (!base_known) {
      out.skipped.push_back(where + ": its base " + (base ? base->to_string() : "(none)") +
                            " is not a disclosed host address");
    } else {
      srflx = Candidate{ike::EndpointType::SERVER_REFLEXIVE, mapped, *base,
                        endpoint_priority(ike::EndpointType::SERVER_REFLEXIVE)};
    }
  }
  size_t room_for_hosts = max_candidates - (srflx && max_candidates > 0 ? 1 : 0);
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i < room_for_hosts)
      out.candidates.push_back(hosts[i]);
    else
      out.skipped.push_back(hosts[i].address.to_string() + ": over the limit of " +
                            std::to_string(max_candidates) + " endpoints");
  }
  if (srflx && max_candidates > 0) out.candidates.push_back(*srflx);
  return out;
}

std::vector<ike::MeEndpoint> to_me_endpoints(const std::vector<Candidate>& candidates) {
  std::vector<ike::MeEndpoint> out;
  for (const auto& c : candidates)
    out.push_back(ike::MeEndpoint{c.priority, c.type, c.address.port, c.address.address});
  return out;
}

Result<Candidate, std::string> remote_candidate(const ike::MeEndpoint& ep, bool allow_loopback) {
  if (!ep.address) return Unexpected{std::string("no address")};
  if (ep.type == ike::EndpointType::RELAYED)
    return Unexpected{std::string("RELAYED endpoints are not supported (IKE-ME has no relay)")};
  if (ep.port == 0) return Unexpected{std::string("port 0")};
  if (auto why = unusable_address(*ep.address, allow_loopback))
    return Unexpected{"address is " + *why};
  ike::Endpoint where{*ep.address, ep.port};
  return Candidate{ep.type, where, where, ep.priority};
}

}  // namespace ikeme::ice

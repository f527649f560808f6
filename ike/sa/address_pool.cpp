#include "ike/sa/address_pool.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace ikeme::ike {
namespace {

// An address as a 128-bit number in two halves (IPv4 in the low half), for pool arithmetic.
struct Wide {
  uint64_t hi = 0, lo = 0;
};

Wide wide(const IpAddress& a) {
  Wide w;
  ByteView b = a.bytes();
  size_t n = b.size();
  for (size_t i = 0; i < n; ++i) {
    bool low = n - i <= 8;
    uint64_t& half = low ? w.lo : w.hi;
    half = half << 8 | b[i];
  }
  return w;
}

IpAddress narrow_to(const Wide& w, IpAddress::Family family) {
  if (family == IpAddress::Family::V4)
    return IpAddress::v4({static_cast<uint8_t>(w.lo >> 24), static_cast<uint8_t>(w.lo >> 16),
                          static_cast<uint8_t>(w.lo >> 8), static_cast<uint8_t>(w.lo)});
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(w.hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(w.lo >> (56 - 8 * i));
  }
  return IpAddress::v6(b);
}

Wide add(Wide w, uint64_t n) {
  uint64_t lo = w.lo + n;
  if (lo < w.lo) ++w.hi;
  w.lo = lo;
  return w;
}

// b - a for a <= b, capped at `cap`.
uint64_t distance(const Wide& a, const Wide& b, uint64_t cap) {
  if (b.hi == a.hi) return std::min(b.lo - a.lo, cap);
  // One carry apart: the difference still fits 64 bits (the subtraction wraps to it).
  if (b.hi == a.hi + 1 && b.lo < a.lo) return std::min(b.lo - a.lo, cap);
  return cap;
}

bool less(const Wide& a, const Wide& b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}

}  // namespace

Result<std::pair<IpAddress, IpAddress>, std::string> parse_pool_addrs(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Unexpected{"pool addresses '" + std::string(text) + "': " + why};
  };
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto first = IpAddress::parse(text.substr(0, dash));
    auto last = IpAddress::parse(text.substr(dash + 1));
    if (!first || !last) return bad("expected a range 'FIRST-LAST' of two IP addresses");
    if (first->family() != last->family()) return bad("the range mixes IPv4 and IPv6");
    if (less(wide(*last), wide(*first))) return bad("the range ends before it starts");
    return std::pair{*first, *last};
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto base = IpAddress::parse(text.substr(0, slash));
    if (!base) return bad("expected a subnet 'ADDRESS/PREFIX'");
    std::string_view p = text.substr(slash + 1);
    int bits = base->is_v4() ? 32 : 128, prefix = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc{} || end != p.data() + p.size() || prefix < 0 || prefix > bits)
      return bad("prefix length must be 0.." + std::to_string(bits));
    Wide w = wide(*base), host{};
    // host bits: the low (bits - prefix) bits of the address.
    int host_bits = bits - prefix;
    host.lo = host_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << host_bits) - 1;
    if (host_bits > 64)
      host.hi = host_bits >= 128 ? ~uint64_t{0} : (uint64_t{1} << (host_bits - 64)) - 1;
    if ((w.lo & host.lo) != 0 || (w.hi & host.hi) != 0)
      return bad("host bits are set; the subnet starts at a lower address");
    Wide last{w.hi | host.hi, w.lo | host.lo};
    Wide first = w;
    if (host_bits >= 2) {  // not /31, /32 (/127, /128): leave out network and broadcast
      first = add(first, 1);
      last.lo -= 1;  // the low bits are all ones, so no borrow
    }
    return std::pair{narrow_to(first, base->family()), narrow_to(last, base->family())};
  }
  auto single = IpAddress::parse(text);
  if (!single) return bad("expected an address, a range 'FIRST-LAST' or a subnet 'ADDRESS/PREFIX'");
  return std::pair{*single, *single};
}

AddressPool::AddressPool(PoolConfig config) : config_(std::move(config)) {
  size_ = distance(wide(config_.first), wide(config_.last), kMaxPoolSize - 1) + 1;
}

bool AddressPool::contains(const IpAddress& a) const {
  if (a.family() != family()) return false;
  Wide w = wide(a), f = wide(config_.first);
  if (less(w, f)) return false;
  return distance(f, w, kMaxPoolSize) < size_;
}

IpAddress AddressPool::at(uint64_t offset) const {
  return narrow_to(add(wide(config_.first), offset), family());
}

std::optional<IpAddress> AddressPool::take(const IpAddress& a, const std::string& identity) {
  Lease& l = leases_[a];
  if (l.identity != identity) {
    if (!l.identity.empty()) {
      for (auto [it, end] = by_identity_.equal_range(l.identity); it != end; ++it) {
        if (it->second == a) {
          by_identity_.erase(it);
          break;
        }
      }
    }
    l.identity = identity;
    by_identity_.emplace(identity, a);
  }
  ++l.online;
  return a;
}

std::optional<IpAddress> AddressPool::acquire(const std::string& identity,
                                              std::optional<IpAddress> requested,
                                              bool reuse_online) {
  // The wildcard request (0.0.0.0 or ::) asks for no particular address.
  if (requested && !contains(*requested)) requested.reset();
  // 1. The identity's own leases: the requested one first, then any offline one.
  std::optional<IpAddress> own;
  for (auto [it, end] = by_identity_.equal_range(identity); it != end; ++it) {
    const Lease& l = leases_.at(it->second);
    bool usable = l.online == 0 || reuse_online;
    if (!usable) continue;
    if (requested && it->second == *requested) return take(it->second, identity);
    if (!own || (l.online == 0 && leases_.at(*own).online != 0)) own = it->second;
  }
  if (own) return take(*own, identity);
  // 2. The requested address if nobody holds it.
  if (requested && !leases_.count(*requested)) return take(*requested, identity);
  // 3. An address never leased.
  while (next_unused_ < size_ && leases_.count(at(next_unused_))) ++next_unused_;
  if (next_unused_ < size_) return take(at(next_unused_++), identity);
  // 4. The longest-offline lease of another identity.
  const IpAddress* oldest = nullptr;
  uint64_t since = 0;
  for (const auto& [addr, l] : leases_) {
    if (l.online != 0) continue;
    if (!oldest || l.offline_since < since) {
      oldest = &addr;
      since = l.offline_since;
    }
  }
  if (oldest) return take(*oldest, identity);
  return std::nullopt;
}

bool AddressPool::release(const std::string& identity, const IpAddress& address) {
  auto it = leases_.find(address);
  if (it == leases_.end() || it->second.identity != identity || it->second.online == 0)
    return false;
  if (--it->second.online == 0) it->second.offline_since = ++releases_;
  return true;
}

PoolInfo AddressPool::info() const {
  PoolInfo i;
  i.name = config_.name;
  i.first = config_.first;
  i.last = config_.last;
  i.size = size_;
  i.dns = config_.dns;
  for (const auto& [addr, l] : leases_) {
    (l.online ? i.online : i.offline) += 1;
    i.leases.push_back(LeaseInfo{addr, l.identity, l.online != 0});
  }
  return i;
}

void AddressPool::adopt(const AddressPool& old) {
  for (const auto& [addr, l] : old.leases_) {
    if (!contains(addr)) continue;
    leases_[addr] = l;
    by_identity_.emplace(l.identity, addr);
    releases_ = std::max(releases_, l.offline_since);
  }
}

void AddressPools::configure(const std::vector<PoolConfig>& pools) {
  std::map<std::string, AddressPool> next;
  for (const PoolConfig& c : pools) {
    auto old = pools_.find(c.name);
    if (old != pools_.end() && old->second.config().first == c.first &&
        old->second.config().last == c.last && old->second.config().dns == c.dns) {
      next.emplace(c.name, std::move(old->second));
      continue;
    }
    AddressPool pool(c);
    if (old != pools_.end()) pool.adopt(old->second);
    next.emplace(c.name, std::move(pool));
  }
  pools_ = std::move(next);
}

AddressPool* AddressPools::find(const std::string& name) {
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : &it->second;
}

std::vector<PoolInfo> AddressPools::info() const {
  std::vector<PoolInfo> out;
  for (const auto& [name, p] : pools_) out.push_back(p.info());
  return out;
}

}  // namespace ikeme::ike

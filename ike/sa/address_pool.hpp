#pragma once
// Virtual IP address pools for the responder side of configuration payloads (RFC 7296 §3.15),
// in the manner of strongSwan's in-memory pools: leases are kept per remote identity, so a peer
// that comes back gets its old address; a lease is "online" while an IKE SA uses it and
// "offline" afterwards, and offline leases are handed to other identities only once the pool has
// no unused address left.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike {

struct PoolConfig {
  std::string name;
  IpAddress first, last;       // inclusive, same family
  std::vector<IpAddress> dns;  // sent as INTERNAL_IP4_DNS / INTERNAL_IP6_DNS
};

// The usable addresses of swanctl's `addrs`: "10.3.0.1-10.3.0.50" (a range, both ends used),
// "10.3.0.0/28" (a subnet without its network and broadcast addresses, as strongSwan does for
// IPv4 prefixes shorter than /31 and IPv6 prefixes shorter than /127) or a single address.
Result<std::pair<IpAddress, IpAddress>, std::string> parse_pool_addrs(std::string_view text);

// A pool never holds more than this many addresses (a /64 IPv6 subnet is cut to its first 2^32).
inline constexpr uint64_t kMaxPoolSize = uint64_t{1} << 32;

struct LeaseInfo {
  IpAddress address;
  std::string identity;
  bool online = false;
};

struct PoolInfo {
  std::string name;
  IpAddress first, last;
  uint64_t size = 0;  // usable addresses
  uint64_t online = 0, offline = 0;
  std::vector<IpAddress> dns;
  std::vector<LeaseInfo> leases;  // by address
};

class AddressPool {
 public:
  explicit AddressPool(PoolConfig config);

  const PoolConfig& config() const { return config_; }
  IpAddress::Family family() const { return config_.first.family(); }
  bool contains(const IpAddress& a) const;

  // An address for `identity`, in this order: its own offline lease (the `requested` one if it
  // is among them); with `reuse_online` (the peer sent INITIAL_CONTACT, so its older SAs are
  // going away) its online lease; the `requested` address if it is unused; the next unused
  // address; the longest-offline lease of another identity. nullopt: the pool is exhausted.
  std::optional<IpAddress> acquire(const std::string& identity, std::optional<IpAddress> requested,
                                   bool reuse_online);
  // The IKE SA that held the lease went away. An address may be in use by several SAs of the
  // same identity (INITIAL_CONTACT overlap); it goes offline when the last one releases it.
  bool release(const std::string& identity, const IpAddress& address);

  PoolInfo info() const;
  // Takes over the leases of `old` (the same pool before a reload) whose addresses this pool
  // still holds, so that a changed range never hands out an address an IKE SA still uses.
  void adopt(const AddressPool& old);

 private:
  struct Lease {
    std::string identity;
    unsigned online = 0;         // IKE SAs using it
    uint64_t offline_since = 0;  // release order, to reassign the oldest first
  };
  IpAddress at(uint64_t offset) const;
  std::optional<IpAddress> take(const IpAddress& a, const std::string& identity);

  PoolConfig config_;
  uint64_t size_ = 0;
  uint64_t next_unused_ = 0;  // every offset below it has been leased at some time
  std::map<IpAddress, Lease> leases_;
  std::multimap<std::string, IpAddress> by_identity_;
  uint64_t releases_ = 0;
};

// All pools of an engine, by name. Survives configuration reloads.
class AddressPools {
 public:
  // Replaces the set of pools. A pool whose name, range and DNS servers are unchanged keeps its
  // leases; a changed one keeps those still inside its range; a removed pool loses them (SAs
  // that still hold an address keep it, and their release finds nothing to do).
  void configure(const std::vector<PoolConfig>& pools);
  AddressPool* find(const std::string& name);
  std::vector<PoolInfo> info() const;

 private:
  std::map<std::string, AddressPool> pools_;
};

}  // namespace ikeme::ike

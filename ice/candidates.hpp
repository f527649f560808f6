#pragma once
// Endpoint gathering: which of our addresses we disclose to the peer (through the mediation
// server's ME_CONNECT) and the local candidates the check list is built from.
//   HOST              every usable address the caller found (netlink in the daemon), with the
//                     port of the socket used towards the mediation server (normally 4500)
//   SERVER_REFLEXIVE  the mapped address the mediation server reported in IKE_AUTH
//   PEER_REFLEXIVE    learned during the checks (ice/agent.hpp), never gathered up front
// The exclusion list keeps interfaces and prefixes private (e.g. a management network or a
// container bridge). Loopback, link-local, multicast and unspecified addresses are never disclosed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::ice {

// A candidate (an ME_ENDPOINT, ours or the peer's).
struct Candidate {
  ike::EndpointType type = ike::EndpointType::HOST;
  ike::Endpoint address;  // the transport address disclosed or learned
  ike::Endpoint base;     // local candidates: the socket address checks are sent from
  uint32_t priority = 0;

  std::string to_string() const;  // "SERVER_REFLEXIVE 192.0.2.1[1137] (base 10.1.0.10[4500])"
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
struct AddressPrefix {
  IpAddress network;
  uint8_t length = 0;

  static Result<AddressPrefix, std::string> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  std::string to_string() const;
};

// What must never be disclosed or used as a check's base.
struct ExclusionList {
  std::vector<std::string> interfaces;  // exact names ("docker0")
  std::vector<AddressPrefix> prefixes;

  // Why an address is excluded ("interface docker0 is excluded", "in excluded 172.16.0.0/12"), or
  // nullopt if it may be used.
  std::optional<std::string> reason(const IpAddress& address, std::string_view interface) const;
};

struct HostAddress {
  IpAddress address;
  std::string interface;  // may be empty when unknown
};

struct GatherInput {
  std::vector<HostAddress> hosts;  // in the caller's order of preference
  uint16_t port = 4500;            // the port of the socket used towards the mediation server
  std::optional<ike::Endpoint> server_reflexive;  // from the mediation server, if any
  // The local address of the socket the mediation connection uses: the base of the SRFLX
  // candidate. Must be one of the hosts (else the SRFLX candidate is dropped with a reason).
  std::optional<ike::Endpoint> server_reflexive_base;
  bool allow_loopback = false;  // for single-host tests only (127.0.0.0/8, ::1)
};

struct Gathered {
  std::vector<Candidate> candidates;  // HOST ones in input order, then SERVER_REFLEXIVE
  std::vector<std::string> skipped;   // one line per address not used, saying why
};

// Applies the exclusion list and limits: at most `max_candidates` (HOST addresses beyond it are
// skipped, the SRFLX candidate is kept in preference to the last HOST one because it is the one
// that crosses NATs). A SRFLX equal to one of the host addresses means there is no NAT and adds
// nothing.
Gathered gather_candidates(const GatherInput& input, const ExclusionList& exclusions,
                           size_t max_candidates);

// The ME_ENDPOINT notifies for our ME_CONNECT (one per candidate, strongSwan's order).
std::vector<ike::MeEndpoint> to_me_endpoints(const std::vector<Candidate>& candidates);

// A peer's ME_ENDPOINT as a remote candidate, or why it cannot be used (no address, RELAYED
// which IKE-ME never implemented, port 0, unspecified/multicast address).
Result<Candidate, std::string> remote_candidate(const ike::MeEndpoint& endpoint,
                                                bool allow_loopback = false);

// Never disclosed and never accepted from a peer as a check target.
std::optional<std::string> unusable_address(const IpAddress& address, bool allow_loopback = false);

}  // namespace ikeme::ice

#pragma once
// The IKE-ME ME_ENDPOINT notify data (see docs/ike-me-protocol.md):
//   priority:u32 | family:u8 | type:u8 | port:u16 | address (0, 4 or 16 bytes)

#include <cstdint>
#include <optional>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/ip_address.hpp"
#include "ike/codec/parse_error.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::ike {

enum class EndpointFamily : uint8_t { NONE = 0, IPV4 = 1, IPV6 = 2 };
enum class EndpointType : uint8_t {
  HOST = 1,
  PEER_REFLEXIVE = 2,
  SERVER_REFLEXIVE = 3,
  RELAYED = 4
};

// strongSwan's priorities: (type preference << 16) + local preference 65535.
inline constexpr uint32_t kPriorityHost = 0x00FFFFFF;
inline constexpr uint32_t kPriorityPeerReflexive = 0x0080FFFF;
inline constexpr uint32_t kPriorityServerReflexive = 0x0040FFFF;
inline constexpr uint32_t kPriorityRelayed = 0x0000FFFF;

struct MeEndpoint {
  uint32_t priority = 0;
  EndpointType type = EndpointType::HOST;
  uint16_t port = 0;
  std::optional<IpAddress> address;  // none = family 0 (no address, port 0)

  EndpointFamily family() const {
    if (!address) return EndpointFamily::NONE;
    return address->is_v4() ? EndpointFamily::IPV4 : EndpointFamily::IPV6;
  }
  // "SERVER_REFLEXIVE 192.0.2.1[1137] prio 0x0040ffff" or "... (no address)"
  std::string to_string() const;
  friend bool operator==(const MeEndpoint&, const MeEndpoint&) = default;
};

// Where family 0 (no address) may appear: only in the registration's SRFLX request and in
// connectivity-check requests. Everywhere else it is refused, unlike strongSwan.
enum class FamilyNone : bool { Forbidden = false, Allowed = true };

Result<MeEndpoint, ParseError> parse_me_endpoint(ByteView data, FamilyNone family_none);
Bytes encode_me_endpoint(const MeEndpoint& endpoint);
std::string name(EndpointType type);

}  // namespace ikeme::ike

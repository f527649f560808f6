#pragma once
// An IPv4 or IPv6 address as a plain value; used by traffic selectors, ME_ENDPOINT and logging.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ike/codec/bytes.hpp"

namespace ikeme {

class IpAddress {
 public:
  enum class Family : uint8_t { V4, V6 };

  IpAddress() = default;  // 0.0.0.0
  static IpAddress v4(const std::array<uint8_t, 4>& b);
  static IpAddress v6(const std::array<uint8_t, 16>& b);
  // From raw network-order bytes; nullopt unless the size is 4 or 16.
  static std::optional<IpAddress> from_bytes(ByteView b);
  // From text ("192.0.2.1", "2001:db8::1"); nullopt if it is neither.
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::V4; }
  ByteView bytes() const { return ByteView(bytes_.data(), is_v4() ? 4 : 16); }
  std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  // Orders by family, then numerically (network byte order compares as big-endian numbers).
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::V4;
  std::array<uint8_t, 16> bytes_{};
};

// "192.0.2.1[4500]" / "2001:db8::1[500]": strongSwan's way of writing an endpoint.
std::string endpoint_string(const IpAddress& addr, uint16_t port);

}  // namespace ikeme

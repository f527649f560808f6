#include "ike/codec/ip_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace ikeme {

IpAddress IpAddress::v4(const std::array<uint8_t, 4>& b) {
  IpAddress a;
  a.family_ = Family::V4;
  std::memcpy(a.bytes_.data(), b.data(), 4);
  return a;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& b) {
  IpAddress a;
  a.family_ = Family::V6;
  a.bytes_ = b;
  return a;
}

std::optional<IpAddress> IpAddress::from_bytes(ByteView b) {
  IpAddress a;
  if (b.size() == 4) {
    a.family_ = Family::V4;
  } else if (b.size() == 16) {
    a.family_ = Family::V6;
  } else {
    return std::nullopt;
  }
  std::memcpy(a.bytes_.data(), b.data(), b.size());
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = Family::V4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = Family::V6;
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::string endpoint_string(const IpAddress& addr, uint16_t port) {
  return addr.to_string() + "[" + std::to_string(port) + "]";
}

}  // namespace ikeme

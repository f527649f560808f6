#include "ike/sa/identity.hpp"

namespace ikeme::ike {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Identity> Identity::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "%any" || text == "%any6") return any();
  if (auto ip = IpAddress::parse(text)) {
    ByteView b = ip->bytes();
    return Identity(ip->is_v4() ? IdType::ID_IPV4_ADDR : IdType::ID_IPV6_ADDR,
                    Bytes(b.begin(), b.end()));
  }
  if (text.substr(0, 2) == "@#") {
    std::string_view hex = text.substr(2);
    if (hex.empty() || hex.size() % 2) return std::nullopt;
    Bytes data;
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      data.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return Identity(IdType::ID_KEY_ID, std::move(data));
  }
  // strongSwan: a leading "@" forces FQDN (even "@user@host"), "@@" forces RFC822.
  IdType type = text.find('@') != std::string_view::npos ? IdType::ID_RFC822_ADDR : IdType::ID_FQDN;
  if (text.substr(0, 2) == "@@") {
    text.remove_prefix(2);
    type = IdType::ID_RFC822_ADDR;
  } else if (text[0] == '@') {
    text.remove_prefix(1);
    type = IdType::ID_FQDN;
  }
  if (text.empty()) return std::nullopt;
  return Identity(type, Bytes(text.begin(), text.end()));
}

bool Identity::matches(const Identity& received) const {
  if (any_) return true;
  return !received.any_ && type_ == received.type_ && data_ == received.data_;
}

std::string Identity::to_string() const {
  if (any_) return "%any";
  switch (type_) {
    case IdType::ID_IPV4_ADDR:
    case IdType::ID_IPV6_ADDR:
      // Only with the type's own length: 4 bytes under ID_IPV6_ADDR are no IPv4 address.
      if (data_.size() == (type_ == IdType::ID_IPV4_ADDR ? 4u : 16u))
        if (auto ip = IpAddress::from_bytes(data_)) return ip->to_string();
      break;
    case IdType::ID_FQDN:
    case IdType::ID_RFC822_ADDR:
      return std::string(data_.begin(), data_.end());
    case IdType::ID_KEY_ID:
      return "@#" + to_hex(data_);
    default:
      break;
  }
  return name(type_) + ":" + to_hex(data_);
}

}  // namespace ikeme::ike

#pragma once
// IKE identities (RFC 7296 §3.5) as configured and as received, and matching between them.

#include <optional>
#include <string>
#include <string_view>

#include "ike/codec/ip_address.hpp"
#include "ike/codec/payloads.hpp"

namespace ikeme::ike {

class Identity {
 public:
  Identity() = default;
  Identity(IdType type, Bytes data) : type_(type), data_(std::move(data)) {}

  // From configuration text, as strongSwan reads it: an IP address, "user@host" (RFC822),
  // "@fqdn" or "fqdn" (FQDN), "%any" (matches every identity), "@#hex" (KEY_ID).
  static std::optional<Identity> parse(std::string_view text);
  static Identity any() {
    Identity id;
    id.any_ = true;
    return id;
  }
  static Identity from_payload(const IdPayload& p) { return Identity(p.id_type, p.data); }

  bool is_any() const { return any_; }
  IdType type() const { return type_; }
  const Bytes& data() const { return data_; }
  IdPayload payload() const { return IdPayload{type_, data_}; }

  // Whether a received identity satisfies this configured one (%any matches all).
  bool matches(const Identity& received) const;
  std::string to_string() const;
  friend bool operator==(const Identity&, const Identity&) = default;

 private:
  IdType type_ = IdType::ID_FQDN;
  Bytes data_;
  bool any_ = false;
};

}  // namespace ikeme::ike

#pragma once
// IKE-ME rules that depend on the exchange, checked on a message's (decrypted) payload list:
// - ME_ENDPOINT family 0 ("no address") appears only in an IKE_AUTH request (the registration's
//   SERVER_REFLEXIVE request), in an INFORMATIONAL request on an IKE SA (ikeme's SRFLX refresh,
//   SERVER_REFLEXIVE) and in a connectivity-check request (unprotected INFORMATIONAL with
//   zero SPIs, PEER_REFLEXIVE); strongSwan accepts it anywhere and may then dereference nothing.
// - ME_CONNECT requests carry notifies, exactly one IDp and optional Vendor IDs; responses carry
//   notifies and Vendor IDs only.

#include <vector>

#include "ike/codec/message.hpp"

namespace ikeme::ike {

// True for an IKE-ME connectivity check: INFORMATIONAL with both SPIs zero.
bool is_connectivity_check(const Header& header);

Status<ParseError> check_me_rules(const Header& header, const std::vector<Payload>& payloads);

}  // namespace ikeme::ike

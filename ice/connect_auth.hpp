#pragma once
// ME_CONNECTAUTH, the authenticator of an IKE-ME connectivity check, exactly as strongSwan 5.9.8
// computes it (connect_manager.c, build_signature):
//   SHA-1( Message ID as 4 bytes big-endian | ME_CONNECTID data | ME_ENDPOINT data | key )
// where `key` is the SENDER's own ME_CONNECTKEY: the ME_CONNECT initiator signs its checks (and its
// responses) with key_A, the responder with key_B, and each verifies with the other's key. The
// draft (§5.1) says otherwise; strongSwan is the deployed implementation, so we follow it
// (tests/unit/ice_connect_auth_test.cpp recomputes every check of a real strongSwan capture).

#include <array>
#include <cstdint>

#include "ike/codec/bytes.hpp"

namespace ikeme::ice {

inline constexpr size_t kConnectAuthSize = 20;  // a SHA-1 digest
using ConnectAuth = std::array<uint8_t, kConnectAuthSize>;

// `endpoint_data` is the ME_ENDPOINT notify's data exactly as on the wire.
ConnectAuth compute_connect_auth(uint32_t message_id, ByteView connect_id, ByteView endpoint_data,
                                 ByteView key);

// Constant-time comparison of a received ME_CONNECTAUTH with the expected value; a received value
// of the wrong size never matches.
bool connect_auth_matches(ByteView received, const ConnectAuth& expected);

}  // namespace ikeme::ice

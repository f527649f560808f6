#pragma once
// Human-readable output of the daemon's JSON replies, modeled on swanctl:
//
//   home: #1, ESTABLISHED, IKEv2, 8f3a5c2e9b1d4f70_i* 1c2d3e4f5a6b7c8d_r
//     local  'moon' @ 127.0.0.1[15000]
//     remote 'sun' @ 127.0.0.2[15002]
//     AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519
//     net: #1, INSTALLED, TUNNEL, ESP:AES_GCM_16_128/NO_EXT_SEQ
//       installed 4s ago, rekeying in 3596s, expires in 3956s, no data plane yet
//       in  c1a2b3c4
//       out c5d6e7f8
//       local  10.1.0.0/16
//       remote 10.2.0.0/16
//
// Pure: JSON in, text out. Missing or mistyped members print as "?" rather than fail, so an
// older or newer daemon still gives readable output.

#include <string>

#include <nlohmann/json.hpp>

namespace ikeme::ctl {

using Json = nlohmann::ordered_json;  // members keep their order: "ok" comes first

std::string format_sas(const Json& sas);      // the "sas" array of a list-sas reply
std::string format_conns(const Json& conns);  // the "conns" array of a list-conns reply
std::string format_stats(const Json& stats);  // the "stats" object of a stats reply (either daemon)
std::string format_pools(const Json& pools);  // the "pools" array of a list-pools reply
// ikeme-peer's list-addresses reply ("addresses" array), disclosed ones first:
//   10.1.0.10/24 on eth0           disclosed
//   fe80::1/64 on eth0             withheld: link-local
std::string format_addresses(const Json& addresses, bool monitoring);
// ikeme-mediator's list-peers reply ("peers" array):
//   alice@medsrv.org  192.0.2.1[1137]  registered 2026-11-26T21:06:09Z (42s), IKE_SA #3
std::string format_peers(const Json& peers);

// Safe accessors: a default when the member is missing or of another type.
std::string get_string(const Json& j, const char* key, const std::string& fallback = "?");
int64_t get_int(const Json& j, const char* key, int64_t fallback = 0);
bool get_bool(const Json& j, const char* key, bool fallback = false);
const Json& get_array(const Json& j, const char* key);  // an empty array when absent

}  // namespace ikeme::ctl

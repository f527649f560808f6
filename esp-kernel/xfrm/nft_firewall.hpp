#pragma once
// Firewall integration (the paper's `leftfirewall`): nftables rules, in a table ikeme owns
// (`inet ikeme`), that admit each CHILD_SA's tunnelled traffic. Packets are matched on the SA
// that carried them (`ipsec in reqid` after decryption, `ipsec out reqid` before encryption)
// through verdict maps keyed by reqid, then on the CHILD_SA's traffic selectors, with counters:
//
//   table inet ikeme
//     map children_in/children_out  { reqid : jump child_<id>_in/out }
//     chain input    (hook input)   ipsec in reqid vmap @children_in
//     chain forward  (hook forward) ipsec in reqid vmap @children_in, ipsec out ... @children_out
//     chain output   (hook output)  ipsec out reqid vmap @children_out
//     chain child_<id>_in/out       ip saddr {remote TS} ip daddr {local TS} counter accept
//
// The scripts are built here as text (unit-tested); run_nft feeds them to `nft -f -`.

#include <cstdint>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::esp::xfrm {

inline constexpr const char* kNftTable = "ikeme";

// Creates the table afresh (deleting one a previous run left behind).
std::string nft_table_script();
// Deletes the table (nothing if it does not exist).
std::string nft_remove_table_script();
std::string nft_child_add_script(uint32_t unique_id, uint32_t reqid,
                                 const std::vector<ike::TrafficSelector>& local_ts,
                                 const std::vector<ike::TrafficSelector>& remote_ts);
std::string nft_child_remove_script(uint32_t unique_id, uint32_t reqid);

// Runs `nft -f -` with `script` on stdin; the error carries nft's stderr.
Status<std::string> run_nft(const std::string& script);

}  // namespace ikeme::esp::xfrm

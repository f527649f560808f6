#pragma once
// The firewall option with the XFRM backend: packets reach the per-CHILD_SA chains of
// nft_firewall.hpp through the SA that carried them (`ipsec in reqid` after decryption,
// `ipsec out reqid` before encryption), by verdict maps keyed by reqid:
//
//   table inet ikeme
//     map children_in/children_out  { reqid : jump child_<id>_in/out }
//     chain input    (hook input)   meta ipsec exists ipsec in reqid vmap @children_in
//     chain forward  (hook forward) the same, and ipsec out reqid vmap @children_out
//     chain output   (hook output)  ipsec out reqid vmap @children_out
//     chain child_<id>_in/out       (nft_firewall.hpp)

#include <cstdint>
#include <string>
#include <vector>

#include "esp-kernel/nft_firewall.hpp"

namespace ikeme::esp::xfrm {

// Creates the table afresh (deleting one a previous run left behind).
std::string nft_table_script();
// A rekeyed CHILD_SA shares its predecessor's reqid: `take_over` points the reqid's map entries
// at the new chains (in the same transaction), and the predecessor's removal then `keep_mapping`.
std::string nft_child_add_script(uint32_t unique_id, uint32_t reqid,
                                 const std::vector<ike::TrafficSelector>& local_ts,
                                 const std::vector<ike::TrafficSelector>& remote_ts,
                                 bool take_over = false);
std::string nft_child_remove_script(uint32_t unique_id, uint32_t reqid, bool keep_mapping = false);

}  // namespace ikeme::esp::xfrm

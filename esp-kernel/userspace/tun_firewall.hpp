#pragma once
// The firewall option with the userspace backend. Decrypted packets enter the host through the
// daemon's TUN device and packets for the tunnel leave through it, so crossing that device is
// what "protected by a CHILD_SA" means here (the XFRM backend matches the SA's reqid instead):
//
//   table inet ikeme
//     chain input    (hook input)   iifname "<tun>" jump children_in
//     chain forward  (hook forward) iifname "<tun>" jump children_in
//                                   oifname "<tun>" jump children_out
//     chain output   (hook output)  oifname "<tun>" jump children_out
//     chain children_in/out         jump child_<id>_in/out, one rule per CHILD_SA
//     chain child_<id>_in/out       (nft_firewall.hpp)
//
// The dispatch chains are rewritten whole (flush + one jump per installed CHILD_SA) in the same
// transaction that adds or removes a CHILD_SA's chains, so no rule handles need tracking and a
// packet never sees a half-updated table. The data plane checks inbound packets against the
// selectors before writing them to the device already; these rules make that visible
// (per-CHILD_SA counters) and give a default-drop ruleset something to build on.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "esp-kernel/nft_firewall.hpp"

namespace ikeme::esp {

// Whether `tun_name` can be written as an nftables string ("..." without quotes or
// backslashes inside); the error says why not.
Status<std::string> nft_check_interface_name(std::string_view tun_name);
// Creates the table afresh for device `tun_name` (deleting one a previous run left behind).
std::string nft_tun_table_script(std::string_view tun_name);
// Adds a CHILD_SA's chains and rewrites the dispatch chains to jump to the CHILD_SAs
// `installed` (which includes `unique_id`), in that order.
std::string nft_tun_child_add_script(uint32_t unique_id,
                                     const std::vector<ike::TrafficSelector>& local_ts,
                                     const std::vector<ike::TrafficSelector>& remote_ts,
                                     const std::vector<uint32_t>& installed);
// Rewrites the dispatch chains for the CHILD_SAs `remaining` (without `unique_id`), then
// deletes the CHILD_SA's chains.
std::string nft_tun_child_remove_script(uint32_t unique_id, const std::vector<uint32_t>& remaining);

}  // namespace ikeme::esp

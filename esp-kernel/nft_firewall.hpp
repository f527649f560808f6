#pragma once
// Firewall integration (the paper's `leftfirewall`), the parts both backends share: nftables
// rules in a table ikeme owns (`inet ikeme`), one pair of chains per CHILD_SA
//
//   chain child_<id>_in    ip saddr {remote TS} ip daddr {local TS} [l4proto/ports] counter accept
//   chain child_<id>_out   the reverse
//
// The backends differ only in how packets reach these chains: XFRM by the SA that carried them
// (xfrm/xfrm_firewall.hpp, verdict maps keyed by reqid), userspace by the TUN device they cross
// (userspace/tun_firewall.hpp). Scripts are built here as text (pure, unit-tested); run_nft feeds
// them to `nft -f -`, so each script is one atomic nftables transaction.

#include <cstdint>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/codec/result.hpp"

namespace ikeme::esp {

inline constexpr const char* kNftTable = "ikeme";

// "inet ikeme".
std::string nft_table_ref();
// Deletes the table (nothing if it does not exist): stale rules of a crashed run, or exit.
std::string nft_remove_table_script();
// Lists the table (fails if there is none): whether a previous run left one behind.
std::string nft_list_table_script();
// "child_<id>_in" / "child_<id>_out".
std::string nft_child_chain(uint32_t unique_id, bool inbound);
// Adds the CHILD_SA's two chains with their accepting rules (one per address family present on
// both sides), inbound remote -> local, outbound local -> remote.
std::string nft_child_chains_script(uint32_t unique_id,
                                    const std::vector<ike::TrafficSelector>& local_ts,
                                    const std::vector<ike::TrafficSelector>& remote_ts);
// Flushes and deletes the two chains (nothing may refer to them any more).
std::string nft_child_chains_remove_script(uint32_t unique_id);

// Runs `nft -f -` with `script` on stdin; the error carries nft's output, or says that the nft
// command is missing.
Status<std::string> run_nft(const std::string& script);

}  // namespace ikeme::esp

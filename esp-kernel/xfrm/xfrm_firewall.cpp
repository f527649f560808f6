#include "esp-kernel/xfrm/xfrm_firewall.hpp"

namespace ikeme::esp::xfrm {

std::string nft_table_script() {
  const std::string t = nft_table_ref();
  return nft_remove_table_script() + "table " + t +
         " {\n"
         "  map children_in { typeof ipsec in reqid : verdict; }\n"
         "  map children_out { typeof ipsec out reqid : verdict; }\n"
         "  chain input {\n"
         "    type filter hook input priority filter; policy accept;\n"
         "    meta ipsec exists ipsec in reqid vmap @children_in\n"
         "  }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n"
         "    meta ipsec exists ipsec in reqid vmap @children_in\n"
         "    ipsec out reqid vmap @children_out\n"
         "  }\n"
         "  chain output {\n"
         "    type filter hook output priority filter; policy accept;\n"
         "    ipsec out reqid vmap @children_out\n"
         "  }\n"
         "}\n";
}

std::string nft_child_add_script(uint32_t unique_id, uint32_t reqid,
                                 const std::vector<ike::TrafficSelector>& local_ts,
                                 const std::vector<ike::TrafficSelector>& remote_ts,
                                 bool take_over) {
  const std::string t = nft_table_ref(), id = std::to_string(reqid);
  std::string s = nft_child_chains_script(unique_id, local_ts, remote_ts);
  if (take_over) {
    s += "delete element " + t + " children_in { " + id + " }\n";
    s += "delete element " + t + " children_out { " + id + " }\n";
  }
  s += "add element " + t + " children_in { " + id + " : jump " + nft_child_chain(unique_id, true) +
       " }\n";
  s += "add element " + t + " children_out { " + id + " : jump " +
       nft_child_chain(unique_id, false) + " }\n";
  return s;
}

std::string nft_child_remove_script(uint32_t unique_id, uint32_t reqid, bool keep_mapping) {
  const std::string t = nft_table_ref(), id = std::to_string(reqid);
  std::string s;
  if (!keep_mapping) {
    s += "delete element " + t + " children_in { " + id + " }\n";
    s += "delete element " + t + " children_out { " + id + " }\n";
  }
  return s + nft_child_chains_remove_script(unique_id);
}

}  // namespace ikeme::esp::xfrm

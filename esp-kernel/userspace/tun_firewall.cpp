#include "esp-kernel/userspace/tun_firewall.hpp"

namespace ikeme::esp {
namespace {

std::string dispatch_script(const std::vector<uint32_t>& children) {
  const std::string t = nft_table_ref();
  std::string s;
  for (bool inbound : {true, false}) {
    const std::string chain = inbound ? "children_in" : "children_out";
    s += "flush chain " + t + " " + chain + "\n";
    for (uint32_t id : children)
      s += "add rule " + t + " " + chain + " jump " + nft_child_chain(id, inbound) + "\n";
  }
  return s;
}

}  // namespace

Status<std::string> nft_check_interface_name(std::string_view tun_name) {
  if (tun_name.empty()) return Unexpected(std::string("firewall: no TUN device name"));
  for (char c : tun_name)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < ' ')
      return Unexpected("firewall: the TUN device name \"" + std::string(tun_name) +
                        "\" cannot be matched in nftables (quotes, backslashes or control "
                        "characters): choose another tun_name");
  return {};
}

std::string nft_tun_table_script(std::string_view tun_name) {
  const std::string dev = "\"" + std::string(tun_name) + "\"";
  return nft_remove_table_script() + "table " + nft_table_ref() +
         " {\n"
         "  chain children_in {\n"
         "  }\n"
         "  chain children_out {\n"
         "  }\n"
         "  chain input {\n"
         "    type filter hook input priority filter; policy accept;\n"
         "    iifname " +
         dev +
         " jump children_in\n"
         "  }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n"
         "    iifname " +
         dev +
         " jump children_in\n"
         "    oifname " +
         dev +
         " jump children_out\n"
         "  }\n"
         "  chain output {\n"
         "    type filter hook output priority filter; policy accept;\n"
         "    oifname " +
         dev +
         " jump children_out\n"
         "  }\n"
         "}\n";
}

std::string nft_tun_child_add_script(uint32_t unique_id,
                                     const std::vector<ike::TrafficSelector>& local_ts,
                                     const std::vector<ike::TrafficSelector>& remote_ts,
                                     const std::vector<uint32_t>& installed) {
  return nft_child_chains_script(unique_id, local_ts, remote_ts) + dispatch_script(installed);
}

std::string nft_tun_child_remove_script(uint32_t unique_id,
                                        const std::vector<uint32_t>& remaining) {
  return dispatch_script(remaining) + nft_child_chains_remove_script(unique_id);
}

}  // namespace ikeme::esp

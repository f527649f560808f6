#include "esp-kernel/xfrm/nft_firewall.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ike/codec/ip_address.hpp"

extern char** environ;

namespace ikeme::esp::xfrm {
namespace {

std::string table() {
  return std::string("inet ") + kNftTable;
}

std::string chain_name(uint32_t unique_id, const char* dir) {
  return "child_" + std::to_string(unique_id) + "_" + dir;
}

bool is_v4(const ike::TrafficSelector& ts) {
  return ts.type == ike::TsType::IPV4_ADDR_RANGE;
}

std::string range_text(const ike::TrafficSelector& ts) {
  auto start = IpAddress::from_bytes(ts.start_address);
  auto end = IpAddress::from_bytes(ts.end_address);
  if (!start || !end) return {};
  if (*start == *end) return start->to_string();
  return start->to_string() + "-" + end->to_string();
}

// "{ a, b-c }" of the selectors of one family.
std::string address_set(const std::vector<ike::TrafficSelector>& list, bool v4) {
  std::string out;
  for (const auto& ts : list) {
    if (is_v4(ts) != v4) continue;
    const std::string r = range_text(ts);
    if (r.empty()) continue;
    out += (out.empty() ? "{ " : ", ") + r;
  }
  return out.empty() ? out : out + " }";
}

// Protocol and ports, when a selector pair restricts them (only when both sides agree on one
// selector each: several selectors with different ports are matched on addresses alone).
std::string l4_match(const std::vector<ike::TrafficSelector>& src,
                     const std::vector<ike::TrafficSelector>& dst) {
  if (src.size() != 1 || dst.size() != 1) return {};
  const uint8_t proto = src[0].ip_protocol ? src[0].ip_protocol : dst[0].ip_protocol;
  if (proto == 0) return {};
  std::string out = " meta l4proto " + std::to_string(proto);
  auto ports = [](const ike::TrafficSelector& ts) -> std::string {
    if (ts.opaque_ports() || (ts.start_port == 0 && ts.end_port == 65535)) return {};
    if (ts.start_port == ts.end_port) return std::to_string(ts.start_port);
    return std::to_string(ts.start_port) + "-" + std::to_string(ts.end_port);
  };
  if (proto == 6 || proto == 17 || proto == 132) {
    if (auto p = ports(src[0]); !p.empty()) out += " th sport " + p;
    if (auto p = ports(dst[0]); !p.empty()) out += " th dport " + p;
  }
  return out;
}

// One accepting rule per address family present on both sides.
std::string child_rules(const std::string& chain, const std::vector<ike::TrafficSelector>& src,
                        const std::vector<ike::TrafficSelector>& dst) {
  std::string out;
  for (bool v4 : {true, false}) {
    const std::string s = address_set(src, v4), d = address_set(dst, v4);
    if (s.empty() || d.empty()) continue;
    const char* ip = v4 ? "ip" : "ip6";
    out += "add rule " + table() + " " + chain + " " + ip + " saddr " + s + " " + ip + " daddr " +
           d + l4_match(src, dst) + " counter accept\n";
  }
  return out;
}

}  // namespace

std::string nft_table_script() {
  const std::string t = table();
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

std::string nft_remove_table_script() {
  // "add" makes "delete" succeed when there is no table yet (nft 1.0.6 has no "destroy").
  return "add table " + table() + "\ndelete table " + table() + "\n";
}

std::string nft_child_add_script(uint32_t unique_id, uint32_t reqid,
                                 const std::vector<ike::TrafficSelector>& local_ts,
                                 const std::vector<ike::TrafficSelector>& remote_ts) {
  const std::string t = table(), in = chain_name(unique_id, "in"),
                    out = chain_name(unique_id, "out"), id = std::to_string(reqid);
  std::string s;
  s += "add chain " + t + " " + in + "\n";
  s += child_rules(in, remote_ts, local_ts);
  s += "add chain " + t + " " + out + "\n";
  s += child_rules(out, local_ts, remote_ts);
  s += "add element " + t + " children_in { " + id + " : jump " + in + " }\n";
  s += "add element " + t + " children_out { " + id + " : jump " + out + " }\n";
  return s;
}

std::string nft_child_remove_script(uint32_t unique_id, uint32_t reqid) {
  const std::string t = table(), id = std::to_string(reqid);
  std::string s;
  s += "delete element " + t + " children_in { " + id + " }\n";
  s += "delete element " + t + " children_out { " + id + " }\n";
  for (const char* dir : {"in", "out"}) {
    s += "flush chain " + t + " " + chain_name(unique_id, dir) + "\n";
    s += "delete chain " + t + " " + chain_name(unique_id, dir) + "\n";
  }
  return s;
}

Status<std::string> run_nft(const std::string& script) {
  int in[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return Unexpected(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    return Unexpected(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  char arg0[] = "nft", arg1[] = "-f", arg2[] = "-";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "nft", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]), close(err[0]);
    return Unexpected(std::string("cannot run nft: ") + std::strerror(rc));
  }
  // Scripts are small (well under a pipe buffer), so writing all before reading cannot block
  // on nft's output.
  size_t done = 0;
  while (done < script.size()) {
    ssize_t n = write(in[1], script.data() + done, script.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(in[1]);
  std::string output;
  char buf[1024];
  while (true) {
    ssize_t n = read(err[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return Unexpected("nft failed: " + (output.empty() ? std::string("no output") : output));
  }
  return {};
}

}  // namespace ikeme::esp::xfrm

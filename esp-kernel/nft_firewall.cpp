#include "esp-kernel/nft_firewall.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ike/codec/ip_address.hpp"

extern char** environ;

namespace ikeme::esp {
namespace {

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
    out += "add rule " + nft_table_ref() + " " + chain + " " + ip + " saddr " + s + " " + ip +
           " daddr " + d + l4_match(src, dst) + " counter accept\n";
  }
  return out;
}

}  // namespace

std::string nft_table_ref() {
  return std::string("inet ") + kNftTable;
}

std::string nft_remove_table_script() {
  // "add" makes "delete" succeed when there is no table yet (nft 1.0.6 has no "destroy").
  return "add table " + nft_table_ref() + "\ndelete table " + nft_table_ref() + "\n";
}

std::string nft_list_table_script() {
  return "list table " + nft_table_ref() + "\n";
}

std::string nft_child_chain(uint32_t unique_id, bool inbound) {
  return "child_" + std::to_string(unique_id) + (inbound ? "_in" : "_out");
}

std::string nft_child_chains_script(uint32_t unique_id,
                                    const std::vector<ike::TrafficSelector>& local_ts,
                                    const std::vector<ike::TrafficSelector>& remote_ts) {
  const std::string t = nft_table_ref(), in = nft_child_chain(unique_id, true),
                    out = nft_child_chain(unique_id, false);
  std::string s;
  s += "add chain " + t + " " + in + "\n";
  s += child_rules(in, remote_ts, local_ts);
  s += "add chain " + t + " " + out + "\n";
  s += child_rules(out, local_ts, remote_ts);
  return s;
}

std::string nft_child_chains_remove_script(uint32_t unique_id) {
  const std::string t = nft_table_ref();
  std::string s;
  for (bool inbound : {true, false}) {
    s += "flush chain " + t + " " + nft_child_chain(unique_id, inbound) + "\n";
    s += "delete chain " + t + " " + nft_child_chain(unique_id, inbound) + "\n";
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
    if (rc == ENOENT)
      return Unexpected(std::string(
          "the nft command was not found in PATH (firewall: yes needs nftables installed)"));
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

}  // namespace ikeme::esp

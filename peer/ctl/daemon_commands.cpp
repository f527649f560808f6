#include "peer/ctl/daemon_commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "peer/ctl/control_client.hpp"
#include "peer/ctl/listing.hpp"

namespace ikeme::ctl {

namespace {

constexpr std::chrono::milliseconds kRequestTimeout{10000};
constexpr std::chrono::milliseconds kPollInterval{50};

struct Usage {
  const char* name;
  const char* text;
};

const Usage kUsages[] = {
    {"list-conns",
     "usage: ikemectl list-conns [--ike NAME]\n"
     "  Lists the loaded connections and their children.\n"},
    {"list-sas",
     "usage: ikemectl list-sas [--ike NAME | --id N]\n"
     "  Lists the IKE SAs and their CHILD_SAs (all, one connection's, or one by id).\n"},
    {"list-pools",
     "usage: ikemectl list-pools\n"
     "  Lists the virtual IP pools with their leases (online: an IKE SA uses the address;\n"
     "  offline: kept for the identity that had it).\n"},
    {"list-addresses",
     "usage: ikemectl list-addresses\n"
     "  Lists the host addresses ikeme-peer knows from the kernel (rtnetlink) and whether\n"
     "  mediated connections disclose them as HOST candidates, or why not (interface down,\n"
     "  link-local, tentative, excluded by ice: ...).\n"},
    {"initiate",
     "usage: ikemectl initiate --ike NAME [--child NAME] [--timeout SEC]\n"
     "  Initiates connection NAME (with its first child, or --child) and waits up to SEC\n"
     "  seconds (default 10; 0 = do not wait) until the IKE SA is established or failed.\n"},
    {"terminate",
     "usage: ikemectl terminate (--ike NAME | --id N) [--timeout SEC]\n"
     "  Deletes the IKE SAs of connection NAME, or the one with id N, and waits up to SEC\n"
     "  seconds (default 10; 0 = do not wait) until they are gone.\n"},
    {"rekey",
     "usage: ikemectl rekey --child-id N\n"
     "  Rekeys CHILD_SA N (its unique id, as list-sas shows it in braces) now with\n"
     "  CREATE_CHILD_SA: a new CHILD_SA replaces it and the old one is deleted.\n"},
    {"explain",
     "usage: ikemectl explain CONN  (or --ike CONN)\n"
     "  Says why connection CONN is not up. For a mediated connection: registration at the\n"
     "  mediation server, peer offline or not authorized, the state of the connectivity\n"
     "  checks, every pair tried and what happened to it.\n"},
    {"stats",
     "usage: ikemectl stats\n"
     "  Shows the daemon's counters (ikeme-peer's, or with --socket of ikeme-mediator's:\n"
     "  registrations, relays, callbacks, refusals by reason).\n"},
    {"list-peers",
     "usage: ikemectl list-peers\n"
     "  ikeme-mediator: the registered pseudonyms, their observed (server-reflexive)\n"
     "  endpoints and registration times. Its socket is the default for this command\n"
     "  (/run/ikeme/mediator.sock).\n"},
    {"reload",
     "usage: ikemectl reload\n"
     "  Reloads the daemon's configuration file (like SIGHUP) and reports errors.\n"},
};

constexpr const char* kCommonOptions =
    "Options of every daemon command:\n"
    "  -s, --socket PATH  the daemon's control socket (default /run/ikeme/peer.sock)\n"
    "  -j, --json         print the daemon's JSON replies as they are\n";

bool parse_u32(const std::string& text, uint32_t& out) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

bool is_daemon_command(const std::string& name) {
  for (const Usage& u : kUsages)
    if (name == u.name) return true;
  return false;
}

std::string daemon_command_usage(const std::string& name) {
  for (const Usage& u : kUsages)
    if (name == u.name) return std::string(u.text) + kCommonOptions;
  return "";
}

Result<CtlCommand, std::string> parse_daemon_command(const std::string& name,
                                                     const std::vector<std::string>& args,
                                                     CtlOptions options) {
  CtlCommand cmd;
  cmd.name = name;
  cmd.options = std::move(options);
  const bool takes_ike = name == "list-conns" || name == "list-sas" || name == "initiate" ||
                         name == "terminate" || name == "explain";
  const bool takes_id = name == "list-sas" || name == "terminate";
  const bool takes_child = name == "initiate";
  const bool takes_timeout = name == "initiate" || name == "terminate";
  const bool takes_child_id = name == "rekey";
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      if (size_t eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto take_value = [&](std::string& out) -> bool {
      if (has_inline) {
        out = value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    auto need = [&](const std::string& what) {
      return Unexpected{std::string(a) + " needs " + what};
    };
    if (a == "-h" || a == "--help") {
      cmd.help = true;
    } else if (a == "-j" || a == "--json") {
      cmd.options.json = true;
    } else if (a == "-s" || a == "--socket") {
      if (!take_value(cmd.options.socket) || cmd.options.socket.empty()) return need("a path");
    } else if (takes_ike && (a == "-i" || a == "--ike")) {
      if (!take_value(cmd.ike) || cmd.ike.empty()) return need("a connection name");
    } else if (takes_child && (a == "-c" || a == "--child")) {
      if (!take_value(cmd.child) || cmd.child.empty()) return need("a child name");
    } else if (takes_id && a == "--id") {
      std::string v;
      if (!take_value(v) || !parse_u32(v, cmd.id) || cmd.id == 0)
        return need("an IKE SA id (1 to 4294967295)");
    } else if (takes_child_id && a == "--child-id") {
      std::string v;
      if (!take_value(v) || !parse_u32(v, cmd.child_id) || cmd.child_id == 0)
        return need("a CHILD_SA id (1 to 4294967295)");
    } else if (takes_timeout && (a == "-t" || a == "--timeout")) {
      std::string v;
      uint32_t secs = 0;
      if (!take_value(v) || !parse_u32(v, secs) || secs > 3600)
        return need("a number of seconds (0 to 3600)");
      cmd.timeout = std::chrono::seconds(secs);
    } else if (!a.empty() && a[0] == '-') {
      return Unexpected{"unknown option '" + args[i] + "'"};
    } else if (name == "explain" && cmd.ike.empty()) {
      cmd.ike = a;
    } else {
      return Unexpected{"unexpected argument '" + a + "'"};
    }
  }
  if (cmd.help) return cmd;
  if (name == "explain" && cmd.ike.empty())
    return Unexpected{std::string("explain needs a connection name")};
  if (name == "initiate" && cmd.ike.empty())
    return Unexpected{std::string("initiate needs --ike NAME")};
  if (name == "terminate" && cmd.ike.empty() == (cmd.id == 0))
    return Unexpected{std::string("terminate needs either --ike NAME or --id N")};
  if (name == "list-sas" && !cmd.ike.empty() && cmd.id != 0)
    return Unexpected{std::string("list-sas takes --ike or --id, not both")};
  if (name == "rekey" && cmd.child_id == 0)
    return Unexpected{std::string("rekey needs --child-id N")};
  return cmd;
}

std::string request_for(const CtlCommand& c) {
  Json r = {{"command", c.name}};
  if (!c.ike.empty()) r["ike"] = c.ike;
  if (!c.child.empty()) r["child"] = c.child;
  if (c.id) r["id"] = c.id;
  if (c.child_id) r["child-id"] = c.child_id;
  return r.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

// One request; prints connection errors and daemon errors. nullopt when the command failed.
std::optional<Json> call(const CtlCommand& c, const std::string& line, bool print_json) {
  auto reply = request(c.options.socket, line, kRequestTimeout);
  if (!reply) {
    std::fprintf(stderr, "ikemectl: %s\n", reply.error().message.c_str());
    return std::nullopt;
  }
  Json j = Json::parse(*reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "ikemectl: the daemon's reply is not a JSON object: %s\n",
                 reply->substr(0, 200).c_str());
    return std::nullopt;
  }
  if (print_json) std::printf("%s\n", reply->c_str());
  if (!get_bool(j, "ok")) {
    if (!print_json)
      std::fprintf(stderr, "ikemectl %s: %s\n", c.name.c_str(),
                   get_string(j, "error", "the daemon refused the request").c_str());
    return std::nullopt;
  }
  return j;
}

// The IKE SA with `id` from a list-sas reply, if present.
const Json* find_sa(const Json& reply, uint32_t id) {
  for (const Json& sa : get_array(reply, "sas"))
    if (get_int(sa, "uniqueid") == static_cast<int64_t>(id)) return &sa;
  return nullptr;
}

std::string sa_name(const std::string& conn, uint32_t id) {
  if (conn.empty()) return "IKE_SA #" + std::to_string(id);
  return "IKE_SA " + conn + "[" + std::to_string(id) + "]";
}

int wait_established(const CtlCommand& c, uint32_t id) {
  auto deadline = std::chrono::steady_clock::now() + c.timeout;
  CtlCommand list = c;
  list.name = "list-sas";
  list.ike.clear();
  list.child.clear();
  list.id = id;
  std::string state = "CONNECTING";
  for (;;) {
    auto reply = call(list, request_for(list), false);
    if (!reply) return 1;
    const Json* sa = find_sa(*reply, id);
    if (!sa) {
      if (!c.options.json)
        std::fprintf(stderr,
                     "ikemectl initiate: %s failed before it was established (see the daemon's "
                     "log)\n",
                     sa_name(c.ike, id).c_str());
      return 1;
    }
    state = get_string(*sa, "state");
    if (state == "ESTABLISHED") {
      if (!c.options.json) {
        std::printf("%s established\n", sa_name(c.ike, id).c_str());
        for (const Json& ch : get_array(*sa, "child-sas"))
          std::printf("CHILD_SA %s{%s} established with SPIs %s_i %s_o\n",
                      get_string(ch, "name").c_str(), get_string(ch, "uniqueid").c_str(),
                      get_string(ch, "spi-in").c_str(), get_string(ch, "spi-out").c_str());
      }
      return 0;
    }
    if (state == "DELETING" || state == "DEAD") {
      if (!c.options.json)
        std::fprintf(stderr, "ikemectl initiate: %s is %s\n", sa_name(c.ike, id).c_str(),
                     state.c_str());
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!c.options.json)
    std::fprintf(stderr, "ikemectl initiate: %s still %s after %llds\n", sa_name(c.ike, id).c_str(),
                 state.c_str(), static_cast<long long>(c.timeout.count()));
  return 1;
}

int wait_deleted(const CtlCommand& c, const Json& ids) {
  auto deadline = std::chrono::steady_clock::now() + c.timeout;
  CtlCommand list = c;
  list.name = "list-sas";
  list.ike.clear();
  list.id = 0;
  for (;;) {
    auto reply = call(list, request_for(list), false);
    if (!reply) return 1;
    size_t left = 0;
    for (const Json& id : ids)
      if (id.is_number_unsigned() && find_sa(*reply, id.get<uint32_t>())) ++left;
    if (left == 0) {
      if (!c.options.json)
        for (const Json& id : ids)
          std::printf("%s deleted\n", sa_name(c.ike, id.get<uint32_t>()).c_str());
      return 0;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!c.options.json)
        std::fprintf(stderr, "ikemectl terminate: %zu IKE SA(s) still deleting after %llds\n", left,
                     static_cast<long long>(c.timeout.count()));
      return 1;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

int run_daemon_command(const CtlCommand& c) {
  auto reply = call(c, request_for(c), c.options.json);
  if (!reply) return 1;
  const Json& j = *reply;
  if (c.name == "initiate") {
    int64_t id = get_int(j, "ike-sa-id");
    if (get_bool(j, "mediated")) {
      if (!c.options.json)
        std::printf(
            "initiating mediated connection %s (ME_CONNECT through %s; see 'ikemectl "
            "explain %s')\n",
            c.ike.c_str(), get_string(j, "mediated-by").c_str(), c.ike.c_str());
      return 0;
    }
    if (id <= 0 || c.timeout.count() == 0) {
      if (!c.options.json)
        std::printf("initiating %s\n",
                    id > 0 ? sa_name(c.ike, static_cast<uint32_t>(id)).c_str() : c.ike.c_str());
      return 0;
    }
    return wait_established(c, static_cast<uint32_t>(id));
  }
  if (c.name == "terminate") {
    const Json& ids = get_array(j, "ike-sa-ids");
    if (c.timeout.count() == 0) {
      if (!c.options.json) std::printf("deleting %zu IKE SA(s)\n", ids.size());
      return 0;
    }
    return wait_deleted(c, ids);
  }
  if (c.options.json) return 0;
  if (c.name == "rekey")
    std::printf("rekeying CHILD_SA {%u} (ikemectl list-sas shows the new one)\n", c.child_id);
  if (c.name == "explain") std::printf("%s\n", get_string(j, "explain").c_str());
  if (c.name == "list-sas") std::fputs(format_sas(get_array(j, "sas")).c_str(), stdout);
  if (c.name == "list-pools") std::fputs(format_pools(get_array(j, "pools")).c_str(), stdout);
  if (c.name == "list-addresses")
    std::fputs(format_addresses(get_array(j, "addresses"), get_bool(j, "monitoring", true)).c_str(),
               stdout);
  if (c.name == "list-conns") std::fputs(format_conns(get_array(j, "conns")).c_str(), stdout);
  if (c.name == "list-peers") std::fputs(format_peers(get_array(j, "peers")).c_str(), stdout);
  if (c.name == "stats")
    std::fputs(format_stats(j.contains("stats") ? j["stats"] : Json::object()).c_str(), stdout);
  if (c.name == "reload" && j.contains("pseudonyms"))
    std::printf("configuration and directory reloaded: %lld pseudonym(s)\n",
                static_cast<long long>(get_int(j, "pseudonyms")));
  else if (c.name == "reload")
    std::printf("configuration reloaded: %lld connection(s)\n",
                static_cast<long long>(get_int(j, "conns")));
  return 0;
}

}  // namespace ikeme::ctl

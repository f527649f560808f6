#include "peer/control_protocol.hpp"

#include <initializer_list>

namespace ikeme::peer {

const char* command_name(Command c) {
  switch (c) {
    case Command::ListConns:
      return "list-conns";
    case Command::ListSas:
      return "list-sas";
    case Command::ListPools:
      return "list-pools";
    case Command::ListAddresses:
      return "list-addresses";
    case Command::Initiate:
      return "initiate";
    case Command::Terminate:
      return "terminate";
    case Command::Rekey:
      return "rekey";
    case Command::Stats:
      return "stats";
    case Command::Explain:
      return "explain";
    case Command::Reload:
      return "reload";
  }
  return "?";
}

namespace {

struct Spec {
  Command command;
  std::initializer_list<const char*> fields;  // allowed besides "command"
};

const Spec kSpecs[] = {
    {Command::ListConns, {"ike"}},
    {Command::ListSas, {"ike", "id"}},
    {Command::ListPools, {}},
    {Command::ListAddresses, {}},
    {Command::Initiate, {"ike", "child"}},
    {Command::Terminate, {"ike", "id"}},
    {Command::Rekey, {"child-id"}},
    {Command::Stats, {}},
    {Command::Reload, {}},
    {Command::Explain, {"ike"}},
};

Status<std::string> read_name(const Json& request, const char* field, std::string& out) {
  auto it = request.find(field);
  if (it == request.end()) return {};
  if (!it->is_string()) return Unexpected{std::string("'") + field + "' must be a string"};
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty()) return Unexpected{std::string("'") + field + "' must not be empty"};
  if (s.size() > kMaxNameLength)
    return Unexpected{std::string("'") + field + "' is longer than " +
                      std::to_string(kMaxNameLength) + " characters"};
  out = s;
  return {};
}

Status<std::string> read_id(const Json& request, uint32_t& out, const char* field = "id",
                            const char* what = "an IKE SA id") {
  auto it = request.find(field);
  if (it == request.end()) return {};
  if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > UINT32_MAX)
    return Unexpected{std::string("'") + field + "' must be " + what +
                      " (an integer from 1 to 4294967295)"};
  out = static_cast<uint32_t>(it->get<uint64_t>());
  return {};
}

}  // namespace

Result<ControlRequest, std::string> parse_request(std::string_view line) {
  if (line.size() > kMaxRequestBytes)
    return Unexpected{"request longer than " + std::to_string(kMaxRequestBytes) + " bytes"};
  Json request;
  try {
    request = Json::parse(line);
  } catch (const Json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
    std::string what = e.what();
    if (size_t end = what.find("] "); what.rfind("[json.exception.", 0) == 0 && end != what.npos)
      what.erase(0, end + 2);
    return Unexpected{"malformed JSON: " + what};
  }
  if (!request.is_object()) return Unexpected{std::string("a request must be a JSON object")};
  auto cmd = request.find("command");
  if (cmd == request.end()) return Unexpected{std::string("missing 'command'")};
  if (!cmd->is_string()) return Unexpected{std::string("'command' must be a string")};
  const std::string& name = cmd->get_ref<const std::string&>();
  const Spec* spec = nullptr;
  for (const Spec& s : kSpecs)
    if (name == command_name(s.command)) spec = &s;
  if (!spec) {
    std::string shown = name.size() > 40 ? name.substr(0, 40) + "..." : name;
    return Unexpected{"unknown command '" + shown +
                      "' (known: list-conns, list-sas, list-pools, list-addresses, initiate, "
                      "terminate, rekey, stats, reload, explain)"};
  }
  for (const auto& [key, value] : request.items()) {
    if (key == "command") continue;
    bool allowed = false;
    for (const char* f : spec->fields) allowed = allowed || key == f;
    if (!allowed) {
      std::string shown = key.size() > 40 ? key.substr(0, 40) + "..." : key;
      return Unexpected{"unknown field '" + shown + "' for command '" + name + "'"};
    }
  }
  ControlRequest r;
  r.command = spec->command;
  if (auto s = read_name(request, "ike", r.ike); !s) return Unexpected{s.error()};
  if (auto s = read_name(request, "child", r.child); !s) return Unexpected{s.error()};
  if (auto s = read_id(request, r.id); !s) return Unexpected{s.error()};
  if (auto s = read_id(request, r.child_id, "child-id", "a CHILD_SA id"); !s)
    return Unexpected{s.error()};
  if (r.command == Command::Rekey && r.child_id == 0)
    return Unexpected{std::string("rekey needs 'child-id' (a CHILD_SA's unique id)")};
  if (r.command == Command::Explain && r.ike.empty())
    return Unexpected{std::string("explain needs 'ike' (a connection name)")};
  if (r.command == Command::Initiate && r.ike.empty())
    return Unexpected{std::string("initiate needs 'ike' (a connection name)")};
  if (r.command == Command::Terminate && r.ike.empty() == (r.id == 0))
    return Unexpected{std::string("terminate needs either 'ike' (a connection name) or 'id'")};
  if (r.command == Command::ListSas && !r.ike.empty() && r.id != 0)
    return Unexpected{std::string("list-sas takes 'ike' or 'id', not both")};
  return r;
}

std::string reply_line(const Json& reply) {
  return reply.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string error_reply(std::string_view message) {
  Json j = {{"ok", false}, {"error", std::string(message)}};
  return reply_line(j);
}

Json ok_reply() {
  return Json{{"ok", true}};
}

}  // namespace ikeme::peer

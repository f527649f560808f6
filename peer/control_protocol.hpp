#pragma once
// The control socket's protocol: newline-delimited JSON. A client writes one request object per
// line; the daemon answers each with one object on one line, always with "ok" and, when ok is
// false, "error". See docs/operations.md for every command and reply.
//
//   {"command":"list-sas"}                       -> {"ok":true,"sas":[...]}
//   {"command":"initiate","ike":"home","child":"net"}
//                                                -> {"ok":true,"ike-sa-id":3}
//   {"command":"terminate","id":3}               -> {"ok":true,"ike-sa-ids":[3]}
//   {"command":"rekey","child-id":7}             -> {"ok":true,"child-sa-id":7}
//   {"command":"explain","ike":"home"}           -> {"ok":true,"explain":"home is up: ..."}
//   {"command":"list-addresses"}                 -> {"ok":true,"addresses":[...]}
//   {"command":"frobnicate"}                     -> {"ok":false,"error":"unknown command ..."}

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ike/codec/result.hpp"

namespace ikeme::peer {

using Json = nlohmann::ordered_json;  // members keep their order: "ok" comes first

inline constexpr size_t kMaxRequestBytes = 64 * 1024;  // one request line, newline excluded
inline constexpr size_t kMaxNameLength = 255;          // connection and child names

enum class Command {
  ListConns,
  ListSas,
  ListPools,
  ListAddresses,
  Initiate,
  Terminate,
  Rekey,
  Stats,
  Reload,
  Explain
};
const char* command_name(Command c);

struct ControlRequest {
  Command command = Command::Stats;
  std::string ike;        // list-conns, list-sas (filter), initiate, terminate, explain
  std::string child;      // initiate
  uint32_t id = 0;        // list-sas (filter), terminate: an IKE SA's unique id; 0 = not given
  uint32_t child_id = 0;  // rekey: a CHILD_SA's unique id
};

// Parses and validates one request line (without its newline). Never throws; the error text is
// meant for the "error" member of the reply.
Result<ControlRequest, std::string> parse_request(std::string_view line);

// One reply line, newline included. Never throws: invalid UTF-8 in strings is replaced.
std::string reply_line(const Json& reply);
std::string error_reply(std::string_view message);
Json ok_reply();

}  // namespace ikeme::peer

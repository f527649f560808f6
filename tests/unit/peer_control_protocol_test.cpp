// The control socket's requests: every command parses, every malformed or invalid request gets
// an error text (never an exception), and replies are always one line of valid JSON.

#include <catch2/catch.hpp>

#include <string>

#include "peer/control_protocol.hpp"

using namespace ikeme::peer;

namespace {

std::string error_of(const std::string& line) {
  auto r = parse_request(line);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("peer control: requests: every command parses with its fields", "[peer]") {
  auto list = parse_request(R"({"command":"list-sas"})");
  REQUIRE(list.ok());
  CHECK(list->command == Command::ListSas);
  CHECK(list->ike.empty());
  CHECK(list->id == 0);

  auto by_id = parse_request(R"({"command":"list-sas","id":7})");
  REQUIRE(by_id.ok());
  CHECK(by_id->id == 7);

  auto conns = parse_request(R"({"command":"list-conns","ike":"home"})");
  REQUIRE(conns.ok());
  CHECK(conns->command == Command::ListConns);
  CHECK(conns->ike == "home");

  auto init = parse_request(R"( {"child":"net","command":"initiate","ike":"home"} )");
  REQUIRE(init.ok());
  CHECK(init->command == Command::Initiate);
  CHECK(init->ike == "home");
  CHECK(init->child == "net");

  auto term = parse_request(R"({"command":"terminate","id":4294967295})");
  REQUIRE(term.ok());
  CHECK(term->command == Command::Terminate);
  CHECK(term->id == 4294967295u);

  CHECK(parse_request(R"({"command":"terminate","ike":"home"})").ok());
  auto rekey = parse_request(R"({"command":"rekey","child-id":7})");
  REQUIRE(rekey.ok());
  CHECK(rekey->command == Command::Rekey);
  CHECK(rekey->child_id == 7u);
  CHECK(parse_request(R"({"command":"rekey"})").error() ==
        "rekey needs 'child-id' (a CHILD_SA's unique id)");
  CHECK(parse_request(R"({"command":"rekey","child-id":0})").error() ==
        "'child-id' must be a CHILD_SA id (an integer from 1 to 4294967295)");
  CHECK(parse_request(R"({"command":"rekey","child-id":1,"id":1})").error() ==
        "unknown field 'id' for command 'rekey'");
  CHECK(parse_request(R"({"command":"stats"})")->command == Command::Stats);
  CHECK(parse_request(R"({"command":"reload"})")->command == Command::Reload);
  auto explain = parse_request(R"({"command":"explain","ike":"peer"})");
  REQUIRE(explain.ok());
  CHECK(explain->command == Command::Explain);
  CHECK(explain->ike == "peer");
  CHECK(parse_request(R"({"command":"explain"})").error() ==
        "explain needs 'ike' (a connection name)");
  CHECK(parse_request(R"({"command":"explain","ike":"p","id":1})").error() ==
        "unknown field 'id' for command 'explain'");
}

TEST_CASE("peer control: requests: malformed and invalid requests are refused with a reason",
          "[peer]") {
  CHECK(error_of("").find("malformed JSON") == 0);
  CHECK(error_of("{\"command\":\"list-sas\"").find("malformed JSON: parse error at line 1") == 0);
  CHECK(error_of("\xff\xfe").find("malformed JSON") == 0);
  CHECK(error_of("[1,2]") == "a request must be a JSON object");
  CHECK(error_of("\"list-sas\"") == "a request must be a JSON object");
  CHECK(error_of("{}") == "missing 'command'");
  CHECK(error_of(R"({"command":5})") == "'command' must be a string");
  CHECK(error_of(R"({"command":"frobnicate"})").find("unknown command 'frobnicate'") == 0);
  CHECK(error_of(R"({"command":"stats","ike":"x"})") == "unknown field 'ike' for command 'stats'");
  CHECK(error_of(R"({"command":"list-conns","id":1})") ==
        "unknown field 'id' for command 'list-conns'");
  CHECK(error_of(R"({"command":"initiate"})") == "initiate needs 'ike' (a connection name)");
  CHECK(error_of(R"({"command":"initiate","ike":""})") == "'ike' must not be empty");
  CHECK(error_of(R"({"command":"initiate","ike":7})") == "'ike' must be a string");
  CHECK(error_of(R"({"command":"initiate","ike":"a","child":null})") == "'child' must be a string");
  CHECK(error_of(R"({"command":"initiate","ike":")" + std::string(256, 'x') + "\"}")
            .find("longer than 255") != std::string::npos);
  CHECK(error_of(R"({"command":"terminate"})") ==
        "terminate needs either 'ike' (a connection name) or 'id'");
  CHECK(error_of(R"({"command":"terminate","ike":"a","id":1})") ==
        "terminate needs either 'ike' (a connection name) or 'id'");
  CHECK(error_of(R"({"command":"list-sas","ike":"a","id":1})") ==
        "list-sas takes 'ike' or 'id', not both");
  for (const char* bad_id : {"0", "-1", "1.5", "4294967296", "\"3\"", "true"}) {
    INFO(bad_id);
    CHECK(error_of(std::string(R"({"command":"terminate","id":)") + bad_id + "}")
              .find("'id' must be an IKE SA id") == 0);
  }
  // Long names are shortened in the error text.
  std::string long_cmd(1000, 'c');
  CHECK(error_of(R"({"command":")" + long_cmd + "\"}").size() < 200);
}

TEST_CASE("peer control: requests: size limit and deep nesting do not hurt", "[peer]") {
  std::string big = R"({"command":"stats","pad":")" + std::string(kMaxRequestBytes, 'x') + "\"}";
  CHECK(error_of(big).find("request longer than 65536 bytes") == 0);
  // 30000 nested arrays fit in the limit; parsing and destroying them must not overflow the stack.
  std::string deep = std::string(30000, '[') + std::string(30000, ']');
  CHECK(error_of(deep) == "a request must be a JSON object");
  std::string deep_object =
      R"({"command":"stats","x":)" + std::string(20000, '[') + std::string(20000, ']') + "}";
  CHECK(error_of(deep_object) == "unknown field 'x' for command 'stats'");
}

TEST_CASE("peer control: replies: one line, ok first, invalid UTF-8 replaced", "[peer]") {
  CHECK(error_reply("no connection named 'x'") ==
        "{\"ok\":false,\"error\":\"no connection named 'x'\"}\n");
  Json reply = ok_reply();
  reply["text"] = std::string("bad \xff utf8\nline");
  std::string line = reply_line(reply);
  CHECK(line.find("{\"ok\":true,") == 0);
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // the newline inside the string is escaped
  CHECK_NOTHROW(Json::parse(line));
}

// libFuzzer target: the connectivity-check parser and the ICE agent's handling of checks.
// The input is an IKE message (as the seeds from the capture's checks are). Each input is parsed
// strictly; then fed, framed for the NAT-T port, to an initiator and a responder agent, once as is
// (it fails verification) and, if it parses, re-signed with the key the agents expect, so the
// request/response state machine, peer-reflexive learning, triggered checks and nomination run
// on arbitrary field values.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ice/agent.hpp"
#include "ice/check_message.hpp"
#include "ice/connect_auth.hpp"

using namespace ikeme;

namespace {

const Bytes kLocalKey(16, 0x11), kRemoteKey(16, 0x22);

void feed(ice::Role role, const Bytes& connect_id, ByteView datagram, const ike::Endpoint& from) {
  ike::Endpoint base{*IpAddress::parse("10.1.0.10"), 4500};
  std::vector<ice::Candidate> local{{ike::EndpointType::HOST, base, base, ike::kPriorityHost}};
  std::vector<ike::MeEndpoint> remote{
      {ike::kPriorityHost, ike::EndpointType::HOST, 4500, IpAddress::parse("198.51.100.2")},
      {ike::kPriorityServerReflexive, ike::EndpointType::SERVER_REFLEXIVE, 1200,
       IpAddress::parse("203.0.113.2")}};
  ice::AgentConfig cfg;
  ice::IceAgent agent(cfg, {"fuzz", role, connect_id, kLocalKey, kRemoteKey, local, remote});
  ice::AgentOutput out;
  agent.start(ike::Timestamp{0}, out);
  agent.handle_datagram(base, from, datagram, ike::Timestamp{1}, out);
  agent.handle_datagram(base, from, datagram, ike::Timestamp{2}, out);  // a retransmission
  for (int i = 0; i < 64; ++i) {
    auto t = agent.next_timeout();
    if (!t) break;
    agent.handle_timeout(*t, out);
  }
  for (const auto& d : out.sends)
    if (d.data.size() < 4 + 28) std::abort();  // every send is a framed, whole check
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  auto check = ice::parse_check(input);
  Bytes connect_id{1, 2, 3, 4};
  if (check) {
    (void)ice::describe(*check);
    if (check->connect_id.size() < ice::kMinConnectIdSize ||
        check->connect_id.size() > ice::kMaxConnectIdSize ||
        check->auth.size() != ice::kConnectAuthSize)
      std::abort();  // parse_check promised these
    connect_id = check->connect_id;
  }
  ike::Endpoint from{*IpAddress::parse("203.0.113.2"), 1200};
  Bytes framed = ice::frame_check(input, 4500);
  feed(ice::Role::Initiator, connect_id, framed, from);
  feed(ice::Role::Responder, connect_id, framed, from);
  if (check) {
    // Signed as the peer would sign it: accepted, so the state machine runs.
    Bytes signed_check =
        ice::frame_check(ice::build_check(check->response, check->message_id, check->connect_id,
                                          check->endpoint, kRemoteKey),
                         4500);
    auto again = ice::parse_check(ByteView(signed_check).subspan(4));
    if (!again || again->endpoint != check->endpoint || again->message_id != check->message_id)
      std::abort();  // what parse_check accepts, build_check reproduces
    feed(ice::Role::Initiator, connect_id, signed_check, from);
    feed(ice::Role::Responder, connect_id, signed_check, from);
  }
  return 0;
}

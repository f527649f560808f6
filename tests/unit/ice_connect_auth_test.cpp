// The interop proof for connectivity checks: every check of the real strongSwan double-NAT capture
// (tests/data/strongswan-p2p, copied from the team's shared vectors) is parsed, its ME_CONNECTAUTH
// recomputed byte for byte from the connect keys (decrypted out of the capture's ME_CONNECT
// messages with its key file) and the whole message rebuilt identically by ice::build_check.

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "ice/agent.hpp"
#include "ice/check_message.hpp"
#include "ice/connect_auth.hpp"
#include "ike/codec/framing.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/message.hpp"
#include "peer/ctl/capture.hpp"
#include "peer/ctl/datagram_decoder.hpp"
#include "peer/ctl/ike_keys.hpp"

using namespace ikeme;

namespace {

const std::string kVectors = std::string(IKEME_TEST_DATA_DIR) + "/strongswan-p2p/";

const ike::NotifyPayload* find_notify(const std::vector<ike::Payload>& payloads,
                                      ike::NotifyType type) {
  for (const auto& p : payloads)
    if (const auto* n = p.as<ike::NotifyPayload>(); n && n->type == type) return n;
  return nullptr;
}

struct CapturedCheck {
  std::string sender;  // "alice" (192.0.2.1, the ME_CONNECT initiator) or "bob" (192.0.2.2)
  Bytes message;       // the IKE message, non-ESP marker removed
  uint16_t src_port = 0, dst_port = 0;
  IpAddress src;
};

struct CaptureFacts {
  Bytes connect_id;
  std::map<std::string, Bytes> key;  // sender's own ME_CONNECTKEY, by host
  std::map<std::string, std::vector<ike::MeEndpoint>> endpoints;  // what each peer disclosed
  std::vector<CapturedCheck> checks;
};

// Decrypts the capture once: connect keys out of the ME_CONNECT requests the peers sent
// (alice's initial request, bob's ME_RESPONSE request), the checks as they are.
const CaptureFacts& facts() {
  static const CaptureFacts f = [] {
    CaptureFacts out;
    auto keys = ctl::load_ike_keys(kVectors + "ike-keys.csv");
    REQUIRE(keys.ok());
    auto cap = ctl::read_capture(kVectors + "public.pcap");
    REQUIRE(cap.ok());
    ctl::DatagramDecoder decoder(&*keys);
    for (const auto& d : cap->datagrams) {
      auto x = decoder.decode(d);
      if (x.kind != ctl::DecodedDatagram::Kind::Ike) continue;
      const auto& h = x.message->header;
      std::string host = d.src.to_string() == "192.0.2.1"   ? "alice"
                         : d.src.to_string() == "192.0.2.2" ? "bob"
                                                            : "carol";
      if (h.exchange == ike::ExchangeType::ME_CONNECT && !h.response() && host != "carol") {
        REQUIRE(x.inner);
        const auto* key = find_notify(*x.inner, ike::NotifyType::ME_CONNECTKEY);
        const auto* cid = find_notify(*x.inner, ike::NotifyType::ME_CONNECTID);
        REQUIRE(key);
        REQUIRE(cid);
        out.key[host] = key->data;
        for (const auto& p : *x.inner)
          if (const auto* n = p.as<ike::NotifyPayload>();
              n && n->type == ike::NotifyType::ME_ENDPOINT)
            out.endpoints[host].push_back(
                *ike::parse_me_endpoint(n->data, ike::FamilyNone::Forbidden));
        if (out.connect_id.empty()) out.connect_id = cid->data;
        CHECK(out.connect_id == cid->data);
      }
      if (ike::is_connectivity_check(h)) {
        auto framed = ike::classify_nat_t(d.payload);
        REQUIRE(framed.kind == ike::DatagramKind::Ike);
        out.checks.push_back(CapturedCheck{host,
                                           Bytes(framed.payload.begin(), framed.payload.end()),
                                           d.src_port, d.dst_port, d.src});
      }
    }
    return out;
  }();
  return f;
}

}  // namespace

TEST_CASE("ice: the capture holds one connect ID, both connect keys and five checks",
          "[ice][vectors]") {
  const auto& f = facts();
  CHECK(f.connect_id == Bytes{0xf1, 0xdd, 0x03, 0xae});  // "checklist f1:dd:03:ae" in the logs
  REQUIRE(f.key.count("alice") == 1);
  REQUIRE(f.key.count("bob") == 1);
  CHECK(f.key.at("alice").size() == 16);  // strongSwan sends 16-byte keys
  CHECK(f.key.at("bob").size() == 16);
  CHECK(f.key.at("alice") != f.key.at("bob"));
  // message-sequence.txt: bob request 2 (dropped by alice's NAT), alice request 2, bob's response,
  // bob's triggered request 2, alice's response. (Both request 1s went to private addresses.)
  REQUIRE(f.checks.size() == 5);
}

TEST_CASE(
    "ice: ME_CONNECTAUTH of every captured check recomputes byte for byte with the sender's key",
    "[ice][vectors]") {
  const auto& f = facts();
  int requests = 0, responses = 0;
  for (const auto& c : f.checks) {
    INFO(c.sender << " " << c.src.to_string() << "[" << c.src_port << "] -> [" << c.dst_port
                  << "]");
    auto parsed = ice::parse_check(c.message);
    REQUIRE(parsed.ok());
    CHECK(parsed->connect_id == f.connect_id);
    CHECK(parsed->message_id == 2);  // the srflx pair is number 2 on both sides
    const Bytes& own = f.key.at(c.sender);
    const Bytes& other = f.key.at(c.sender == "alice" ? "bob" : "alice");
    auto expected = ice::compute_connect_auth(parsed->message_id, parsed->connect_id,
                                              parsed->endpoint_data, own);
    CHECK(Bytes(expected.begin(), expected.end()) == parsed->auth);
    CHECK(ice::connect_auth_matches(parsed->auth, expected));
    // The draft's rule (the receiver's key for both directions) would not verify strongSwan.
    auto draft = ice::compute_connect_auth(parsed->message_id, parsed->connect_id,
                                           parsed->endpoint_data, other);
    CHECK_FALSE(ice::connect_auth_matches(parsed->auth, draft));
    // And ice::build_check, given the same inputs, produces strongSwan's message exactly.
    CHECK(ice::build_check(parsed->response, parsed->message_id, parsed->connect_id,
                           parsed->endpoint, own) == c.message);
    if (parsed->response) {
      ++responses;
      // A response's endpoint is the address the request came from: the requester's mapping.
      REQUIRE(parsed->endpoint.address);
      CHECK(parsed->endpoint.type == ike::EndpointType::PEER_REFLEXIVE);
      CHECK(parsed->endpoint.priority == ike::kPriorityPeerReflexive);
      std::string mapped = endpoint_string(*parsed->endpoint.address, parsed->endpoint.port);
      CHECK(mapped == (c.sender == "bob" ? "192.0.2.1[1137]" : "192.0.2.2[1268]"));
    } else {
      ++requests;
      CHECK(parsed->endpoint.type == ike::EndpointType::PEER_REFLEXIVE);
      CHECK(!parsed->endpoint.address);  // family 0
      CHECK(parsed->endpoint.priority == ike::kPriorityPeerReflexive);
    }
  }
  CHECK(requests == 3);
  CHECK(responses == 2);
}

TEST_CASE("ice: a captured check with one flipped bit no longer verifies", "[ice][vectors]") {
  const auto& f = facts();
  const auto& c = f.checks.front();
  auto parsed = ice::parse_check(c.message);
  REQUIRE(parsed.ok());
  const Bytes& own = f.key.at(c.sender);
  // Flip each covered field in turn: message ID, connect ID, endpoint data, key.
  auto auth_of = [&](uint32_t mid, Bytes cid, Bytes ep, Bytes key) {
    return ice::compute_connect_auth(mid, cid, ep, key);
  };
  Bytes cid = parsed->connect_id, ep = parsed->endpoint_data, key = own;
  CHECK(ice::connect_auth_matches(parsed->auth, auth_of(2, cid, ep, key)));
  CHECK_FALSE(ice::connect_auth_matches(parsed->auth, auth_of(3, cid, ep, key)));
  cid[0] ^= 1;
  CHECK_FALSE(ice::connect_auth_matches(parsed->auth, auth_of(2, cid, ep, key)));
  cid[0] ^= 1;
  ep[3] ^= 1;
  CHECK_FALSE(ice::connect_auth_matches(parsed->auth, auth_of(2, cid, ep, key)));
  ep[3] ^= 1;
  key.back() ^= 0x80;
  CHECK_FALSE(ice::connect_auth_matches(parsed->auth, auth_of(2, cid, ep, key)));
  // A truncated authenticator never matches.
  Bytes shorter(parsed->auth.begin(), parsed->auth.end() - 1);
  CHECK_FALSE(ice::connect_auth_matches(
      shorter, auth_of(2, parsed->connect_id, parsed->endpoint_data, own)));
}

TEST_CASE("ice: check framing follows charon's socket (marker off the IKE port)", "[ice]") {
  Bytes msg = ice::build_check(
      false, 7, Bytes{1, 2, 3, 4},
      ike::MeEndpoint{ike::kPriorityPeerReflexive, ike::EndpointType::PEER_REFLEXIVE, 4500,
                      IpAddress::parse("192.0.2.9")},
      Bytes(16, 0x42));
  Bytes on4500 = ice::frame_check(msg, 4500);
  REQUIRE(on4500.size() == msg.size() + 4);
  CHECK(Bytes(on4500.begin(), on4500.begin() + 4) == Bytes(4, 0));
  CHECK(ice::frame_check(msg, 500) == msg);
  auto back = ice::unframe_check(on4500, 4500);
  REQUIRE(back.ok());
  CHECK(Bytes(back->begin(), back->end()) == msg);
  // Without its marker on a NAT-T socket, a check's zero SPIi passes for a marker, and the rest
  // is not a valid message.
  auto unmarked = ice::unframe_check(msg, 4500);
  CHECK((!unmarked.ok() || !ice::parse_check(*unmarked).ok()));
  CHECK_FALSE(ice::unframe_check(Bytes{0xff}, 4500).ok());  // a NAT keepalive
  auto plain = ice::unframe_check(msg, 500);
  REQUIRE(plain.ok());
  auto parsed = ice::parse_check(*plain);
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed->response);
  CHECK(parsed->message_id == 7);
}

namespace {

// The capture's checks by sender and kind, in capture order.
std::vector<const CapturedCheck*> captured(const std::string& sender, bool response) {
  std::vector<const CapturedCheck*> out;
  for (const auto& c : facts().checks) {
    auto p = ice::parse_check(c.message);
    if (c.sender == sender && p && p->response == response) out.push_back(&c);
  }
  return out;
}

ike::Endpoint endpoint(const char* addr, uint16_t port) {
  return ike::Endpoint{*IpAddress::parse(addr), port};
}

// A host's candidates as strongSwan had them: its HOST address on 4500 and the SRFLX endpoint the
// mediation server reported, based on that socket.
std::vector<ice::Candidate> local_candidates(const std::string& host) {
  std::vector<ice::Candidate> out;
  ike::Endpoint base;
  for (const auto& ep : facts().endpoints.at(host))
    if (ep.type == ike::EndpointType::HOST) base = {*ep.address, ep.port};
  for (const auto& ep : facts().endpoints.at(host))
    out.push_back(ice::Candidate{ep.type, {*ep.address, ep.port}, base, ep.priority});
  return out;
}

Bytes unframed(const ike::SendDatagram& d) {
  auto m = ice::unframe_check(d.data, d.from.port);
  REQUIRE(m.ok());
  return Bytes(m->begin(), m->end());
}

}  // namespace

TEST_CASE("ice: an agent in bob's place sends and answers exactly what strongSwan's bob did",
          "[ice][vectors]") {
  const auto& f = facts();
  REQUIRE(f.endpoints.at("alice").size() == 2);
  REQUIRE(f.endpoints.at("bob").size() == 2);
  ice::IceAgent bob(
      ice::AgentConfig{},
      ice::SessionParams{"peer", ice::Role::Responder, f.connect_id, f.key.at("bob"),
                         f.key.at("alice"), local_candidates("bob"), f.endpoints.at("alice")});
  ice::AgentOutput out;
  bob.start(ike::Timestamp{0}, out);
  REQUIRE(out.sends.size() == 1);  // pair 1, host to host: never reached the public segment
  CHECK(out.sends[0].to == endpoint("10.1.0.10", 4500));
  out = {};
  bob.handle_timeout(ike::Timestamp{25}, out);
  REQUIRE(out.sends.size() == 2);  // pair 1's retransmission and pair 2's first check
  const auto bob_requests = captured("bob", false);
  REQUIRE(bob_requests.size() == 2);
  CHECK(out.sends[1].from == endpoint("10.2.0.10", 4500));
  CHECK(out.sends[1].to == endpoint("192.0.2.1", 1137));
  CHECK(unframed(out.sends[1]) == bob_requests[0]->message);
  // alice's request arrives (through sun: from alice's mapping, to bob's socket).
  const auto alice_requests = captured("alice", false);
  REQUIRE(alice_requests.size() == 1);
  out = {};
  Bytes framed = ice::frame_check(alice_requests[0]->message, 4500);
  REQUIRE(bob.handle_datagram(endpoint("10.2.0.10", 4500), endpoint("192.0.2.1", 1137), framed,
                              ike::Timestamp{28}, out));
  REQUIRE(out.sends.size() == 2);
  const auto bob_responses = captured("bob", true);
  REQUIRE(bob_responses.size() == 1);
  CHECK(unframed(out.sends[0]) == bob_responses[0]->message);  // byte for byte
  // Then the triggered check on the in-progress pair 2, at once (charon's came 23 ms later, in
  // its next pacing slot), identical to charon's.
  CHECK(out.sends[1].to == endpoint("192.0.2.1", 1137));
  CHECK(unframed(out.sends[1]) == bob_requests[1]->message);
  // alice's response makes pair 2 valid; bob waits for alice's IKE_SA_INIT.
  const auto alice_responses = captured("alice", true);
  REQUIRE(alice_responses.size() == 1);
  out = {};
  bob.handle_datagram(endpoint("10.2.0.10", 4500), endpoint("192.0.2.1", 1137),
                      ice::frame_check(alice_responses[0]->message, 4500), ike::Timestamp{30}, out);
  CHECK(bob.pairs().size() == 2);
  CHECK(bob.pairs()[1].state == ice::PairState::Succeeded);
  CHECK_FALSE(out.nomination);
  bob.peer_nominated(endpoint("10.2.0.10", 4500), endpoint("192.0.2.1", 1137), ike::Timestamp{31},
                     out);
  REQUIRE(out.nomination);
  CHECK(out.nomination->pair_id == 2);
  CHECK(out.nomination->remote_type == ike::EndpointType::SERVER_REFLEXIVE);
}

TEST_CASE("ice: an agent in alice's place nominates the capture's pair at once", "[ice][vectors]") {
  const auto& f = facts();
  ice::IceAgent alice(
      ice::AgentConfig{},
      ice::SessionParams{"peer", ice::Role::Initiator, f.connect_id, f.key.at("alice"),
                         f.key.at("bob"), local_candidates("alice"), f.endpoints.at("bob")});
  ice::AgentOutput out;
  alice.start(ike::Timestamp{0}, out);
  out = {};
  alice.handle_timeout(ike::Timestamp{25}, out);
  REQUIRE(out.sends.size() == 2);
  CHECK(unframed(out.sends[1]) == captured("alice", false)[0]->message);
  // bob's response to it, then bob's triggered request.
  out = {};
  alice.handle_datagram(endpoint("10.1.0.10", 4500), endpoint("192.0.2.2", 1268),
                        ice::frame_check(captured("bob", true)[0]->message, 4500),
                        ike::Timestamp{27}, out);
  REQUIRE(out.nomination);
  CHECK(out.nomination->local == endpoint("10.1.0.10", 4500));
  CHECK(out.nomination->remote == endpoint("192.0.2.2", 1268));
  CHECK(out.nomination->mapped == endpoint("192.0.2.1", 1137));
  CHECK(out.nomination->timings.finished == ike::Timestamp{27});  // charon: 1 s later
  out = {};
  alice.handle_datagram(endpoint("10.1.0.10", 4500), endpoint("192.0.2.2", 1268),
                        ice::frame_check(captured("bob", false)[1]->message, 4500),
                        ike::Timestamp{52}, out);
  REQUIRE(out.sends.size() == 1);  // still answered while lingering
  CHECK(unframed(out.sends[0]) == captured("alice", true)[0]->message);
}

// Exhaustive small-scale robustness: every prefix and every single-byte mutation of valid encoded
// messages must parse to a result (value or typed error), and whatever parses must re-encode to
// something that parses back to the same payloads. Run under IKEME_SANITIZE for memory errors.

#include <sstream>

#include "codec_test_util.hpp"

namespace ikeme::ike::test {
namespace {

// Messages whose bytes are mutated: the big all-payload sample, an IKE-ME connectivity check and
// a ME_CONNECT request (cleartext form) so the ME_ENDPOINT and IDp paths get mutated too.
std::vector<Message> corpus() {
  std::vector<Message> out;
  out.push_back(sample_message());

  Message check;
  check.header.spi_i = 0;
  check.header.spi_r = 0;
  check.header.exchange = ExchangeType::INFORMATIONAL;
  check.header.flags = kFlagInitiator;
  check.header.message_id = 2;
  check.payloads.push_back(make_notify(NotifyType::ME_CONNECTID, {0xf1, 0xdd, 0x03, 0xae}));
  check.payloads.push_back(
      me_endpoint_notify(kPriorityPeerReflexive, EndpointType::PEER_REFLEXIVE, nullptr, 0));
  check.payloads.push_back(make_notify(NotifyType::ME_CONNECTAUTH, counting(20)));
  out.push_back(check);

  Message connect;
  connect.header.exchange = ExchangeType::ME_CONNECT;
  connect.header.message_id = 2;
  connect.payloads.push_back(make_notify(NotifyType::ME_CONNECTID, {0xf1, 0xdd, 0x03, 0xae}));
  connect.payloads.push_back(make_notify(NotifyType::ME_CONNECTKEY, counting(16)));
  connect.payloads.push_back(make_notify(NotifyType::ME_CALLBACK));
  connect.payloads.push_back(
      me_endpoint_notify(kPriorityHost, EndpointType::HOST, "2001:db8::10", 4500));
  connect.payloads.push_back(me_endpoint_notify(kPriorityServerReflexive,
                                                EndpointType::SERVER_REFLEXIVE, "192.0.2.1", 1137));
  connect.payloads.push_back(make_id(PayloadType::IDp, IdType::ID_FQDN, {'b', 'o', 'b'}));
  out.push_back(connect);
  return out;
}

// For an input that parsed, re-encoding and re-parsing must reproduce its payloads and header.
// Returns a description of the problem, or "" when all is well.
std::string reencode_problem(const Message& m) {
  auto encoded = encode_message(m);
  if (!encoded) return "re-encoding failed: " + encoded.error().detail;
  auto again = parse_message(*encoded);
  if (!again) return "re-parse failed: " + again.error().to_string();
  if (again->payloads != m.payloads) return "payloads differ after re-encoding";
  const Header& a = again->header;
  const Header& b = m.header;
  if (a.spi_i != b.spi_i || a.spi_r != b.spi_r || a.exchange != b.exchange || a.flags != b.flags ||
      a.message_id != b.message_id || a.version != b.version)
    return "header differs after re-encoding";
  return "";
}

TEST_CASE("every proper prefix of a valid message is a Truncated drop", "[codec][robustness]") {
  for (const Message& m : corpus()) {
    const Bytes wire = encode_ok(m);
    REQUIRE(parse_message(wire).ok());
    size_t wrong = 0;
    for (size_t n = 0; n < wire.size(); ++n) {
      auto r = parse_message(ByteView(wire).first(n));
      if (r.ok() || r.error().kind != ParseErrorKind::Truncated || r.error().answer != kNoNotify) {
        UNSCOPED_INFO("prefix of " << n << " bytes: "
                                   << (r.ok() ? std::string("parsed") : r.error().to_string()));
        ++wrong;
      }
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("every proper prefix with a matching length field is refused", "[codec][robustness]") {
  for (const Message& m : corpus()) {
    const Bytes wire = encode_ok(m);
    size_t wrong = 0;
    for (size_t n = kHeaderSize; n < wire.size(); ++n) {
      Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
      ByteWriter(cut).patch_u32(24, static_cast<uint32_t>(n));
      auto r = parse_message(cut);
      if (r.ok()) {
        UNSCOPED_INFO("prefix of " << n << " bytes parsed");
        ++wrong;
      }
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("every proper prefix of an inner payload chain is Truncated", "[codec][robustness]") {
  std::vector<Payload> inner = sample_payloads();
  inner.pop_back();  // drop SK: decrypted content holds the plain payloads
  PayloadType first = PayloadType::NONE;
  auto chain = encode_payload_chain(inner, first);
  REQUIRE(chain.ok());
  REQUIRE(parse_payload_chain(first, *chain).ok());
  size_t wrong = 0;
  for (size_t n = 0; n < chain->size(); ++n) {
    auto r = parse_payload_chain(first, ByteView(*chain).first(n));
    if (r.ok() || r.error().kind != ParseErrorKind::Truncated) {
      UNSCOPED_INFO("chain prefix of "
                    << n << " bytes: " << (r.ok() ? std::string("parsed") : r.error().to_string()));
      ++wrong;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("every single-byte mutation parses or fails cleanly", "[codec][robustness]") {
  size_t parsed = 0, refused = 0;
  std::vector<std::string> problems;
  for (const Message& m : corpus()) {
    const Bytes wire = encode_ok(m);
    for (size_t pos = 0; pos < wire.size(); ++pos) {
      const uint8_t orig = wire[pos];
      for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, static_cast<uint8_t>(orig ^ 0x01),
                            static_cast<uint8_t>(orig ^ 0x80), static_cast<uint8_t>(orig + 1),
                            static_cast<uint8_t>(orig - 1)}) {
        if (value == orig) continue;
        Bytes mutated = wire;
        mutated[pos] = value;
        auto r = parse_message(mutated);
        if (!r) {
          ++refused;
          if (r.error().detail.empty()) problems.push_back("error without detail");
          continue;
        }
        ++parsed;
        std::string problem = reencode_problem(*r);
        if (!problem.empty()) {
          std::ostringstream s;
          s << "byte " << pos << " = " << int(value) << ": " << problem;
          problems.push_back(s.str());
        }
      }
    }
  }
  INFO(parsed << " mutations parsed, " << refused << " refused");
  for (size_t i = 0; i < problems.size() && i < 20; ++i) UNSCOPED_INFO(problems[i]);
  CHECK(problems.empty());
  // Both outcomes must actually occur, or the test exercises nothing.
  CHECK(parsed > 100);
  CHECK(refused > 100);
}

TEST_CASE("every single-byte mutation of an inner chain parses or fails cleanly",
          "[codec][robustness]") {
  std::vector<Payload> inner = sample_payloads();
  inner.pop_back();
  PayloadType first = PayloadType::NONE;
  auto chain = encode_payload_chain(inner, first);
  REQUIRE(chain.ok());
  size_t parsed = 0, refused = 0, problems = 0;
  for (size_t pos = 0; pos < chain->size(); ++pos) {
    for (uint8_t delta : {uint8_t{1}, uint8_t{0x80}, uint8_t{0xff}}) {
      Bytes mutated = *chain;
      mutated[pos] = static_cast<uint8_t>(mutated[pos] + delta);
      auto r = parse_payload_chain(first, mutated);
      if (!r) {
        ++refused;
        continue;
      }
      ++parsed;
      PayloadType first_again = PayloadType::NONE;
      auto encoded = encode_payload_chain(*r, first_again);
      auto again = encoded ? parse_payload_chain(first_again, *encoded)
                           : Result<std::vector<Payload>, ParseError>(Unexpected{ParseError{}});
      if (!encoded || !again || *again != *r || first_again != first) {
        UNSCOPED_INFO("byte " << pos << " + " << int(delta) << " does not round-trip");
        ++problems;
      }
    }
  }
  INFO(parsed << " mutations parsed, " << refused << " refused");
  CHECK(problems == 0);
  CHECK(parsed > 50);
  CHECK(refused > 50);
}

}  // namespace
}  // namespace ikeme::ike::test

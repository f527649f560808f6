// libFuzzer target: the IKE message parser. Any input must parse or fail with a ParseError,
// never crash; whatever parses must re-encode, re-parse to the same payloads and summarize.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ike/codec/framing.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/message.hpp"
#include "ike/codec/summary.hpp"

using namespace ikeme;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  auto parsed = ike::parse_message(input);
  if (!parsed) {
    (void)parsed.error().to_string();
  } else {
    (void)ike::summarize(*parsed);
    (void)ike::check_me_rules(parsed->header, parsed->payloads);
    auto encoded = ike::encode_message(*parsed);
    if (!encoded) std::abort();  // a parsed message must be encodable
    auto again = ike::parse_message(*encoded);
    if (!again || again->payloads != parsed->payloads) std::abort();
  }
  // The same bytes as decrypted SK content (an inner payload chain starting with each type).
  if (size > 1) {
    auto chain = ike::parse_payload_chain(static_cast<ike::PayloadType>(data[0]), input.subspan(1));
    if (chain) (void)ike::summarize_payloads(*chain);
  }
  // And as a NAT-T datagram.
  auto framed = ike::classify_nat_t(input);
  if (framed.kind == ike::DatagramKind::Ike) (void)ike::parse_message(framed.payload);
  return 0;
}

// libFuzzer target: the ME_ENDPOINT parser and the IKE-ME context rules.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/me_rules.hpp"

using namespace ikeme;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  auto strict = ike::parse_me_endpoint(input, ike::FamilyNone::Forbidden);
  auto lenient = ike::parse_me_endpoint(input, ike::FamilyNone::Allowed);
  if (strict && !lenient) std::abort();  // the lenient mode accepts a superset
  if (lenient) {
    (void)lenient->to_string();
    Bytes again = ike::encode_me_endpoint(*lenient);
    if (again != Bytes(input.begin(), input.end())) std::abort();  // exact round trip
  }
  // The same data as the notify of each exchange kind the rules distinguish.
  static const ike::ExchangeType kExchanges[] = {
      ike::ExchangeType::IKE_AUTH, ike::ExchangeType::ME_CONNECT, ike::ExchangeType::INFORMATIONAL};
  for (auto exchange : kExchanges) {
    for (uint8_t flags : {uint8_t{0x08}, uint8_t{0x20}}) {
      ike::Header h;
      h.exchange = exchange;
      h.flags = flags;
      std::vector<ike::Payload> payloads{
          ike::make_notify(ike::NotifyType::ME_ENDPOINT, Bytes(input.begin(), input.end()))};
      (void)ike::check_me_rules(h, payloads);
    }
  }
  return 0;
}

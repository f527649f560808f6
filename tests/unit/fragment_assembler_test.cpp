// Reassembly of SKF fragments (RFC 7383 §2.6) with its limits.

#include <catch2/catch.hpp>

#include "ike/sa/fragment_assembler.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using Outcome = FragmentAssembler::Outcome;

TEST_CASE("fragments reassemble in any order", "[fragments]") {
  FragmentAssembler a;
  CHECK(a.add(3, 3, PayloadType::NONE, {5, 6}).outcome == Outcome::Incomplete);
  CHECK(a.add(1, 3, PayloadType::IDi, {1, 2}).outcome == Outcome::Incomplete);
  CHECK(a.add(1, 3, PayloadType::IDi, {1, 2}).outcome == Outcome::Duplicate);
  CHECK(a.buffered_bytes() == 4);
  auto done = a.add(2, 3, PayloadType::NONE, {3, 4});
  REQUIRE(done.outcome == Outcome::Complete);
  CHECK(done.first_inner == PayloadType::IDi);
  CHECK(done.plaintext == Bytes{1, 2, 3, 4, 5, 6});
  CHECK(a.buffered_bytes() == 0);
}

TEST_CASE("a higher total restarts reassembly, a lower one is refused", "[fragments]") {
  FragmentAssembler a;
  CHECK(a.add(1, 2, PayloadType::IDr, {1}).outcome == Outcome::Incomplete);
  CHECK(a.add(1, 3, PayloadType::IDr, {9}).outcome == Outcome::Incomplete);
  auto low = a.add(2, 2, PayloadType::NONE, {2});
  CHECK(low.outcome == Outcome::Rejected);
  CHECK(a.add(2, 3, PayloadType::NONE, {8}).outcome == Outcome::Incomplete);
  auto done = a.add(3, 3, PayloadType::NONE, {7});
  REQUIRE(done.outcome == Outcome::Complete);
  CHECK(done.plaintext == Bytes{9, 8, 7});
}

TEST_CASE("fragment limits bound count and memory", "[fragments]") {
  FragmentAssembler a(FragmentLimits{4, 10});
  auto many = a.add(1, 5, PayloadType::SA, {1});
  CHECK(many.outcome == Outcome::Rejected);
  CHECK(many.reason == "5 fragments exceed the limit of 4");
  CHECK(a.add(1, 3, PayloadType::SA, Bytes(6)).outcome == Outcome::Incomplete);
  auto big = a.add(2, 3, PayloadType::NONE, Bytes(5));
  CHECK(big.outcome == Outcome::Rejected);
  CHECK(big.reason == "reassembly would exceed 10 bytes");
  CHECK(a.buffered_bytes() == 0);  // everything was dropped
  CHECK(a.add(0, 3, PayloadType::SA, {1}).outcome == Outcome::Rejected);
  CHECK(a.add(4, 3, PayloadType::SA, {1}).outcome == Outcome::Rejected);
}

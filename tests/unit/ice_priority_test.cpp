// Endpoint and pair priorities, checked against the codec's constants and strongSwan's own log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ice/priority.hpp"

using namespace ikeme::ice;
using ikeme::ike::EndpointType;

namespace {

constexpr uint32_t kHost = ikeme::ike::kPriorityHost;              // 0x00ffffff
constexpr uint32_t kSrflx = ikeme::ike::kPriorityServerReflexive;  // 0x0040ffff

// What charon logs for a pair. strongSwan 5.9.8 (src/libcharon/sa/ikev2/connect_manager.c):
//   endpoint_pair_create():  u_int64_t priority =
//       pow(2, 32) * min(pi, pr) + 2 * max(pi, pr) + (pi > pr ? 1 : 0);
//   prune_pairs():  DBG1(..., "pruning endpoint pair %#H - %#H with priority %d", ...,
//                        other->priority);
// Two things happen to the value before it reaches the log:
//  1. The sum is evaluated in double (pow returns double). 2^32 * 0x0040ffff is about 2^54.02,
//     where doubles are spaced 4 apart, so "+ 2*max + bit" is rounded to a multiple of 4 (ties
//     to even). The uint64_t stored is that rounded value.
//  2. "%d" consumes the 64-bit vararg as an int: on x86-64 (and any little-endian LP64 ABI) that
//     is the low 32 bits of the value. This is undefined behaviour in C; it is simply what glibc
//     on amd64 does, which is where the capture was made.
// This helper reproduces exactly those two steps, nothing else.
int32_t strongswan_logged_priority(uint32_t pi, uint32_t pr) {
  const double d = std::pow(2.0, 32) * std::min(pi, pr) + 2 * std::max(pi, pr) + (pi > pr ? 1 : 0);
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(d)));
}

struct Pair {
  int id;
  uint64_t priority;
};

}  // namespace

TEST_CASE("ice: endpoint priorities follow strongSwan's type preferences", "[ice]") {
  CHECK(type_preference(EndpointType::HOST) == 255);
  CHECK(type_preference(EndpointType::PEER_REFLEXIVE) == 128);
  CHECK(type_preference(EndpointType::SERVER_REFLEXIVE) == 64);
  CHECK(type_preference(EndpointType::RELAYED) == 0);
  CHECK(endpoint_priority(EndpointType::HOST) == 0x00FFFFFFu);
  CHECK(endpoint_priority(EndpointType::PEER_REFLEXIVE) == 0x0080FFFFu);
  CHECK(endpoint_priority(EndpointType::SERVER_REFLEXIVE) == 0x0040FFFFu);
  CHECK(endpoint_priority(EndpointType::RELAYED) == 0x0000FFFFu);
  CHECK(endpoint_priority(EndpointType::HOST) == ikeme::ike::kPriorityHost);
  CHECK(endpoint_priority(EndpointType::PEER_REFLEXIVE) == ikeme::ike::kPriorityPeerReflexive);
  CHECK(endpoint_priority(EndpointType::SERVER_REFLEXIVE) == ikeme::ike::kPriorityServerReflexive);
  CHECK(endpoint_priority(EndpointType::RELAYED) == ikeme::ike::kPriorityRelayed);
  CHECK(endpoint_priority(EndpointType::SERVER_REFLEXIVE, 1) == 0x00400001u);
  CHECK(endpoint_priority(EndpointType::RELAYED, 0) == 0u);
}

TEST_CASE("ice: pair priority is exact and depends on who initiated", "[ice]") {
  // 2^32*min + 2*max + (pI > pR), computed by hand in hex.
  CHECK(pair_priority(kHost, kHost) == 0x00FFFFFF'01FFFFFEull);
  CHECK(pair_priority(kHost, kSrflx) == 0x0040FFFF'01FFFFFFull);
  CHECK(pair_priority(kSrflx, kHost) == 0x0040FFFF'01FFFFFEull);
  CHECK(pair_priority(kSrflx, kSrflx) == 0x0040FFFF'0081FFFEull);
  CHECK(pair_priority(0, 0) == 0u);
  CHECK(pair_priority(1, 0) == 3u);
  CHECK(pair_priority(0, 1) == 2u);
  // The largest value that fits; both at 2^32-1 would be 2^64 + 2^32 - 2, which saturates.
  CHECK(pair_priority(0xFFFFFFFEu, 0xFFFFFFFFu) == 0xFFFFFFFF'FFFFFFFEull);
  CHECK(pair_priority(0xFFFFFFFFu, 0xFFFFFFFEu) == UINT64_MAX);
  CHECK(pair_priority(0xFFFFFFFFu, 0xFFFFFFFFu) == UINT64_MAX);
  CHECK(pair_priority(0xFFFFFFFFu, 0xFFFFFFFEu) > pair_priority(0xFFFFFFFEu, 0xFFFFFFFFu));
  // Swapping the roles changes only the tie bit. So both sides must pass (the ME_CONNECT
  // initiator's, the responder's) priorities, never (local, remote), to agree on a pair's value.
  static_assert(pair_priority(kHost, kSrflx) == pair_priority(kSrflx, kHost) + 1);
}

TEST_CASE("ice: the numbers strongSwan logs when pruning pairs in the capture", "[ice]") {
  // vectors/strongswan-p2p/message-sequence.txt: alice initiated ME_CONNECT; each side has a
  // HOST endpoint (port 4500) and a SERVER_REFLEXIVE one whose base is that HOST address, so the
  // SRFLX pairs duplicate HOST pairs (same local base, same remote) and are pruned:
  //   bob   pruning 10.2.0.10[4500] - 10.1.0.10[4500]  with priority 33554432
  //           = pair (alice HOST, bob SRFLX):  pI = HOST,  pR = SRFLX
  //   bob   pruning 10.2.0.10[4500] - 192.0.2.1[1137]  with priority 8519680
  //           = pair (alice SRFLX, bob SRFLX): pI = SRFLX, pR = SRFLX
  //   alice pruning 10.1.0.10[4500] - 10.2.0.10[4500]  with priority 33554432
  //           = pair (alice SRFLX, bob HOST):  pI = SRFLX, pR = HOST
  //   alice pruning 10.1.0.10[4500] - 192.0.2.2[1268]  with priority 8519680
  //           = pair (alice SRFLX, bob SRFLX)
  CHECK(strongswan_logged_priority(kHost, kSrflx) == 33554432);
  CHECK(strongswan_logged_priority(kSrflx, kHost) == 33554432);
  CHECK(strongswan_logged_priority(kSrflx, kSrflx) == 8519680);

  // Our exact values have the same high half (min = SRFLX) and differ from charon's only in the
  // rounded low bits: 2*0x00ffffff + 1 = 33554431, 2*0x00ffffff = 33554430, 2*0x0040ffff =
  // 8519678; charon rounded each to the nearest multiple of 4.
  CHECK(pair_priority(kHost, kSrflx) >> 32 == kSrflx);
  CHECK((pair_priority(kHost, kSrflx) & 0xFFFFFFFF) == 33554431u);
  CHECK((pair_priority(kSrflx, kHost) & 0xFFFFFFFF) == 33554430u);
  CHECK((pair_priority(kSrflx, kSrflx) & 0xFFFFFFFF) == 8519678u);

  // Why the rounding does not matter for interoperability: it can only merge values less than 4
  // apart. Here it makes (HOST, SRFLX) and (SRFLX, HOST) tie in charon, where we order the first
  // one higher. That changes pair order and hence pair numbers (the check's Message ID) but
  // numbers are private to each side: charon's process_request() finds the pair by
  // (destination, source) and echoes the requester's Message ID; process_response() looks the
  // number up in the requester's own list. Every pruning decision in the capture (HOST pairs vs
  // their SRFLX duplicates) is the same under both computations:
  CHECK(pair_priority(kHost, kHost) > pair_priority(kHost, kSrflx));
  CHECK(pair_priority(kSrflx, kHost) > pair_priority(kSrflx, kSrflx));
  CHECK(pair_priority(kHost, kSrflx) > pair_priority(kSrflx, kHost));  // exact: no tie
}

TEST_CASE("ice: pairs sort by descending priority, ties keep insertion order", "[ice]") {
  std::vector<Pair> pairs = {
      {1, pair_priority(kSrflx, kSrflx)},
      {2, pair_priority(kHost, kHost)},
      {3, 7},
      {4, pair_priority(kSrflx, kHost)},
      {5, 7},
      {6, pair_priority(kHost, kSrflx)},
  };
  std::stable_sort(pairs.begin(), pairs.end(), HigherPriorityFirst{});
  std::vector<int> order;
  for (const Pair& p : pairs) order.push_back(p.id);
  CHECK(order == std::vector<int>{2, 6, 4, 1, 3, 5});

  std::vector<uint64_t> raw = {1, 5, 3, UINT64_MAX, 0};
  std::sort(raw.begin(), raw.end(), HigherPriorityFirst{});
  CHECK(raw == std::vector<uint64_t>{UINT64_MAX, 5, 3, 1, 0});
}

TEST_CASE("ice: pair priorities print as 16 hex digits", "[ice]") {
  CHECK(pair_priority_hex(pair_priority(kHost, kSrflx)) == "0x0040ffff01ffffff");
  CHECK(pair_priority_hex(0) == "0x0000000000000000");
}

// mediator/key_pair_pool.hpp (watermarks, single use, the inline fallback) and
// mediator/key_pair_refiller.hpp (batches generated on libuv's thread pool).
#include <uv.h>

#include <catch2/catch.hpp>
#include <set>

#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/random.hpp"
#include "ike/sa/proposals.hpp"
#include "mediator/key_pair_pool.hpp"
#include "mediator/key_pair_refiller.hpp"

using namespace ikeme;
using namespace ikeme::mediator;
using ike::DhGroup;
using ike::crypto::KeyExchange;

namespace {

std::vector<std::unique_ptr<KeyExchange>> keys(DhGroup g, size_t n, uint64_t seed) {
  ike::crypto::DeterministicRng rng(seed);
  std::vector<std::unique_ptr<KeyExchange>> out;
  for (size_t i = 0; i < n; ++i) out.push_back(std::move(KeyExchange::create(g, rng).value()));
  return out;
}

KeyPairPool::Limits limits(size_t high, size_t low, size_t batch, size_t jobs) {
  KeyPairPool::Limits l;
  l.high = high;
  l.low = low;
  l.batch = batch;
  l.max_jobs = jobs;
  return l;
}

}  // namespace

TEST_CASE("key pair pool: refills below the low watermark up to the high one", "[mediator]") {
  KeyPairPool pool({DhGroup::CURVE_25519}, limits(8, 4, 3, 2));
  // Empty: two jobs (max_jobs) of a batch each, no third while they run.
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 3);
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 3);
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 0);
  CHECK(pool.in_flight(DhGroup::CURVE_25519) == 6);
  pool.delivered(DhGroup::CURVE_25519, 3, keys(DhGroup::CURVE_25519, 3, 1));
  // Still filling (6 < high 8): the last job is cut to what is missing.
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 2);
  pool.delivered(DhGroup::CURVE_25519, 3, keys(DhGroup::CURVE_25519, 3, 2));
  pool.delivered(DhGroup::CURVE_25519, 2, keys(DhGroup::CURVE_25519, 2, 3));
  CHECK(pool.ready(DhGroup::CURVE_25519) == 8);
  CHECK(pool.in_flight(DhGroup::CURVE_25519) == 0);
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 0);  // full
  // Between the watermarks no job starts; below the low one a refill does.
  for (int i = 0; i < 4; ++i) REQUIRE(pool.take(DhGroup::CURVE_25519));
  CHECK(pool.ready(DhGroup::CURVE_25519) == 4);
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 0);
  REQUIRE(pool.take(DhGroup::CURVE_25519));
  CHECK(pool.plan_job(DhGroup::CURVE_25519) == 3);
  CHECK(pool.stats().taken == 5);
  CHECK(pool.stats().added == 8);
}

TEST_CASE("key pair pool: each key pair is handed out once, then the caller falls back",
          "[mediator]") {
  KeyPairPool pool({DhGroup::CURVE_25519}, limits(4, 2, 4, 1));
  REQUIRE(pool.plan_job(DhGroup::CURVE_25519) == 4);
  pool.delivered(DhGroup::CURVE_25519, 4, keys(DhGroup::CURVE_25519, 4, 7));
  std::set<Bytes> seen;
  for (int i = 0; i < 4; ++i) {
    auto ke = pool.take(DhGroup::CURVE_25519);
    REQUIRE(ke);
    CHECK(seen.insert(ke->public_value()).second);
  }
  CHECK_FALSE(pool.take(DhGroup::CURVE_25519));  // empty: nullptr, no waiting
  CHECK_FALSE(pool.take(DhGroup::ECP_256));      // not a pooled group
  CHECK(pool.stats().taken == 4);
  CHECK(pool.stats().missed == 2);
  CHECK(pool.plan_job(DhGroup::ECP_256) == 0);
}

TEST_CASE("key pair pool: bounded; a short or foreign delivery frees its slot", "[mediator]") {
  KeyPairPool pool({DhGroup::CURVE_25519}, limits(4, 2, 4, 1));
  REQUIRE(pool.plan_job(DhGroup::CURVE_25519) == 4);
  pool.delivered(DhGroup::CURVE_25519, 4, keys(DhGroup::CURVE_25519, 1, 9));  // a failed job
  CHECK(pool.ready(DhGroup::CURVE_25519) == 1);
  CHECK(pool.in_flight(DhGroup::CURVE_25519) == 0);
  REQUIRE(pool.plan_job(DhGroup::CURVE_25519) == 3);
  // More than planned, and a key of another group: never more than `high` are kept.
  auto extra = keys(DhGroup::CURVE_25519, 5, 10);
  extra.push_back(std::move(keys(DhGroup::ECP_256, 1, 11).front()));
  pool.delivered(DhGroup::CURVE_25519, 3, std::move(extra));
  CHECK(pool.ready(DhGroup::CURVE_25519) == 4);
  CHECK(pool.stats().discarded == 3);
}

TEST_CASE("key pair pool: default limits", "[mediator]") {
  auto l = key_pair_pool_limits(256);
  CHECK(l.high == 256);
  CHECK(l.low == 128);
  CHECK(l.batch == 32);
  auto small = key_pair_pool_limits(1);
  CHECK(small.high == 1);
  CHECK(small.low == 1);
  CHECK(small.batch == 1);
}

TEST_CASE("key pair refiller: proposed groups, once each", "[mediator]") {
  ike::ConnectionConfig c1, c2;
  c1.proposals = {ike::parse_proposal("aes128-sha256-x25519", ike::ProtocolId::IKE).value(),
                  ike::parse_proposal("aes256-sha384-ecp384", ike::ProtocolId::IKE).value()};
  c2.proposals = {
      ike::parse_proposal("aes128gcm16-prfsha256-x25519", ike::ProtocolId::IKE).value()};
  CHECK(proposed_dh_groups({c1, c2}) ==
        std::vector<DhGroup>{DhGroup::CURVE_25519, DhGroup::ECP_384});
}

TEST_CASE("key pair refiller: jobs on libuv's threads give distinct, working key pairs",
          "[mediator]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    KeyPairRefiller refiller(&loop, {DhGroup::CURVE_25519, DhGroup::ECP_256}, limits(24, 12, 8, 2));
    refiller.top_up();
    CHECK(refiller.jobs_in_flight() == 4);  // two per group
    auto full = [&] {
      return refiller.pool().ready(DhGroup::CURVE_25519) == 24 &&
             refiller.pool().ready(DhGroup::ECP_256) == 24;
    };
    // UV_RUN_ONCE blocks while a job is out; with none out and the pool not full this gives up.
    for (int i = 0; i < 1000 && !full(); ++i) uv_run(&loop, UV_RUN_ONCE);
    REQUIRE(full());
    CHECK(refiller.jobs_in_flight() == 0);
    CHECK(refiller.jobs_failed() == 0);

    auto factory = refiller.factory();
    ike::crypto::DeterministicRng rng(42);
    for (DhGroup g : {DhGroup::CURVE_25519, DhGroup::ECP_256}) {
      std::set<Bytes> seen;
      for (int i = 0; i < 24; ++i) {
        auto ke = factory(g, rng);
        REQUIRE(ke);
        REQUIRE((*ke)->group() == g);
        CHECK(seen.insert((*ke)->public_value()).second);
        auto peer = KeyExchange::create(g, rng);
        REQUIRE(peer);
        auto ours = (*ke)->shared_secret((*peer)->public_value());
        auto theirs = (*peer)->shared_secret((*ke)->public_value());
        REQUIRE(ours);
        REQUIRE(theirs);
        CHECK(*ours == *theirs);
      }
    }
    // The takes drained the pool below the low watermark: refills are on their way. Shutdown
    // cancels them; the loop runs until every job is back, its keys wiped.
    CHECK(refiller.jobs_in_flight() > 0);
    refiller.cancel_all();
    while (refiller.jobs_in_flight() > 0) uv_run(&loop, UV_RUN_ONCE);
    CHECK(refiller.pool().ready(DhGroup::CURVE_25519) == 0);
    // An empty pool: the factory generates inline with the caller's Rng.
    auto inline_ke = factory(DhGroup::CURVE_25519, rng);
    REQUIRE(inline_ke);
    CHECK(refiller.pool().stats().missed >= 1);
    CHECK(refiller.jobs_in_flight() == 0);  // cancelled: no new jobs
  }
  CHECK(uv_loop_close(&loop) == 0);
}

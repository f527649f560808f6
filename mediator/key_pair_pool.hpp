#pragma once
// Pre-generated, single-use DH key pairs for the mediator's responder SAs. A fresh X25519 key pair
// costs about 0.43 ms with mbedTLS 2.28, as much as the shared secret; generated in the engine
// call it held the event loop for half of a registration's time. The daemon fills this pool in
// batches on libuv's thread pool (key_pair_refiller.hpp) and the engine takes from it through
// EngineConfig::key_exchange_factory. Each key pair leaves the pool exactly once (take() moves
// it out), so every SA still has a private value of its own (forward secrecy as without the
// pool). Empty pool: the caller generates inline, as before; nothing ever waits.
//
// Loop thread only: the worker jobs build their key pairs in their own objects and hand them
// over in libuv's after_work callback. Pure: no libuv here, so the policy is unit-tested alone.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "ike/codec/constants.hpp"
#include "ike/crypto/key_exchange.hpp"

namespace ikeme::mediator {

class KeyPairPool {
 public:
  struct Limits {
    size_t high = 256;    // keep at most this many per group (ready plus being generated)
    size_t low = 128;     // start a refill when fewer than this are ready or on the way
    size_t batch = 32;    // key pairs per worker job
    size_t max_jobs = 2;  // worker jobs in flight per group
  };
  struct Stats {
    uint64_t taken = 0;      // key pairs handed to SAs from the pool
    uint64_t missed = 0;     // take() on an empty pool (the SA generated its own inline)
    uint64_t added = 0;      // key pairs the worker jobs delivered
    uint64_t discarded = 0;  // delivered beyond `high` or for a group not served any more
  };

  // `groups`: the DH groups the mediation connections propose; only these are pooled.
  KeyPairPool(std::vector<ike::DhGroup> groups, Limits limits);

  // A pre-generated key pair for `group`, moved out of the pool, or nullptr when none is ready
  // (or the group is not pooled).
  std::unique_ptr<ike::crypto::KeyExchange> take(ike::DhGroup group);

  // How many key pairs one new worker job for `group` should generate now (0: none needed, or
  // max_jobs already running). A non-zero answer counts as in flight until delivered().
  size_t plan_job(ike::DhGroup group);
  // A job planned for `count` key pairs of `group` is back with `keys` (fewer if it failed or
  // was cancelled). Keys beyond `high` are dropped (wiped by their destructors).
  void delivered(ike::DhGroup group, size_t count,
                 std::vector<std::unique_ptr<ike::crypto::KeyExchange>> keys);

  std::vector<ike::DhGroup> groups() const;
  size_t ready(ike::DhGroup group) const;
  size_t in_flight(ike::DhGroup group) const;
  const Stats& stats() const { return stats_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Group {
    std::deque<std::unique_ptr<ike::crypto::KeyExchange>> ready;
    size_t in_flight_keys = 0;
    size_t jobs = 0;
    bool filling = false;  // between the low and the high watermark on the way up
  };
  Limits limits_;
  std::map<ike::DhGroup, Group> groups_;
  Stats stats_;
};

// Watermarks for a pool of at most `max_per_group` key pairs per group: refill below half, in
// batches of up to 32 (a job is then about 14 ms of X25519 work).
KeyPairPool::Limits key_pair_pool_limits(size_t max_per_group);

}  // namespace ikeme::mediator

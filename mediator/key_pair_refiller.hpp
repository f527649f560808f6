#pragma once
// Fills a KeyPairPool (key_pair_pool.hpp) on libuv's thread pool and serves the engine from it
// (factory()). A job generates a batch of key pairs for one group with its own CTR_DRBG, seeded
// afresh from the OS entropy source, and its own KeyExchange objects: mbedTLS contexts and Rng
// are not thread-safe, so the pool threads share nothing mutable with the loop. The batch reaches
// the pool in the after_work callback, on the loop thread, the only thread that touches the pool.

#include <uv.h>

#include <cstdint>
#include <set>
#include <vector>

#include "ike/sa/connection.hpp"
#include "mediator/key_pair_pool.hpp"

namespace ikeme::mediator {

class KeyPairRefiller {
 public:
  KeyPairRefiller(uv_loop_t* loop, std::vector<ike::DhGroup> groups, KeyPairPool::Limits limits)
      : loop_(loop), pool_(std::move(groups), limits) {}
  // The loop must run until jobs_in_flight() is 0 before this goes away (EventLoop::finish does).
  ~KeyPairRefiller() = default;
  KeyPairRefiller(const KeyPairRefiller&) = delete;
  KeyPairRefiller& operator=(const KeyPairRefiller&) = delete;

  // Starts the jobs every pooled group needs now (the first fill at start-up).
  void top_up();
  // For EngineConfig::key_exchange_factory: a pooled key pair, or one generated inline with the
  // engine's Rng when none is ready; either way a refill starts if the pool runs low. Valid as
  // long as this object.
  ike::KeyExchangeFactory factory();
  // Jobs not started yet are dropped, running ones finish and their keys are wiped (shutdown).
  void cancel_all();

  const KeyPairPool& pool() const { return pool_; }
  size_t jobs_in_flight() const { return jobs_.size(); }
  uint64_t jobs_failed() const { return jobs_failed_; }

  // Generates `count` key pairs for `group` with a DRBG of its own seeded from the OS (what a job
  // does on a pool thread). Fewer, possibly none, if seeding or a generation fails.
  static std::vector<std::unique_ptr<ike::crypto::KeyExchange>> generate(ike::DhGroup group,
                                                                         size_t count);

 private:
  struct Job;
  void top_up(ike::DhGroup group);
  static void work(uv_work_t* req);
  static void after(uv_work_t* req, int status);

  uv_loop_t* loop_;
  KeyPairPool pool_;
  std::set<Job*> jobs_;  // queued or running
  bool cancelled_ = false;
  uint64_t jobs_failed_ = 0;
};

// The DH groups of the IKE proposals of `connections`, each once: the groups worth pooling.
std::vector<ike::DhGroup> proposed_dh_groups(const std::vector<ike::ConnectionConfig>& connections);

}  // namespace ikeme::mediator

#pragma once
// Runs the engine's KeyExchangeJobs (EngineConfig::defer_key_exchange) on libuv's thread pool, so
// that the X25519 shared secrets, most of a registration's CPU, use the second core while the
// loop thread parses, authenticates and answers. Each job's result comes back on the loop thread
// through `done`, in the order the jobs finish. A job computes on its own duplicate of the private
// value (KeyExchangeJob::ke), so the pool threads share no mutable state with the loop.

#include <uv.h>

#include <functional>
#include <set>

#include "ike/sa/actions.hpp"

namespace ikeme::mediator {

class KeyExchangeWorker {
 public:
  using Done =
      std::function<void(const ike::KeyExchangeJob&, Result<Bytes, ike::crypto::CryptoError>)>;
  KeyExchangeWorker(uv_loop_t* loop, Done done) : loop_(loop), done_(std::move(done)) {}
  // The loop must run until in_flight() is 0 before this goes away (EventLoop::finish does).
  ~KeyExchangeWorker() = default;
  KeyExchangeWorker(const KeyExchangeWorker&) = delete;
  KeyExchangeWorker& operator=(const KeyExchangeWorker&) = delete;

  // Queues the job; if the pool refuses it, computes it here and now (never lost).
  void submit(ike::KeyExchangeJob job);
  // Jobs not started yet are dropped, running ones finish without calling `done` (shutdown).
  void cancel_all();
  size_t in_flight() const { return items_.size(); }
  uint64_t computed() const { return computed_; }

 private:
  struct Item;
  static void work(uv_work_t* req);
  static void after(uv_work_t* req, int status);

  uv_loop_t* loop_;
  Done done_;
  std::set<Item*> items_;  // queued or running
  bool cancelled_ = false;
  uint64_t computed_ = 0;
};

}  // namespace ikeme::mediator

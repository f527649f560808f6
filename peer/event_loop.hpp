#pragma once
// The libuv loop both daemons (ikeme-peer, ikeme-mediator) run their sans-IO core on: the loop
// itself, the one timer the core's next_timeout() arms, the signals (SIGTERM, SIGINT, SIGHUP) and
// the grace timer of a shutdown. Time: the core's Timestamp is uv_now() (libuv's monotonic clock
// in ms, refreshed by now()).

#include <uv.h>

#include <functional>
#include <optional>
#include <string>

#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::peer {

class EventLoop {
 public:
  EventLoop() = default;
  ~EventLoop();  // after close() and finish(): nothing left to do
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status<std::string> init();
  // The timer's and the signals' callbacks; call once after init().
  void start(std::function<void()> on_timer, std::function<void(int signum)> on_signal);
  uv_loop_t* get() { return &loop_; }
  ike::Timestamp now();
  // Arms the timer for the core's next deadline (none: stops it). A deadline the timer callback
  // just handled but the core still reports waits 1 ms instead of spinning the loop.
  void arm(std::optional<ike::Timestamp> next);
  // Calls `done` after `ms` unless the loop stops first (a shutdown's grace period).
  void grace(uint64_t ms, std::function<void()> done);
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }
  // Closes the timers and signal handles (the loop ends once every other handle is closed too).
  void close();
  // Runs the close callbacks and closes the loop; for the owner's destructor, after it closed
  // its own handles.
  void finish();

 private:
  uv_loop_t loop_{};
  bool initialized_ = false, started_ = false, finished_ = false;
  uv_timer_t timer_{}, grace_{};
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  std::function<void()> on_timer_, on_grace_;
  std::function<void(int)> on_signal_;
  bool in_timer_ = false;
};

}  // namespace ikeme::peer

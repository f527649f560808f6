#pragma once
// How both daemons (ikeme-peer, ikeme-mediator) react to SIGTERM/SIGINT: the first signal
// deletes every IKE SA (DELETE to each peer) and ends the loop once none is left or after the
// grace period; a second signal ends it at once, without waiting for the peers' answers.

#include <cstdint>
#include <functional>
#include <string>

#include "peer/event_loop.hpp"

namespace ikeme::peer {

struct ShutdownHooks {
  std::function<void(int level, const std::string& text)> log;  // the CFG subsystem's lines
  std::function<size_t()> sa_count;                             // IKE SAs still there
  std::function<void()> delete_all;  // closes the control socket, deletes every SA, sends
  std::function<void()> stop;        // ends the loop
};

// `shutting_down` is the daemon's flag (set here). Returns true when the daemon now waits for
// DELETEs to be answered (the daemon's after-engine step stops once sa_count() is 0).
bool begin_graceful_shutdown(bool& shutting_down, const std::string& why, EventLoop& loop,
                             uint64_t grace_ms, const ShutdownHooks& hooks);

}  // namespace ikeme::peer

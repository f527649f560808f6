#include "peer/graceful_shutdown.hpp"

namespace ikeme::peer {

bool begin_graceful_shutdown(bool& shutting_down, const std::string& why, EventLoop& loop,
                             uint64_t grace_ms, const ShutdownHooks& hooks) {
  if (shutting_down) {
    hooks.log(0, why + " received again, exiting without waiting");
    hooks.stop();
    return false;
  }
  shutting_down = true;
  hooks.log(0, why + " received, shutting down: deleting " + std::to_string(hooks.sa_count()) +
                   " IKE SA(s)");
  hooks.delete_all();
  if (hooks.sa_count() == 0) {
    hooks.stop();
    return false;
  }
  loop.grace(grace_ms, [hooks, grace_ms] {
    hooks.log(1, std::to_string(hooks.sa_count()) + " IKE SA(s) still deleting after " +
                     std::to_string(grace_ms) + " ms, exiting anyway");
    hooks.stop();
  });
  return true;
}

}  // namespace ikeme::peer

#pragma once
// Detaching from the terminal (ikeme-peer without --foreground): the classic double step of
// fork() and setsid(), with a pipe so that the starting process exits only when the daemon is
// ready (exit 0) or has failed (its exit code), and start-up errors still reach the terminal.

#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::peer {

class Detacher {
 public:
  // Forks. Returns only in the child (now a session leader, working directory "/"); the parent
  // waits for ready() or the child's exit and exits itself.
  static Result<Detacher, std::string> detach();
  // Tells the parent that start-up succeeded and points stdin/stdout/stderr at /dev/null.
  void ready();

 private:
  explicit Detacher(int fd) : ready_fd_(fd) {}
  int ready_fd_ = -1;
};

}  // namespace ikeme::peer

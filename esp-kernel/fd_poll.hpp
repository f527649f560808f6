#pragma once
// A libuv poll handle watching one file descriptor for reads (a netlink socket, a TUN device),
// owned like a value: destroying it stops the poll and closes the handle. The handle is freed by
// its close callback, after this object is gone; the fd stays the caller's and may be closed as
// soon as this object is destroyed (uv_poll_stop has detached it from epoll by then).

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::esp {

class FdPoll {
 public:
  using OnReadable = std::function<void(int status)>;  // status < 0: a libuv error code

  // `what` names the fd in the error ("the rtnetlink socket").
  static Result<std::unique_ptr<FdPoll>, std::string> start(uv_loop_t* loop, int fd,
                                                            OnReadable on_readable,
                                                            const std::string& what);
  ~FdPoll();
  FdPoll(const FdPoll&) = delete;
  FdPoll& operator=(const FdPoll&) = delete;

 private:
  explicit FdPoll(OnReadable on_readable) : on_readable_(std::move(on_readable)) {}
  static void on_event(uv_poll_t* handle, int status, int events);

  OnReadable on_readable_;
  uv_poll_t* handle_ = nullptr;  // heap-allocated: freed by its close callback
};

}  // namespace ikeme::esp

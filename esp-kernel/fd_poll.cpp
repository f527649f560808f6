#include "esp-kernel/fd_poll.hpp"

namespace ikeme::esp {

Result<std::unique_ptr<FdPoll>, std::string> FdPoll::start(uv_loop_t* loop, int fd,
                                                           OnReadable on_readable,
                                                           const std::string& what) {
  std::unique_ptr<FdPoll> self(new FdPoll(std::move(on_readable)));
  auto* handle = new uv_poll_t;
  if (int err = uv_poll_init(loop, handle, fd); err < 0) {
    delete handle;  // never registered with the loop: no close needed
    return Unexpected("uv_poll_init on " + what + ": " + uv_strerror(err));
  }
  handle->data = self.get();
  self->handle_ = handle;
  if (int err = uv_poll_start(handle, UV_READABLE, &FdPoll::on_event); err < 0)
    return Unexpected("uv_poll_start on " + what + ": " + uv_strerror(err));  // ~FdPoll closes
  return self;
}

FdPoll::~FdPoll() {
  if (!handle_) return;
  uv_poll_stop(handle_);
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
}

void FdPoll::on_event(uv_poll_t* handle, int status, int /*events*/) {
  if (auto* self = static_cast<FdPoll*>(handle->data)) self->on_readable_(status);
}

}  // namespace ikeme::esp

#include "peer/event_loop.hpp"

#include <csignal>

namespace ikeme::peer {

EventLoop::~EventLoop() {
  finish();
}

Status<std::string> EventLoop::init() {
  if (int rc = uv_loop_init(&loop_); rc != 0)
    return Unexpected{std::string("uv_loop_init: ") + uv_strerror(rc)};
  initialized_ = true;
  return {};
}

void EventLoop::start(std::function<void()> on_timer, std::function<void(int)> on_signal) {
  on_timer_ = std::move(on_timer);
  on_signal_ = std::move(on_signal);
  uv_timer_init(&loop_, &timer_);
  uv_timer_init(&loop_, &grace_);
  timer_.data = grace_.data = this;
  auto signal_cb = [](uv_signal_t* h, int signum) {
    static_cast<EventLoop*>(h->data)->on_signal_(signum);
  };
  for (auto [handle, signum] :
       {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}, std::pair{&sighup_, SIGHUP}}) {
    uv_signal_init(&loop_, handle);
    handle->data = this;
    uv_signal_start(handle, signal_cb, signum);
  }
  started_ = true;
}

ike::Timestamp EventLoop::now() {
  uv_update_time(&loop_);
  return ike::Timestamp(static_cast<int64_t>(uv_now(&loop_)));
}

void EventLoop::arm(std::optional<ike::Timestamp> next) {
  if (!next) {
    uv_timer_stop(&timer_);
    return;
  }
  ike::Timestamp t = now();
  uint64_t delay = *next > t ? static_cast<uint64_t>((*next - t).count()) : 0;
  if (delay == 0 && in_timer_) delay = 1;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* h) {
        auto* self = static_cast<EventLoop*>(h->data);
        self->in_timer_ = true;
        self->on_timer_();
        self->in_timer_ = false;
      },
      delay, 0);
}

void EventLoop::grace(uint64_t ms, std::function<void()> done) {
  on_grace_ = std::move(done);
  uv_timer_start(
      &grace_, [](uv_timer_t* h) { static_cast<EventLoop*>(h->data)->on_grace_(); }, ms, 0);
}

void EventLoop::close() {
  if (!started_) return;
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&timer_), reinterpret_cast<uv_handle_t*>(&grace_),
        reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&sigint_),
        reinterpret_cast<uv_handle_t*>(&sighup_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
}

void EventLoop::finish() {
  if (!initialized_ || finished_) return;
  finished_ = true;
  close();
  uv_run(&loop_, UV_RUN_DEFAULT);  // lets the close callbacks run
  uv_loop_close(&loop_);
}

}  // namespace ikeme::peer

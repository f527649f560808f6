#pragma once
// The kernel's XFRM notifications (expire and acquire multicast groups) read on the daemon's
// libuv loop: a netlink socket polled with uv_poll. Messages are decoded into KernelEvents; the
// raw decoding is separate (decode_xfrm_event) so that it can be unit-tested without a kernel.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "esp-kernel/fd_poll.hpp"
#include "esp-kernel/xfrm/netlink.hpp"
#include "ike/codec/payloads.hpp"

struct nlmsghdr;

namespace ikeme::esp::xfrm {

struct KernelEvent {
  enum class Kind { SoftExpire, HardExpire, Acquire };
  Kind kind = Kind::SoftExpire;
  uint32_t spi = 0;  // expire: the SA (host byte order)
  IpAddress destination;
  uint32_t reqid = 0;  // expire: the SA's; acquire: the policy template's
  // acquire: the triggering packet's addresses (and protocol/ports if the policy had them)
  std::optional<ike::TrafficSelector> source, target;
};

// Decodes one XFRM_MSG_EXPIRE or XFRM_MSG_ACQUIRE message; nullopt for anything else or a
// truncated message.
std::optional<KernelEvent> decode_xfrm_event(const nlmsghdr* msg);

class XfrmEventListener {
 public:
  using Handler = std::function<void(const KernelEvent&)>;
  using ErrorLog = std::function<void(std::string)>;

  // Joins the expire and acquire groups on a new NETLINK_XFRM socket, polled on `loop`.
  static Result<std::unique_ptr<XfrmEventListener>, std::string> start(uv_loop_t* loop,
                                                                       Handler handler,
                                                                       ErrorLog log);
  ~XfrmEventListener();
  XfrmEventListener(const XfrmEventListener&) = delete;
  XfrmEventListener& operator=(const XfrmEventListener&) = delete;

  // Stops polling and closes the socket (the uv handle closes asynchronously; the listener must
  // stay alive until the loop has run once more, which the destructor arranges).
  void stop();

 private:
  XfrmEventListener(NlSock sock, Handler handler, ErrorLog log);
  void on_readable(int status);
  static int on_message(nl_msg* msg, void* self);

  NlSock sock_;
  Handler handler_;
  ErrorLog log_;
  std::unique_ptr<FdPoll> poll_;  // stopped before the socket closes
};

}  // namespace ikeme::esp::xfrm

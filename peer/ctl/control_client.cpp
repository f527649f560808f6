#include "peer/ctl/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ikeme::ctl {

namespace {

constexpr size_t kMaxReplyBytes = 64 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Milliseconds left until `deadline`, at least 0.
int remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, remaining(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the following read/write report it
  }
}

}  // namespace

Result<std::string, ClientError> request(const std::string& socket_path, const std::string& req,
                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path)
    return Unexpected{ClientError{"socket path too long: " + socket_path}};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Unexpected{ClientError{std::string("socket: ") + std::strerror(errno)}};
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    std::string msg = "cannot connect to " + socket_path + ": " + std::strerror(e);
    if (e == ENOENT || e == ECONNREFUSED) msg += " \u2014 is ikeme-peer running?";
    return Unexpected{ClientError{msg}};
  }
  std::string out = req + "\n";
  size_t sent = 0;
  while (sent < out.size()) {
    if (!wait_for(fd.get(), POLLOUT, deadline))
      return Unexpected{ClientError{"timed out sending the request to " + socket_path}};
    ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Unexpected{ClientError{"cannot send to " + socket_path + ": " + std::strerror(errno)}};
    }
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[16384];
  for (;;) {
    size_t nl = reply.find('\n');
    if (nl != std::string::npos) {
      reply.resize(nl);
      return reply;
    }
    if (reply.size() > kMaxReplyBytes)
      return Unexpected{ClientError{"reply from " + socket_path + " is too large"}};
    if (!wait_for(fd.get(), POLLIN, deadline))
      return Unexpected{ClientError{"no reply from " + socket_path + " within " +
                                    std::to_string(timeout.count() / 1000) + " s"}};
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Unexpected{
          ClientError{"cannot read from " + socket_path + ": " + std::strerror(errno)}};
    }
    if (n == 0)
      return Unexpected{ClientError{"the daemon closed " + socket_path + " without a reply"}};
    reply.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace ikeme::ctl

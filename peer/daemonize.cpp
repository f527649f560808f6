#include "peer/daemonize.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ikeme::peer {

Result<Detacher, std::string> Detacher::detach() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Unexpected{std::string("pipe: ") + std::strerror(errno)};
  pid_t pid = ::fork();
  if (pid < 0) return Unexpected{std::string("fork: ") + std::strerror(errno)};
  if (pid > 0) {
    ::close(fds[1]);
    char c = 0;
    ssize_t n;
    do n = ::read(fds[0], &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == 'R') std::_Exit(0);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  ::close(fds[0]);
  ::setsid();
  if (::chdir("/") != 0) {
    // Keep going: the working directory matters only for unmounting.
  }
  return Detacher(fds[1]);
}

void Detacher::ready() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) ::close(null);
  }
  char c = 'R';
  ssize_t n;
  do n = ::write(ready_fd_, &c, 1);
  while (n < 0 && errno == EINTR);
  ::close(ready_fd_);
  ready_fd_ = -1;
}

}  // namespace ikeme::peer

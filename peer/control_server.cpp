#include "peer/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "peer/control_protocol.hpp"

namespace ikeme::peer {

struct ControlServer::Client {
  uv_pipe_t pipe{};
  ControlServer* server = nullptr;
  std::string buffer;  // input without a newline yet
  bool finishing = false;
};

namespace {

struct WriteRequest {
  uv_write_t req{};
  std::string data;
};

// Whether something accepts connections on a Unix socket path.
bool socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool answers = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return answers;
}

}  // namespace

ControlServer::ControlServer(uv_loop_t* loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  close();
  // The clients are closing; their close callbacks free them without us.
  for (auto& [raw, owned] : clients_) {
    owned->server = nullptr;
    (void)owned.release();
  }
}

Status<std::string> ControlServer::listen(const std::string& path) {
  sockaddr_un probe{};
  if (path.empty() || path.size() >= sizeof probe.sun_path)
    return Unexpected{"control socket path '" + path + "' is empty or longer than " +
                      std::to_string(sizeof probe.sun_path - 1) + " bytes"};
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unexpected{"cannot create directory " + dir.string() + ": " + ec.message()};
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Unexpected{path + " exists and is not a socket"};
    if (socket_answers(path))
      return Unexpected{"control socket " + path +
                        " is in use: is another ikeme-peer running with it?"};
    if (::unlink(path.c_str()) != 0)
      return Unexpected{"cannot remove stale control socket " + path + ": " + std::strerror(errno)};
  }
  server_ = std::make_unique<uv_pipe_t>();
  uv_pipe_init(loop_, server_.get(), 0);
  server_->data = this;
  mode_t old_mask = ::umask(0177);  // the socket file is created 0600
  int rc = uv_pipe_bind(server_.get(), path.c_str());
  ::umask(old_mask);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_.get()), 8, on_connection);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(server_.release()),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
    return Unexpected{"cannot listen on control socket " + path + ": " + uv_strerror(rc)};
  }
  ::chmod(path.c_str(), 0600);
  if (::lstat(path.c_str(), &st) == 0) inode_ = st.st_ino;
  path_ = path;
  listening_ = true;
  return {};
}

void ControlServer::close() {
  if (listening_) {
    listening_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(server_.release()),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_ino == inode_) ::unlink(path_.c_str());
  }
  for (auto& [raw, owned] : clients_) close_client(*raw);
}

void ControlServer::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<ControlServer*>(server->data);
  if (status < 0) return;
  auto owned = std::make_unique<Client>();
  Client* c = owned.get();
  c->server = self;
  uv_pipe_init(self->loop_, &c->pipe, 0);
  c->pipe.data = c;
  self->clients_[c] = std::move(owned);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    self->close_client(*c);
    return;
  }
  if (self->clients_.size() > kMaxClients) {
    self->send(*c, error_reply("too many control clients (at most " + std::to_string(kMaxClients) +
                               "), try again"));
    self->close_client(*c);
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->pipe), on_alloc, on_read);
}

void ControlServer::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  static char buffer[16 * 1024];  // reads are handled at once, so one buffer serves everyone
  (void)handle;
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void ControlServer::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Client*>(stream->data);
  if (!c->server) return;
  if (nread < 0) {  // EOF or error: replies already queued are still written
    c->server->close_client(*c);
    return;
  }
  if (nread > 0) c->server->handle_input(*c, buf->base, static_cast<size_t>(nread));
}

void ControlServer::handle_input(Client& c, const char* data, size_t size) {
  if (c.finishing) return;
  c.buffer.append(data, size);
  size_t start = 0;
  for (;;) {
    size_t nl = c.buffer.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = c.buffer.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    send(c, line.size() > kMaxRequestBytes
                ? error_reply("request longer than " + std::to_string(kMaxRequestBytes) + " bytes")
                : handler_(line));
    if (c.finishing) return;
  }
  c.buffer.erase(0, start);
  if (c.buffer.size() > kMaxRequestBytes) {
    send(c, error_reply("request longer than " + std::to_string(kMaxRequestBytes) + " bytes"));
    close_client(c);
    return;
  }
  if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c.pipe)) >
      kMaxPendingReplyBytes)
    close_client(c);
}

void ControlServer::send(Client& c, std::string text) {
  if (c.finishing) return;
  auto* w = new WriteRequest;
  w->data = std::move(text);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.pipe), &buf, 1,
                    [](uv_write_t* req, int status) {
                      auto* handle = reinterpret_cast<uv_handle_t*>(req->handle);
                      delete reinterpret_cast<WriteRequest*>(req);
                      // After a failed write libuv stops writing on the stream: queued writes
                      // and a pending shutdown would never complete. Close it instead.
                      if (status < 0 && status != UV_ECANCELED && !uv_is_closing(handle)) {
                        static_cast<Client*>(handle->data)->finishing = true;
                        uv_close(handle, on_client_closed);
                      }
                    });
  if (rc != 0) {
    delete w;
    close_client(c);
  }
}

void ControlServer::on_client_closed(uv_handle_t* handle) {
  auto* client = static_cast<Client*>(handle->data);
  if (client->server)
    client->server->clients_.erase(client);  // frees it
  else
    delete client;  // the server is gone and gave up ownership
}

void ControlServer::close_client(Client& c) {
  if (c.finishing) return;
  c.finishing = true;
  auto* stream = reinterpret_cast<uv_stream_t*>(&c.pipe);
  uv_read_stop(stream);
  // Let the queued replies go out first: a shutdown request completes after pending writes.
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, stream, [](uv_shutdown_t* r, int) {
    auto* h = reinterpret_cast<uv_handle_t*>(r->handle);
    delete r;
    if (!uv_is_closing(h)) uv_close(h, on_client_closed);
  });
  if (rc == 0) return;
  delete req;
  uv_close(reinterpret_cast<uv_handle_t*>(stream), on_client_closed);
}

}  // namespace ikeme::peer

#pragma once
// The control socket: a Unix stream socket (libuv uv_pipe_t) speaking newline-delimited JSON
// (control_protocol.hpp). It frames lines, enforces the limits and hands each complete line to a
// handler that returns the reply line; it knows nothing about commands.
//
// Limits: a line longer than kMaxRequestBytes gets an error reply and the connection is closed;
// beyond kMaxClients concurrent clients a new one gets an error reply and is closed; a client that
// does not read its replies (more than kMaxPendingReplyBytes queued) is closed.

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::peer {

class ControlServer {
 public:
  static constexpr size_t kMaxClients = 16;
  static constexpr size_t kMaxPendingReplyBytes = 4 * 1024 * 1024;

  using Handler = std::function<std::string(const std::string& line)>;

  ControlServer(uv_loop_t* loop, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's directory if needed, removes a stale socket (refuses when a daemon
  // still answers on it), binds with mode 0600 and listens.
  Status<std::string> listen(const std::string& path);
  // Stops listening, closes every client and removes the socket file. Idempotent. The handles
  // are closed asynchronously: the loop must run once more before the object is destroyed.
  void close();
  const std::string& path() const { return path_; }
  size_t clients() const { return clients_.size(); }

 private:
  struct Client;
  static void on_connection(uv_stream_t* server, int status);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_client_closed(uv_handle_t* handle);
  void handle_input(Client& c, const char* data, size_t size);
  void send(Client& c, std::string text);
  void close_client(Client& c);

  uv_loop_t* loop_;
  Handler handler_;
  std::unique_ptr<uv_pipe_t> server_;
  bool listening_ = false;
  std::string path_;
  ino_t inode_ = 0;  // of the socket file we created, to remove only our own
  std::map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace ikeme::peer

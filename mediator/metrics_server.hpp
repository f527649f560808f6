#pragma once
// A minimal HTTP responder for Prometheus scraping, on libuv TCP: every request (any path, GET
// assumed) is answered with the text the callback returns, then the connection is closed. Only
// meant for a local address (mediator config `mediator.metrics`); requests are read up to the
// end of their header (at most kMaxRequestBytes), clients at most kMaxClients at a time.

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ike/codec/result.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::mediator {

class MetricsServer {
 public:
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr size_t kMaxClients = 8;
  using Render = std::function<std::string()>;

  MetricsServer(uv_loop_t* loop, Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  Status<std::string> listen(const ike::Endpoint& at);
  // Closes the listener and every client (asynchronously: the loop must run once more).
  void close();

 private:
  struct Client;
  static void on_connection(uv_stream_t* server, int status);
  void answer(Client& c);
  void drop(Client& c);

  uv_loop_t* loop_;
  Render render_;
  std::unique_ptr<uv_tcp_t> server_;
  bool listening_ = false;
  std::map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace ikeme::mediator

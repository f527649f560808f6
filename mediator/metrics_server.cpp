#include "mediator/metrics_server.hpp"

#include "peer/sockaddr.hpp"

namespace ikeme::mediator {

struct MetricsServer::Client {
  uv_tcp_t handle{};
  MetricsServer* server = nullptr;
  std::string request;
  std::string response;
  uv_write_t write{};
  bool closing = false;
};

MetricsServer::MetricsServer(uv_loop_t* loop, Render render)
    : loop_(loop), render_(std::move(render)) {}

MetricsServer::~MetricsServer() = default;

Status<std::string> MetricsServer::listen(const ike::Endpoint& at) {
  server_ = std::make_unique<uv_tcp_t>();
  uv_tcp_init(loop_, server_.get());
  server_->data = this;
  listening_ = true;
  peer::SocketAddress sa = peer::to_sockaddr(at);
  if (int rc = uv_tcp_bind(server_.get(), sa.get(), 0); rc != 0)
    return Unexpected{"metrics: cannot bind " + at.to_string() + ": " + uv_strerror(rc)};
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_.get()), 16, on_connection); rc != 0)
    return Unexpected{"metrics: cannot listen on " + at.to_string() + ": " + uv_strerror(rc)};
  return {};
}

void MetricsServer::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<MetricsServer*>(listener->data);
  if (status < 0) return;
  auto c = std::make_unique<Client>();
  c->server = self;
  uv_tcp_init(self->loop_, &c->handle);
  c->handle.data = c.get();
  Client* raw = c.get();
  self->clients_[raw] = std::move(c);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&raw->handle)) != 0 ||
      self->clients_.size() > kMaxClients) {
    self->drop(*raw);
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&raw->handle),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static thread_local char chunk[2048];
        *buf = uv_buf_init(chunk, sizeof chunk);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* client = static_cast<Client*>(stream->data);
        if (n < 0) return client->server->drop(*client);
        client->request.append(buf->base, static_cast<size_t>(n));
        if (client->request.size() > kMaxRequestBytes) return client->server->drop(*client);
        if (client->request.find("\r\n\r\n") != std::string::npos ||
            client->request.find("\n\n") != std::string::npos)
          client->server->answer(*client);
      });
}

void MetricsServer::answer(Client& c) {
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.handle));
  std::string body = render_();
  c.response =
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  uv_buf_t buf = uv_buf_init(c.response.data(), static_cast<unsigned>(c.response.size()));
  c.write.data = &c;
  uv_write(&c.write, reinterpret_cast<uv_stream_t*>(&c.handle), &buf, 1, [](uv_write_t* w, int) {
    auto* client = static_cast<Client*>(w->data);
    client->server->drop(*client);
  });
}

void MetricsServer::drop(Client& c) {
  if (c.closing) return;
  c.closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&c.handle), [](uv_handle_t* h) {
    auto* client = static_cast<Client*>(h->data);
    client->server->clients_.erase(client);
  });
}

void MetricsServer::close() {
  for (auto& [raw, c] : clients_) drop(*raw);
  if (listening_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(server_.get())))
    uv_close(reinterpret_cast<uv_handle_t*>(server_.get()), nullptr);
  listening_ = false;
}

}  // namespace ikeme::mediator

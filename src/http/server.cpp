// HttpServer: the libuv loop, connections and http_parser callbacks. See server.h.
#include "beacon/http/server.h"
#include "beacon/core/thread_name.h"

#include <string>

#include "loop.h"

namespace beacon::http {

HttpServer::HttpServer(const Logger& log, Router router, HttpServerOptions opts)
    : log_(log),
      router_(std::move(router)),
      opts_(std::move(opts)),
      metrics_(std::make_unique<HttpMetrics>()) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  loop_ = std::make_unique<HttpLoop>(log_, router_, opts_, metrics_.get());
  int port = opts_.port;
  std::vector<int> extra;
  Status st = Status::Ok();
  for (const std::string& addr : opts_.addresses) {
    st = loop_->Listen(addr, &port, nullptr);
    if (!st.ok()) break;
  }
  for (const HttpServerOptions::ExtraListener& x : opts_.extra_listeners) {
    if (!st.ok()) break;
    int p = x.port;
    st = loop_->Listen(x.address, &p, x.path_prefixes.empty() ? nullptr : &x.path_prefixes);
    extra.push_back(p);
  }
  if (!st.ok()) {
    loop_->CloseAll(false);
    loop_->Run();  // finishes the closes
    loop_.reset();
    return st;
  }
  port_ = port;
  extra_ports_ = std::move(extra);
  loop_->InitStop();
  mailbox_ = loop_->mailbox();
  thread_ = std::thread([this] {
    core::SetThreadName("beacon-http");
    loop_->Run();
  });
  BEACON_LOG(log_, kInfo, "http", "listening on port %d", port_);
  for (size_t i = 0; i < extra_ports_.size(); ++i) {
    BEACON_LOG(log_, kInfo, "http", "listening on %s:%d (%zu path prefixes)",
               opts_.extra_listeners[i].address.c_str(), extra_ports_[i],
               opts_.extra_listeners[i].path_prefixes.size());
  }
  return Status::Ok();
}

Status HttpLoop::Listen(const std::string& addr, int* port, const std::vector<std::string>* allow) {
  sockaddr_storage ss{};
  if (uv_ip4_addr(addr.c_str(), *port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(addr.c_str(), *port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Status::Error("http: bad listen address " + addr);
  }
  auto* l = new Listener;
  uv_tcp_init(&loop_, &l->tcp);
  l->tcp.data = l;
  l->loop = this;
  l->allow = allow;
  listeners_.push_back(l);
  int rc = uv_tcp_bind(&l->tcp, reinterpret_cast<const sockaddr*>(&ss), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 511, OnAccept);
  if (rc != 0) {
    return Status::Error("http: listen on " + addr + ":" + std::to_string(*port) + ": " +
                         uv_strerror(rc));
  }
  if (*port == 0) {
    sockaddr_storage got{};
    int len = sizeof got;
    uv_tcp_getsockname(&l->tcp, reinterpret_cast<sockaddr*>(&got), &len);
    *port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  }
  return Status::Ok();
}

void HttpLoop::OnAccept(uv_stream_t* server, int status) {
  auto* listener = static_cast<Listener*>(server->data);
  HttpLoop* self = listener->loop;
  if (status != 0) return;
  auto* c = new Conn;
  c->loop = self;
  c->allow = listener->allow;
  uv_tcp_init(&self->loop_, &c->tcp);
  uv_timer_init(&self->loop_, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  c->id = ++self->next_conn_id_;
  self->conns_.insert(c);
  self->PublishOpen();
  self->by_id_.emplace(c->id, c);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    self->Close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  sockaddr_storage peer{};
  int peer_len = sizeof peer;
  char text[INET6_ADDRSTRLEN] = "";
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
    if (peer.ss_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&peer), text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&peer), text, sizeof text);
    }
  }
  c->remote_ip = text;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
  if (self->conns_.size() > self->opts_.max_conns) {
    self->SendError(c, 503, "too many connections");
    return;
  }
  self->Arm(c, self->opts_.idle_timeout_ms);
}

void HttpServer::Stop() {
  if (!loop_) return;
  if (thread_.joinable()) {
    loop_->RequestStop();
    thread_.join();
  }
  loop_.reset();
}

void HttpServer::Notify(Topic topic) {
  const std::shared_ptr<Mailbox> mb = mailbox_;  // written only by Start()
  if (!mb) return;
  MutexLock lock(&mb->mu);
  if (!mb->open) return;
  mb->topics |= 1U << static_cast<unsigned>(topic);
  if (mb->watching[static_cast<size_t>(topic)] > 0) uv_async_send(mb->wake);
}

void HttpServer::Post(std::function<void()> fn) {
  const std::shared_ptr<Mailbox> mb = mailbox_;
  if (!mb) return;
  MutexLock lock(&mb->mu);
  if (!mb->open) return;
  mb->tasks.push_back(std::move(fn));
  uv_async_send(mb->wake);
}

}  // namespace beacon::http

// HttpServer: the libuv loop, connections and http_parser callbacks. See server.h.
#include "beacon/http/server.h"
#include "beacon/core/thread_name.h"

#include <string>

#include "loop.h"

namespace beacon::http {

HttpServer::HttpServer(const Logger& log, Router router, HttpServerOptions opts)
    : log_(log), router_(std::move(router)), opts_(std::move(opts)) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  loop_ = std::make_unique<HttpLoop>(log_, router_, opts_);
  int port = opts_.port;
  for (const std::string& addr : opts_.addresses) {
    Status st = loop_->Listen(addr, &port);
    if (!st.ok()) {
      loop_->CloseAll(false);
      loop_->Run();  // finishes the closes
      loop_.reset();
      return st;
    }
  }
  port_ = port;
  loop_->InitStop();
  mailbox_ = loop_->mailbox();
  thread_ = std::thread([this] {
    core::SetThreadName("beacon-http");
    loop_->Run();
  });
  BEACON_LOG(log_, kInfo, "http", "listening on port %d", port_);
  return Status::Ok();
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
  uv_async_send(mb->wake);
}

}  // namespace beacon::http

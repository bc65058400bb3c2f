// Streamed (chunked) responses: the loop side of Response::StartStream(). See server.h.
#include <cstdio>
#include <string>

#include "loop.h"

namespace beacon::http {
namespace {

// What a slow reader may have queued in libuv before further chunks are dropped.
constexpr size_t kMaxQueuedBytes = size_t{1} << 20;

// Kick()/Finish() from any thread: a note in the loop's mailbox, then a wake-up.
class LoopStream final : public Stream {
 public:
  LoopStream(std::shared_ptr<Mailbox> mb, uint64_t conn_id)
      : mb_(std::move(mb)), conn_id_(conn_id) {}
  void Kick() override { Post(false); }
  void Finish() override { Post(true); }

 private:
  void Post(bool finish) {
    MutexLock lock(&mb_->mu);
    if (!mb_->open) return;
    mb_->kicks.emplace_back(conn_id_, finish);
    uv_async_send(mb_->wake);
  }
  std::shared_ptr<Mailbox> mb_;
  uint64_t conn_id_;
};

}  // namespace

StreamPtr Response::StartStream(int code, const std::string& content_type,
                                std::function<std::string()> pull, std::function<void()> on_close) {
  if (loop_ == nullptr) {
    Text(501, "streaming needs a running server");
    return nullptr;
  }
  deferred_ = true;
  return loop_->StartStream(conn_id_, code, content_type,
                            StreamState{std::move(pull), std::move(on_close)});
}

StreamPtr HttpLoop::StartStream(uint64_t conn_id, int status, const std::string& content_type,
                                StreamState state) {
  auto it = by_id_.find(conn_id);
  if (it == by_id_.end()) return nullptr;
  WriteRaw(it->second, "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) +
                           "\r\nContent-Type: " + content_type +
                           "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
  streams_[conn_id] = std::move(state);
  return std::make_shared<LoopStream>(mailbox_, conn_id);
}

void HttpLoop::PumpStream(uint64_t conn_id, bool finish) {
  auto s = streams_.find(conn_id);
  if (s == streams_.end()) return;
  auto it = by_id_.find(conn_id);
  if (it == by_id_.end() || it->second->closing) {  // the client left (or the server stops)
    std::function<void()> on_close = std::move(s->second.on_close);
    streams_.erase(s);
    if (on_close) on_close();
    return;
  }
  Conn* c = it->second;
  const std::string data = s->second.pull();
  if (!data.empty() &&
      uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c->tcp)) < kMaxQueuedBytes) {
    char head[24];
    std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    WriteRaw(c, std::string(head) + data + "\r\n");
  }
  if (!finish) return;
  std::function<void()> on_close = std::move(s->second.on_close);
  streams_.erase(s);
  auto* w = new WriteReq;
  w->conn = c;
  w->close_after = true;  // OnWritten half-closes; the drain timer ends the connection
  w->data = "0\r\n\r\n";
  c->closing = true;
  Arm(c, opts_.idle_timeout_ms);  // the drain time starts in OnWritten
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = w;
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, OnWritten) != 0) {
    delete w;
    Close(c);
  }
  if (on_close) on_close();
}

}  // namespace beacon::http

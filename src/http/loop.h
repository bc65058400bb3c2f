// Internals of the HTTP server shared by server.cpp and blocking.cpp: connections, the loop and
// its cross-thread mailbox. Loop thread only, except Mailbox (guarded) and HttpLoop::Notify.
#pragma once

#include <http_parser.h>
#include <strings.h>
#include <uv.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "beacon/core/strings.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/http/http_metrics.h"
#include "beacon/http/server.h"

namespace beacon::http {

constexpr uint64_t kDrainMs = 1000;  // how long a closing connection still reads (and drops)

inline void ParseQuery(std::string_view q, Request& req) {
  while (!q.empty()) {
    const size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    req.query.emplace_back(core::PercentDecode(k, true), core::PercentDecode(v, true));
  }
}

// One client connection. Owned by the loop's set; freed once both handles are closed.
struct Conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  http_parser parser;
  HttpLoop* loop = nullptr;
  Request req;
  std::string url;
  std::string field;  // header name being read
  bool in_value = false;
  bool in_request = false;  // a request's first byte has been read, its end not yet
  size_t header_bytes = 0;
  int error_status = 0;  // set by a callback to stop parsing and answer with this status
  bool closing = false;  // no more requests: the last response is queued
  int open_handles = 0;
  uint64_t id = 0;                     // how Deferred replies find the connection again
  bool busy = false;                   // a deferred or parked request awaits its response
  bool keep_after = true;              // keep-alive decision of the request in flight
  bool reading = true;                 // uv_read_start is active
  std::string pending_input;           // bytes received while busy, parsed once it is answered
  size_t max_body = 0;                 // the request's body limit (set once its path is known)
  size_t unsent = 0;                   // bytes of queued writes not yet written to the socket
  bool throttled = false;              // unsent passed max_unsent_bytes: reading and parsing stop
  struct Parked* parked = nullptr;     // the blocking query this connection waits on
  const std::string* route = nullptr;  // the route pattern that took the request in flight
  uint64_t started_ns = 0;             // when its last byte arrived (0: none in flight)
  const std::vector<std::string>* allow = nullptr;  // served path prefixes (null: all)
  std::function<void()> on_abandon;  // the deferred request's, run if the client leaves first
  std::string remote_ip;             // the peer's address as text ("" when unknown)
};

// A listening socket and the path prefixes served on it (null: every path).
struct Listener {
  uv_tcp_t tcp;
  HttpLoop* loop = nullptr;
  const std::vector<std::string>* allow = nullptr;
};

// A blocking query waiting for its topic to move past min_index (see Block in server.h).
struct Parked {
  uv_timer_t timer;  // the wait deadline; the Parked is freed when this handle is closed
  HttpLoop* loop = nullptr;
  uint64_t conn_id = 0;
  Topic topic = Topic::kCatalog;
  size_t slot = 0;  // position in the loop's parked_[topic]
  uint64_t min_index = 0;
  Request req;
  std::function<uint64_t()> probe;
  std::function<void(const Request&, Response&)> compute;
};

// Cross-thread inbox: replies, topics, posts; shared with Deferreds (`open` false at stop).
struct Mailbox {
  Mutex mu;
  bool open GUARDED_BY(mu) = false;
  uv_async_t* wake GUARDED_BY(mu) = nullptr;
  std::vector<std::pair<uint64_t, Response>> replies GUARDED_BY(mu);
  uint32_t topics GUARDED_BY(mu) = 0;  // bit per Topic
  // Blocking queries parked (or about to probe and park) per Topic: Notify() wakes the loop
  // only for a topic somebody waits on (a KV write with no watcher used to cost a loop wake).
  std::array<uint32_t, kTopics> watching GUARDED_BY(mu) = {};
  std::vector<std::pair<uint64_t, bool>> kicks GUARDED_BY(mu);  // streams (conn id, finish)
  std::vector<std::function<void()>> tasks GUARDED_BY(mu);      // HttpServer::Post
};

// A streamed response in flight (Response::StartStream), keyed by connection id.
struct StreamState {
  std::function<std::string()> pull;
  std::function<void()> on_close;
};

struct WriteReq {
  uv_write_t req;
  std::string data;
  Conn* conn;
  bool close_after;
};

// Output backpressure: a client that pipelines requests without reading the answers must not
// make the server buffer them without bound. Once a connection's unsent output passes
// max_unsent_bytes the server stops reading and parsing it; when the output drains below half
// of that, it resumes with the bytes it had already received.

class HttpLoop {
 public:
  HttpLoop(const Logger& log, const Router& router, const HttpServerOptions& opts,
           HttpMetrics* metrics)
      : log_(log),
        router_(router),
        opts_(opts),
        metrics_(metrics),
        mailbox_(std::make_shared<Mailbox>()) {
    uv_loop_init(&loop_);
    settings_.on_message_begin = OnMessageBegin;
    settings_.on_url = OnUrl;
    settings_.on_header_field = OnHeaderField;
    settings_.on_header_value = OnHeaderValue;
    settings_.on_headers_complete = OnHeadersComplete;
    settings_.on_body = OnBody;
    settings_.on_message_complete = OnMessageComplete;
  }
  ~HttpLoop() { uv_loop_close(&loop_); }

  // Binds and listens on addr:*port (0: a free port, written back). Requests accepted there are
  // served only when their path starts with one of `allow` (null: every path). server.cpp.
  Status Listen(const std::string& addr, int* port, const std::vector<std::string>* allow);

  // Loop thread. Runs until Shutdown() has closed everything.
  void Run() { uv_run(&loop_, UV_RUN_DEFAULT); }

  // Before Run(): the async handle Stop() wakes.
  void InitStop() {
    uv_async_init(&loop_, &stop_, OnStop);
    stop_.data = this;
    uv_async_init(&loop_, &wake_, OnWake);
    wake_.data = this;
    MutexLock lock(&mailbox_->mu);
    mailbox_->open = true;
    mailbox_->wake = &wake_;
  }
  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  // Loop thread, inside a handler: a handle that answers connection `conn_id` later;
  // `on_abandon` (may be empty) runs if the connection closes before the answer is sent.
  DeferredPtr MakeDeferred(uint64_t conn_id, std::function<void()> on_abandon);
  // Loop thread, inside a handler: parks a blocking query (see Block in server.h).
  void Park(uint64_t conn_id, const Request& req, Topic topic, std::function<uint64_t()> probe,
            uint64_t min_index, uint64_t wait_ms,
            std::function<void(const Request&, Response&)> compute);
  // Loop thread: counts a blocking query on `topic` in (before its probe) or out (Park() takes
  // over the count; Unpark() drops it) of the mailbox's `watching`.
  void Watching(Topic topic, int delta);
  size_t parked_count() const {
    size_t n = 0;
    for (const auto& v : parked_) n += v.size();
    return n;
  }
  // Loop thread: open connections and parked queries into the metrics.
  void PublishOpen() { metrics_->SetOpen(conns_.size(), parked_count()); }
  // Loop thread, inside a handler: sends the head of a chunked response (stream.cpp).
  StreamPtr StartStream(uint64_t conn_id, int status, const std::string& content_type,
                        StreamState state);
  // Any thread.
  void RequestStop() { uv_async_send(&stop_); }

  // Loop thread (or before Run): closes listeners and connections; the loop then ends.
  void CloseAll(bool with_async) {
    for (Listener* l : listeners_) {
      uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp),
               [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
    }
    listeners_.clear();
    for (Conn* c : std::unordered_set<Conn*>(conns_)) Close(c);
    if (with_async) {
      {
        MutexLock lock(&mailbox_->mu);
        mailbox_->open = false;
        mailbox_->wake = nullptr;
        mailbox_->replies.clear();
      }
      uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    }
  }

 private:
  static void OnStop(uv_async_t* a) { static_cast<HttpLoop*>(a->data)->CloseAll(true); }
  static void OnWake(uv_async_t* a);  // deferred replies and notifications (blocking.cpp)
  // Loop thread: sends the response of connection `conn_id`'s request in flight, then resumes
  // parsing what the client pipelined meanwhile. Dropped when the connection is gone.
  void Deliver(uint64_t conn_id, const Response& resp);
  void PumpStream(uint64_t conn_id, bool finish);  // pull() and send a chunk (stream.cpp)
  void Unpark(Parked* p);        // removes it from its topic list and closes its timer
  void FinishParked(Parked* p);  // compute + Deliver + Unpark

  static void OnAccept(uv_stream_t* server, int status);  // server.cpp

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    static thread_local char storage[64 * 1024];
    *buf = uv_buf_init(storage, sizeof storage);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    HttpLoop* self = c->loop;
    if (n < 0) {
      self->Close(c);
      return;
    }
    if (n == 0 || c->closing) return;  // closing: drain and drop
    self->Feed(c, buf->base, static_cast<size_t>(n));
  }

  // Parses client bytes; while a request is in flight they are kept for later (in order).
  void Feed(Conn* c, const char* data, size_t n) {
    HttpLoop* self = this;
    if (c->busy || c->throttled) {
      c->pending_input.append(data, n);
      if (c->reading && c->pending_input.size() > opts_.max_header_bytes + opts_.max_body_bytes) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));  // resumed once answered
        c->reading = false;
      }
      return;
    }
    const size_t used = http_parser_execute(&c->parser, &self->settings_, data, n);
    if (c->closing) return;
    if (c->busy || c->throttled) {  // paused on a deferred request or full output: keep the rest
      http_parser_pause(&c->parser, 0);
      c->pending_input.append(data + used, n - used);
      return;
    }
    if (c->error_status != 0) {
      self->SendError(c, c->error_status,
                      c->error_status == 413   ? "request body too large"
                      : c->error_status == 431 ? "request headers too large"
                                               : "bad request");
      return;
    }
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_HEADER_OVERFLOW) {  // the parser's own 80 KiB cap
      self->SendError(c, 431, "request headers too large");
    } else if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || used != n) {
      self->SendError(
          c, 400,
          std::string("bad request: ") + http_errno_description(HTTP_PARSER_ERRNO(&c->parser)));
    }
  }

  static void OnTimer(uv_timer_t* t) {
    auto* c = static_cast<Conn*>(t->data);
    HttpLoop* self = c->loop;
    if (c->in_request && !c->closing) {
      self->SendError(c, 408, "request not received in time");
    } else {
      self->Close(c);  // idle, or the drain time after the last response is over
    }
  }

  void Arm(Conn* c, uint64_t ms) { uv_timer_start(&c->timer, OnTimer, ms, 0); }

  // Counts header bytes; false (with error_status 431) once over the limit.
  static bool CountHeader(Conn* c, size_t n) {
    c->header_bytes += n;
    if (c->header_bytes > c->loop->opts_.max_header_bytes) {
      c->error_status = 431;
      return false;
    }
    return true;
  }

  static int OnMessageBegin(http_parser* p) {
    auto* c = static_cast<Conn*>(p->data);
    c->req = Request();
    c->req.remote_ip = c->remote_ip;
    c->url.clear();
    c->field.clear();
    c->in_value = false;
    c->header_bytes = 0;
    c->in_request = true;
    c->loop->Arm(c, c->loop->opts_.header_timeout_ms);
    return 0;
  }

  static int OnUrl(http_parser* p, const char* at, size_t n) {
    auto* c = static_cast<Conn*>(p->data);
    if (!CountHeader(c, n)) return 1;
    c->url.append(at, n);
    return 0;
  }

  static int OnHeaderField(http_parser* p, const char* at, size_t n) {
    auto* c = static_cast<Conn*>(p->data);
    if (!CountHeader(c, n)) return 1;
    if (c->in_value) {
      c->field.clear();
      c->in_value = false;
    }
    for (size_t i = 0; i < n; ++i) {
      c->field.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(at[i]))));
    }
    return 0;
  }

  static int OnHeaderValue(http_parser* p, const char* at, size_t n) {
    auto* c = static_cast<Conn*>(p->data);
    if (!CountHeader(c, n)) return 1;
    if (!c->in_value) {
      c->req.headers.emplace_back(c->field, std::string());
      c->in_value = true;
    }
    c->req.headers.back().second.append(at, n);
    return 0;
  }

  static int OnHeadersComplete(http_parser* p) {
    auto* c = static_cast<Conn*>(p->data);
    c->req.method = http_method_str(static_cast<http_method>(p->method));
    const std::string* expect = c->req.Header("expect");
    if (expect != nullptr && strcasecmp(expect->c_str(), "100-continue") == 0 &&
        (p->flags & (F_CONTENTLENGTH | F_CHUNKED)) != 0) {
      c->loop->WriteRaw(c, "HTTP/1.1 100 Continue\r\n\r\n");  // curl waits 1 s for it
    }
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(c->url.data(), c->url.size(), 0, &u) != 0) {
      c->error_status = 400;
      return -1;
    }
    std::string_view url(c->url);
    if ((u.field_set & (1 << UF_PATH)) != 0) {
      c->req.path = core::PercentDecode(
          url.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len), false);
    } else {
      c->req.path = "/";
    }
    if ((u.field_set & (1 << UF_QUERY)) != 0) {
      ParseQuery(url.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len), c->req);
    }
    c->max_body = c->loop->opts_.max_body_bytes;
    for (const auto& [path, limit] : c->loop->opts_.body_limits) {
      if (c->req.path == path) c->max_body = limit;
    }
    if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > c->max_body) {
      c->error_status = 413;
      return -1;  // error (1 and 2 mean "skip body")
    }
    return 0;
  }

  static int OnBody(http_parser* p, const char* at, size_t n) {
    auto* c = static_cast<Conn*>(p->data);
    if (c->req.body.size() + n > c->max_body) {
      c->error_status = 413;
      return 1;
    }
    c->req.body.append(at, n);
    return 0;
  }

  static int OnMessageComplete(http_parser* p) {
    auto* c = static_cast<Conn*>(p->data);
    HttpLoop* self = c->loop;
    c->in_request = false;
    Response resp;
    resp.loop_ = self;
    resp.conn_id_ = c->id;
    c->route = nullptr;
    c->started_ns = NowNs();
    try {
      if (c->allow != nullptr && !Allowed(*c->allow, c->req.path)) {
        resp.Text(404, "Invalid URL path: not served on this port");
      } else {
        c->route = self->router_.Dispatch(c->req, resp);
      }
    } catch (const std::exception& e) {
      resp = Response();
      resp.Text(500, std::string("internal error: ") + e.what());
    }
    const bool keep = http_should_keep_alive(p) != 0;
    if (resp.deferred_) {
      // Answered later: stop the clocks (a long poll is not an idle connection) and stop
      // parsing; what the client pipelines meanwhile waits in pending_input.
      c->busy = true;
      c->keep_after = keep;
      uv_timer_stop(&c->timer);
      http_parser_pause(p, 1);
      return 0;
    }
    self->Send(c, resp, !keep);
    if (!keep) {
      http_parser_pause(p, 1);  // nothing after this request is read
      return 0;
    }
    self->Arm(c, self->opts_.idle_timeout_ms);
    if (c->throttled) http_parser_pause(p, 1);  // the rest waits until the output drains
    return 0;
  }

  static bool Allowed(const std::vector<std::string>& allow, std::string_view path) {
    for (const std::string& p : allow) {
      if (path.substr(0, p.size()) == p) return true;
    }
    return false;
  }

  void SendError(Conn* c, int code, std::string_view msg) {
    BEACON_LOG(log_, kDebug, "http", "closing connection with %d: %.*s", code,
               static_cast<int>(msg.size()), msg.data());
    Response resp;
    resp.Text(code, msg);
    Send(c, resp, true);
  }

  // Writes bytes that are not a final response (100 Continue).
  void WriteRaw(Conn* c, std::string_view bytes) {
    auto* w = new WriteReq;
    w->conn = c;
    w->close_after = false;
    w->data.assign(bytes);
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    w->req.data = w;
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, OnWritten) != 0) {
      delete w;
      Close(c);
      return;
    }
    Queued(c, w->data.size());
  }

  // Output accounting (see WriteReq): stop reading once too much waits for the client.
  void Queued(Conn* c, size_t n) {
    c->unsent += n;
    if (c->unsent <= opts_.max_unsent_bytes || c->throttled || c->closing) return;
    c->throttled = true;
    if (c->reading) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
    }
  }
  void Written(Conn* c, size_t n) {
    c->unsent -= n;
    if (!c->throttled || c->unsent > opts_.max_unsent_bytes / 2) return;
    c->throttled = false;
    Resume(c);
  }
  // Reads and parses again unless the connection waits for an answer, its output or its end.
  void Resume(Conn* c) {
    if (c->busy || c->throttled || c->closing) return;
    if (!c->reading) {
      uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
      c->reading = true;
    }
    if (!c->pending_input.empty()) {
      std::string rest;
      rest.swap(c->pending_input);
      Feed(c, rest.data(), rest.size());
    }
  }

  static uint64_t NowNs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }

  // A final response: counted by route, method and code.
  void Count(Conn* c, int status) {
    const uint64_t ns = c->started_ns != 0 ? NowNs() - c->started_ns : 0;
    metrics_->Record(c->route, c->req.method.empty() ? std::string_view("-") : c->req.method,
                     status, ns);
    c->route = nullptr;
    c->started_ns = 0;
  }

  void Send(Conn* c, const Response& resp, bool close_after) {
    Count(c, resp.status);
    auto* w = new WriteReq;
    w->conn = c;
    w->close_after = close_after;
    std::string& d = w->data;
    d.reserve(resp.body.size() + 256);
    d += "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) + "\r\n";
    for (const auto& [k, v] : resp.headers) d.append(k).append(": ").append(v).append("\r\n");
    d += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    if (close_after) d += "Connection: close\r\n";
    d += "\r\n";
    // A HEAD answer has the GET answer's headers, Content-Length included, and no body (RFC
    // 9110 9.3.2); only routes registered for HEAD get here.
    if (c->req.method != "HEAD") d += resp.body;
    if (close_after) {
      // The drain time starts once the response is written (OnWritten): a large response to a
      // slow reader must not be cut by it.
      c->closing = true;
      Arm(c, opts_.idle_timeout_ms);
    }
    uv_buf_t buf = uv_buf_init(d.data(), static_cast<unsigned>(d.size()));
    w->req.data = w;
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, OnWritten) != 0) {
      delete w;
      Close(c);
      return;
    }
    Queued(c, d.size());
  }

  static void OnWritten(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Conn* c = w->conn;
    const bool close_after = w->close_after;
    const size_t written = w->data.size();
    delete w;
    if (status == UV_ECANCELED) return;  // closed meanwhile
    if (status != 0) {
      c->loop->Close(c);
      return;
    }
    c->loop->Written(c, written);
    if (close_after) {
      // Half-close, then keep reading (and dropping) until EOF or the drain timer: closing with
      // unread data would reset the connection and could destroy the response in flight.
      c->loop->Arm(c, kDrainMs);
      auto* sh = new uv_shutdown_t;
      sh->data = c;
      if (uv_shutdown(sh, reinterpret_cast<uv_stream_t*>(&c->tcp),
                      [](uv_shutdown_t* s, int) { delete s; }) != 0) {
        delete sh;
        c->loop->Close(c);
      }
    }
  }

  void Close(Conn* c) {
    if (conns_.erase(c) == 0) return;  // already closing
    PublishOpen();
    by_id_.erase(c->id);
    if (c->busy && c->on_abandon) {
      std::function<void()> f = std::move(c->on_abandon);
      f();
    }
    if (streams_.count(c->id) != 0) PumpStream(c->id, false);  // reports the stream closed
    if (c->parked != nullptr) Unpark(c->parked);
    auto done = [](uv_handle_t* h) {
      auto* conn = static_cast<Conn*>(h->data);
      if (--conn->open_handles == 0) delete conn;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), done);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), done);
  }

  const Logger& log_;
  const Router& router_;
  const HttpServerOptions& opts_;
  HttpMetrics* metrics_;  // owned by the HttpServer
  uv_loop_t loop_;
  uv_async_t stop_;
  uv_async_t wake_;
  std::shared_ptr<Mailbox> mailbox_;
  http_parser_settings settings_{};
  std::vector<Listener*> listeners_;
  std::unordered_set<Conn*> conns_;
  std::unordered_map<uint64_t, Conn*> by_id_;
  uint64_t next_conn_id_ = 0;
  std::array<std::vector<Parked*>, kTopics> parked_;
  std::unordered_map<uint64_t, StreamState> streams_;
  std::mt19937_64 rng_{std::random_device{}()};  // wait jitter
};

}  // namespace beacon::http

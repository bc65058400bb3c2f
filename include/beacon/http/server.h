// HttpServer: the HTTP/1.1 API listener, one libuv loop on its own thread; Router: maps method +
// path to handlers.
//
// Contract:
// - Start() binds every address (127.0.0.1 by default) on opts.port (0 picks a free port, then
//   shared by every address; see port()) and every extra listener (opts.extra_listeners), then
//   runs the loop on its own thread. Stop() is called
//   from the owning thread; it closes every connection and joins. Both from one thread only.
// - Requests are parsed by Node's http_parser: keep-alive, pipelining (responses are written in
//   request order), chunked request bodies.
// - Handlers run on the loop thread and answer at once by filling the Response, or later:
//   Response::Defer() hands out a Deferred whose Reply() any thread may call once (writes that
//   wait for a commit), and http::Block() parks a blocking query (spec 2.2) until its result
//   index moves past ?index or its wait ends. A connection with a request in flight is never
//   closed by the idle timer; a client that disconnects drops its parked request. Requests
//   pipelined behind a deferred one wait for it.
// - Limits, each answered with a text/plain error and then the connection is closed (after
//   draining what the client still sends, for up to a second): request line + headers over
//   max_header_bytes -> 431, body over max_body_bytes -> 413, malformed request -> 400, a request
//   not complete within header_timeout_ms of its first byte -> 408. A connection idle for
//   idle_timeout_ms is closed silently. Beyond max_conns open connections a new one gets 503.
// - A client that pipelines without reading the answers is read no further once its unsent
//   output passes max_unsent_bytes, and resumes as it reads: memory per connection stays near
//   that bound plus one response.
// - The Router is fixed before Start() and then only read (by the loop thread); handlers run on
//   the loop thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"

namespace beacon::http {

struct Request {
  std::string method;                                        // "GET", "PUT", ...
  std::string path;                                          // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded ('+' is a space), in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // de-chunked
  std::string remote_ip;  // the client's address as text ("" outside a server, e.g. unit tests)

  // Case-insensitive; nullptr when absent. The first one wins.
  const std::string* Header(std::string_view name) const;
  // nullptr when absent; "" for a bare `?passing`.
  const std::string* Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const { return Query(name) != nullptr; }
};

class HttpLoop;
class HttpMetrics;
class Deferred;
using DeferredPtr = std::shared_ptr<Deferred>;
class Stream;
using StreamPtr = std::shared_ptr<Stream>;

// What a blocking query waits on: HttpServer::Notify(topic) re-checks the queries parked on it.
enum class Topic : uint8_t { kCatalog = 0, kKv = 1, kSession = 2, kEvents = 3, kCoordinates = 4 };
constexpr int kTopics = 5;

// The response to one request. A handler either fills it, or calls Defer() (or Block()) and
// leaves it alone.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added on send
  std::string body;

  // Replaces a header of the same name (case-insensitive) or adds it.
  void SetHeader(std::string_view name, std::string value);
  const std::string* Header(std::string_view name) const;
  // status + Content-Type: application/json + body.
  void Json(std::string json, int code = 200);
  // status + Content-Type: text/plain; charset=utf-8 + body (a newline is appended).
  void Text(int code, std::string_view text);

  // Inside a handler run by HttpServer: the answer comes later through the returned handle, and
  // this Response is not sent. Outside a server (a unit test calling Dispatch directly) returns
  // a Deferred whose Reply() stores the response in this object (so tests stay synchronous as
  // long as they reply before reading it). `on_abandon`, when set, runs once on the loop thread
  // if the connection closes (the client left, or the server stops) before the answer was sent,
  // so work done for it elsewhere can be cancelled; it must not block. Never run outside a
  // server.
  DeferredPtr Defer(std::function<void()> on_abandon = nullptr);
  bool deferred() const { return deferred_; }

  // Inside a handler run by HttpServer: answers `status` with `content_type` and chunked
  // transfer encoding at once, then streams. Whenever Stream::Kick() is called (any thread),
  // the loop thread calls pull() and sends what it returns as one chunk ("" = nothing now).
  // on_close runs on the loop thread once the stream ends (Finish(), the client leaving, the
  // server stopping). Outside a server returns nullptr after answering 501.
  StreamPtr StartStream(int status, const std::string& content_type,
                        std::function<std::string()> pull, std::function<void()> on_close);

 private:
  friend class HttpLoop;
  friend void Block(const Request& req, Response& resp, Topic topic,
                    std::function<uint64_t()> probe, uint64_t min_index, uint64_t wait_ms,
                    std::function<void(const Request&, Response&)> compute);
  HttpLoop* loop_ = nullptr;  // set by the server while the handler runs
  uint64_t conn_id_ = 0;
  bool deferred_ = false;
};

// A handle to answer one request later. Reply() is safe from any thread; only the first call
// counts, and a reply for a connection that has closed is dropped. Holding a Deferred keeps no
// connection alive.
class Deferred {
 public:
  virtual ~Deferred() = default;
  virtual void Reply(Response r) = 0;
};

// A streamed response (Response::StartStream). Kick() and Finish() are safe from any thread
// and never block beyond a short mutex; both are no-ops once the connection or server is gone.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual void Kick() = 0;    // pull() has something: the loop sends it soon
  virtual void Finish() = 0;  // pull() once more, then the final chunk; the connection closes
};

using Handler = std::function<void(const Request&, Response&)>;

// Blocking-query helper (spec 2.2) for GET handlers, loop thread only. `min_index` is the
// client's ?index and `wait_ms` its ?wait (already parsed and clamped by ParseBlocking).
// - min_index == 0, or probe() != min_index: compute(req, resp) runs now. An index below the
//   client's means the client's came from before a restart (the catalog index starts afresh):
//   answering at once lets it reset (spec 2.2) instead of waiting out its whole wait.
// - otherwise the request is parked: whenever Notify(topic) fires, probe() runs (it must be
//   cheap: an index lookup, no JSON); once it differs from min_index, or when wait_ms (plus
//   jitter up to wait_ms/16) has passed, compute() runs on the loop thread and its response is
//   sent.
// `probe` and `compute` own what they capture; `req` is copied for the later compute().
// Outside a server (unit tests) compute() runs at once.
void Block(const Request& req, Response& resp, Topic topic, std::function<uint64_t()> probe,
           uint64_t min_index, uint64_t wait_ms,
           std::function<void(const Request&, Response&)> compute);

struct BlockingParams {
  uint64_t index = 0;    // ?index; 0 = not blocking
  uint64_t wait_ms = 0;  // ?wait clamped: absent/<=0 -> 300 s, > 600 s -> 600 s
};
// Parses ?index and ?wait (Go durations: "30s", "120000ms", "1m"; a bare number is seconds).
// False after filling `resp` with 400 "Invalid index" / "Invalid wait time".
bool ParseBlocking(const Request& req, Response& resp, BlockingParams* out);

// A route is an exact path ("/v1/status/leader") or, ending in '/', a prefix
// ("/v1/catalog/service/"). The longest matching route wins. A path no route matches gets 404;
// a path matched only by routes of other methods gets 405 with `Allow: OPTIONS,<methods>`
// (spec 2.1), and OPTIONS on it gets 200 with that header and an empty body. Handle() with the
// method and route of an earlier one replaces that handler (a client agent's forwarding routes
// take over /v1/status/leader from the catalog's).
class Router {
 public:
  void Handle(std::string method, std::string route, Handler h);
  // Returns the route pattern that answered (it lives as long as the Router), or nullptr when
  // none did (404, 405, OPTIONS).
  const std::string* Dispatch(const Request& req, Response& resp) const;

 private:
  struct Route {
    std::string method;
    std::string route;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// The reason phrase of an HTTP status code ("Not Found"); "Unknown" for others.
const char* StatusText(int code);

struct HttpServerOptions {
  std::vector<std::string> addresses = {"127.0.0.1"};
  int port = 8500;
  uint32_t header_timeout_ms = 10000;
  uint32_t idle_timeout_ms = 60000;
  size_t max_header_bytes = size_t{64} * 1024;
  size_t max_body_bytes = size_t{512} * 1024;
  // Paths (exact) allowed a different body limit, e.g. {"/v1/snapshot", 1 GiB}.
  std::vector<std::pair<std::string, size_t>> body_limits;
  // Output backpressure: a connection whose unsent responses pass this is no longer read (nor
  // its pipelined requests answered) until the client has taken half of it.
  size_t max_unsent_bytes = size_t{1} << 20;
  // Blocking queries hold a connection each: room for 10,000 of them (the agent raises
  // RLIMIT_NOFILE to match).
  uint32_t max_conns = 16384;
  // More listeners on the same loop and router, each on its own address and port (0: a free
  // one, see HttpServer::extra_port), serving only paths that start with one of path_prefixes
  // (empty: every path); any other path gets 404. A server agent's cluster-internal port (8300)
  // for requests forwarded by client agents is one: /v1/kv/, /v1/session/, /v1/txn, /v1/status/.
  struct ExtraListener {
    std::string address;
    int port = 0;
    std::vector<std::string> path_prefixes;
  };
  std::vector<ExtraListener> extra_listeners;
};

struct Mailbox;

class HttpServer {
 public:
  HttpServer(const Logger& log, Router router, HttpServerOptions opts);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every address, then starts the loop thread. Error names the address that failed.
  Status Start();
  void Stop();
  int port() const { return port_; }
  // The port extra_listeners[i] was bound to (after Start()).
  int extra_port(size_t i) const { return i < extra_ports_.size() ? extra_ports_[i] : 0; }
  // Any thread: something `topic` covers may have changed; parked blocking queries on it are
  // re-probed on the loop thread soon after. Cheap and coalescing (a flag + uv_async), and the
  // loop is woken only when some blocking query waits on `topic` (Block() counts it before its
  // probe, so a change the probe missed still wakes the loop).
  // A no-op before Start() and after Stop(); must not race with Start() itself.
  void Notify(Topic topic);
  // Any thread: runs `fn` on the loop thread soon, after the handlers running now (posts run in
  // order). Dropped without running before Start() and after Stop(); `fn` must not block.
  void Post(std::function<void()> fn);
  // Request metrics (http_metrics.h); any thread, valid for the server's lifetime.
  const HttpMetrics& metrics() const { return *metrics_; }

 private:
  const Logger& log_;
  Router router_;
  HttpServerOptions opts_;
  int port_ = 0;
  std::vector<int> extra_ports_;
  std::unique_ptr<HttpMetrics> metrics_;  // before loop_: the loop writes to it
  std::unique_ptr<HttpLoop> loop_;
  std::shared_ptr<Mailbox> mailbox_;  // outlives loop_: Notify() from other threads stays safe
  std::thread thread_;
};

}  // namespace beacon::http

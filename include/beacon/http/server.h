// HttpServer: the HTTP/1.1 API listener, one libuv loop on its own thread; Router: maps method +
// path to handlers.
//
// Contract:
// - Start() binds every address (127.0.0.1 by default) on opts.port (0 picks a free port, then
//   shared by every address; see port()), then runs the loop on its own thread. Stop() is called
//   from the owning thread; it closes every connection and joins. Both from one thread only.
// - Requests are parsed by Node's http_parser: keep-alive, pipelining (responses are written in
//   request order: handlers run synchronously on the loop thread), chunked request bodies.
// - Limits, each answered with a text/plain error and then the connection is closed (after
//   draining what the client still sends, for up to a second): request line + headers over
//   max_header_bytes -> 431, body over max_body_bytes -> 413, malformed request -> 400, a request
//   not complete within header_timeout_ms of its first byte -> 408. A connection idle for
//   idle_timeout_ms is closed silently. Beyond max_conns open connections a new one gets 503.
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

  // Case-insensitive; nullptr when absent. The first one wins.
  const std::string* Header(std::string_view name) const;
  // nullptr when absent; "" for a bare `?passing`.
  const std::string* Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const { return Query(name) != nullptr; }
};

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
};

using Handler = std::function<void(const Request&, Response&)>;

// A route is an exact path ("/v1/status/leader") or, ending in '/', a prefix
// ("/v1/catalog/service/"). The longest matching route wins. A path no route matches gets 404;
// a path matched only by routes of other methods gets 405 with `Allow: OPTIONS,<methods>`
// (spec 2.1), and OPTIONS on it gets 200 with that header and an empty body.
class Router {
 public:
  void Handle(std::string method, std::string route, Handler h);
  void Dispatch(const Request& req, Response& resp) const;

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
  uint32_t max_conns = 512;
};

class HttpLoop;

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

 private:
  const Logger& log_;
  Router router_;
  HttpServerOptions opts_;
  int port_ = 0;
  std::unique_ptr<HttpLoop> loop_;
  std::thread thread_;
};

}  // namespace beacon::http

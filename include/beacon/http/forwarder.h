// Forwarder: relays a client agent's KV, session, txn and status requests to a server agent's
// server port (Consul's 8300, where servers serve the same HTTP API to the cluster), over
// libcurl's multi interface on a thread of its own. The HTTP loop never blocks on it.
//
// Contract:
// - Start() creates the curl multi handle and the forwarder thread; Stop() (also run by the
//   destructor) answers what is still in flight with 503 "Agent is shutting down" and joins.
//   Both from the owning thread.
// - Forward() runs on an HTTP loop thread inside a handler (it calls resp.Defer()). It sends
//   req's method, path and query string (re-encoded; every parameter kept: ?recurse ?index ?wait
//   ?cas ?stale ...), body, and the X-Consul-Token, Authorization and Content-Type headers to
//   http://<server><path>, and relays the status, body and headers of the answer (all but
//   Content-Length, Connection, Keep-Alive, Transfer-Encoding: X-Consul-Index,
//   X-Consul-KnownLeader, X-Consul-LastContact, Content-Type, ...) through the deferred Response.
// - Servers ("host:port", IPv6 as "[::1]:8300") are tried in the given order, except that the
//   last one that answered goes first (Consul's clients also stay on one server). Each server is
//   tried at most once per request. A server the request never reached (no connection within
//   connect_timeout_ms, refused, unresolvable) is skipped for the next one, whatever the method.
//   Once the request was sent, only GET and HEAD move on to the next server, and only when no
//   answer head came back and the total time had not run out; every other failure is answered
//   500 "rpc error making call: <curl's reason>".
// - Empty server list, or no server could be reached: 500 "No known Consul servers" (Consul's
//   ErrNoServers text). More than max_in_flight requests in flight: 503 naming the limit. An
//   answer over max_response_bytes: 500.
// - Total time per attempt: a blocking read (GET with ?index other than 0) gets its ?wait (default
//   5 min, at most 10 min) plus wait/16 (the server's jitter) plus blocking_margin_ms; any other
//   request timeout_ms.
// - A client that disconnects before the answer cancels its forwarded request (its connection to
//   the server is closed) through Response::Defer's on_abandon.
// - Thread safety: Forward() and in_flight() from any thread once started; everything else runs
//   on the forwarder thread. The Forwarder must outlive no HTTP server: on_abandon hooks hold only
//   a weak reference, and answers after Stop() go nowhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/http/server.h"

namespace beacon::http {

struct ForwarderOptions {
  uint32_t max_in_flight = 1024;
  uint64_t connect_timeout_ms = 2000;
  uint64_t timeout_ms = 30000;         // any request but a blocking read
  uint64_t blocking_margin_ms = 5000;  // added to a blocking read's wait + wait/16
  size_t max_response_bytes = size_t{64} << 20;
  long max_idle_connections = 64;  // NOLINT(google-runtime-int): libcurl's type
};

class Forwarder {
 public:
  Forwarder(const Logger& log, ForwarderOptions opts = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  Status Start();
  void Stop();

  // Inside a handler: answers `resp` later with the servers' answer (or now with an error).
  void Forward(const Request& req, Response& resp, std::vector<std::string> servers);
  // Requests accepted and not yet answered or cancelled.
  size_t in_flight() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The request target sent upstream: the path and query of `req`, percent-encoded again.
std::string ForwardTarget(const Request& req);
// The total time one attempt of `req` may take (see the contract).
uint64_t ForwardTimeoutMs(const Request& req, const ForwarderOptions& opts);

}  // namespace beacon::http

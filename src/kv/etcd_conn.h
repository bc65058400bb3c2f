// Internal: one thread's connection to an etcd cluster through its v3 JSON gateway.
//
// Contract: Call() POSTs a JSON body to one endpoint and returns the 200 body. A transport error
// or an HTTP 5xx (no leader, leader changed, timeout) moves to the next endpoint and retries
// with a short backoff until request_timeout has passed; other answers (4xx) fail at once with
// etcd's own message. A retried write may have been applied by the failed attempt: callers make
// their writes idempotent (see etcd_store.cpp). Not thread-safe: one EtcdConn per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/http/client.h"
#include "beacon/kv/etcd.h"

namespace beacon::kv::internal {

class EtcdConn {
 public:
  // cancel (optional) aborts waits and streams (store shutdown).
  EtcdConn(const EtcdOptions& o, std::function<bool()> cancel = {});

  // attempt_ms > 0 bounds each attempt (then the next endpoint is tried): a member that still
  // follows a dead leader holds a proposal until etcd's own timeout (~7 s), past the budget.
  Result<std::string> Call(std::string_view path, std::string_view body, int64_t timeout_ms = 0,
                           int64_t attempt_ms = 0);
  // Streams a POST (the watch) from the current endpoint: each chunk goes to on_chunk until it
  // returns false, the server closes, or cancel fires. Errors as Call, without retry.
  Status Stream(std::string_view path, std::string_view body,
                const std::function<bool(std::string_view)>& on_chunk);
  // Moves to the next endpoint (after a stream broke).
  void Next();
  const std::string& endpoint() const { return opts_.endpoints[cur_]; }

 private:
  http::HttpClient& Client();

  EtcdOptions opts_;
  std::function<bool()> cancel_;
  std::vector<std::unique_ptr<http::HttpClient>> clients_;
  size_t cur_ = 0;
};

}  // namespace beacon::kv::internal

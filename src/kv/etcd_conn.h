// Internal: one thread's connection to an etcd cluster: its v3 JSON gateway (HTTP/1.1, libcurl)
// for most calls, and gRPC (h2c, nghttp2) for the write path's txn when the endpoints are http://.
//
// Contract: Call() POSTs a JSON body to one endpoint and returns the 200 body. A transport error
// or an HTTP 5xx (no leader, leader changed, timeout) moves to the next endpoint and retries
// with a short backoff until request_timeout has passed; other answers (4xx) fail at once with
// etcd's own message. A retried write may have been applied by the failed attempt: callers make
// their writes idempotent (see etcd_store.cpp). Txn() sends one etcd txn the same way (gRPC
// status UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and UNKNOWN retry like a
// 5xx) and returns it parsed. Not thread-safe: one EtcdConn per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/http/client.h"
#include "beacon/kv/etcd.h"
#include "etcd_codec.h"
#include "etcd_proto.h"

namespace beacon::http {
class GrpcClient;
}  // namespace beacon::http

namespace beacon::kv::internal {

class EtcdConn {
 public:
  // cancel (optional) aborts waits and streams (store shutdown).
  EtcdConn(const EtcdOptions& o, std::function<bool()> cancel = {});
  ~EtcdConn();
  EtcdConn(EtcdConn&&) noexcept;

  // attempt_ms > 0 bounds each attempt (then the next endpoint is tried): a member that still
  // follows a dead leader holds a proposal until etcd's own timeout (~7 s), past the budget.
  Result<std::string> Call(std::string_view path, std::string_view body, int64_t timeout_ms = 0,
                           int64_t attempt_ms = 0);
  struct TxnAnswer {
    bool succeeded = false;
    int64_t rev = 0;
    std::vector<EtcdKv> kvs;  // failed: what the failure branch's range reads found
  };
  // One etcd txn (see TxnRequest in etcd_codec.h), over gRPC when the endpoints allow it.
  Result<TxnAnswer> Txn(const std::vector<std::pair<std::string, int64_t>>& compares,
                        const std::vector<TxnWrite>& success,
                        const std::vector<std::string>& failure_reads, int64_t timeout_ms = 0,
                        int64_t attempt_ms = 0);
  // Several units as one etcd txn (BatchTxnProto); gRPC only (batching() says whether this
  // connection can). Retried like Txn; *answers gets one entry per unit.
  bool batching() const { return !grpc_.empty(); }
  Status BatchTxn(const std::vector<const TxnUnit*>& units, const std::vector<TxnWrite>& after,
                  int64_t timeout_ms, int64_t attempt_ms, int64_t* rev,
                  std::vector<UnitAnswer>* answers);
  struct WatchMsg {
    std::vector<EtcdKv> events;
    bool created = false, canceled = false;
    int64_t compact_rev = 0;
  };
  // Watches [key, range_end) from start_rev on the current endpoint (gRPC when the endpoints
  // allow it, else the gateway's streamed POST /v3/watch): each message goes to on_msg until it
  // returns false, the server ends the stream, or cancel fires. A message that does not parse
  // ends the watch with an error naming it. Errors as Call, without retry.
  Status Watch(std::string_view key, std::string_view range_end, int64_t start_rev,
               const std::function<bool(WatchMsg&)>& on_msg);
  // Moves to the next endpoint (after a stream broke).
  void Next();
  const std::string& endpoint() const { return opts_.endpoints[cur_]; }

 private:
  // One attempt's outcome, for Failover().
  struct Try {
    enum Kind { kOk, kFatal, kRetry } kind;
    std::string text;  // the body (kOk) or the error
  };
  template <typename Attempt>
  Result<std::string> Failover(int64_t timeout_ms, int64_t attempt_ms, Attempt&& attempt);
  // One TxnRequest over gRPC with failover; the TxnResponse message.
  Result<std::string> GrpcTxn(const std::string& req, int64_t timeout_ms, int64_t attempt_ms);
  http::HttpClient& Client();
  http::GrpcClient& Grpc();

  EtcdOptions opts_;
  std::function<bool()> cancel_;
  std::vector<std::unique_ptr<http::HttpClient>> clients_;
  std::vector<std::unique_ptr<http::GrpcClient>> grpc_;  // empty: gRPC off (https, or disabled)
  size_t cur_ = 0;
};

}  // namespace beacon::kv::internal

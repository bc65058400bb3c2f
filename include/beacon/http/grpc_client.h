// GrpcClient: a small blocking gRPC client (unary calls) over HTTP/2 cleartext (h2c, prior
// knowledge), on libnghttp2. Used for etcd's KV API (src/kv/etcd_conn.cpp).
//
// Why not libcurl: Debian 12's libcurl 7.88.1 fails every request after the first on a reused
// prior-knowledge HTTP/2 connection (curl issue #10634, fixed in 7.89), and a new connection per
// call would cost more than the gateway it replaces. nghttp2 is the HTTP/2 library libcurl itself
// uses; this file only drives its session over one socket.
//
// Contract: one call at a time per client, on the calling thread, over one kept-alive TCP
// connection (opened on first use, reopened after any transport failure or a server GOAWAY).
// Every wait (connect, send, receive) is bounded by the call's timeout; `cancel`, when set, is
// polled every 100 ms and aborts the call. Call() fails (Status error) only on transport trouble
// (connect refused, reset, timeout, malformed HTTP/2, a non-200 :status, a missing or corrupt gRPC
// frame): the server may or may not have executed the request. A completed call returns the
// server's grpc-status (0 = OK) and grpc-message with the one response message, unframed.
// Messages are never compressed. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "beacon/core/status.h"

namespace beacon::http {

struct GrpcOptions {
  std::string address;  // host:port or http://host:port
  int64_t connect_timeout_ms = 5000;
  std::function<bool()> cancel;
};

struct GrpcReply {
  int status = -1;      // grpc-status: 0 OK, 14 UNAVAILABLE, ...
  std::string message;  // grpc-message, percent-decoded
  std::string body;     // the response message (protobuf), without the 5-byte gRPC prefix
};

class GrpcClient {
 public:
  explicit GrpcClient(GrpcOptions opts);
  ~GrpcClient();
  GrpcClient(const GrpcClient&) = delete;
  GrpcClient& operator=(const GrpcClient&) = delete;

  // `method` is the gRPC path, e.g. "/etcdserverpb.KV/Txn"; `request` the protobuf message.
  Result<GrpcReply> Call(std::string_view method, std::string_view request, int64_t timeout_ms);
  // A server stream (etcd's Watch): sends `request` as the only client message, then hands each
  // response message to on_message until it returns false (the connection is then closed), the
  // server ends the stream (the reply carries its status, no body), or cancel fires. connect and
  // send are bounded by timeout_ms; waiting for messages is not.
  Result<GrpcReply> Stream(std::string_view method, std::string_view request, int64_t timeout_ms,
                           const std::function<bool(std::string_view)>& on_message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::http

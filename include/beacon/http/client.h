// HttpClient: a small blocking HTTP/1.1 client over libcurl's easy interface, for the CLI.
//
// Contract: one request at a time per client, on the calling thread. Every request has a connect
// timeout and a total timeout (blocking queries pass their own: wait plus a margin). The
// `cancel` hook, when set, is polled about once a second while a request is in flight; returning
// true aborts the request with the error "cancelled". Streaming requests hand each received chunk
// to a callback as it arrives. Transport errors read like Go's net/http client
// (`Get "http://a/p": dial tcp a: connect: connection refused`). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "beacon/core/status.h"

namespace beacon::http {

struct ClientOptions {
  std::string address = "127.0.0.1:8500";  // host:port, or http://host:port
  std::string token;                       // sent as X-Consul-Token when not empty
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 60000;
  std::function<bool()> cancel;
  // TLS (an https:// address): CA bundle to verify the server with (default: the system's),
  // and a client certificate + key (PEM) for servers that require one (etcd --client-cert-auth).
  std::string ca_file, cert_file, key_file;
};

struct ClientResponse {
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  std::string body;
  uint64_t index = 0;  // X-Consul-Index, 0 when absent
  bool known_leader = false;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` includes the query string. timeout_ms 0 = the client's default.
  Result<ClientResponse> Do(std::string_view method, std::string_view path,
                            std::string_view body = {}, int64_t timeout_ms = 0);
  // As Do, but hands a 2xx body to on_chunk as it arrives (no total timeout; ends when the
  // server closes, on_chunk returns false, or cancel fires). Other answers land in body.
  // on_chunk("") is called once when a 2xx head has arrived.
  Result<ClientResponse> Stream(std::string_view path,
                                const std::function<bool(std::string_view)>& on_chunk);
  // As Stream, with a method and a request body (etcd's POST /v3/watch).
  Result<ClientResponse> Stream(std::string_view method, std::string_view path,
                                std::string_view body,
                                const std::function<bool(std::string_view)>& on_chunk);

  // "http://host:port" (or https://) for the configured address.
  const std::string& base_url() const { return base_; }

 private:
  Result<ClientResponse> Perform(std::string_view method, std::string_view path,
                                 std::string_view body, int64_t timeout_ms,
                                 const std::function<bool(std::string_view)>* on_chunk);

  ClientOptions opts_;
  std::string base_;
  std::string hostport_;
  bool tls_ = false;
  void* curl_ = nullptr;  // CURL*
};

// Percent-encodes a query value or a path (keeping '/' when keep_slash).
std::string UrlEscape(std::string_view s, bool keep_slash = false);

}  // namespace beacon::http

// EtcdConn: endpoint failover and retries over the JSON gateway (see etcd_conn.h).
#include "etcd_conn.h"

#include <chrono>
#include <thread>

namespace beacon::kv::internal {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// etcd's gateway error body: {"error":"etcdserver: ...","code":14,"message":"..."}.
std::string ErrorText(const http::ClientResponse& r) {
  std::string b = r.body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
  return "etcd answered " + std::to_string(r.status) + ": " + b;
}

}  // namespace

EtcdConn::EtcdConn(const EtcdOptions& o, std::function<bool()> cancel)
    : opts_(o), cancel_(std::move(cancel)) {
  clients_.resize(opts_.endpoints.size());
}

http::HttpClient& EtcdConn::Client() {
  if (!clients_[cur_]) {
    http::ClientOptions co;
    co.address = opts_.endpoints[cur_];
    co.connect_timeout_ms = opts_.dial_timeout_ms;
    co.timeout_ms = opts_.request_timeout_ms;
    co.cancel = cancel_;
    co.ca_file = opts_.ca_file;
    co.cert_file = opts_.cert_file;
    co.key_file = opts_.key_file;
    clients_[cur_] = std::make_unique<http::HttpClient>(co);
  }
  return *clients_[cur_];
}

void EtcdConn::Next() {
  cur_ = (cur_ + 1) % clients_.size();
}

Result<std::string> EtcdConn::Call(std::string_view path, std::string_view body, int64_t timeout_ms,
                                   int64_t attempt_ms) {
  const int64_t budget = timeout_ms > 0 ? timeout_ms : opts_.request_timeout_ms;
  const int64_t deadline = NowMs() + budget;
  std::string last;
  int64_t backoff = 20;
  for (size_t attempt = 0;; ++attempt) {
    int64_t left = deadline - NowMs();
    if (attempt_ms > 0) left = std::min(left, attempt_ms);
    auto r = Client().Do("POST", path, body, std::max<int64_t>(left, 200));
    if (r.ok() && r.value().status == 200) return std::move(r.value().body);
    if (r.ok() && r.value().status < 500) return Status::Error(ErrorText(r.value()));
    last = r.ok() ? ErrorText(r.value()) : r.status().message();
    if (cancel_ && cancel_()) return Status::Error("cancelled: " + last);
    Next();
    if (NowMs() + backoff >= deadline && attempt + 1 >= clients_.size()) break;
    // Every endpoint tried once: wait a little (an election takes ~1 s) before going round.
    if ((attempt + 1) % clients_.size() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min<int64_t>(backoff * 2, 500);
    }
    if (NowMs() >= deadline) break;
  }
  return Status::Error("etcd unavailable (" + std::to_string(clients_.size()) +
                       " endpoints, last: " + last + ")");
}

Status EtcdConn::Stream(std::string_view path, std::string_view body,
                        const std::function<bool(std::string_view)>& on_chunk) {
  auto r = Client().Stream("POST", path, body, on_chunk);
  if (!r.ok()) return r.status();
  if (r.value().status != 200 && r.value().status != 0) return Status::Error(ErrorText(r.value()));
  return Status::Ok();
}

}  // namespace beacon::kv::internal

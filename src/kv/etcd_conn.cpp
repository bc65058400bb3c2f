// EtcdConn: endpoint failover and retries over the JSON gateway and gRPC (see etcd_conn.h).
#include "etcd_conn.h"

#include <chrono>
#include <thread>

#include "beacon/http/grpc_client.h"
#include "etcd_proto.h"

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

// gRPC codes that mean "this member cannot answer now" (no leader, leader changed, overloaded,
// timed out): the gateway answers them as 5xx (429 for RESOURCE_EXHAUSTED).
bool RetryableGrpc(int code) {
  return code == 2 || code == 4 || code == 8 || code == 13 || code == 14;
}

bool GrpcUsable(const EtcdOptions& o) {
  if (!o.grpc) return false;
  for (const std::string& e : o.endpoints) {
    if (e.starts_with("https://")) return false;  // h2 over TLS is not wired: gateway
  }
  return true;
}

}  // namespace

EtcdConn::EtcdConn(const EtcdOptions& o, std::function<bool()> cancel)
    : opts_(o), cancel_(std::move(cancel)) {
  clients_.resize(opts_.endpoints.size());
  if (GrpcUsable(opts_)) grpc_.resize(opts_.endpoints.size());
}

EtcdConn::~EtcdConn() = default;
EtcdConn::EtcdConn(EtcdConn&&) noexcept = default;

http::GrpcClient& EtcdConn::Grpc() {
  if (!grpc_[cur_]) {
    http::GrpcOptions go;
    go.address = opts_.endpoints[cur_];
    go.connect_timeout_ms = opts_.dial_timeout_ms;
    go.cancel = cancel_;
    grpc_[cur_] = std::make_unique<http::GrpcClient>(go);
  }
  return *grpc_[cur_];
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

template <typename Attempt>
Result<std::string> EtcdConn::Failover(int64_t timeout_ms, int64_t attempt_ms, Attempt&& attempt) {
  const int64_t budget = timeout_ms > 0 ? timeout_ms : opts_.request_timeout_ms;
  const int64_t deadline = NowMs() + budget;
  std::string last;
  int64_t backoff = 20;
  for (size_t attempt_no = 0;; ++attempt_no) {
    int64_t left = deadline - NowMs();
    if (attempt_ms > 0) left = std::min(left, attempt_ms);
    Try t = attempt(std::max<int64_t>(left, 200));
    if (t.kind == Try::kOk) return std::move(t.text);
    if (t.kind == Try::kFatal) return Status::Error(t.text);
    last = std::move(t.text);
    if (cancel_ && cancel_()) return Status::Error("cancelled: " + last);
    Next();
    if (NowMs() + backoff >= deadline && attempt_no + 1 >= clients_.size()) break;
    // Every endpoint tried once: wait a little (an election takes ~1 s) before going round.
    if ((attempt_no + 1) % clients_.size() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min<int64_t>(backoff * 2, 500);
    }
    if (NowMs() >= deadline) break;
  }
  return Status::Error("etcd unavailable (" + std::to_string(clients_.size()) +
                       " endpoints, last: " + last + ")");
}

Result<std::string> EtcdConn::Call(std::string_view path, std::string_view body, int64_t timeout_ms,
                                   int64_t attempt_ms) {
  return Failover(timeout_ms, attempt_ms, [&](int64_t left) {
    auto r = Client().Do("POST", path, body, left);
    if (r.ok() && r.value().status == 200) return Try{Try::kOk, std::move(r.value().body)};
    if (r.ok() && r.value().status < 500) return Try{Try::kFatal, ErrorText(r.value())};
    return Try{Try::kRetry, r.ok() ? ErrorText(r.value()) : r.status().message()};
  });
}

Result<std::string> EtcdConn::GrpcTxn(const std::string& req, int64_t timeout_ms,
                                      int64_t attempt_ms) {
  auto msg = Failover(timeout_ms, attempt_ms, [&](int64_t left) {
    auto r = Grpc().Call("/etcdserverpb.KV/Txn", req, left);
    if (!r.ok()) return Try{Try::kRetry, r.status().message()};
    if (r.value().status == 0) return Try{Try::kOk, std::move(r.value().body)};
    std::string text =
        "etcd answered gRPC status " + std::to_string(r.value().status) + ": " + r.value().message;
    return Try{RetryableGrpc(r.value().status) ? Try::kRetry : Try::kFatal, std::move(text)};
  });
  return msg;
}

Result<EtcdConn::TxnAnswer> EtcdConn::Txn(
    const std::vector<std::pair<std::string, int64_t>>& compares,
    const std::vector<TxnWrite>& success, const std::vector<std::string>& failure_reads,
    int64_t timeout_ms, int64_t attempt_ms) {
  TxnAnswer a;
  std::string err;
  if (grpc_.empty()) {
    auto body =
        Call("/v3/kv/txn", TxnRequest(compares, success, failure_reads), timeout_ms, attempt_ms);
    if (!body.ok()) return body.status();
    if (!ParseTxn(body.value(), &a.succeeded, &a.rev, &a.kvs, &err)) return Status::Error(err);
    return a;
  }
  const std::string req = TxnProto(compares, success, failure_reads);
  auto msg = GrpcTxn(req, timeout_ms, attempt_ms);
  if (!msg.ok()) return msg.status();
  if (!ParseTxnProto(msg.value(), &a.succeeded, &a.rev, &a.kvs, &err)) return Status::Error(err);
  return a;
}

Status EtcdConn::BatchTxn(const std::vector<const TxnUnit*>& units,
                          const std::vector<TxnWrite>& after, int64_t timeout_ms,
                          int64_t attempt_ms, int64_t* rev, std::vector<UnitAnswer>* answers) {
  const std::string req = BatchTxnProto(units, after);
  auto msg = GrpcTxn(req, timeout_ms, attempt_ms);
  if (!msg.ok()) return msg.status();
  answers->assign(units.size(), UnitAnswer{});
  std::string err;
  if (!ParseBatchTxnProto(msg.value(), rev, answers, &err)) return Status::Error(err);
  return Status::Ok();
}

Status EtcdConn::Watch(std::string_view key, std::string_view range_end, int64_t start_rev,
                       const std::function<bool(WatchMsg&)>& on_msg) {
  std::string why;
  auto handle = [&](std::string_view m, bool proto) {
    WatchMsg w;
    const bool ok =
        proto ? ParseWatchProto(m, &w.events, &w.created, &w.canceled, &w.compact_rev, &why)
              : ParseWatch(m, &w.events, &w.created, &w.canceled, &w.compact_rev, &why);
    return ok && on_msg(w);
  };
  if (!grpc_.empty()) {
    auto r =
        Grpc().Stream("/etcdserverpb.Watch/Watch", WatchProto(key, range_end, start_rev),
                      opts_.dial_timeout_ms, [&](std::string_view m) { return handle(m, true); });
    if (!why.empty()) return Status::Error(why);
    if (!r.ok()) return r.status();
    if (r.value().status != 0) {
      return Status::Error("etcd answered gRPC status " + std::to_string(r.value().status) + ": " +
                           r.value().message);
    }
    return Status::Ok();
  }
  std::string buf;
  auto r = Client().Stream(
      "POST", "/v3/watch", WatchRequest(key, range_end, start_rev), [&](std::string_view chunk) {
        buf.append(chunk);
        for (size_t nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
          std::string line = buf.substr(0, nl);
          buf.erase(0, nl + 1);
          if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
          if (!handle(line, false)) return false;
        }
        return true;
      });
  if (!why.empty()) return Status::Error(why);
  if (!r.ok()) return r.status();
  if (r.value().status != 200 && r.value().status != 0) return Status::Error(ErrorText(r.value()));
  return Status::Ok();
}

}  // namespace beacon::kv::internal

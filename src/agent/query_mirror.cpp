// A client agent's mirror of the servers' prepared queries. See query_mirror.h.
#include "beacon/agent/query_mirror.h"

#include <chrono>
#include <memory>

#include "beacon/config/query_body.h"
#include "beacon/core/thread_name.h"
#include "beacon/http/client.h"

namespace beacon::agent {

QueryMirror::QueryMirror(std::function<std::vector<std::string>()> servers, Install install,
                         const Logger& log)
    : servers_(std::move(servers)), install_(std::move(install)), log_(log) {}

QueryMirror::~QueryMirror() {
  Stop();
}

void QueryMirror::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void QueryMirror::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool QueryMirror::Stopping() {
  MutexLock l(&mu_);
  return stop_;
}

void QueryMirror::Loop() {
  core::SetThreadName("beacon-qmirror");
  uint64_t index = 0;
  bool installed = false;
  auto pause = [this] {
    UniqueLock l(&mu_);
    cv_.wait_for(l.native(), std::chrono::seconds(1), [this]() REQUIRES(mu_) { return stop_; });
  };
  // One kept-alive connection to the first server while it stays first, and long waits (5 min;
  // Consul's own clients block up to 10): a change still answers at once, and an idle client
  // agent costs the server ~3 B/s instead of a new connection and a round trip every minute.
  std::unique_ptr<http::HttpClient> client;
  std::string server;
  while (!Stopping()) {
    const std::vector<std::string> servers = servers_ ? servers_() : std::vector<std::string>{};
    if (servers.empty()) {
      pause();
      continue;
    }
    if (!client || server != servers.front()) {
      server = servers.front();
      http::ClientOptions co;
      co.address = server;
      co.cancel = [this] { return Stopping(); };
      client = std::make_unique<http::HttpClient>(co);
      index = 0;  // another server (or a restarted one) may hold a lower index: read at once
    }
    auto r =
        client->Do("GET", "/v1/query?index=" + std::to_string(index) + "&wait=300s", {}, 330000);
    if (!r.ok() || r.value().status != 200) {
      if (!Stopping()) {
        BEACON_LOG(log_, kDebug, "query", "prepared-query watch on %s: %s", server.c_str(),
                   r.ok() ? ("HTTP " + std::to_string(r.value().status)).c_str()
                          : r.status().message().c_str());
      }
      client.reset();  // reconnect, and read without waiting first
      pause();
      continue;
    }
    if (installed && r.value().index == index) continue;  // the wait ran out
    auto list = config::DecodePreparedQueryList(r.value().body);
    if (!list.ok()) {
      BEACON_LOG(log_, kWarn, "query", "prepared queries from %s: %s", server.c_str(),
                 list.status().message().c_str());
      pause();
      continue;
    }
    index = r.value().index;
    installed = true;
    install_(std::move(list.value()));
  }
}

}  // namespace beacon::agent

// Test fixtures for the catalog/health endpoints: a catalog writer on its own thread (as the
// agent runs it: commands, publish, published callbacks, Notify), a real HTTP server over the
// catalog routes, and a raw-socket client that can tell "no answer yet" from "answered".
#pragma once

#include <poll.h>
#include <simdjson.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../http/test_client.h"
#include "beacon/api/catalog_api.h"
#include "beacon/catalog/commands.h"
#include "beacon/catalog/writer.h"

namespace beacon::http::testing {

// The agent's writer loop in miniature: every batch of submitted commands is applied, published,
// then the published callbacks run and `notify` is called.
class WriterThread {
 public:
  explicit WriterThread(catalog::SnapshotHub& hub) : writer_(hub, "self", "dc1", {}) {
    writer_.Publish(true);
    thread_ = std::thread([this] { Run(); });
  }
  ~WriterThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  catalog::SubmitFn Submitter() {
    return [this](catalog::CommandQueue::Command c, std::function<void()> published) {
      Push(std::move(c), std::move(published));
    };
  }
  void SetNotify(std::function<void()> n) {
    std::lock_guard<std::mutex> lock(mu_);
    notify_ = std::move(n);
  }
  // Runs fn on the writer thread, publishes, and returns once readers see the result.
  void Sync(std::function<void(catalog::Writer&)> fn) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    Push(std::move(fn), [&] {
      std::lock_guard<std::mutex> lock(m);
      done = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return done; });
  }

 private:
  void Push(catalog::CommandQueue::Command c, std::function<void()> published) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.emplace_back(std::move(c), std::move(published));
    }
    cv_.notify_one();
  }
  void Run() {
    for (;;) {
      std::deque<std::pair<catalog::CommandQueue::Command, std::function<void()>>> batch;
      std::function<void()> notify;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
        batch.swap(queue_);
        notify = notify_;
      }
      for (auto& [c, p] : batch) c(writer_);
      writer_.Publish(true);
      for (auto& [c, p] : batch) {
        if (p) p();
      }
      if (notify) notify();
    }
  }

  catalog::Writer writer_;  // writer thread only (after construction)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<catalog::CommandQueue::Command, std::function<void()>>> queue_;
  std::function<void()> notify_;
  bool stop_ = false;
  std::thread thread_;
};

// One HTTP response, split.
struct Reply {
  int status = 0;
  std::string head;
  std::string body;
  std::string Header(std::string_view name) const {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return {};
    const size_t end = head.find("\r\n", at + key.size());
    return head.substr(at + key.size(), end - at - key.size());
  }
  uint64_t Index() const {
    const std::string v = Header("X-Consul-Index");
    return v.empty() ? 0 : std::stoull(v);
  }
};

inline Reply ParseReply(const std::string& raw) {
  Reply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  return r;
}

// Whether fd has something to read within ms.
inline bool Readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

// A catalog writer thread plus a running server over the catalog routes.
struct LiveCatalog {
  catalog::SnapshotHub hub;
  std::unique_ptr<WriterThread> writer;
  Logger log{LogLevel::kError};
  std::unique_ptr<HttpServer> server;

  explicit LiveCatalog(std::function<void(catalog::Writer&)> seed = {}) {
    writer = std::make_unique<WriterThread>(hub);
    if (seed) writer->Sync(std::move(seed));
    Router router;
    CatalogApiOptions o;
    o.node_name = "self";
    o.submit = writer->Submitter();
    AddCatalogRoutes(router, hub, o);
    HttpServerOptions so;
    so.port = 0;
    server = std::make_unique<HttpServer>(log, std::move(router), so);
    HttpServer* s = server.get();
    writer->SetNotify([s] { s->Notify(Topic::kCatalog); });
  }
  ~LiveCatalog() {
    writer->SetNotify({});
    server->Stop();
  }
  bool Start() { return server->Start().ok(); }
  int port() const { return server->port(); }

  Reply Request(const std::string& method, const std::string& target,
                const std::string& body = "") {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!body.empty() || method == "PUT")
      raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    return ParseReply(Exchange(port(), raw));
  }
  Reply Get(const std::string& target) { return Request("GET", target); }
  Reply Put(const std::string& target, const std::string& body) {
    return Request("PUT", target, body);
  }
};

// Parses a JSON body (the test fails on invalid JSON through the returned error).
struct Json {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code error = simdjson::SUCCESS;
  explicit Json(const std::string& text) { error = parser.parse(text).get(root); }
};

}  // namespace beacon::http::testing

// Deferred responses and blocking queries through real sockets (spec 2.2).
#include <doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "beacon/http/server.h"
#include "test_client.h"

using namespace beacon;
using namespace beacon::http;
using beacon::http::testing::Connect;
using beacon::http::testing::ReadAll;
using beacon::http::testing::SendAll;

namespace {

using Clock = std::chrono::steady_clock;

long long MsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// State the handlers read: a "resource" whose index other threads move, and deferred handles.
struct World {
  std::atomic<uint64_t> kv_index{5};
  std::atomic<uint64_t> catalog_index{7};
  std::mutex mu;
  std::vector<DeferredPtr> pending;  // guarded by mu
};

Router MakeRouter(World* w) {
  Router r;
  r.Handle("GET", "/v1/kv/", [w](const Request& req, Response& resp) {
    BlockingParams bp;
    if (!ParseBlocking(req, resp, &bp)) return;
    Block(
        req, resp, Topic::kKv, [w] { return w->kv_index.load(); }, bp.index, bp.wait_ms,
        [w](const Request& r2, Response& out) {
          out.SetHeader("X-Consul-Index", std::to_string(w->kv_index.load()));
          out.Json("\"" + r2.path + "@" + std::to_string(w->kv_index.load()) + "\"");
        });
  });
  r.Handle("PUT", "/v1/later", [w](const Request&, Response& resp) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->pending.push_back(resp.Defer());
  });
  r.Handle("GET", "/v1/now", [](const Request&, Response& resp) { resp.Json("\"now\""); });
  return r;
}

struct Server {
  Logger log{LogLevel::kError};
  World world;
  HttpServer server;
  explicit Server(HttpServerOptions o) : server(log, MakeRouter(&world), o) {
    REQUIRE(server.Start().ok());
  }
  static HttpServerOptions Opts() {
    HttpServerOptions o;
    o.port = 0;
    return o;
  }
  int port() const { return server.port(); }
};

std::string Get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("ParseBlocking: index and wait, clamped, bad values are 400") {
  auto parse = [](std::vector<std::pair<std::string, std::string>> q, BlockingParams* bp) {
    Request req;
    req.query = std::move(q);
    Response resp;
    const bool ok = ParseBlocking(req, resp, bp);
    if (!ok) CHECK(resp.status == 400);
    return ok ? std::string("ok") : resp.body;
  };
  BlockingParams bp;
  CHECK(parse({}, &bp) == "ok");
  CHECK(bp.index == 0);
  CHECK(bp.wait_ms == 300000);
  CHECK(parse({{"index", "42"}, {"wait", "30s"}}, &bp) == "ok");
  CHECK(bp.index == 42);
  CHECK(bp.wait_ms == 30000);
  CHECK(parse({{"index", "1"}, {"wait", "120000ms"}}, &bp) == "ok");
  CHECK(bp.wait_ms == 120000);
  CHECK(parse({{"index", "1"}, {"wait", "1h"}}, &bp) == "ok");
  CHECK(bp.wait_ms == 600000);  // max_query_time
  CHECK(parse({{"index", "abc"}}, &bp) == "Invalid index\n");
  CHECK(parse({{"index", "-1"}}, &bp) == "Invalid index\n");
  CHECK(parse({{"index", "99999999999999999999999"}}, &bp) == "Invalid index\n");
  CHECK(parse({{"index", "3"}, {"wait", "soon"}}, &bp) == "Invalid wait time\n");
}

TEST_CASE("Block: index 0 or a moved index answers at once") {
  Server s(Server::Opts());
  const std::string a = testing::Exchange(s.port(), Get("/v1/kv/a"));
  CHECK(a.find("\"/v1/kv/a@5\"") != std::string::npos);
  const std::string b = testing::Exchange(s.port(), Get("/v1/kv/a?index=4"));
  CHECK(b.find("\"/v1/kv/a@5\"") != std::string::npos);
  CHECK(b.find("X-Consul-Index: 5") != std::string::npos);
}

TEST_CASE("Block: an index from before a restart (above the current one) answers at once") {
  Server s(Server::Opts());
  const auto t0 = Clock::now();
  const std::string r = testing::Exchange(s.port(), Get("/v1/kv/a?index=900&wait=10s"));
  CHECK(r.find("\"/v1/kv/a@5\"") != std::string::npos);
  CHECK(r.find("X-Consul-Index: 5") != std::string::npos);
  CHECK(MsSince(t0) < 2000);
}

TEST_CASE("Block: waits until its topic moves past the index, ignores other topics") {
  Server s(Server::Opts());
  const auto t0 = Clock::now();
  std::thread bump([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    s.server.Notify(Topic::kCatalog);  // another topic: must not release the query
    s.server.Notify(Topic::kKv);       // same topic, index unchanged: must not release either
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    s.world.kv_index = 6;
    s.server.Notify(Topic::kKv);
  });
  const std::string r = testing::Exchange(s.port(), Get("/v1/kv/a?index=5&wait=10s"));
  bump.join();
  CHECK(r.find("HTTP/1.1 200") == 0);
  CHECK(r.find("\"/v1/kv/a@6\"") != std::string::npos);
  CHECK(MsSince(t0) >= 280);
  CHECK(MsSince(t0) < 5000);
}

TEST_CASE("Block: one change racing the query's own probe still releases it") {
  // Notify() skips waking the loop when no query waits on the topic; a query counts itself
  // before its probe, so whichever comes first, a single change answers it (a lost wake-up
  // would hold it for its whole 10 s wait).
  Server s(Server::Opts());
  long long worst = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t cur = s.world.kv_index.load();
    const auto t0 = Clock::now();
    std::thread bump([&, i] {
      std::this_thread::sleep_for(std::chrono::microseconds(37 * (i % 20)));
      s.world.kv_index = cur + 1;
      s.server.Notify(Topic::kKv);
    });
    const std::string r =
        testing::Exchange(s.port(), Get("/v1/kv/r?index=" + std::to_string(cur) + "&wait=10s"));
    bump.join();
    REQUIRE(r.find("\"/v1/kv/r@" + std::to_string(cur + 1) + "\"") != std::string::npos);
    worst = std::max(worst, MsSince(t0));
  }
  CHECK(worst < 3000);
}

TEST_CASE("Block: the wait ends with the current result, even past the idle timeout") {
  HttpServerOptions o = Server::Opts();
  o.idle_timeout_ms = 100;  // a long poll is not an idle connection
  Server s(o);
  const auto t0 = Clock::now();
  const std::string r = testing::Exchange(s.port(), Get("/v1/kv/a?index=5&wait=400ms"));
  CHECK(r.find("HTTP/1.1 200") == 0);
  CHECK(r.find("\"/v1/kv/a@5\"") != std::string::npos);
  CHECK(MsSince(t0) >= 400);
  CHECK(MsSince(t0) < 400 + 400 / 16 + 2000);
}

TEST_CASE("Block: many parked queries on one loop, all released by one change") {
  Server s(Server::Opts());
  constexpr int kN = 200;
  std::vector<int> fds;
  for (int i = 0; i < kN; ++i) {
    int fd = Connect(s.port());
    REQUIRE(fd >= 0);
    REQUIRE(SendAll(fd, Get("/v1/kv/k" + std::to_string(i) + "?index=5&wait=30s")));
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  s.world.kv_index = 9;
  s.server.Notify(Topic::kKv);
  int released = 0;
  for (int i = 0; i < kN; ++i) {
    const std::string r = ReadAll(fds[static_cast<size_t>(i)]);
    released += r.find("\"/v1/kv/k" + std::to_string(i) + "@9\"") != std::string::npos ? 1 : 0;
    close(fds[static_cast<size_t>(i)]);
  }
  CHECK(released == kN);
}

TEST_CASE("Deferred: replied from another thread; pipelined requests keep their order") {
  Server s(Server::Opts());
  int fd = Connect(s.port());
  REQUIRE(fd >= 0);
  // Three pipelined requests: the first answers later, the other two must wait behind it.
  REQUIRE(SendAll(fd,
                  "PUT /v1/later HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                  "GET /v1/now HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /v1/kv/z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread replier([&] {
    DeferredPtr d;
    {
      std::lock_guard<std::mutex> lock(s.world.mu);
      REQUIRE(s.world.pending.size() == 1);
      d = s.world.pending[0];
    }
    Response r;
    r.Json("true");
    d->Reply(r);
    Response again;
    again.Json("false");
    d->Reply(again);  // only the first reply counts
  });
  replier.join();
  const std::string all = ReadAll(fd);
  close(fd);
  const size_t first = all.find("\r\n\r\ntrue");
  const size_t second = all.find("\"now\"");
  const size_t third = all.find("\"/v1/kv/z@5\"");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  REQUIRE(third != std::string::npos);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(all.find("false") == std::string::npos);
}

TEST_CASE("Deferred: a reply after the client left, or after the server stopped, is dropped") {
  DeferredPtr late;
  {
    Server s(Server::Opts());
    int fd = Connect(s.port());
    REQUIRE(fd >= 0);
    REQUIRE(SendAll(fd, "PUT /v1/later HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    for (int i = 0; i < 100; ++i) {
      std::lock_guard<std::mutex> lock(s.world.mu);
      if (!s.world.pending.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    {
      std::lock_guard<std::mutex> lock(s.world.mu);
      REQUIRE(s.world.pending.size() == 1);
      late = s.world.pending[0];
    }
    Response r;
    r.Json("true");
    late->Reply(r);  // the connection is gone: dropped
    // The server still serves others.
    CHECK(testing::Exchange(s.port(), Get("/v1/now")).find("\"now\"") != std::string::npos);
  }
  Response r;
  r.Json("true");
  late->Reply(r);  // the server is gone: dropped, no crash
  CHECK(true);
}

TEST_CASE("Deferred outside a server: the reply lands in the handler's Response") {
  World w;
  Router r = MakeRouter(&w);
  Request req;
  req.method = "PUT";
  req.path = "/v1/later";
  Response resp;
  r.Dispatch(req, resp);
  CHECK(resp.deferred());
  REQUIRE(w.pending.size() == 1);
  Response out;
  out.Json("true");
  w.pending[0]->Reply(out);
  CHECK(resp.body == "true");
  CHECK(!resp.deferred());
}

TEST_CASE("HttpServer::Post runs closures on the loop thread, in order; none after Stop") {
  Logger log{LogLevel::kError};
  auto handler_thread = std::make_shared<std::thread::id>();
  Router r;
  r.Handle("GET", "/v1/tid", [handler_thread](const Request&, Response& resp) {
    *handler_thread = std::this_thread::get_id();  // written before the answer is sent
    resp.Json("\"ok\"");
  });
  HttpServerOptions o;
  o.port = 0;
  HttpServer server(log, std::move(r), o);
  server.Post([] { FAIL("posted before Start: must be dropped"); });
  REQUIRE(server.Start().ok());
  REQUIRE(testing::Exchange(server.port(), Get("/v1/tid")).find("\"ok\"") != std::string::npos);

  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::promise<void> done;
  for (int i = 0; i < 3; ++i) {
    server.Post([&, i] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
      if (i == 2) done.set_value();
    });
  }
  done.get_future().wait();
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(order == std::vector<int>{0, 1, 2});
    for (const auto& t : threads) CHECK(t == *handler_thread);
  }
  server.Stop();
  server.Post([] { FAIL("posted after Stop: must be dropped"); });
}

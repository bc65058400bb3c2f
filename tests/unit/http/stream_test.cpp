// Streamed (chunked) responses and GET /v1/agent/monitor over a real socket.
#include <doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "beacon/http/monitor_api.h"
#include "beacon/http/server.h"
#include "test_client.h"

using namespace beacon;
using namespace beacon::http;
using beacon::http::testing::Connect;
using beacon::http::testing::SendAll;

namespace {

// What the test thread hands to the stream, and the handle the handler got.
struct Shared {
  std::mutex mu;
  std::string pending;  // guarded by mu
  StreamPtr stream;     // guarded by mu
  std::atomic<bool> closed{false};
  StreamPtr Get() {
    std::lock_guard<std::mutex> lock(mu);
    return stream;
  }
};

Router StreamRouter(const std::shared_ptr<Shared>& sh) {
  Router r;
  r.Handle("GET", "/v1/stream", [sh](const Request&, Response& resp) {
    StreamPtr s = resp.StartStream(
        200, "text/plain",
        [sh] {
          std::lock_guard<std::mutex> lock(sh->mu);
          std::string out;
          out.swap(sh->pending);
          return out;
        },
        [sh] { sh->closed = true; });
    std::lock_guard<std::mutex> lock(sh->mu);
    sh->stream = s;
  });
  return r;
}

HttpServerOptions AnyPort() {
  HttpServerOptions o;
  o.port = 0;
  return o;
}

// Reads from fd until `needle` shows up (or 5 s of silence); returns everything read.
std::string ReadUntil(int fd, std::string_view needle) {
  std::string out;
  char buf[4096];
  while (out.find(needle) == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

template <typename F>
bool WaitFor(F pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace

TEST_CASE("stream: chunked head at once, a chunk per kick, a final chunk on Finish") {
  auto sh = std::make_shared<Shared>();
  Logger log(LogLevel::kError);
  HttpServer server(log, StreamRouter(sh), AnyPort());
  REQUIRE(server.Start().ok());
  int fd = Connect(server.port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head = ReadUntil(fd, "\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  REQUIRE(WaitFor([&] { return sh->Get() != nullptr; }));
  {
    std::lock_guard<std::mutex> lock(sh->mu);
    sh->pending = "hello\n";
  }
  sh->Get()->Kick();
  CHECK(ReadUntil(fd, "hello\n\r\n") == "6\r\nhello\n\r\n");
  sh->Get()->Finish();
  std::string rest = ReadUntil(fd, "0\r\n\r\n");
  CHECK(rest == "0\r\n\r\n");
  CHECK(WaitFor([&] { return sh->closed.load(); }));
  char c;
  CHECK(recv(fd, &c, 1, 0) == 0);  // the server closes after the last chunk
  close(fd);
  server.Stop();
}

TEST_CASE("stream: a client that leaves ends the stream (on_close runs)") {
  auto sh = std::make_shared<Shared>();
  Logger log(LogLevel::kError);
  HttpServer server(log, StreamRouter(sh), AnyPort());
  REQUIRE(server.Start().ok());
  int fd = Connect(server.port());
  REQUIRE(SendAll(fd, "GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadUntil(fd, "\r\n\r\n");
  REQUIRE(WaitFor([&] { return sh->Get() != nullptr; }));
  close(fd);
  CHECK(WaitFor([&] { return sh->closed.load(); }));
  sh->Get()->Kick();  // harmless once closed
  server.Stop();
}

TEST_CASE("monitor: streams log lines at the asked level, 400 for an unknown level") {
  Logger log(LogLevel::kError, -1);
  Router router;
  AddMonitorRoute(router, log);
  HttpServer server(log, std::move(router), AnyPort());
  REQUIRE(server.Start().ok());
  CHECK(testing::Exchange(server.port(),
                          "GET /v1/agent/monitor?loglevel=loud HTTP/1.1\r\nHost: x\r\n"
                          "Connection: close\r\n\r\n")
            .find("400 Bad Request") != std::string::npos);
  int fd = Connect(server.port());
  REQUIRE(SendAll(fd, "GET /v1/agent/monitor?loglevel=debug HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadUntil(fd, "\r\n\r\n");
  REQUIRE(WaitFor([&] { return log.Enabled(LogLevel::kDebug); }));  // subscribed
  BEACON_LOG(log, kTrace, "test", "too fine");
  BEACON_LOG(log, kDebug, "test", "a debug line %d", 7);
  std::string got = ReadUntil(fd, "a debug line 7\n");
  CHECK(got.find("[DEBUG] test: a debug line 7\n") != std::string::npos);
  CHECK(got.find("too fine") == std::string::npos);
  close(fd);
  CHECK(WaitFor([&] {
    BEACON_LOG(log, kDebug, "test", "until the server notices");
    return !log.Enabled(LogLevel::kDebug);  // unsubscribed once the client left
  }));
  server.Stop();
}

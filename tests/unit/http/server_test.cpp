#include <doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "beacon/core/metrics.h"
#include "beacon/http/http_metrics.h"
#include "beacon/http/server.h"
#include "test_client.h"

using namespace beacon;
using namespace beacon::http;
using beacon::http::testing::Connect;
using beacon::http::testing::Exchange;
using beacon::http::testing::ReadAll;
using beacon::http::testing::SendAll;

namespace {

Router TestRouter() {
  Router r;
  r.Handle("GET", "/v1/echo/", [](const Request& req, Response& resp) {
    std::string out = req.method + " " + req.path;
    for (const auto& [k, v] : req.query) out += " " + k + "=" + v;
    const std::string* h = req.Header("X-Test");
    if (h != nullptr) out += " h=" + *h;
    resp.Text(200, out);
  });
  r.Handle("PUT", "/v1/body", [](const Request& req, Response& resp) {
    resp.Text(200, "len=" + std::to_string(req.body.size()) + " " + req.body.substr(0, 16));
  });
  r.Handle("GET", "/v1/exact", [](const Request&, Response& resp) { resp.Json("[1]"); });
  return r;
}

struct Fixture {
  Logger log{LogLevel::kError};
  HttpServer server;
  explicit Fixture(HttpServerOptions opts = Options()) : server(log, TestRouter(), opts) {
    Status st = server.Start();
    REQUIRE(st.ok());
    REQUIRE(server.port() > 0);
  }
  static HttpServerOptions Options() {
    HttpServerOptions o;
    o.port = 0;
    return o;
  }
  int port() const { return server.port(); }
};

size_t Count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("Router: prefix, exact, 404 and 405") {
  Router r = TestRouter();
  Request req;
  Response resp;
  req.method = "GET";
  req.path = "/v1/echo/x";
  r.Dispatch(req, resp);
  CHECK(resp.status == 200);
  resp = Response();
  req.path = "/v1/exact/more";
  r.Dispatch(req, resp);
  CHECK(resp.status == 404);
  CHECK(*resp.Header("content-type") == "text/plain; charset=utf-8");
  resp = Response();
  req.path = "/v1/body";
  r.Dispatch(req, resp);
  CHECK(resp.status == 405);
  CHECK(*resp.Header("Allow") == "OPTIONS,PUT");
  resp = Response();
  req.method = "OPTIONS";
  r.Dispatch(req, resp);
  CHECK(resp.status == 200);
  CHECK(resp.body.empty());
}

TEST_CASE("HttpServer answers a request with decoded path, query and headers") {
  Fixture f;
  std::string out = Exchange(f.port(),
                             "GET /v1/echo/a%20b?passing&tag=x%2By&q=a+b HTTP/1.1\r\n"
                             "Host: x\r\nx-TEST: yes\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("GET /v1/echo/a b passing= tag=x+y q=a b h=yes\n") != std::string::npos);
  CHECK(out.find("Connection: close") != std::string::npos);
}

TEST_CASE("HttpServer: 404, 405 and JSON content type") {
  Fixture f;
  std::string out = Exchange(f.port(), "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(out.find("Content-Type: text/plain") != std::string::npos);
  out = Exchange(f.port(), "DELETE /v1/exact HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(out.find("Allow: OPTIONS,GET\r\n") != std::string::npos);
  CHECK(out.find("method DELETE not allowed\n") != std::string::npos);
  out = Exchange(f.port(), "GET /v1/exact HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(out.find("\r\n\r\n[1]") != std::string::npos);
}

TEST_CASE("HttpServer: request metrics by route pattern, method and code") {
  Fixture f;
  for (const char* path : {"/v1/echo/a", "/v1/echo/b/c", "/nope"}) {
    Exchange(f.port(), std::string("GET ") + path + " HTTP/1.1\r\nConnection: close\r\n\r\n");
  }
  Exchange(f.port(), "DELETE /v1/exact HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::vector<metrics::Metric> ms;
  f.server.metrics().Append(&ms);
  const std::string text = metrics::FormatPrometheus(ms);
  // The route is the pattern that matched, not the path.
  CHECK(text.find(
            "beacon_http_requests_total{code=\"200\",method=\"GET\",route=\"/v1/echo/\"} 2\n") !=
        std::string::npos);
  CHECK(text.find(
            "beacon_http_requests_total{code=\"404\",method=\"GET\",route=\"unmatched\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("beacon_http_requests_total{code=\"405\",method=\"DELETE\",route=\"unmatched\"} "
                  "1\n") != std::string::npos);
  CHECK(text.find("beacon_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/echo/\"} "
                  "2\n") != std::string::npos);
  CHECK(text.find("# TYPE beacon_http_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("beacon_http_blocking_queries 0\n") != std::string::npos);
}

TEST_CASE("HttpServer: keep-alive with pipelined requests answered in order") {
  Fixture f;
  std::string out = Exchange(f.port(),
                             "GET /v1/echo/one HTTP/1.1\r\nHost: x\r\n\r\n"
                             "PUT /v1/body HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                             "GET /v1/echo/three HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(Count(out, "HTTP/1.1 200 OK") == 3);
  const size_t a = out.find("GET /v1/echo/one");
  const size_t b = out.find("len=5 hello");
  const size_t c = out.find("GET /v1/echo/three");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
}

TEST_CASE("HttpServer: chunked request body") {
  Fixture f;
  std::string out = Exchange(f.port(),
                             "PUT /v1/body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                             "Connection: close\r\n\r\n"
                             "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  CHECK(out.find("len=7 abcdefg") != std::string::npos);
}

TEST_CASE("HttpServer: Expect: 100-continue gets an interim response") {
  Fixture f;
  std::string out = Exchange(f.port(),
                             "PUT /v1/body HTTP/1.1\r\nContent-Length: 2\r\n"
                             "Expect: 100-continue\r\nConnection: close\r\n\r\nok");
  CHECK(out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("len=2 ok") != std::string::npos);
}

TEST_CASE("HttpServer: limits") {
  Fixture f;
  SUBCASE("600 KiB body with Content-Length -> 413") {
    std::string body(600 * 1024, 'x');
    std::string out = Exchange(f.port(), "PUT /v1/body HTTP/1.1\r\nContent-Length: " +
                                             std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(out.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);
  }
  SUBCASE("600 KiB chunked body -> 413") {
    std::string req = "PUT /v1/body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk(64 * 1024, 'y');
    for (int i = 0; i < 10; ++i) req += "10000\r\n" + chunk + "\r\n";
    req += "0\r\n\r\n";
    std::string out = Exchange(f.port(), req);
    CHECK(out.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);
  }
  SUBCASE("70 KiB of headers -> 431") {
    std::string req = "GET /v1/exact HTTP/1.1\r\n";
    for (int i = 0; i < 70; ++i)
      req += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'p') + "\r\n";
    req += "\r\n";
    std::string out = Exchange(f.port(), req);
    CHECK(out.rfind("HTTP/1.1 431 ", 0) == 0);
  }
  SUBCASE("garbage -> 400") {
    std::string out = Exchange(f.port(), "NOT HTTP AT ALL\r\n\r\n");
    CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  }
}

TEST_CASE("HttpServer: header timeout, idle timeout and connection cap") {
  HttpServerOptions o = Fixture::Options();
  o.header_timeout_ms = 200;
  o.idle_timeout_ms = 300;
  o.max_conns = 2;
  Fixture f(o);
  SUBCASE("slow request -> 408 and close") {
    std::string out = Exchange(f.port(), "GET /v1/exact HTTP/1.1\r\nHost: x\r\n");
    CHECK(out.rfind("HTTP/1.1 408 Request Timeout\r\n", 0) == 0);
  }
  SUBCASE("idle connection is closed") {
    int fd = Connect(f.port());
    REQUIRE(fd >= 0);
    CHECK(ReadAll(fd).empty());  // EOF well before the client's 5 s timeout
    close(fd);
  }
  SUBCASE("over the cap -> 503") {
    int a = Connect(f.port());
    int b = Connect(f.port());
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    // Make sure both are accepted before the third arrives.
    SendAll(a, "GET /v1/exact HTTP/1.1\r\n\r\n");
    SendAll(b, "GET /v1/exact HTTP/1.1\r\n\r\n");
    usleep(50 * 1000);
    std::string out = Exchange(f.port(), "GET /v1/exact HTTP/1.1\r\n\r\n");
    CHECK(out.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    close(a);
    close(b);
  }
}

TEST_CASE("HttpServer: path keeps '+', bad escapes pass through") {
  Fixture f;
  std::string out =
      Exchange(f.port(), "GET /v1/echo/a+b%zz%4?x=%41%2 HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.find("GET /v1/echo/a+b%zz%4 x=A%2\n") != std::string::npos);
}

TEST_CASE("HttpServer: Stop() with open and half-sent connections returns") {
  auto f = std::make_unique<Fixture>();
  int idle = Connect(f->port());
  int partial = Connect(f->port());
  REQUIRE(idle >= 0);
  REQUIRE(partial >= 0);
  SendAll(partial, "GET /v1/exact HTTP/1.1\r\nHost:");
  usleep(20 * 1000);
  f.reset();  // Stop() closes both and joins
  CHECK(ReadAll(idle).empty());
  CHECK(ReadAll(partial).empty());
  close(idle);
  close(partial);
}

TEST_CASE("HttpServer: a client pipelining large GETs without reading is read no further") {
  std::atomic<int> served{0};
  const std::string big(256 * 1024, 'v');
  Router r;
  r.Handle("GET", "/v1/big", [&](const Request&, Response& resp) {
    served.fetch_add(1);
    resp.Text(200, big);
  });
  Logger log{LogLevel::kError};
  HttpServerOptions o = Fixture::Options();
  o.max_unsent_bytes = size_t{1} << 20;
  HttpServer server(log, std::move(r), o);
  REQUIRE(server.Start().ok());
  // A small receive buffer so the kernel holds little of what the server sends.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int rcvbuf = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(server.port()));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  const int n = 200;  // 50 MiB of answers
  std::string reqs;
  for (int i = 0; i < n; ++i) {
    reqs += "GET /v1/big HTTP/1.1\r\nHost: x\r\n";
    reqs += i + 1 == n ? "Connection: close\r\n\r\n" : "\r\n";
  }
  REQUIRE(SendAll(fd, reqs));
  // Let the server do all it will while nobody reads: until the count stops moving (10 s cap).
  int last = -1;
  for (int i = 0; i < 50 && served.load() != last; ++i) {
    last = served.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // The bound (1 MiB) plus the kernel's socket buffers hold a few answers, not all 200.
  MESSAGE("answered while the client did not read: " << served.load());
  CHECK(served.load() < n / 2);
  // Reading lets it go on: every answer arrives, whole and in order.
  const std::string status = "HTTP/1.1 200 OK\r\n";
  std::string window;
  size_t statuses = 0, bytes = 0;
  char buf[65536];
  for (;;) {
    const ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got <= 0) break;
    bytes += static_cast<size_t>(got);
    window.append(buf, static_cast<size_t>(got));
    statuses += Count(window, status);
    const size_t keep = status.size() - 1;  // a status line may straddle two reads
    window.erase(0, window.size() > keep ? window.size() - keep : 0);
  }
  close(fd);
  CHECK(statuses == static_cast<size_t>(n));
  CHECK(bytes > static_cast<size_t>(n) * big.size());
  CHECK(served.load() == n);
}

TEST_CASE("HttpServer: body_limits lets one path take a larger body, others keep the limit") {
  HttpServerOptions o = Fixture::Options();
  o.body_limits = {{"/v1/body", size_t{2} << 20}};
  Fixture f(o);
  std::string body(1 << 20, 'z');
  std::string out =
      Exchange(f.port(), "PUT /v1/body HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nConnection: close\r\n\r\n" + body);
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("len=1048576 ") != std::string::npos);
  out = Exchange(f.port(), "PUT /v1/echo/x HTTP/1.1\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(out.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);
}

// A client agent's forwarding routes (http::Forwarder + AddForwardRoutes) in front of real
// "server" HTTP servers (the real KV, session and txn routes over in-memory stores), all on
// 127.0.0.1, driven through real HTTP with the CLI's libcurl client.
#include <atomic>
#include <future>

#include "beacon/api/forward_api.h"
#include "beacon/http/client.h"
#include "beacon/http/forwarder.h"
#include "kv_test_env.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// A port on 127.0.0.1 where nothing listens (bound, then released).
int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

std::string Addr(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

// The client agent: a Forwarder and an HTTP server with only the forwarding routes.
struct ClientAgent {
  Logger log{LogLevel::kError};
  Forwarder fwd;
  std::mutex mu;
  std::vector<std::string> servers;  // guarded by mu
  std::unique_ptr<HttpServer> http;

  explicit ClientAgent(std::vector<std::string> initial, ForwarderOptions fo = {})
      : fwd(log, fo), servers(std::move(initial)) {
    REQUIRE(fwd.Start().ok());
    Router r;
    ForwardApiOptions o;
    o.node_name = "client1";
    o.servers = [this] {
      std::lock_guard<std::mutex> lock(mu);
      return servers;
    };
    AddForwardRoutes(r, fwd, std::move(o));
    HttpServerOptions so;
    so.port = 0;
    http = std::make_unique<HttpServer>(log, std::move(r), so);
    REQUIRE(http->Start().ok());
  }
  ~ClientAgent() {
    http->Stop();
    fwd.Stop();
  }
  void SetServers(std::vector<std::string> s) {
    std::lock_guard<std::mutex> lock(mu);
    servers = std::move(s);
  }
  // Through the CLI's libcurl client.
  ClientResponse Call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    ClientOptions co;
    co.address = Addr(http->port());
    HttpClient c(co);
    Result<ClientResponse> r = c.Do(method, target, body, 20000);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return r.value();
  }
  // Raw, for the headers.
  Reply Raw(const std::string& method, const std::string& target, const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!body.empty() || method == "PUT") {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    return ParseReply(Exchange(http->port(), req));
  }
};

bool WaitFor(const std::function<bool()>& cond, int ms = 5000) {
  const auto t0 = Clock::now();
  while (!cond()) {
    if (MsSince(t0) > ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("forward: KV put/get/recurse/keys/cas/delete relay the server's answer and index") {
  KvFixture server;
  ClientAgent client({Addr(server.server->port())});

  ClientResponse put = client.Call("PUT", "/v1/kv/app/a%20b?flags=7", "one");
  CHECK(put.status == 200);
  CHECK(put.body == "true");
  CHECK(client.Call("PUT", "/v1/kv/app/c", "two").body == "true");

  Reply direct = server.Do("GET", "/v1/kv/app/a%20b");
  Reply via = client.Raw("GET", "/v1/kv/app/a%20b");
  CHECK(via.status == 200);
  CHECK(via.body == direct.body);
  CHECK(via.Index() == direct.Index());
  CHECK(via.H("content-type") == "application/json");
  CheckIndexHeaders(via);
  dom::parser p;
  dom::element e = Json(p, via).at(0);
  CHECK(Str(e["Key"]) == "app/a b");
  CHECK(uint64_t(e["Flags"]) == 7);
  const uint64_t modify = e["ModifyIndex"];

  CHECK(client.Raw("GET", "/v1/kv/app/?recurse").body ==
        server.Do("GET", "/v1/kv/app/?recurse").body);
  CHECK(client.Call("GET", "/v1/kv/app/?keys").body == "[\"app/a b\",\"app/c\"]");
  Reply raw = client.Raw("GET", "/v1/kv/app/c?raw");
  CHECK(raw.body == "two");
  CHECK(raw.H("content-type") == "text/plain");

  // CAS: a stale index loses, the current one wins.
  CHECK(client.Call("PUT", "/v1/kv/app/a%20b?cas=1", "x").body == "false");
  CHECK(client.Call("PUT", "/v1/kv/app/a%20b?cas=" + std::to_string(modify), "x").body == "true");
  CHECK(server.Do("GET", "/v1/kv/app/a%20b?raw").body == "x");

  CHECK(client.Call("DELETE", "/v1/kv/app/c").body == "true");
  ClientResponse gone = client.Call("GET", "/v1/kv/app/c");
  CHECK(gone.status == 404);
  CHECK(gone.index >= 1);
  CHECK(client.Call("DELETE", "/v1/kv/app?recurse").status == 200);
  CHECK(server.Do("GET", "/v1/kv/app?recurse").status == 404);

  // Errors come back as the server wrote them.
  Reply bad = client.Raw("PUT", "/v1/kv/a/../b", "x");
  CHECK(bad.status == 400);
  CHECK(bad.body == server.Do("PUT", "/v1/kv/a/../b", "x").body);
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 0; }));  // forgotten just after the reply
}

TEST_CASE("forward: sessions belong to the client's node; renew, destroy, txn") {
  KvFixture server;
  ClientAgent client({Addr(server.server->port())});

  ClientResponse created = client.Call("PUT", "/v1/session/create", "{\"TTL\":\"30s\"}");
  REQUIRE(created.status == 200);
  dom::parser p;
  const std::string id(std::string_view(p.parse(created.body)["ID"]));
  ClientResponse info = client.Call("GET", "/v1/session/info/" + id);
  CHECK(info.status == 200);
  CHECK(info.index >= 1);
  CHECK(info.body.find("\"Node\":\"client1\"") != std::string::npos);
  // An explicit node is kept.
  ClientResponse other = client.Call("PUT", "/v1/session/create", "{\"Node\":\"node1\"}");
  CHECK(other.status == 200);
  CHECK(client.Call("GET", "/v1/session/node/client1").body.find(id) != std::string::npos);

  ClientResponse renew = client.Call("PUT", "/v1/session/renew/" + id);
  CHECK(renew.status == 200);
  CHECK(renew.body.find(id) != std::string::npos);
  CHECK(client.Call("PUT", "/v1/kv/lock?acquire=" + id, "held").body == "true");

  const std::string txn = "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"t/1\",\"Value\":\"" +
                          core::Base64Encode("v1") +
                          "\"}},{\"KV\":{\"Verb\":\"get\",\"Key\":\"lock\"}}]";
  ClientResponse t = client.Call("PUT", "/v1/txn", txn);
  CHECK(t.status == 200);
  CHECK(t.body.find("\"Key\":\"t/1\"") != std::string::npos);
  CHECK(t.body.find("\"Session\":\"" + id + "\"") != std::string::npos);
  ClientResponse rollback =
      client.Call("PUT", "/v1/txn", "[{\"KV\":{\"Verb\":\"check-not-exists\",\"Key\":\"t/1\"}}]");
  CHECK(rollback.status == 409);

  CHECK(client.Call("PUT", "/v1/session/destroy/" + id).body == "true");
  CHECK(client.Call("GET", "/v1/session/info/" + id).body == "[]");
  CHECK(server.Do("GET", "/v1/kv/lock").body.find("\"Session\"") == std::string::npos);
}

TEST_CASE("forward: a blocking read through the client is woken by a later put") {
  KvFixture server;
  ClientAgent client({Addr(server.server->port())});
  CHECK(client.Call("PUT", "/v1/kv/w", "0").body == "true");
  const uint64_t index = client.Call("GET", "/v1/kv/w").index;
  REQUIRE(index >= 1);

  const auto t0 = Clock::now();
  auto blocked = std::async(std::launch::async, [&] {
    return client.Call("GET", "/v1/kv/w?index=" + std::to_string(index) + "&wait=30s");
  });
  CHECK(blocked.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  CHECK(client.Call("PUT", "/v1/kv/w", "1").body == "true");
  REQUIRE(blocked.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  ClientResponse woke = blocked.get();
  CHECK(woke.status == 200);
  CHECK(woke.index > index);
  CHECK(woke.index == server.Do("GET", "/v1/kv/w").Index());
  CHECK(MsSince(t0) < 5000);

  // ?wait runs out on the server: the same index comes back after about the wait.
  const auto t1 = Clock::now();
  ClientResponse idle =
      client.Call("GET", "/v1/kv/w?index=" + std::to_string(woke.index) + "&wait=300ms");
  CHECK(idle.status == 200);
  CHECK(idle.index == woke.index);
  CHECK(MsSince(t1) >= 300);
}

TEST_CASE("forward: no servers, or none reachable, is 500 No known Consul servers") {
  ClientAgent client({});
  ClientResponse none = client.Call("GET", "/v1/kv/x");
  CHECK(none.status == 500);
  CHECK(none.body == "No known Consul servers\n");
  CHECK(client.Call("GET", "/v1/status/leader").status == 500);

  client.SetServers({Addr(DeadPort()), Addr(DeadPort())});
  ClientResponse dead = client.Call("PUT", "/v1/kv/x", "v");
  CHECK(dead.status == 500);
  CHECK(dead.body == "No known Consul servers\n");
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 0; }));  // forgotten just after the reply
}

TEST_CASE("forward: a dead first server is skipped, for reads and writes") {
  KvFixture server;
  ClientAgent client({Addr(DeadPort()), Addr(server.server->port())});
  CHECK(client.Call("PUT", "/v1/kv/k", "v").body == "true");
  CHECK(client.Call("GET", "/v1/kv/k?raw").body == "v");
  // The server that answered is now tried first.
  client.SetServers({Addr(DeadPort()), Addr(server.server->port())});
  const auto t0 = Clock::now();
  CHECK(client.Call("GET", "/v1/kv/k?raw").body == "v");
  CHECK(MsSince(t0) < 2000);
}

TEST_CASE("forward: a server that dies under a blocking read gives the client an error at once") {
  auto server = std::make_unique<KvFixture>();
  ClientAgent client({Addr(server->server->port())});
  CHECK(client.Call("PUT", "/v1/kv/w", "0").body == "true");
  const uint64_t index = client.Call("GET", "/v1/kv/w").index;
  auto blocked = std::async(std::launch::async, [&] {
    return client.Call("GET", "/v1/kv/w?index=" + std::to_string(index) + "&wait=60s");
  });
  CHECK(blocked.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  const auto t0 = Clock::now();
  server.reset();  // stops the server: its connections close
  REQUIRE(blocked.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  ClientResponse r = blocked.get();
  CHECK(r.status == 500);
  CHECK(r.body.rfind("rpc error making call: ", 0) == 0);
  CHECK(MsSince(t0) < 3000);
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 0; }));
}

TEST_CASE("forward: a client that leaves cancels its forwarded request") {
  KvFixture server;
  ClientAgent client({Addr(server.server->port())});
  CHECK(client.Call("PUT", "/v1/kv/w", "0").body == "true");
  const uint64_t index = client.Call("GET", "/v1/kv/w").index;
  int fd = beacon::http::testing::Connect(client.http->port());
  REQUIRE(fd >= 0);
  const std::string req =
      "GET /v1/kv/w?index=" + std::to_string(index) + "&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(beacon::http::testing::SendAll(fd, req));
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 1; }));
  close(fd);
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 0; }));
  // The forwarder still works afterwards.
  CHECK(client.Call("GET", "/v1/kv/w?raw").body == "0");
}

TEST_CASE("forward: requests beyond max_in_flight are refused with 503") {
  KvFixture server;
  ForwarderOptions fo;
  fo.max_in_flight = 1;
  ClientAgent client({Addr(server.server->port())}, fo);
  CHECK(client.Call("PUT", "/v1/kv/w", "0").body == "true");
  const uint64_t index = client.Call("GET", "/v1/kv/w").index;
  auto blocked = std::async(std::launch::async, [&] {
    return client.Call("GET", "/v1/kv/w?index=" + std::to_string(index) + "&wait=2s");
  });
  REQUIRE(WaitFor([&] { return client.fwd.in_flight() == 1; }));
  ClientResponse busy = client.Call("GET", "/v1/kv/w");
  CHECK(busy.status == 503);
  CHECK(busy.body.find("in flight") != std::string::npos);
  CHECK(blocked.get().status == 200);
}

TEST_CASE("forward: the server port serves only the forwarded paths") {
  Logger log{LogLevel::kError};
  std::unique_ptr<kv::Store> store = kv::NewMemStore();
  Router r;
  AddKvRoutes(r, *store, KvFixture::Options());
  r.Handle("GET", "/v1/agent/self", [](const Request&, Response& resp) { resp.Json("{}"); });
  HttpServerOptions so;
  so.port = 0;
  so.extra_listeners.push_back({"127.0.0.1", 0, ServerPortPaths()});
  HttpServer srv(log, std::move(r), so);
  REQUIRE(srv.Start().ok());
  const int server_port = srv.extra_port(0);
  REQUIRE(server_port > 0);
  CHECK(server_port != srv.port());
  auto get = [](int port, const std::string& path) {
    return ParseReply(
        Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  };
  CHECK(get(srv.port(), "/v1/agent/self").status == 200);
  Reply hidden = get(server_port, "/v1/agent/self");
  CHECK(hidden.status == 404);
  CHECK(hidden.body == "Invalid URL path: not served on this port\n");
  CHECK(get(server_port, "/v1/kv/missing").status == 404);
  CHECK(get(server_port, "/v1/kv/missing").H("x-consul-index") != "<none>");

  ClientAgent client({Addr(server_port)});
  CHECK(client.Call("PUT", "/v1/kv/via-8300", "v").body == "true");
  CHECK(get(srv.port(), "/v1/kv/via-8300?raw").body == "v");
  srv.Stop();
}

TEST_CASE("forward: target re-encoding, timeouts and the session body") {
  Request req;
  req.method = "GET";
  req.path = "/v1/kv/a b/c?d#e%";
  req.query = {{"recurse", ""}, {"index", "12"}, {"wait", "1m"}, {"sep", "/&="}};
  CHECK(ForwardTarget(req) == "/v1/kv/a%20b/c%3Fd%23e%25?recurse&index=12&wait=1m&sep=%2F%26%3D");
  ForwarderOptions o;
  CHECK(ForwardTimeoutMs(req, o) == 60000 + 3750 + 5000);
  req.query = {{"index", "12"}};
  CHECK(ForwardTimeoutMs(req, o) == 300000 + 18750 + 5000);
  req.query = {{"index", "12"}, {"wait", "1h"}};
  CHECK(ForwardTimeoutMs(req, o) == 600000 + 37500 + 5000);
  req.query = {{"index", "0"}};
  CHECK(ForwardTimeoutMs(req, o) == 30000);
  req.method = "PUT";
  req.query = {{"index", "12"}};
  CHECK(ForwardTimeoutMs(req, o) == 30000);

  CHECK(SessionCreateBody("", "n1") == "{\"Node\":\"n1\"}");
  CHECK(SessionCreateBody(" {} ", "n1") == "{\"Node\":\"n1\"}");
  CHECK(SessionCreateBody("{\"TTL\":\"10s\"}", "n\"1") == "{\"Node\":\"n\\\"1\",\"TTL\":\"10s\"}");
  CHECK(SessionCreateBody("{\"node\":\"x\"}", "n1") == "{\"node\":\"x\"}");
  CHECK(SessionCreateBody("[1]", "n1") == "[1]");
  CHECK(SessionCreateBody("{bad", "n1") == "{bad");
}

TEST_CASE("forward: method, target, body and token go up; status, body and headers come back") {
  Logger log{LogLevel::kError};
  Router r;
  r.Handle("PUT", "/v1/txn", [](const Request& req, Response& resp) {
    std::string seen = req.method + " " + req.path;
    for (const auto& [k, v] : req.query) seen += " q:" + k + "=" + v;
    for (const char* h : {"x-consul-token", "authorization", "content-type", "expect"}) {
      if (const std::string* v = req.Header(h)) seen += std::string(" h:") + h + "=" + *v;
    }
    seen += " body:" + req.body;
    resp.Text(409, seen);
    resp.SetHeader("X-Consul-Index", "42");
    resp.SetHeader("X-Consul-KnownLeader", "false");
    resp.SetHeader("X-Consul-LastContact", "7");
  });
  HttpServerOptions so;
  so.port = 0;
  HttpServer upstream(log, std::move(r), so);
  REQUIRE(upstream.Start().ok());
  ClientAgent client({Addr(upstream.port())});
  const std::string body(3000, 'b');  // big enough for curl to want Expect: 100-continue
  const std::string req =
      "PUT /v1/txn?dc=dc1&token=t%201&stale HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\nX-Consul-Token: secret\r\n"
      "Authorization: Bearer abc\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  Reply got = ParseReply(Exchange(client.http->port(), req));
  CHECK(got.status == 409);
  CHECK(got.body ==
        "PUT /v1/txn q:dc=dc1 q:token=t 1 q:stale= h:x-consul-token=secret "
        "h:authorization=Bearer abc h:content-type=application/json body:" +
            body + "\n");
  CHECK(got.H("x-consul-index") == "42");
  CHECK(got.H("x-consul-knownleader") == "false");
  CHECK(got.H("x-consul-lastcontact") == "7");
  CHECK(got.H("content-type") == "text/plain; charset=utf-8");
  CHECK(got.H("content-length") == std::to_string(got.body.size()));
  upstream.Stop();
}

// Accepts connections on 127.0.0.1, reads the request and hangs up without answering.
struct HangUpServer {
  int fd = -1;
  int port = 0;
  std::atomic<int> requests{0};
  std::thread thread;
  HangUpServer() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    REQUIRE(listen(fd, 16) == 0);
    thread = std::thread([this] {
      for (;;) {
        const int c = accept(fd, nullptr, nullptr);
        if (c < 0) return;  // shut down
        char buf[4096];
        if (recv(c, buf, sizeof buf, 0) > 0) requests.fetch_add(1);
        close(c);
      }
    });
  }
  ~HangUpServer() {
    shutdown(fd, SHUT_RDWR);
    thread.join();
    close(fd);
  }
};

TEST_CASE("forward: after the request went out, only reads move on to the next server") {
  HangUpServer bad;
  KvFixture good;
  ClientAgent client({Addr(bad.port), Addr(good.server->port())});
  ClientResponse put = client.Call("PUT", "/v1/kv/once", "v");
  CHECK(put.status == 500);
  CHECK(put.body.rfind("rpc error making call: ", 0) == 0);
  CHECK(bad.requests.load() == 1);
  CHECK(good.Do("GET", "/v1/kv/once").status == 404);  // the write was not repeated elsewhere

  CHECK(good.Do("PUT", "/v1/kv/once", "w").body == "true");
  ClientResponse get = client.Call("GET", "/v1/kv/once?raw");
  CHECK(get.status == 200);
  CHECK(get.body == "w");
  CHECK(bad.requests.load() == 2);
}

TEST_CASE("forward: many blocking reads in flight at once all wake on one put") {
  KvFixture server;
  ClientAgent client({Addr(server.server->port())});
  CHECK(client.Call("PUT", "/v1/kv/many", "0").body == "true");
  const uint64_t index = client.Call("GET", "/v1/kv/many").index;
  constexpr int kReaders = 64;
  std::vector<int> fds;
  for (int i = 0; i < kReaders; ++i) {
    const int fd = beacon::http::testing::Connect(client.http->port());
    REQUIRE(fd >= 0);
    REQUIRE(beacon::http::testing::SendAll(
        fd, "GET /v1/kv/many?index=" + std::to_string(index) +
                "&wait=30s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    fds.push_back(fd);
  }
  REQUIRE(WaitFor([&] { return client.fwd.in_flight() == kReaders; }));
  CHECK(client.Call("PUT", "/v1/kv/many", "1").body == "true");
  for (int fd : fds) {
    Reply r = ParseReply(beacon::http::testing::ReadAll(fd));
    close(fd);
    CHECK(r.status == 200);
    CHECK(r.Index() > index);
  }
  CHECK(WaitFor([&] { return client.fwd.in_flight() == 0; }));
}

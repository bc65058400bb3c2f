// health::HttpClient on a private libuv loop against a keep-alive HTTP/1.1 server on 127.0.0.1:
// the prepared transfer of a check follows its definition, runs reuse a young kept-alive
// connection, and a server that stops (or stops listening while keeping an idle connection) still
// turns the check critical. Every wait has a deadline.
#include <arpa/inet.h>
#include <doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "beacon/health/probes.h"

using namespace beacon;
using catalog::Check;
using catalog::Health;
using std::chrono::steady_clock;

namespace {

constexpr auto kReuseWait = std::chrono::seconds(15);

// HTTP/1.1 with keep-alive: every request on a connection gets "200 OK" and "ok"; connections stay
// open until the client closes them or Stop(). CloseListener() stops accepting (the listening
// socket is closed) and keeps serving the connections already open.
class KeepAliveServer {
 public:
  KeepAliveServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~KeepAliveServer() { Stop(); }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }
  std::string LastRequest() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  // Closes the listening socket (from the server thread) and waits until it is closed.
  void CloseListener() {
    close_listener_ = true;
    const auto deadline = steady_clock::now() + kReuseWait;
    while (!listener_closed_ && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(listener_closed_);
  }
  // Closes every connection and the listener; the server is gone.
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
  }

 private:
  void Serve() {
    std::map<int, std::string> conns;  // fd -> bytes of the request being read
    while (!stop_) {
      if (close_listener_ && listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
        listener_closed_ = true;
      }
      std::vector<pollfd> fds;
      if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& [fd, buf] : conns) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (const pollfd& p : fds) {
        if (p.revents == 0) continue;
        if (p.fd == listen_fd_) {
          const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) {
            conns[c];
            ++accepted_;
          }
          continue;
        }
        char buf[4096];
        const ssize_t n = read(p.fd, buf, sizeof buf);
        if (n <= 0) {
          close(p.fd);
          conns.erase(p.fd);
          continue;
        }
        std::string& req = conns[p.fd];
        req.append(buf, static_cast<size_t>(n));
        const size_t end = req.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        {
          std::lock_guard<std::mutex> lock(mu_);
          last_ = req.substr(0, end + 4);
        }
        req.erase(0, end + 4);
        ++requests_;
        const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        send(p.fd, resp.data(), resp.size(), MSG_NOSIGNAL);
      }
    }
    for (const auto& [fd, buf] : conns) close(fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> close_listener_{false};
  std::atomic<bool> listener_closed_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string last_;
};

// An HttpClient on its own loop; Run() starts one probe and turns the loop until it reports (a
// ticking timer wakes the loop, which may also hold a kept-alive connection's idle poll).
class Client {
 public:
  Client() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
    http_.emplace(&loop_);
  }
  ~Client() {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    http_->Close();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the close callbacks
    http_.reset();
    uv_loop_close(&loop_);
  }
  health::ProbeResult Run(const Check& c) {
    std::optional<health::ProbeResult> got;
    health::ProbeOptions o;
    o.timeout_ms = 3000;
    http_->Start(c, o, [&got](health::ProbeResult r) { got = std::move(r); });
    const auto deadline = steady_clock::now() + kReuseWait;
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 20, 20);
    while (!got && steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&tick_);
    if (!got) return {Health::kMaintenance, "timed out waiting"};
    return *got;
  }

 private:
  uv_loop_t loop_{};
  uv_timer_t tick_{};
  std::optional<health::HttpClient> http_;
};

Check KeepAliveCheck(uint16_t port) {
  Check c;
  c.id = "web";
  c.http = "http://127.0.0.1:" + std::to_string(port) + "/health";
  c.interval_ms = 1000;
  return c;
}

}  // namespace

TEST_CASE("HTTP check: a changed definition of the same check id is what the next run sends") {
  KeepAliveServer srv;
  Client client;
  Check c = KeepAliveCheck(srv.port());
  c.header["X-Probe"] = {"1"};
  CHECK(client.Run(c).status == Health::kPassing);
  CHECK(srv.LastRequest().find("X-Probe: 1\r\n") != std::string::npos);
  c.header["X-Probe"] = {"2"};
  c.method = "PUT";
  health::ProbeResult r = client.Run(c);
  CHECK(r.status == Health::kPassing);
  CHECK(r.output == "HTTP PUT " + c.http + ": 200 OK Output: ok");
  CHECK(srv.LastRequest().find("PUT /health HTTP/1.1\r\n") == 0);
  CHECK(srv.LastRequest().find("X-Probe: 2\r\n") != std::string::npos);
}

TEST_CASE("HTTP check: runs reuse a young kept-alive connection; a stopped server is critical") {
  KeepAliveServer srv;
  Client client;
  const Check c = KeepAliveCheck(srv.port());
  for (int i = 0; i < 3; ++i) {
    health::ProbeResult r = client.Run(c);
    CHECK(r.status == Health::kPassing);
    CHECK(r.output == "HTTP GET " + c.http + ": 200 OK Output: ok");
  }
  CHECK(srv.requests() == 3);
  CHECK(srv.accepted() == 1);  // back-to-back runs share the connection

  // The server goes away (its connections with it): the very next run is critical.
  srv.Stop();
  health::ProbeResult r = client.Run(c);
  CHECK(r.status == Health::kCritical);
  CHECK(r.output.find("Get \"" + c.http + "\": ") == 0);
}

TEST_CASE("HTTP check: a server that stops listening but keeps an idle connection goes critical") {
  KeepAliveServer srv;
  Client client;
  const Check c = KeepAliveCheck(srv.port());
  REQUIRE(client.Run(c).status == Health::kPassing);
  srv.CloseListener();  // the kept connection stays open and would still answer
  // Runs keep going (as the scheduler would, faster); a kept connection is never used past its
  // lifetime, so a run soon has to connect, and the closed listener makes it critical.
  health::ProbeResult r;
  const auto deadline = steady_clock::now() + kReuseWait;
  while (steady_clock::now() < deadline) {
    r = client.Run(c);
    if (r.status != Health::kPassing) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(r.status == Health::kCritical);
  CHECK(r.output.find("Get \"" + c.http + "\": ") == 0);
  CHECK(srv.accepted() == 1);
}

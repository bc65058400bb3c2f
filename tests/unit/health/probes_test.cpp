// health::Runner with real probes against endpoints this test starts on 127.0.0.1: an HTTP
// server, a TCP listener, a UDP socket, and shell scripts. Every wait has a deadline.
#include <arpa/inet.h>
#include <doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "beacon/health/runner.h"

using namespace beacon;
using catalog::Check;
using catalog::Health;
using std::chrono::steady_clock;

namespace {

constexpr auto kWait = std::chrono::seconds(15);

struct Report {
  std::string id;
  Health status;
  std::string output;
};

// Collects the Runner's reports.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Report> results;
  std::map<std::string, int> calls;

  health::Runner::Sink Fn() {
    return [this](const std::string& id, Health st, const std::string& out) {
      std::lock_guard<std::mutex> lock(mu);
      results.push_back({id, st, out});
      ++calls[id];
      cv.notify_all();
    };
  }
  // Waits for a report of `id` with `status`; returns it (status kMaintenance on timeout).
  Report WaitFor(const std::string& id, Health status) {
    std::unique_lock<std::mutex> lock(mu);
    const auto deadline = steady_clock::now() + kWait;
    while (true) {
      for (auto it = results.begin(); it != results.end(); ++it) {
        if (it->id == id && it->status == status) {
          Report r = *it;
          // Drop this report and the earlier ones of the same check; keep other checks'.
          const auto end = it + 1;
          auto keep =
              std::remove_if(results.begin(), end, [&](const Report& x) { return x.id == id; });
          results.erase(keep, end);
          return r;
        }
      }
      if (cv.wait_until(lock, deadline) == std::cv_status::timeout) {
        return {id, Health::kMaintenance, "timed out waiting"};
      }
    }
  }
  int Calls(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return calls[id];
  }
};

int Listen(int type, uint16_t port = 0) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  if (type == SOCK_STREAM) REQUIRE(listen(fd, 64) == 0);
  return fd;
}

uint16_t PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A tiny HTTP/1.1 server: answers every request with `code` and `body`, then closes.
class HttpServer {
 public:
  HttpServer() : fd_(Listen(SOCK_STREAM)), port_(PortOf(fd_)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  void Set(int code, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    code_ = code;
    body_ = std::move(body);
  }
  std::string LastRequest() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string resp;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = req;
        // GET /moved answers a redirect to /health.
        const bool moved = req.rfind("GET /moved ", 0) == 0;
        const int code = moved ? 302 : code_;
        const std::string body = moved ? std::string("see /health") : body_;
        const char* reason = code == 200   ? "OK"
                             : code == 302 ? "Found"
                             : code == 429 ? "Too Many Requests"
                                           : "Oops";
        resp = "HTTP/1.1 " + std::to_string(code) + " " + reason +
               (moved ? "\r\nLocation: /health" : "") +
               "\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
      }
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(c);
    }
  }

  int fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  int code_ = 200;
  std::string body_ = "ok";
  std::string last_;
};

Check HttpCheck(uint16_t port) {
  Check c;
  c.id = "web";
  c.http = "http://127.0.0.1:" + std::to_string(port) + "/health";
  c.interval_ms = 1000;
  c.timeout_ms = 3000;
  return c;
}

// No process in this test has a child left (zombie or not): every script was reaped.
int ChildCount() {
  int n = 0;
  const std::string self = std::to_string(getpid());
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string line;
    std::getline(f, line);
    const size_t rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(line.substr(rp + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self) ++n;
  }
  return n;
}

bool ProcessGone(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return true;
  std::string line;
  std::getline(f, line);
  const size_t rp = line.rfind(')');
  return rp != std::string::npos && line.size() > rp + 2 && line[rp + 2] == 'Z';
}

std::string TempDir() {
  char tmpl[] = "/tmp/beacon-health-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("HTTP check: passing, critical, warning on 429, passing again; Consul's output") {
  HttpServer srv;
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check c = HttpCheck(srv.port());
  runner.Sync({c});
  Report r = sink.WaitFor("web", Health::kPassing);
  CHECK(r.output == "HTTP GET " + c.http + ": 200 OK Output: ok");
  const std::string req = srv.LastRequest();
  CHECK(req.find("GET /health HTTP/1.1\r\n") == 0);
  CHECK(req.find("User-Agent: Consul Health Check\r\n") != std::string::npos);
  CHECK(req.find("Accept: text/plain, text/*, */*\r\n") != std::string::npos);

  srv.Set(503, "down");
  r = sink.WaitFor("web", Health::kCritical);
  CHECK(r.output == "HTTP GET " + c.http + ": 503 Oops Output: down");
  srv.Set(429, "slow down");
  CHECK(sink.WaitFor("web", Health::kWarning).status == Health::kWarning);
  srv.Set(200, std::string(10000, 'x'));
  r = sink.WaitFor("web", Health::kPassing);
  // The body is cut at the output limit (4 KiB by default).
  CHECK(r.output == "HTTP GET " + c.http + ": 200 OK Output: " + std::string(4096, 'x'));
  runner.Stop();
}

TEST_CASE("HTTP check: method, headers, body; a refused connection is critical") {
  HttpServer srv;
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check c = HttpCheck(srv.port());
  c.method = "PUT";
  c.header["X-Probe"] = {"1"};
  c.body = "ping";
  runner.Sync({c});
  CHECK(sink.WaitFor("web", Health::kPassing).output.rfind("HTTP PUT ", 0) == 0);
  const std::string req = srv.LastRequest();
  CHECK(req.find("PUT /health HTTP/1.1\r\n") == 0);
  CHECK(req.find("X-Probe: 1\r\n") != std::string::npos);

  int closed = Listen(SOCK_STREAM);
  const uint16_t dead = PortOf(closed);
  close(closed);
  Check d = HttpCheck(dead);
  d.id = "dead";
  runner.Sync({c, d});
  Report r = sink.WaitFor("dead", Health::kCritical);
  CHECK(r.output.find("127.0.0.1") != std::string::npos);
  runner.Stop();
}

TEST_CASE("HTTP check follows redirects unless disable_redirects") {
  HttpServer srv;
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check follow = HttpCheck(srv.port());
  follow.id = "follow";
  follow.http = "http://127.0.0.1:" + std::to_string(srv.port()) + "/moved";
  Check stay = follow;
  stay.id = "stay";
  stay.disable_redirects = true;
  stay.status = Health::kPassing;
  runner.Sync({follow, stay});
  CHECK(sink.WaitFor("follow", Health::kPassing).output ==
        "HTTP GET " + follow.http + ": 200 OK Output: ok");
  CHECK(sink.WaitFor("stay", Health::kCritical).output ==
        "HTTP GET " + stay.http + ": 302 Found Output: see /health");
  runner.Stop();
}

TEST_CASE("TCP check follows the listener; UDP check turns critical on port unreachable") {
  int tcp = Listen(SOCK_STREAM);
  const uint16_t tport = PortOf(tcp);
  int udp = Listen(SOCK_DGRAM);
  const uint16_t uport = PortOf(udp);
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check t;
  t.id = "tcp";
  t.tcp = "127.0.0.1:" + std::to_string(tport);
  t.interval_ms = 1000;
  t.timeout_ms = 2000;
  Check u;
  u.id = "udp";
  u.udp = "127.0.0.1:" + std::to_string(uport);
  u.interval_ms = 1000;
  u.timeout_ms = 300;
  runner.Sync({t, u});
  CHECK(sink.WaitFor("tcp", Health::kPassing).output == "TCP connect " + t.tcp + ": Success");
  CHECK(sink.WaitFor("udp", Health::kPassing).output == "UDP connect " + u.udp + ": Success");
  close(tcp);
  close(udp);
  Report r = sink.WaitFor("tcp", Health::kCritical);
  CHECK(r.output == "dial tcp " + t.tcp + ": connect: connection refused");
  r = sink.WaitFor("udp", Health::kCritical);
  INFO(r.output);
  CHECK(r.output.rfind("Failed to read UDP response from " + u.udp, 0) == 0);
  tcp = Listen(SOCK_STREAM, tport);
  udp = Listen(SOCK_DGRAM, uport);
  CHECK(sink.WaitFor("tcp", Health::kPassing).status == Health::kPassing);
  CHECK(sink.WaitFor("udp", Health::kPassing).status == Health::kPassing);
  runner.Stop();
  close(tcp);
  close(udp);
}

TEST_CASE("script check: exit codes map to statuses; output captured and capped") {
  const std::string dir = TempDir();
  WriteFile(dir + "/code", "0");
  Sink sink;
  Logger log(LogLevel::kError);
  health::RunnerOptions o;
  o.output_max = 64;
  health::Runner runner(o, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check c;
  c.id = "script";
  c.args = {"sh", "-c", "echo out; echo err >&2; exit $(cat " + dir + "/code)"};
  c.interval_ms = 1000;
  runner.Sync({c});
  CHECK(sink.WaitFor("script", Health::kPassing).output == "out\nerr\n");
  WriteFile(dir + "/code", "1");
  CHECK(sink.WaitFor("script", Health::kWarning).output == "out\nerr\n");
  WriteFile(dir + "/code", "2");
  CHECK(sink.WaitFor("script", Health::kCritical).status == Health::kCritical);
  WriteFile(dir + "/code", "0");
  CHECK(sink.WaitFor("script", Health::kPassing).status == Health::kPassing);

  Check big;
  big.id = "big";
  big.args = {"sh", "-c", "head -c 1000 /dev/zero | tr '\\0' a; echo END"};
  big.interval_ms = 1000;
  runner.Sync({big});
  Report r = sink.WaitFor("big", Health::kPassing);
  CHECK(r.output == "Captured 64 of 1004 bytes\n...\n" + std::string(60, 'a') + "END\n");
  Check missing;
  missing.id = "missing";
  missing.args = {"/nonexistent/beacon-check"};
  missing.interval_ms = 1000;
  missing.status = Health::kPassing;
  runner.Sync({missing});
  CHECK(sink.WaitFor("missing", Health::kCritical).output.find("/nonexistent/beacon-check") !=
        std::string::npos);
  runner.Stop();
  CHECK(ChildCount() == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a hanging script is killed with its process group at the timeout and reaped") {
  const std::string dir = TempDir();
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check c;
  c.id = "hang";
  c.args = {"sh", "-c", "echo $$ > " + dir + "/pid; sleep 60 & echo $! > " + dir + "/gpid; wait"};
  c.interval_ms = 1000;
  c.timeout_ms = 500;
  c.status = Health::kPassing;
  runner.Sync({c});
  Report r = sink.WaitFor("hang", Health::kCritical);
  CHECK(r.output == "Timed out (500ms) running check");
  std::string ps, gs;
  std::ifstream(dir + "/pid") >> ps;
  const int pid = std::atoi(ps.c_str());
  std::ifstream(dir + "/gpid") >> gs;
  const int gpid = std::atoi(gs.c_str());
  REQUIRE(pid > 0);
  REQUIRE(gpid > 0);
  CHECK(ProcessGone(pid));
  // The grandchild was in the same group: killed too (reaped by init, not by us).
  const auto deadline = steady_clock::now() + kWait;
  while (!ProcessGone(gpid) && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(ProcessGone(gpid));
  CHECK(ChildCount() == 0);
  runner.Stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("Sync keeps unchanged checks' state, restarts changed ones, stops removed ones") {
  const std::string dir = TempDir();
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  Check c;
  c.id = "thr";
  c.args = {"sh", "-c", "exit $(cat " + dir + "/code)"};
  c.interval_ms = 1000;
  c.failures_before_critical = 2;
  c.status = Health::kPassing;
  WriteFile(dir + "/code", "2");
  runner.Sync({c});
  // Two failures in a row are needed; re-syncing the same definition (as the agent does after
  // each publish) must not reset the counter.
  Check same = c;
  same.output = "something else";
  runner.Sync({same});
  CHECK(sink.WaitFor("thr", Health::kCritical).status == Health::kCritical);

  // A removed check's running script is killed.
  Check hang;
  hang.id = "hang";
  hang.args = {"sh", "-c", "echo $$ > " + dir + "/pid; exec sleep 60"};
  hang.interval_ms = 1000;
  hang.timeout_ms = 60000;
  runner.Sync({hang});
  const auto deadline = steady_clock::now() + kWait;
  std::string ps;
  while (ps.empty() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream(dir + "/pid") >> ps;
  }
  REQUIRE(!ps.empty());
  runner.Sync({});
  while (!ProcessGone(std::atoi(ps.c_str())) && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(ProcessGone(std::atoi(ps.c_str())));
  CHECK(runner.size() == 0);
  runner.Stop();
  CHECK(ChildCount() == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the sink hears only changes: same status and output is not reported again") {
  HttpServer srv;
  Sink sink;
  Logger log(LogLevel::kError);
  health::Runner runner({}, sink.Fn(), {}, log);
  REQUIRE(runner.Start().ok());
  runner.Sync({HttpCheck(srv.port())});
  sink.WaitFor("web", Health::kPassing);
  // Three more runs with the same answer, then a new body (output-only change).
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  CHECK(sink.Calls("web") == 1);
  srv.Set(200, "changed");
  Report r = sink.WaitFor("web", Health::kPassing);
  CHECK(r.output.find("Output: changed") != std::string::npos);
  runner.Stop();
}

TEST_CASE("alias checks ask the alias function at once and when the catalog changes") {
  Sink sink;
  Logger log(LogLevel::kError);
  std::atomic<int> state{0};
  health::Runner runner(
      {}, sink.Fn(),
      [&](const Check&) {
        return health::AliasResult{state == 0 ? Health::kPassing : Health::kCritical, "x"};
      },
      log);
  REQUIRE(runner.Start().ok());
  Check a;
  a.id = "alias";
  a.alias_service = "db";
  runner.Sync({a});
  CHECK(sink.WaitFor("alias", Health::kPassing).status == Health::kPassing);
  state = 1;
  runner.CatalogChanged();
  CHECK(sink.WaitFor("alias", Health::kCritical).status == Health::kCritical);
  runner.Stop();
}

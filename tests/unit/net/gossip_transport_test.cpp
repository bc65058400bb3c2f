// GossipTransport over real loopback sockets: two gossip::Membership nodes join and see each
// other alive; garbage on UDP and TCP is dropped and counted while gossip goes on; failing and
// silent stream peers are reported as failures in time; connection limits; Stop() with
// connections open. Every wait polls with a deadline.
#include <doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/gossip/envelope.h"
#include "beacon/gossip/memberlist_wire.h"
#include "beacon/gossip/membership.h"
#include "beacon/net/gossip_transport.h"

namespace beacon::net {
namespace {

using gossip::Bytes;
using Clock = std::chrono::steady_clock;

const Bytes kLoopback = {127, 0, 0, 1};

// Polls `pred` every 10 ms until it holds or `ms` pass.
template <class F>
bool WaitFor(F pred, int ms = 10000) {
  const auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Runs fn on the transport's thread and waits (at most 5 s) for it to finish.
template <class F>
bool RunOn(GossipTransport& t, F fn) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  t.Post([fn, done](std::uint64_t now) {
    fn(now);
    done->set_value();
  });
  return f.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
}

// A Membership created on the transport's thread once the port is known; its alive members are
// published after every input.
class MemberCore : public GossipCore {
 public:
  explicit MemberCore(std::string name) : name_(std::move(name)) {}
  void Create(std::uint64_t now, std::uint16_t port) {
    gossip::MembershipConfig cfg;
    cfg.probe_interval_ms = 200;
    cfg.probe_timeout_ms = 100;
    cfg.gossip_interval_ms = 50;
    cfg.tcp_timeout_ms = 2000;
    m_.emplace(cfg, name_, kLoopback, port, Bytes{}, std::hash<std::string>{}(name_), now);
  }
  gossip::Membership& m() { return *m_; }

  void Tick(std::uint64_t now) override {
    if (m_) m_->Tick(now);
  }
  void OnPacket(std::uint64_t now, const gossip::Endpoint& from, gossip::ByteView b) override {
    if (m_) m_->OnPacket(now, from, b);
  }
  Bytes OnStream(std::uint64_t now, const gossip::Endpoint& from, gossip::ByteView b) override {
    return m_ ? m_->OnStream(now, from, b) : Bytes{};
  }
  void OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> r) override {
    if (m_) m_->OnStreamReply(now, token, std::move(r));
  }
  std::vector<gossip::OutPacket> TakePackets() override {
    return m_ ? m_->TakePackets() : std::vector<gossip::OutPacket>{};
  }
  std::vector<gossip::OutStream> TakeStreams() override {
    return m_ ? m_->TakeStreams() : std::vector<gossip::OutStream>{};
  }
  std::uint64_t NextDeadline() const override { return m_ ? m_->NextDeadline() : UINT64_MAX; }
  void AfterInput(std::uint64_t) override {
    if (!m_) return;
    m_->TakeEvents();
    std::set<std::string> alive;
    for (const gossip::Member& mem : m_->Members()) {
      if (mem.state == gossip::NodeState::kAlive) alive.insert(mem.name);
    }
    std::lock_guard<std::mutex> l(mu_);
    alive_ = std::move(alive);
  }
  std::set<std::string> Alive() const {
    std::lock_guard<std::mutex> l(mu_);
    return alive_;
  }

 private:
  std::string name_;
  std::optional<gossip::Membership> m_;
  mutable std::mutex mu_;
  std::set<std::string> alive_;
};

// A core that makes the stream requests it is told to and records what comes back.
class FakeCore : public GossipCore {
 public:
  struct Reply {
    std::uint64_t token;
    std::optional<Bytes> bytes;
    Clock::time_point at;
  };
  void Tick(std::uint64_t) override {}
  void OnPacket(std::uint64_t, const gossip::Endpoint&, gossip::ByteView) override {}
  Bytes OnStream(std::uint64_t, const gossip::Endpoint&, gossip::ByteView req) override {
    std::lock_guard<std::mutex> l(mu_);
    requests_.emplace_back(req.begin(), req.end());
    return stream_reply_;
  }
  void OnStreamReply(std::uint64_t, std::uint64_t token, std::optional<Bytes> r) override {
    std::lock_guard<std::mutex> l(mu_);
    replies_.push_back({token, std::move(r), Clock::now()});
  }
  void OnStreamError(std::uint64_t now, std::uint64_t token, std::string error) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      errors_.push_back(error);
    }
    GossipCore::OnStreamError(now, token, std::move(error));  // the default: a nullopt reply
  }
  std::vector<gossip::OutPacket> TakePackets() override { return {}; }
  std::vector<gossip::OutStream> TakeStreams() override { return std::move(out_); }
  std::uint64_t NextDeadline() const override { return UINT64_MAX; }

  // Transport thread (through Post).
  void Request(std::uint64_t token, std::uint16_t port, Bytes bytes,
               gossip::OutStream::Kind kind = gossip::OutStream::Kind::kPushPull) {
    out_.push_back({token, kind, {kLoopback, port}, std::move(bytes)});
  }
  void SetStreamReply(Bytes b) {
    std::lock_guard<std::mutex> l(mu_);
    stream_reply_ = std::move(b);
  }
  std::vector<Reply> Replies() const {
    std::lock_guard<std::mutex> l(mu_);
    return replies_;
  }
  std::vector<Bytes> Requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<std::string> Errors() const {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

 private:
  std::vector<gossip::OutStream> out_;
  mutable std::mutex mu_;
  std::vector<Reply> replies_;
  std::vector<Bytes> requests_;
  std::vector<std::string> errors_;
  Bytes stream_reply_;
};

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A blocking TCP client with a 5 s receive timeout; -1 on failure.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const Bytes& b) {
  REQUIRE(send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()));
}

// Reads until the peer closes (or 5 s pass); returns what arrived, nullopt on timeout.
std::optional<Bytes> ReadToClose(int fd) {
  Bytes got;
  std::uint8_t buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return got;
    if (n < 0) return errno == ECONNRESET ? std::optional<Bytes>(got) : std::nullopt;
    got.insert(got.end(), buf, buf + n);
  }
}

void SendUdp(int port, const Bytes& b) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port);
  sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

// A port with nothing listening on it.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(0);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A listener that never accepts: connects succeed (the backlog), nothing is ever answered.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 16);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd); }
};

GossipTransportOptions Ephemeral(std::uint64_t tcp_timeout_ms = 2000) {
  GossipTransportOptions o;
  o.port = 0;
  o.tcp_timeout_ms = tcp_timeout_ms;
  return o;
}

// A node: a MemberCore on its own transport, its Membership created once the port is known.
struct Node {
  MemberCore core;
  GossipTransport t;
  Node(const std::string& name, const Logger& log) : core(name), t(Ephemeral(), core, log) {
    REQUIRE(t.Start().ok());
    const auto port = static_cast<std::uint16_t>(t.port());
    REQUIRE(RunOn(t, [this, port](std::uint64_t now) { core.Create(now, port); }));
  }
  void Join(const Node& seed) {
    const gossip::Endpoint to{kLoopback, static_cast<std::uint16_t>(seed.t.port())};
    t.Post([this, to](std::uint64_t now) { core.m().Join(now, {to}); });
  }
  bool Sees(const std::set<std::string>& names) const { return core.Alive() == names; }
};

Bytes PingFrame() {
  gossip::Ping p;
  p.seq_no = 7;
  p.node = "n";
  return gossip::Encode(p);
}

}  // namespace

TEST_CASE("two memberships join over TCP push-pull and probe each other over UDP") {
  Logger log(LogLevel::kWarn);
  Node a("a", log), b("b", log);
  CHECK(a.t.port() > 0);
  b.Join(a);
  CHECK(WaitFor([&] { return a.Sees({"a", "b"}) && b.Sees({"a", "b"}); }));
  // The join was a push-pull: b's stream out, a's stream in; probes flow both ways.
  CHECK(WaitFor([&] {
    return a.t.stats().packets_in > 0 && b.t.stats().packets_in > 0 &&
           a.t.stats().packets_out > 0 && b.t.stats().packets_out > 0;
  }));
  CHECK(b.t.stats().streams_out >= 1);
  CHECK(a.t.stats().streams_in >= 1);
  CHECK(a.t.stats().dropped == 0);
  CHECK(b.t.stats().stream_errors == 0);
  CHECK(a.t.NowMs() > 0);
}

TEST_CASE("garbage over UDP and TCP is dropped and counted; gossip goes on") {
  Logger log(LogLevel::kError);
  Node a("a", log), b("b", log);
  b.Join(a);
  REQUIRE(WaitFor([&] { return a.Sees({"a", "b"}) && b.Sees({"a", "b"}); }));
  const std::uint64_t in_before = a.t.stats().packets_in;

  SendUdp(a.t.port(), Bytes{0xff, 'j', 'u', 'n', 'k'});  // no memberlist packet starts so
  SendUdp(a.t.port(), Bytes{});                          // empty
  CHECK(WaitFor([&] { return a.t.stats().dropped == 2; }));
  SendUdp(a.t.port(), Bytes{2, 0xc1, 0xc1});  // an ack that does not decode: the core's to drop
  CHECK(WaitFor([&] { return a.t.stats().packets_in > in_before; }));

  const int fd = Connect(a.t.port());
  REQUIRE(fd >= 0);
  SendAll(fd, Bytes{0xee, 0xee, 0xee, 0xee});
  CHECK(ReadToClose(fd) == Bytes{});  // closed without a reply
  close(fd);
  CHECK(WaitFor([&] { return a.t.stats().dropped == 3; }));

  // Still gossiping: a third node joins through a and everyone sees everyone.
  Node c("c", log);
  c.Join(a);
  CHECK(WaitFor([&] {
    return a.Sees({"a", "b", "c"}) && b.Sees({"a", "b", "c"}) && c.Sees({"a", "b", "c"});
  }));
}

TEST_CASE("an accepted stream is served across partial reads; an empty reply closes silently") {
  Logger log(LogLevel::kError);
  FakeCore core;
  core.SetStreamReply(Bytes{'o', 'k'});
  GossipTransport t(Ephemeral(), core, log);
  REQUIRE(t.Start().ok());
  const Bytes frame = PingFrame();

  const int fd = Connect(t.port());
  REQUIRE(fd >= 0);
  SendAll(fd, Bytes(frame.begin(), frame.begin() + 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(core.Requests().empty());  // not a whole frame yet
  SendAll(fd, Bytes(frame.begin() + 3, frame.end()));
  CHECK(ReadToClose(fd) == Bytes{'o', 'k'});
  close(fd);
  REQUIRE(core.Requests().size() == 1);
  CHECK(core.Requests()[0] == frame);
  CHECK(t.stats().streams_in == 1);

  core.SetStreamReply(Bytes{});
  const int fd2 = Connect(t.port());
  REQUIRE(fd2 >= 0);
  SendAll(fd2, frame);
  CHECK(ReadToClose(fd2) == Bytes{});
  close(fd2);
  CHECK(t.stats().streams_in == 2);

  // A frame announcing more than max_stream_bytes is refused before it is read.
  GossipTransportOptions small = Ephemeral();
  small.max_stream_bytes = 16;
  FakeCore core2;
  GossipTransport t2(small, core2, log);
  REQUIRE(t2.Start().ok());
  const int fd3 = Connect(t2.port());
  REQUIRE(fd3 >= 0);
  Bytes big = {10, 0, 0, 1, 0};  // encrypted, 256 bytes announced
  big.resize(40, 0xab);          // more than max_stream_bytes arrive before it is whole
  SendAll(fd3, big);
  CHECK(ReadToClose(fd3) == Bytes{});
  close(fd3);
  CHECK(WaitFor([&] { return t2.stats().dropped == 1; }));
  CHECK(core2.Requests().empty());
}

TEST_CASE("outgoing streams: refused and silent peers fail in time, a reply is read whole") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(400), core, log);
  REQUIRE(t.Start().ok());

  const auto refused_at = Clock::now();
  const auto closed = static_cast<std::uint16_t>(ClosedPort());
  t.Post([&](std::uint64_t) { core.Request(1, closed, PingFrame()); });
  REQUIRE(WaitFor([&] { return core.Replies().size() == 1; }, 5000));
  CHECK(core.Replies()[0].token == 1);
  CHECK_FALSE(core.Replies()[0].bytes.has_value());
  CHECK(core.Replies()[0].at - refused_at < std::chrono::milliseconds(350));  // not the timeout
  // The reason, as Go's net package words it (memberlist's join errors quote it).
  REQUIRE(core.Errors().size() == 1);
  CHECK(core.Errors()[0] ==
        "dial tcp 127.0.0.1:" + std::to_string(closed) + ": connect: connection refused");

  SilentListener silent;
  const auto silent_at = Clock::now();
  t.Post([&](std::uint64_t) {
    core.Request(2, static_cast<std::uint16_t>(silent.port), PingFrame());
  });
  REQUIRE(WaitFor([&] { return core.Replies().size() == 2; }, 5000));
  CHECK(core.Replies()[1].token == 2);
  CHECK_FALSE(core.Replies()[1].bytes.has_value());
  CHECK(core.Replies()[1].at - silent_at >= std::chrono::milliseconds(350));
  REQUIRE(core.Errors().size() == 2);
  CHECK(core.Errors()[1].starts_with("read tcp 127.0.0.1:"));
  CHECK(core.Errors()[1].ends_with("->127.0.0.1:" + std::to_string(silent.port) + ": i/o timeout"));
  CHECK(t.stats().stream_errors == 2);

  // A server answering a whole frame in two pieces, then trailing bytes and no close: the
  // reply is complete at the frame's end.
  SilentListener server;
  std::thread serve([&] {
    timeval tv{5, 0};
    setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int c = accept(server.fd, nullptr, nullptr);
    if (c < 0) return;
    std::uint8_t buf[256];
    (void)recv(c, buf, sizeof buf, 0);
    const Bytes reply = PingFrame();
    send(c, reply.data(), 2, MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Bytes rest(reply.begin() + 2, reply.end());
    rest.push_back(0xff);
    send(c, rest.data(), rest.size(), MSG_NOSIGNAL);
    (void)recv(c, buf, sizeof buf, 0);  // until the transport closes
    close(c);
  });
  t.Post([&](std::uint64_t) {
    core.Request(3, static_cast<std::uint16_t>(server.port), PingFrame());
  });
  const bool got = WaitFor([&] { return core.Replies().size() == 3; }, 5000);
  serve.join();
  REQUIRE(got);
  CHECK(core.Replies()[2].token == 3);
  CHECK(core.Replies()[2].bytes == PingFrame());
  CHECK(t.stats().streams_out == 3);
}

TEST_CASE("a one-way stream (a kind past kPing: kUser) is written and closed, no reply read") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(2000), core, log);
  REQUIRE(t.Start().ok());
  SilentListener server;
  Bytes received;
  bool eof = false;
  std::thread serve([&] {
    timeval tv{5, 0};
    setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int c = accept(server.fd, nullptr, nullptr);
    if (c < 0) return;
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::optional<Bytes> got = ReadToClose(c);  // never answers
    eof = got.has_value();
    if (got) received = *got;
    close(c);
  });
  // kUser on the gossip branch that adds it (OutStream::Kind{2}); any kind other than kPushPull
  // and kPing is one-way.
  const auto one_way = static_cast<gossip::OutStream::Kind>(2);
  t.Post([&](std::uint64_t) {
    core.Request(5, static_cast<std::uint16_t>(server.port), PingFrame(), one_way);
  });
  const bool done = WaitFor([&] { return core.Replies().size() == 1; }, 5000);
  serve.join();
  REQUIRE(done);
  CHECK(core.Replies()[0].token == 5);
  CHECK(core.Replies()[0].bytes == Bytes{});  // success, nothing read
  CHECK(eof);
  CHECK(received == PingFrame());
  CHECK(t.stats().stream_errors == 0);
}

TEST_CASE("connections over max_connections are closed at once; idle ones time out") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransportOptions o = Ephemeral(300);
  o.max_connections = 1;
  GossipTransport t(o, core, log);
  REQUIRE(t.Start().ok());
  const int first = Connect(t.port());
  REQUIRE(first >= 0);
  const int second = Connect(t.port());
  REQUIRE(second >= 0);
  CHECK(ReadToClose(second) == Bytes{});
  CHECK(WaitFor([&] { return t.stats().dropped == 1; }));
  CHECK(ReadToClose(first) == Bytes{});  // after tcp_timeout_ms without a request
  CHECK(WaitFor([&] { return t.stats().stream_errors == 1; }));
  close(first);
  close(second);
}

TEST_CASE("Stop() with connections and streams open is prompt and calls the core no more") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(10000), core, log);
  REQUIRE(t.Start().ok());
  SilentListener silent;
  t.Post([&](std::uint64_t) {
    core.Request(9, static_cast<std::uint16_t>(silent.port), PingFrame());
  });
  const int fd = Connect(t.port());
  REQUIRE(fd >= 0);
  SendAll(fd, Bytes{6});  // the first byte of a push-pull
  REQUIRE(WaitFor([&] { return t.stats().streams_out == 1; }));
  const auto before = Clock::now();
  t.Stop();
  CHECK(Clock::now() - before < std::chrono::seconds(2));
  CHECK(ReadToClose(fd) == Bytes{});
  close(fd);
  CHECK(core.Replies().empty());
  t.Stop();  // idempotent
  bool ran = false;
  t.Post([&](std::uint64_t) { ran = true; });  // dropped after Stop
  CHECK_FALSE(ran);
}

TEST_CASE("Start reports a port in use and a bad address by name") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport a(Ephemeral(), core, log);
  REQUIRE(a.Start().ok());
  GossipTransportOptions same = Ephemeral();
  same.port = a.port();
  GossipTransport b(same, core, log);
  const Status st = b.Start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("127.0.0.1:" + std::to_string(a.port())) != std::string::npos);
  CHECK(st.message().find("in use") != std::string::npos);
  a.Stop();
  CHECK(b.Start().ok());  // a failed Start can be tried again
  CHECK(b.port() == same.port);

  GossipTransportOptions bad = Ephemeral();
  bad.bind_addr = "not-an-ip";
  GossipTransport c(bad, core, log);
  const Status st2 = c.Start();
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.message().find("not-an-ip") != std::string::npos);
}

TEST_CASE("functions posted before Start run once it starts, on the transport thread") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(), core, log);
  std::atomic<bool> ran{false};
  std::thread::id where;
  t.Post([&](std::uint64_t now) {
    where = std::this_thread::get_id();
    ran = now > 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(ran.load());
  REQUIRE(t.Start().ok());
  CHECK(WaitFor([&] { return ran.load(); }));
  CHECK(where != std::this_thread::get_id());
  CHECK_FALSE(t.Start().ok());  // once
}

}  // namespace beacon::net

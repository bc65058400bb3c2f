// Helpers for the GossipTransport tests: cores (a Membership made once the port is known, a fake
// that records stream traffic), blocking loopback socket clients with timeouts, and polling.
#pragma once

#include <doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
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

namespace beacon::net::nettest {

using gossip::Bytes;
using Clock = std::chrono::steady_clock;

inline const Bytes kLoopback = {127, 0, 0, 1};

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
    // Faster than memberlist's LAN defaults, yet slack enough for sixteen nodes under a
    // sanitizer on two busy cores (tighter probe timeouts make loaded nodes suspect each other).
    cfg.probe_interval_ms = 500;
    cfg.probe_timeout_ms = 300;
    cfg.gossip_interval_ms = 100;
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

inline sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A blocking TCP client with a 5 s receive timeout; -1 on failure.
inline int Connect(int port) {
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

inline void SendAll(int fd, const Bytes& b) {
  REQUIRE(send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()));
}

// Reads until the peer closes (or 5 s pass); returns what arrived, nullopt on timeout.
inline std::optional<Bytes> ReadToClose(int fd) {
  Bytes got;
  std::uint8_t buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return got;
    if (n < 0) return errno == ECONNRESET ? std::optional<Bytes>(got) : std::nullopt;
    got.insert(got.end(), buf, buf + n);
  }
}

inline void SendUdp(int port, const Bytes& b) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port);
  sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

// A port with nothing listening on it.
inline int ClosedPort() {
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

inline GossipTransportOptions Ephemeral(std::uint64_t tcp_timeout_ms = 2000) {
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

inline Bytes PingFrame() {
  gossip::Ping p;
  p.seq_no = 7;
  p.node = "n";
  return gossip::Encode(p);
}

}  // namespace beacon::net::nettest

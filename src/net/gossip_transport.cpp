// GossipTransport: lifecycle (bind, thread, stop), the UDP path, the timer and Post().
#include "beacon/net/gossip_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "beacon/core/thread_name.h"
#include "gossip_transport_impl.h"
#include "socket.h"

namespace beacon::net {
namespace {

constexpr std::size_t kUdpBuffer = 65536;     // the largest datagram
constexpr int kUdpRecvBuf = 2 << 20;          // memberlist's udpRecvBufSize
constexpr std::uint64_t kMaxTimerMs = 60000;  // a core with nothing due is ticked anyway
constexpr int kEphemeralTries = 20;           // TCP's free port may be taken for UDP
constexpr std::uint8_t kLastMsgType = 13;     // memberlist's errMsg
constexpr std::uint8_t kLabelType = gossip::kHasLabel;

void UdpAlloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* t = static_cast<GossipTransport::Impl*>(h->data);
  *buf = uv_buf_init(t->udp_buffer(), static_cast<unsigned>(t->udp_buffer_size()));
}

void UdpCb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
  static_cast<GossipTransport::Impl*>(h->data)->OnUdp(n, buf, addr, flags);
}

void TimerCb(uv_timer_t* t) {
  static_cast<GossipTransport::Impl*>(t->data)->OnTimer();
}

void PostCb(uv_async_t* a) {
  static_cast<GossipTransport::Impl*>(a->data)->OnPostAsync();
}

void OnTransportStop(uv_async_t* a) {
  static_cast<GossipTransport::Impl*>(a->data)->OnStopAsync();
}

void ListenCb(uv_stream_t* server, int status) {
  static_cast<GossipTransport::Impl*>(server->data)->OnConnection(server, status);
}

bool ParseAddr(const std::string& addr, int port, sockaddr_storage* ss, socklen_t* len) {
  return detail::ParseSockaddr(addr, port, ss, len);
}

// A bound, non-blocking socket, or -errno. *bound gets its port.
int BoundSocket(const std::string& addr, int port, int type, int* bound) {
  detail::SocketOptions o;
  o.reuse_addr = type == SOCK_STREAM;
  o.rcvbuf = kUdpRecvBuf;
  return detail::BoundSocket(addr, port, type, o, bound);
}

}  // namespace

gossip::Endpoint EndpointOf(const sockaddr* sa) {
  gossip::Endpoint e;
  if (sa == nullptr) return e;
  if (sa->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4->sin_addr);
    e.ip.assign(b, b + 4);
    e.port = ntohs(v4->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v6->sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      e.ip.assign(b + 12, b + 16);
    } else {
      e.ip.assign(b, b + 16);
    }
    e.port = ntohs(v6->sin6_port);
  }
  return e;
}

bool SockaddrOf(const gossip::Endpoint& e, int family, sockaddr_storage* out) {
  *out = {};
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const std::uint8_t* v4 = nullptr;
  if (e.ip.size() == 4) v4 = e.ip.data();
  if (e.ip.size() == 16 && std::memcmp(e.ip.data(), kMapped, 12) == 0) v4 = e.ip.data() + 12;
  if (v4 == nullptr && e.ip.size() != 16) return false;
  if (family == 0) family = v4 != nullptr ? AF_INET : AF_INET6;
  if (family == AF_INET) {
    if (v4 == nullptr) return false;
    auto* s = reinterpret_cast<sockaddr_in*>(out);
    s->sin_family = AF_INET;
    s->sin_port = htons(e.port);
    std::memcpy(&s->sin_addr, v4, 4);
    return true;
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(out);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(e.port);
  auto* b = reinterpret_cast<std::uint8_t*>(&s->sin6_addr);
  if (v4 != nullptr) {
    std::memcpy(b, kMapped, 12);
    std::memcpy(b + 12, v4, 4);
  } else {
    std::memcpy(b, e.ip.data(), 16);
  }
  return true;
}

GossipTransport::Impl::Impl(GossipTransportOptions opts, GossipCore& core, const Logger& log)
    : opts_(std::move(opts)), core_(core), log_(log), udp_buf_(kUdpBuffer) {}

GossipTransport::Impl::~Impl() {
  Stop();
}

std::uint64_t GossipTransport::Impl::NowMs() {
  return uv_hrtime() / 1000000;
}

Status GossipTransport::Impl::Start() {
  {
    MutexLock l(&mu_);
    if (started_) return Status::Error("gossip transport: already started");
    started_ = true;
  }
  Status st = Open();
  if (!st.ok()) {
    MutexLock l(&mu_);
    started_ = false;  // nothing is left open: Start() may be tried again
  }
  return st;
}

Status GossipTransport::Impl::Open() {
  sockaddr_storage probe;
  socklen_t plen = 0;
  if (!ParseAddr(opts_.bind_addr, 0, &probe, &plen)) {
    return Status::Error("gossip listener on " + opts_.bind_addr +
                         ": not an IPv4 or IPv6 address literal");
  }
  family_ = probe.ss_family;
  const std::string where = opts_.bind_addr + ":" + std::to_string(opts_.port);
  if (opts_.port < 0 || opts_.port > 65535) {
    return Status::Error("gossip listener on " + where + ": port out of range");
  }
  // TCP first (port 0 picks the number), then UDP on the same number.
  int tcp_fd = -1, udp_fd = -1;
  const char* failed = "tcp";
  int err = 0;
  for (int attempt = 0; attempt < (opts_.port == 0 ? kEphemeralTries : 1); ++attempt) {
    int bound = 0;
    tcp_fd = BoundSocket(opts_.bind_addr, opts_.port, SOCK_STREAM, &bound);
    if (tcp_fd < 0) {
      failed = "tcp";
      err = -tcp_fd;
      break;
    }
    int ignored = 0;
    udp_fd = BoundSocket(opts_.bind_addr, bound, SOCK_DGRAM, &ignored);
    if (udp_fd >= 0) {
      port_ = bound;
      break;
    }
    failed = "udp";
    err = -udp_fd;
    close(tcp_fd);
    tcp_fd = -1;
    if (err != EADDRINUSE) break;
  }
  if (tcp_fd < 0 || udp_fd < 0) {
    return Status::Error("gossip " + std::string(failed) + " listener on " + where + ": " +
                         std::strerror(err));
  }

  uv_loop_init(&loop_);
  loop_init_ = true;
  uv_timer_init(&loop_, &timer_);
  uv_async_init(&loop_, &post_async_, PostCb);
  uv_async_init(&loop_, &stop_async_, OnTransportStop);
  uv_udp_init(&loop_, &udp_);
  uv_tcp_init(&loop_, &listener_);
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&timer_), reinterpret_cast<uv_handle_t*>(&post_async_),
        reinterpret_cast<uv_handle_t*>(&stop_async_), reinterpret_cast<uv_handle_t*>(&udp_),
        reinterpret_cast<uv_handle_t*>(&listener_)}) {
    h->data = this;
  }
  int rc = uv_udp_open(&udp_, udp_fd);
  if (rc != 0) close(udp_fd);
  int rc2 = uv_tcp_open(&listener_, tcp_fd);
  if (rc2 != 0) close(tcp_fd);
  if (rc == 0) rc = rc2;
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, ListenCb);
  if (rc == 0) rc = uv_udp_recv_start(&udp_, UdpAlloc, UdpCb);
  if (rc != 0) {
    CloseLoop();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the close callbacks
    uv_loop_close(&loop_);
    loop_init_ = false;
    return Status::Error("gossip listener on " + where + ": " + uv_strerror(rc));
  }
  {
    MutexLock l(&mu_);
    running_ = true;
  }
  thread_ = std::thread([this] {
    core::SetThreadName("beacon-gossip");
    Run();
  });
  BEACON_LOG(log_, kInfo, "gossip", "listening on %s:%d (udp, tcp)", opts_.bind_addr.c_str(),
             port_);
  return Status::Ok();
}

void GossipTransport::Impl::Run() {
  OnPostAsync();  // what was posted before Start, the first flush and the first timer
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks left, if any
}

void GossipTransport::Impl::Stop() {
  if (thread_.joinable() && std::this_thread::get_id() == thread_.get_id()) {
    BEACON_LOG(log_, kError, "gossip", "Stop() called from the transport's own thread; ignored");
    return;
  }
  std::vector<std::function<void(std::uint64_t)>> dropped;
  bool signal = false;
  {
    MutexLock l(&mu_);
    accepting_posts_ = false;
    dropped.swap(posts_);
    signal = running_;
    running_ = false;
  }
  if (signal) uv_async_send(&stop_async_);
  if (thread_.joinable()) thread_.join();
  if (loop_init_) {
    if (uv_loop_close(&loop_) != 0) {
      BEACON_LOG(log_, kError, "gossip", "loop still had open handles at stop");
    }
    loop_init_ = false;
    const GossipStats s = Stats();
    BEACON_LOG(log_, kInfo, "gossip",
               "stopped (packets in %llu out %llu, streams in %llu out %llu, stream errors %llu, "
               "dropped %llu)",
               static_cast<unsigned long long>(s.packets_in),
               static_cast<unsigned long long>(s.packets_out),
               static_cast<unsigned long long>(s.streams_in),
               static_cast<unsigned long long>(s.streams_out),
               static_cast<unsigned long long>(s.stream_errors),
               static_cast<unsigned long long>(s.dropped));
  }
}

void GossipTransport::Impl::OnStopAsync() {
  stopping_ = true;
  CloseLoop();
}

void GossipTransport::Impl::CloseLoop() {
  std::vector<GossipConn*> open;
  open.reserve(conns_.size());
  for (auto& [id, c] : conns_) open.push_back(c);
  for (GossipConn* c : open) CloseConn(c);
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
}

void GossipTransport::Impl::Post(std::function<void(std::uint64_t)> fn) {
  MutexLock l(&mu_);
  if (!accepting_posts_) return;
  posts_.push_back(std::move(fn));
  if (running_) uv_async_send(&post_async_);
}

void GossipTransport::Impl::OnPostAsync() {
  if (stopping_) return;
  std::vector<std::function<void(std::uint64_t)>> batch;
  {
    MutexLock l(&mu_);
    batch.swap(posts_);
  }
  for (auto& fn : batch) fn(NowMs());
  Pump();
}

void GossipTransport::Impl::OnTimer() {
  if (stopping_) return;
  core_.Tick(NowMs());
  Pump();
}

void GossipTransport::Impl::OnUdp(ssize_t n, const uv_buf_t* buf, const sockaddr* addr,
                                  unsigned flags) {
  if (stopping_ || addr == nullptr) return;  // nothing more to read
  if (n < 0) {
    BEACON_LOG(log_, kDebug, "gossip", "udp receive error: %s", uv_strerror(static_cast<int>(n)));
    return;
  }
  const gossip::Endpoint from = EndpointOf(addr);
  const auto* b = reinterpret_cast<const std::uint8_t*>(buf->base);
  // Every memberlist packet starts with a message type, an encryption version (0 or 1) or a
  // label header: anything else is not for us.
  if (n == 0 || (flags & UV_UDP_PARTIAL) != 0 || (b[0] > kLastMsgType && b[0] != kLabelType)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kDebug, "gossip", "dropped a %zd-byte datagram from %s", n,
               gossip::to_string(from).c_str());
    return;
  }
  packets_in_.fetch_add(1, std::memory_order_relaxed);
  bytes_in_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  core_.OnPacket(NowMs(), from, gossip::ByteView(b, static_cast<std::size_t>(n)));
  Pump();
}

void GossipTransport::Impl::Pump() {
  Flush();
  ArmTimer();
  core_.AfterInput(NowMs());
  Flush();  // whatever AfterInput queued
  ArmTimer();
}

void GossipTransport::Impl::Flush() {
  for (const gossip::OutPacket& p : core_.TakePackets()) SendPacket(p);
  for (gossip::OutStream& s : core_.TakeStreams()) StartStream(std::move(s));
}

void GossipTransport::Impl::SendPacket(const gossip::OutPacket& p) {
  sockaddr_storage ss;
  int rc = UV_EINVAL;
  if (SockaddrOf(p.to, family_, &ss)) {
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<std::uint8_t*>(p.bytes.data())),
                             static_cast<unsigned>(p.bytes.size()));
    rc = uv_udp_try_send(&udp_, &b, 1, reinterpret_cast<const sockaddr*>(&ss));
  }
  if (rc < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kDebug, "gossip", "udp send of %zu bytes to %s failed: %s", p.bytes.size(),
               gossip::to_string(p.to).c_str(), uv_strerror(rc));
    return;
  }
  packets_out_.fetch_add(1, std::memory_order_relaxed);
  bytes_out_.fetch_add(p.bytes.size(), std::memory_order_relaxed);
}

void GossipTransport::Impl::ArmTimer() {
  uv_update_time(&loop_);
  const std::uint64_t now = NowMs();
  const std::uint64_t due = core_.NextDeadline();
  // At least 1 ms: a core whose deadline stays in the past must not spin the loop.
  const std::uint64_t delay = due > now ? std::min(due - now, kMaxTimerMs) : 1;
  uv_timer_start(&timer_, TimerCb, delay, 0);
}

GossipStats GossipTransport::Impl::Stats() const {
  GossipStats s;
  s.packets_in = packets_in_.load(std::memory_order_relaxed);
  s.packets_out = packets_out_.load(std::memory_order_relaxed);
  s.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  s.bytes_out = bytes_out_.load(std::memory_order_relaxed);
  s.streams_in = streams_in_.load(std::memory_order_relaxed);
  s.streams_out = streams_out_.load(std::memory_order_relaxed);
  s.stream_errors = stream_errors_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

GossipTransport::GossipTransport(GossipTransportOptions opts, GossipCore& core, const Logger& log)
    : impl_(std::make_unique<Impl>(std::move(opts), core, log)) {}
GossipTransport::~GossipTransport() = default;
Status GossipTransport::Start() {
  return impl_->Start();
}
void GossipTransport::Stop() {
  impl_->Stop();
}
int GossipTransport::port() const {
  return impl_->port();
}
void GossipTransport::Post(std::function<void(std::uint64_t)> fn) {
  impl_->Post(std::move(fn));
}
GossipStats GossipTransport::stats() const {
  return impl_->Stats();
}
std::uint64_t GossipTransport::NowMs() const {
  return Impl::NowMs();
}

}  // namespace beacon::net

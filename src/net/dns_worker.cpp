// DnsWorker: loop lifecycle and the UDP path (recvmmsg in, sendmmsg out, snapshot pinned per
// batch). libuv only reports that a UDP socket is readable; the worker then reads it itself, up to
// kRecv datagrams per recvmmsg(2), answers them and sends the replies with one sendmmsg(2) before
// reading again while the batches stay large: a busy socket costs one recvmmsg and one sendmmsg
// per batch, and epoll_wait only when it runs dry. Replies of equal length to one client leave as
// one UDP GSO message (Flush).
#include "dns_worker.h"

#include <netinet/udp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "beacon/dns/wire.h"
#include "tcp_conn.h"

namespace beacon::net {
namespace {

constexpr size_t kDgram = size_t{64} * 1024;
// Batches read from one readable socket before the loop runs its other handles again (with
// coalescing waits between them, at most 16 of those waits too: under a millisecond at 50 µs).
constexpr int kMaxRounds = 16;
// A batch at least this large suggests more datagrams are already queued: read again at once.
constexpr size_t kBusyBatch = 16;

void PollCb(uv_poll_t* h, int status, int events) {
  if (status == 0 && (events & UV_READABLE) != 0) {
    auto* u = reinterpret_cast<DnsWorker::UdpListener*>(h);  // poll is its first member
    static_cast<DnsWorker*>(h->data)->OnUdpReadable(u);
  }
}

void CheckCb(uv_check_t* h) {
  static_cast<DnsWorker*>(h->data)->OnCheck();
}

void OnDnsWorkerStop(uv_async_t* h) {
  uv_walk(
      h->loop,
      [](uv_handle_t* hh, void*) {
        if (!uv_is_closing(hh)) uv_close(hh, nullptr);
      },
      nullptr);
}

}  // namespace

DnsWorker::DnsWorker(int index, catalog::SnapshotHub& hub, const Logger& log, uint32_t tcp_idle_ms,
                     uint32_t max_tcp_conns, uint64_t udp_wait_ns)
    : index_(index),
      log_(log),
      tcp_idle_ms_(tcp_idle_ms),
      max_tcp_conns_(max_tcp_conns),
      udp_wait_ns_(udp_wait_ns),
      reader_(hub.RegisterReader()),
      rbuf_(kDgram),
      slots_(kRecv * kSlotStride),
      arena_(kArena),
      scratch_(0x9E3779B97F4A7C15ULL ^ (static_cast<uint64_t>(index + 1) * 0xD1B54A32D192ED03ULL) ^
               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this))) {
  for (size_t i = 0; i < kRecv; ++i) {
    riovs_[i].iov_base = slots_.data() + i * kSlotStride;
    riovs_[i].iov_len = kSlot;
    std::memset(&rmsgs_[i], 0, sizeof rmsgs_[i]);
    rmsgs_[i].msg_hdr.msg_name = &rfrom_[i];
    rmsgs_[i].msg_hdr.msg_namelen = sizeof rfrom_[i];
    rmsgs_[i].msg_hdr.msg_iov = &riovs_[i];
    rmsgs_[i].msg_hdr.msg_iovlen = 1;
  }
  queue_.reserve(kMaxQueue);
  msgs_.resize(kMaxQueue);
  iovs_.resize(kMaxQueue);
  cmsgs_.resize(kMaxQueue);
  msg_fd_.resize(kMaxQueue);
  tcp_out_.resize(dns::kMaxMessage + 2);
  uv_loop_init(&loop_);
  loop_.data = &rbuf_;
  uv_async_init(&loop_, &stop_, OnDnsWorkerStop);
  stop_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, CheckCb);
}

DnsWorker::~DnsWorker() {
  for (auto& [id, c] : conns_) delete c;
  uv_loop_close(&loop_);
  for (const auto& u : udp_) close(u->fd);  // uv_poll_t does not own its socket
}

int DnsWorker::AddUdp(int fd) {
  auto u = std::make_unique<UdpListener>();
  u->fd = fd;
  u->pacer = UdpPacer(udp_wait_ns_);
  int rc = uv_poll_init_socket(&loop_, &u->poll, fd);
  if (rc != 0) return rc;
  u->poll.data = this;
  rc = uv_poll_start(&u->poll, UV_READABLE, PollCb);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&u->poll), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // let the close finish before `u` goes
    return rc;
  }
  udp_.push_back(std::move(u));
  return 0;
}

void DnsWorker::Run() {
  if (udp_wait_ns_ != 0) {
    // The coalescing waits (OnUdpReadable) are short: let them end within a tenth of their
    // length instead of the default 50 µs of timer slack, which would double them.
    const unsigned long slack = udp_wait_ns_ / 10 > 1000 ? udp_wait_ns_ / 10 : 1000;
    prctl(PR_SET_TIMERSLACK, slack, 0, 0, 0);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Drain close callbacks.
  uv_run(&loop_, UV_RUN_DEFAULT);
  Unpin();
}

void DnsWorker::Stop() {
  uv_async_send(&stop_);
}

void DnsWorker::Pin() {
  if (snap_ == nullptr) snap_ = reader_->Acquire();
}

void DnsWorker::Unpin() {
  if (snap_ != nullptr) {
    reader_->Release();
    snap_ = nullptr;
  }
}

void DnsWorker::OnUdpReadable(UdpListener* u) {
  for (int round = 0; round < kMaxRounds; ++round) {
    const int got = recvmmsg(u->fd, rmsgs_, kRecv, MSG_DONTWAIT, nullptr);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;  // drained (EAGAIN), or an error the next readiness reports again
    const auto n = static_cast<size_t>(got);
    for (size_t i = 0; i < n; ++i) {
      msghdr& h = rmsgs_[i].msg_hdr;
      const size_t len = rmsgs_[i].msg_len;
      const bool whole = (h.msg_flags & MSG_TRUNC) == 0;
      h.msg_namelen = sizeof rfrom_[i];  // for the next read
      if (len == 0) continue;            // an empty datagram
      if (!whole) {                      // a query over kSlot bytes: no DNS client sends one
        ++counters_.dropped;
        continue;
      }
      if (nbatch_ == kBatch) AnswerBatch();
      batch_[nbatch_++] = Datagram{u->fd, static_cast<const uint8_t*>(riovs_[i].iov_base), len,
                                   reinterpret_cast<const sockaddr*>(&rfrom_[i])};
    }
    AnswerBatch();
    if (!queue_.empty()) Flush();
    const uint64_t wait = udp_wait_ns_ != 0 ? u->pacer.AfterBatch(NowNs(), n) : 0;
    if (n >= kBusyBatch) continue;  // more is probably queued already: read again at once
    // A short batch means the socket was drained a moment ago. Under load (udp_pacer.h), wait a
    // little so that the next batch is larger; otherwise epoll_wait (which returns at once if
    // more came in) is cheaper than a recvmmsg that finds nothing.
    if (wait == 0) return;
    ++counters_.udp_waits;
    Unpin();  // the next batch answers from the newest snapshot
    timespec ts{static_cast<time_t>(wait / 1000000000u), static_cast<long>(wait % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
}

void DnsWorker::AnswerBatch() {
  if (nbatch_ == 0) return;
  const uint64_t t0 = metrics_on_ ? NowNs() : 0;
  Pin();
  if (snap_ != nullptr && nbatch_ > 1) {
    dns::PrefetchKey keys[kBatch];
    for (size_t i = 0; i < nbatch_; ++i) keys[i] = dns::PrefetchKeyOf(batch_[i].pkt, batch_[i].len);
    for (int stage = 0; stage < dns::kPrefetchStages; ++stage) {
      for (size_t i = 0; i < nbatch_; ++i) dns::PrefetchStage(*snap_, keys[i], stage);
    }
  }
  for (size_t i = 0; i < nbatch_; ++i) AnswerOne(batch_[i]);
  if (metrics_on_) qm_.latency.Observe(NowNs() - t0, nbatch_);
  nbatch_ = 0;
}

void DnsWorker::AnswerOne(const Datagram& d) {
  if (snap_ == nullptr) return;
  if (arena_used_ + kDgram > kArena || queue_.size() == kMaxQueue) Flush();
  const uint8_t* pkt = d.pkt;
  const size_t n = d.len;
  const sockaddr* addr = d.addr;
  uint8_t* out = arena_.data() + arena_used_;
  dns::SetClient(scratch_, addr);
  const dns::AnswerResult r =
      dns::Answer(*snap_, pkt, n, dns::Transport::kUdp, out, kDgram, scratch_, counters_);
  if (r.action == dns::AnswerResult::kForward || r.action == dns::AnswerResult::kResolve) {
    const bool relay = r.action == dns::AnswerResult::kForward;
    Forward(relay ? Pending::kRelay : Pending::kResolve, pkt, n, addr, d.fd, 0,
            relay ? nullptr : out, relay ? 0 : r.len);
    return;
  }
  if (r.action != dns::AnswerResult::kReply || r.len == 0) return;
  CountReply(scratch_.q.qtype, r.rcode);
  Out o;
  o.fd = d.fd;
  o.addrlen = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&o.addr, addr, o.addrlen);
  o.off = arena_used_;
  o.len = r.len;
  arena_used_ += (r.len + 15) & ~size_t{15};
  queue_.push_back(o);
}

namespace {

bool SameDest(const sockaddr_storage& a, socklen_t alen, const sockaddr_storage& b,
              socklen_t blen) {
  return alen == blen && std::memcmp(&a, &b, alen) == 0;
}

}  // namespace

void DnsWorker::Flush() {
  // Replies for one destination with the same length leave as one UDP GSO message (UDP_SEGMENT):
  // the kernel routes and sends them once and splits them into datagrams of that length, which
  // the client receives exactly as if they had been sent one by one. Other replies go one per
  // message. Replies to the same client may leave in another order than their queries came in,
  // as UDP allows anyway.
  const size_t n = queue_.size();
  bool taken[kMaxQueue] = {};
  size_t nmsg = 0, niov = 0;
  for (size_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    const Out& o = queue_[i];
    mmsghdr& m = msgs_[nmsg];
    std::memset(&m, 0, sizeof m);
    m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&o.addr);
    m.msg_hdr.msg_namelen = o.addrlen;
    m.msg_hdr.msg_iov = &iovs_[niov];
    iovs_[niov++] = iovec{arena_.data() + o.off, o.len};
    size_t segs = 1;
    if (gso_ && o.len <= kGsoMaxSegment) {
      for (size_t j = i + 1; j < n && segs < kGsoMaxSegments; ++j) {
        const Out& p = queue_[j];
        if (taken[j] || p.len != o.len || p.fd != o.fd ||
            !SameDest(p.addr, p.addrlen, o.addr, o.addrlen)) {
          continue;
        }
        taken[j] = true;
        iovs_[niov++] = iovec{arena_.data() + p.off, p.len};
        ++segs;
      }
    }
    m.msg_hdr.msg_iovlen = segs;
    if (segs > 1) {
      Cmsg& c = cmsgs_[nmsg];
      std::memset(&c, 0, sizeof c);
      cmsghdr* h = &c.h;
      h->cmsg_level = SOL_UDP;
      h->cmsg_type = UDP_SEGMENT;
      h->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto seg = static_cast<uint16_t>(o.len);
      std::memcpy(CMSG_DATA(h), &seg, sizeof seg);
      m.msg_hdr.msg_control = &c;
      m.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
    }
    msg_fd_[nmsg++] = o.fd;
  }
  size_t i = 0;
  while (i < nmsg) {
    // One sendmmsg per run of messages leaving through the same socket.
    const int fd = msg_fd_[i];
    size_t j = i;
    while (j < nmsg && msg_fd_[j] == fd) ++j;
    size_t sent = i;
    while (sent < j) {
      int rc = sendmmsg(fd, &msgs_[sent], static_cast<unsigned>(j - sent), 0);
      if (rc < 0) {
        if (errno == EINTR) continue;
        const msghdr& h = msgs_[sent].msg_hdr;
        if (h.msg_controllen != 0 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
          // The socket or its route refused segmentation (no checksum offload, or an old
          // kernel): send this message's replies one by one and stop grouping.
          if (gso_) {
            BEACON_LOG(log_, kWarn, "dns", "UDP GSO refused (%s); replies sent one by one",
                       std::strerror(errno));
          }
          gso_ = false;
          SendEach(fd, h);
          ++sent;
          continue;
        }
        // EAGAIN with a full socket buffer, or a bad destination: drop this message's replies
        // and go on.
        send_errors_ += h.msg_iovlen;
        ++sent;
        continue;
      }
      sent += static_cast<size_t>(rc);
    }
    i = j;
  }
  queue_.clear();
  arena_used_ = 0;
}

void DnsWorker::SendEach(int fd, const msghdr& gso) {
  for (size_t k = 0; k < gso.msg_iovlen; ++k) {
    msghdr h = {};
    h.msg_name = gso.msg_name;
    h.msg_namelen = gso.msg_namelen;
    h.msg_iov = &gso.msg_iov[k];
    h.msg_iovlen = 1;
    ssize_t rc;
    do {
      rc = sendmsg(fd, &h, 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) ++send_errors_;
  }
}

void DnsWorker::OnCheck() {
  if (!queue_.empty()) Flush();
  Unpin();
  ++batches_;
  PublishCounters();
}

void DnsWorker::PublishCounters() {
  const uint64_t v[10] = {counters_.queries,   counters_.dropped,   counters_.formerr,
                          counters_.notimp,    counters_.nxdomain,  counters_.refused,
                          counters_.truncated, counters_.forwarded, send_errors_,
                          counters_.udp_waits};
  for (int i = 0; i < 10; ++i) pub_[i].store(v[i], std::memory_order_relaxed);
}

uint64_t DnsWorker::NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void DnsWorker::CountRelayed(const std::vector<uint8_t>& query, const uint8_t* reply, size_t len) {
  if (!metrics_on_ || len < 4) return;
  // The question's type: after the 12-byte header and the (uncompressed) query name.
  size_t i = 12;
  while (i < query.size() && query[i] != 0) i += 1 + query[i];
  const uint16_t qtype = i + 2 < query.size() ? dns::Get16(query.data() + i + 1) : 0;
  qm_.Record(qtype, reply[3] & 0x0F);
}

dns::Counters DnsWorker::Snapshot() const {
  dns::Counters c;
  c.queries = pub_[0].load(std::memory_order_relaxed);
  c.dropped = pub_[1].load(std::memory_order_relaxed) + pub_[8].load(std::memory_order_relaxed);
  c.formerr = pub_[2].load(std::memory_order_relaxed);
  c.notimp = pub_[3].load(std::memory_order_relaxed);
  c.nxdomain = pub_[4].load(std::memory_order_relaxed);
  c.refused = pub_[5].load(std::memory_order_relaxed);
  c.truncated = pub_[6].load(std::memory_order_relaxed);
  c.forwarded = pub_[7].load(std::memory_order_relaxed);
  c.udp_waits = pub_[9].load(std::memory_order_relaxed);
  return c;
}

}  // namespace beacon::net

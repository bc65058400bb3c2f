// DnsWorker: loop lifecycle and the UDP path (recvmmsg in, sendmmsg out, snapshot pinned per
// batch).
#include "dns_worker.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "beacon/dns/wire.h"
#include "tcp_conn.h"

namespace beacon::net {
namespace {

constexpr size_t kDgram = size_t{64} * 1024;
constexpr size_t kMmsgCount = 20;

// Every read of the worker's loop lands in its one receive buffer (loop->data): libuv hands each
// datagram to OnUdp before it reads again.
void AllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* storage = static_cast<std::vector<char>*>(h->loop->data);
  *buf = uv_buf_init(storage->data(), static_cast<unsigned>(storage->size()));
}

void UdpCb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
  static_cast<DnsWorker*>(h->data)->OnUdp(h, n, buf, addr, flags);
}

void CheckCb(uv_check_t* h) {
  static_cast<DnsWorker*>(h->data)->OnCheck();
}

void StopCb(uv_async_t* h) {
  uv_walk(
      h->loop,
      [](uv_handle_t* hh, void*) {
        if (!uv_is_closing(hh)) uv_close(hh, nullptr);
      },
      nullptr);
}

}  // namespace

DnsWorker::DnsWorker(int index, catalog::SnapshotHub& hub, const Logger& log, uint32_t tcp_idle_ms,
                     uint32_t max_tcp_conns)
    : index_(index),
      log_(log),
      tcp_idle_ms_(tcp_idle_ms),
      max_tcp_conns_(max_tcp_conns),
      reader_(hub.RegisterReader()),
      rbuf_(kDgram * kMmsgCount),
      arena_(kArena),
      scratch_(0x9E3779B97F4A7C15ULL ^ (static_cast<uint64_t>(index + 1) * 0xD1B54A32D192ED03ULL) ^
               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this))) {
  queue_.reserve(kMaxQueue);
  msgs_.resize(kMaxQueue);
  iovs_.resize(kMaxQueue);
  tcp_out_.resize(dns::kMaxMessage + 2);
  uv_loop_init(&loop_);
  loop_.data = &rbuf_;
  uv_async_init(&loop_, &stop_, StopCb);
  stop_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, CheckCb);
}

DnsWorker::~DnsWorker() {
  for (auto& [id, c] : conns_) delete c;
  uv_loop_close(&loop_);
}

int DnsWorker::AddUdp(int fd) {
  auto h = std::make_unique<uv_udp_t>();
  int rc = uv_udp_init_ex(&loop_, h.get(), AF_UNSPEC | UV_UDP_RECVMMSG);
  if (rc == 0) rc = uv_udp_open(h.get(), fd);
  if (rc != 0) return rc;
  h->data = this;
  rc = uv_udp_recv_start(h.get(), AllocCb, UdpCb);
  if (rc == 0) udp_.push_back(std::move(h));
  return rc;
}

void DnsWorker::Run() {
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

void DnsWorker::OnUdp(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags) {
  // With UV_UDP_RECVMMSG, libuv hands over each datagram of a recvmmsg(2) batch as a CHUNK
  // (valid until the closing FREE call), so the batch is answered as a whole: its catalog
  // lookups are prefetched in stages first.
  if ((flags & UV_UDP_MMSG_FREE) != 0) {
    AnswerBatch();
    return;
  }
  if (n <= 0 || addr == nullptr) return;  // EAGAIN or an empty datagram
  if (nbatch_ == kBatch) AnswerBatch();
  batch_[nbatch_++] =
      Datagram{h, reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n), addr};
  if ((flags & UV_UDP_MMSG_CHUNK) == 0) AnswerBatch();
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
  uv_udp_t* h = d.handle;
  uint8_t* out = arena_.data() + arena_used_;
  const dns::AnswerResult r =
      dns::Answer(*snap_, pkt, n, dns::Transport::kUdp, out, kDgram, scratch_, counters_);
  if (r.action == dns::AnswerResult::kForward || r.action == dns::AnswerResult::kResolve) {
    const bool relay = r.action == dns::AnswerResult::kForward;
    Forward(relay ? Pending::kRelay : Pending::kResolve, pkt, n, addr, h, 0, relay ? nullptr : out,
            relay ? 0 : r.len);
    return;
  }
  if (r.action != dns::AnswerResult::kReply || r.len == 0) return;
  CountReply(scratch_.q.qtype, r.rcode);
  Out o;
  o.fd = h->io_watcher.fd;
  o.addrlen = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&o.addr, addr, o.addrlen);
  o.off = arena_used_;
  o.len = r.len;
  arena_used_ += (r.len + 15) & ~size_t{15};
  queue_.push_back(o);
}

void DnsWorker::Flush() {
  size_t i = 0;
  while (i < queue_.size()) {
    // One sendmmsg per run of replies leaving through the same socket.
    size_t j = i;
    const int fd = queue_[i].fd;
    while (j < queue_.size() && queue_[j].fd == fd) {
      Out& o = queue_[j];
      iovs_[j].iov_base = arena_.data() + o.off;
      iovs_[j].iov_len = o.len;
      std::memset(&msgs_[j], 0, sizeof(mmsghdr));
      msgs_[j].msg_hdr.msg_name = &o.addr;
      msgs_[j].msg_hdr.msg_namelen = o.addrlen;
      msgs_[j].msg_hdr.msg_iov = &iovs_[j];
      msgs_[j].msg_hdr.msg_iovlen = 1;
      ++j;
    }
    size_t sent = i;
    while (sent < j) {
      int rc = sendmmsg(fd, &msgs_[sent], static_cast<unsigned>(j - sent), 0);
      if (rc < 0) {
        if (errno == EINTR) continue;
        // EAGAIN with a full socket buffer, or a bad destination: drop one reply and go on.
        ++send_errors_;
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

void DnsWorker::OnCheck() {
  if (!queue_.empty()) Flush();
  Unpin();
  ++batches_;
  PublishCounters();
}

void DnsWorker::PublishCounters() {
  const uint64_t v[9] = {counters_.queries,   counters_.dropped,   counters_.formerr,
                         counters_.notimp,    counters_.nxdomain,  counters_.refused,
                         counters_.truncated, counters_.forwarded, send_errors_};
  for (int i = 0; i < 9; ++i) pub_[i].store(v[i], std::memory_order_relaxed);
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
  return c;
}

}  // namespace beacon::net

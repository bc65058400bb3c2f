// DnsWorker TCP path: accept, length-prefixed pipelined queries, idle timeout, ordered writes.
#include <cstring>

#include "beacon/dns/wire.h"
#include "dns_worker.h"
#include "tcp_conn.h"

namespace beacon::net {
namespace {

constexpr size_t kMaxTcpBuffered =
    size_t{4} * 65537;  // a client pipelining more than this is cut off

void ConnCb(uv_stream_t* server, int status) {
  if (status == 0) static_cast<DnsWorker*>(server->data)->OnConnection(server);
}

void ReadAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  auto* c = static_cast<TcpConn*>(h->data);
  const size_t old = c->in.size();
  const size_t want = suggested < 4096 ? 4096 : suggested;
  c->in.resize(old + want);
  *buf = uv_buf_init(reinterpret_cast<char*>(c->in.data() + old), static_cast<unsigned>(want));
}

void ReadCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<TcpConn*>(s->data);
  c->worker->OnTcpData(c, n, buf);
}

void IdleCb(uv_timer_t* t) {
  auto* c = static_cast<TcpConn*>(t->data);
  c->worker->CloseConn(c);
}

void Closed(uv_handle_t* h) {
  auto* c = static_cast<TcpConn*>(h->data);
  if (--c->close_left == 0) delete c;
}

void WriteCb(uv_write_t* req, int status) {
  auto* c = static_cast<TcpConn*>(req->data);
  c->write_in_flight = false;
  c->writing.clear();
  if (status != 0 || c->closing) {
    if (!c->closing) c->worker->CloseConn(c);
    return;
  }
  if (!c->pending.empty()) TcpStartWrite(c);
}

}  // namespace

void TcpStartWrite(TcpConn* c) {
  c->writing.swap(c->pending);
  c->pending.clear();
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(c->writing.data()),
                           static_cast<unsigned>(c->writing.size()));
  c->req.data = c;
  c->write_in_flight = true;
  if (uv_write(&c->req, reinterpret_cast<uv_stream_t*>(&c->handle), &b, 1, WriteCb) != 0) {
    c->write_in_flight = false;
    c->worker->CloseConn(c);
  }
}

int DnsWorker::AddTcp(int fd) {
  auto h = std::make_unique<uv_tcp_t>();
  int rc = uv_tcp_init(&loop_, h.get());
  if (rc == 0) rc = uv_tcp_open(h.get(), fd);
  if (rc != 0) return rc;
  h->data = this;
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(h.get()), 1024, ConnCb);
  if (rc == 0) tcp_.push_back(std::move(h));
  return rc;
}

void DnsWorker::OnConnection(uv_stream_t* server) {
  auto* c = new TcpConn();
  c->worker = this;
  c->id = next_conn_id_++;
  uv_tcp_init(&loop_, &c->handle);
  uv_timer_init(&loop_, &c->idle);
  c->handle.data = c;
  c->idle.data = c;
  c->close_left = 2;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->handle)) != 0 ||
      conns_.size() >= max_tcp_conns_) {
    ++tcp_rejected_;
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->handle), Closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->idle), Closed);
    return;
  }
  conns_[c->id] = c;
  int peer_len = sizeof c->peer;
  if (uv_tcp_getpeername(&c->handle, reinterpret_cast<sockaddr*>(&c->peer), &peer_len) != 0) {
    c->peer.ss_family = 0;
  }
  uv_tcp_nodelay(&c->handle, 1);
  uv_timer_start(&c->idle, IdleCb, tcp_idle_ms_, 0);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->handle), ReadAlloc, ReadCb);
}

void DnsWorker::CloseConn(TcpConn* c) {
  if (c->closing) return;
  c->closing = true;
  conns_.erase(c->id);
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->handle));
  uv_close(reinterpret_cast<uv_handle_t*>(&c->handle), Closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->idle), Closed);
}

void DnsWorker::OnTcpData(TcpConn* c, ssize_t n, const uv_buf_t* buf) {
  // ReadAlloc grew `in` by the whole buffer; keep only what arrived.
  const size_t used = n > 0 ? static_cast<size_t>(n) : 0;
  const size_t start = static_cast<size_t>(reinterpret_cast<uint8_t*>(buf->base) - c->in.data());
  c->in.resize(start + used);
  if (n < 0) {
    CloseConn(c);
    return;
  }
  if (n == 0) return;
  uv_timer_start(&c->idle, IdleCb, tcp_idle_ms_, 0);
  Pin();
  size_t off = 0;
  while (c->in.size() - off >= 2) {
    const size_t mlen = static_cast<size_t>(c->in[off] << 8 | c->in[off + 1]);
    if (c->in.size() - off - 2 < mlen) break;
    const uint8_t* pkt = c->in.data() + off + 2;
    off += 2 + mlen;
    if (snap_ == nullptr) continue;
    const uint64_t t0 = metrics_on_ ? NowNs() : 0;
    dns::SetClient(scratch_, reinterpret_cast<const sockaddr*>(&c->peer));
    const dns::AnswerResult r =
        dns::Answer(*snap_, pkt, mlen, dns::Transport::kTcp, tcp_out_.data() + 2, dns::kMaxMessage,
                    scratch_, counters_);
    if (metrics_on_) qm_.latency.Observe(NowNs() - t0);
    if (r.action == dns::AnswerResult::kForward || r.action == dns::AnswerResult::kResolve) {
      const bool relay = r.action == dns::AnswerResult::kForward;
      Forward(relay ? Pending::kRelay : Pending::kResolve, pkt, mlen, nullptr, -1, c->id,
              relay ? nullptr : tcp_out_.data() + 2, relay ? 0 : r.len);
      continue;
    }
    if (r.action != dns::AnswerResult::kReply || r.len == 0) continue;
    CountReply(scratch_.q.qtype, r.rcode);
    tcp_out_[0] = static_cast<uint8_t>(r.len >> 8);
    tcp_out_[1] = static_cast<uint8_t>(r.len);
    c->pending.insert(c->pending.end(), tcp_out_.begin(), tcp_out_.begin() + 2 + r.len);
  }
  c->in.erase(c->in.begin(), c->in.begin() + static_cast<long>(off));
  if (c->in.size() > kMaxTcpBuffered || c->pending.size() > 16 * kMaxTcpBuffered) {
    CloseConn(c);
    return;
  }
  if (!c->pending.empty() && !c->write_in_flight) TcpStartWrite(c);
}

}  // namespace beacon::net

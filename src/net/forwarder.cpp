// DnsWorker forwarder (spec 1.11): queries outside the domain go to `recursors`, one at a time in
// order (or from a random start), each with recursor_timeout, over the client's own transport;
// SERVFAIL with RA=1 when all fail. The upstream reply is relayed as it is (TC included) with the
// client's ID restored. The same machinery resolves hostnames found in our own answers
// (kResolve): the recursor's reply is handed back to dns::Answer to complete the answer.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "beacon/dns/wire.h"
#include "dns_worker.h"
#include "tcp_conn.h"

namespace beacon::net {

// One TCP exchange with a recursor: connect, write the length-prefixed query, read one reply.
struct DnsWorker::UpstreamTcp {
  uv_tcp_t handle;
  uv_connect_t connect;
  uv_write_t write;
  DnsWorker* worker = nullptr;
  uint16_t up_id = 0;
  bool detached = false;  // the Pending moved on; drop whatever arrives
  std::vector<uint8_t> out;
  std::vector<uint8_t> in;
};

namespace {

using UpTcp = DnsWorker::UpstreamTcp;

bool ParseRecursor(const std::string& text, sockaddr_storage* out) {
  std::string host = text;
  int port = 53;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return false;
    if (close + 2 < host.size() && host[close + 1] == ':') {
      port = std::atoi(host.c_str() + close + 2);
    }
    host = host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    const size_t colon = host.find(':');
    port = std::atoi(host.c_str() + colon + 1);
    host = host.substr(0, colon);
  }
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  return false;
}

// Upstream replies land in the worker's receive buffer: it is only ever read synchronously
// inside one callback, and this callback never runs inside the UDP listener's.
void UpAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* storage = static_cast<std::vector<char>*>(h->loop->data);
  *buf = uv_buf_init(storage->data(), 65536);
}

void UpRecv(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
  if (n > 0 && addr != nullptr) static_cast<DnsWorker*>(h->data)->OnUpstream(n, buf, addr);
}

void CloseUpTcp(UpTcp* t) {
  t->detached = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle),
           [](uv_handle_t* h) { delete static_cast<UpTcp*>(h->data); });
}

void TcpAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* t = static_cast<UpTcp*>(h->data);
  const size_t old = t->in.size();
  t->in.resize(old + 4096);
  *buf = uv_buf_init(reinterpret_cast<char*>(t->in.data() + old), 4096);
}

void TcpRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* t = static_cast<UpTcp*>(s->data);
  const size_t start = static_cast<size_t>(reinterpret_cast<uint8_t*>(buf->base) - t->in.data());
  t->in.resize(start + (n > 0 ? static_cast<size_t>(n) : 0));
  if (t->detached) return;
  if (n < 0) {
    t->worker->OnUpstreamFailure(t->up_id);
    return;
  }
  if (t->in.size() < 2) return;
  const size_t len = static_cast<size_t>(t->in[0] << 8 | t->in[1]);
  if (t->in.size() < 2 + len) return;
  t->worker->OnUpstreamReply(t->up_id, t->in.data() + 2, len);
}

void TcpConnected(uv_connect_t* req, int status) {
  auto* t = static_cast<UpTcp*>(req->data);
  if (t->detached) return;
  if (status != 0) {
    t->worker->OnUpstreamFailure(t->up_id);
    return;
  }
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(t->out.data()), static_cast<unsigned>(t->out.size()));
  t->write.data = t;
  uv_write(&t->write, reinterpret_cast<uv_stream_t*>(&t->handle), &b, 1, [](uv_write_t* w, int st) {
    auto* tt = static_cast<UpTcp*>(w->data);
    if (st != 0 && !tt->detached) tt->worker->OnUpstreamFailure(tt->up_id);
  });
  uv_read_start(reinterpret_cast<uv_stream_t*>(&t->handle), TcpAlloc, TcpRead);
}

}  // namespace

void DnsWorker::Forward(Pending::Mode mode, const uint8_t* q, size_t len, const sockaddr* client,
                        int via_fd, uint64_t tcp_conn, const uint8_t* fallback,
                        size_t fallback_len) {
  if (snap_ == nullptr || len < dns::kHeaderSize) return;
  if (!up_open_) {
    up_ = std::make_unique<uv_udp_t>();
    uv_udp_init(&loop_, up_.get());
    up_->data = this;
    sockaddr_in any{};
    any.sin_family = AF_INET;
    uv_udp_bind(up_.get(), reinterpret_cast<const sockaddr*>(&any), 0);
    uv_udp_recv_start(up_.get(), UpAlloc, UpRecv);
    up_open_ = true;
    fwd_out_.resize(dns::kMaxMessage);
  }
  if (pending_.size() >= 4096) return;  // overload: drop, the client retries
  auto p = std::make_unique<Pending>();
  p->worker = this;
  p->mode = mode;
  p->tcp = mode == Pending::kRelay && tcp_conn != 0;
  p->client_id = dns::Get16(q);
  p->client_query.assign(q, q + len);
  p->tcp_conn = tcp_conn;
  if (client != nullptr) {
    std::memcpy(&p->client, client,
                client->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    p->client_fd = via_fd;
  }
  if (fallback != nullptr) p->fallback.assign(fallback, fallback + fallback_len);
  for (const auto& r : snap_->dns.recursors) {
    sockaddr_storage ss;
    if (ParseRecursor(r, &ss)) p->recursors.push_back(ss);
  }
  p->timeout_ms = snap_->dns.recursor_timeout_ms;
  if (p->recursors.empty()) {
    if (!p->fallback.empty()) ReplyTo(*p, p->fallback.data(), p->fallback.size());
    return;
  }
  p->next = snap_->dns.recursor_random ? scratch_.Rand() % p->recursors.size() : 0;
  do {
    p->up_id = static_cast<uint16_t>(scratch_.Rand());
  } while (pending_.count(p->up_id) != 0);
  if (mode == Pending::kRelay) {
    p->up_query = p->client_query;
  } else {
    p->up_query.resize(300);
    const size_t n = dns::HostQuery(std::string_view(scratch_.ext_host, scratch_.ext_host_len),
                                    p->up_id, p->up_query.data(), p->up_query.size());
    if (n == 0) {
      ReplyTo(*p, p->fallback.data(), p->fallback.size());
      return;
    }
    p->up_query.resize(n);
  }
  dns::Put16(p->up_query.data(), p->up_id);
  uv_timer_init(&loop_, &p->timer);
  p->timer.data = p.get();
  Pending& ref = *p;
  pending_[p->up_id] = std::move(p);
  SendToRecursor(ref);
}

void DnsWorker::SendToRecursor(Pending& p) {
  const sockaddr_storage& to = p.recursors[p.next % p.recursors.size()];
  p.next++;
  p.tried++;
  if (p.up_tcp != nullptr) {
    CloseUpTcp(p.up_tcp);
    p.up_tcp = nullptr;
  }
  if (p.tcp) {
    auto* t = new UpTcp();
    t->worker = this;
    t->up_id = p.up_id;
    t->out.resize(2 + p.up_query.size());
    dns::Put16(t->out.data(), static_cast<uint16_t>(p.up_query.size()));
    std::memcpy(t->out.data() + 2, p.up_query.data(), p.up_query.size());
    uv_tcp_init(&loop_, &t->handle);
    t->handle.data = t;
    t->connect.data = t;
    p.up_tcp = t;
    if (uv_tcp_connect(&t->connect, &t->handle, reinterpret_cast<const sockaddr*>(&to),
                       TcpConnected) != 0) {
      t->detached = true;  // the timer moves on to the next recursor
    }
  } else {
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(p.up_query.data()),
                             static_cast<unsigned>(p.up_query.size()));
    uv_udp_try_send(up_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&to));
  }
  uv_timer_start(
      &p.timer,
      [](uv_timer_t* t) {
        auto* pp = static_cast<Pending*>(t->data);
        pp->worker->OnForwardTimeout(pp->up_id);
      },
      p.timeout_ms, 0);
}

void DnsWorker::OnForwardTimeout(uint16_t up_id) {
  OnUpstreamFailure(up_id);
}

void DnsWorker::OnUpstreamFailure(uint16_t up_id) {
  auto it = pending_.find(up_id);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  if (p.tried < p.recursors.size()) {
    SendToRecursor(p);
    return;
  }
  FinishForward(p, nullptr, 0);
}

namespace {

// Whether `from` is one of the recursors a query went to (address and port).
bool FromRecursor(const std::vector<sockaddr_storage>& recursors, const sockaddr* from) {
  for (const sockaddr_storage& r : recursors) {
    if (r.ss_family != from->sa_family) continue;
    if (r.ss_family == AF_INET) {
      const auto& a = reinterpret_cast<const sockaddr_in&>(r);
      const auto& b = *reinterpret_cast<const sockaddr_in*>(from);
      if (a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr) return true;
    } else if (r.ss_family == AF_INET6) {
      const auto& a = reinterpret_cast<const sockaddr_in6&>(r);
      const auto& b = *reinterpret_cast<const sockaddr_in6*>(from);
      if (a.sin6_port == b.sin6_port &&
          std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

void DnsWorker::OnUpstream(ssize_t n, const uv_buf_t* buf, const sockaddr* addr) {
  if (n < static_cast<ssize_t>(dns::kHeaderSize)) return;
  const auto* r = reinterpret_cast<const uint8_t*>(buf->base);
  // Only an answer from a recursor the query went to counts (RFC 5452 4.1: a datagram from
  // anywhere else with a guessed ID is dropped, and the query waits for the real answer).
  auto it = pending_.find(dns::Get16(r));
  if (it == pending_.end() || !FromRecursor(it->second->recursors, addr)) return;
  Answered(*it->second, r, static_cast<size_t>(n));
}

void DnsWorker::OnUpstreamReply(uint16_t up_id, const uint8_t* r, size_t n) {
  auto it = pending_.find(up_id);
  if (it != pending_.end()) Answered(*it->second, r, n);
}

void DnsWorker::Answered(Pending& p, const uint8_t* r, size_t n) {
  // Not a response (QR clear: a reflected or echoed query): ignored; the query still waits for
  // a real answer or its timeout, and is never completed with the query's own bytes.
  if (n < dns::kHeaderSize || (r[2] & 0x80) == 0) return;
  const uint8_t rcode = r[3] & 0x0F;
  if (rcode != dns::kNoError && rcode != dns::kNxDomain) {
    OnUpstreamFailure(p.up_id);
    return;
  }
  FinishForward(p, r, n);
}

void DnsWorker::ReplyTo(const Pending& p, const uint8_t* data, size_t len) {
  CountRelayed(p.client_query, data, len);
  if (p.tcp_conn == 0) {
    const socklen_t alen =
        p.client.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    sendto(p.client_fd, data, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&p.client),
           alen);
    return;
  }
  auto it = conns_.find(p.tcp_conn);
  if (it == conns_.end()) return;
  TcpConn* c = it->second;
  c->pending.push_back(static_cast<uint8_t>(len >> 8));
  c->pending.push_back(static_cast<uint8_t>(len));
  c->pending.insert(c->pending.end(), data, data + len);
  if (!c->write_in_flight) TcpStartWrite(c);
}

void DnsWorker::FinishForward(Pending& p, const uint8_t* reply, size_t len) {
  uv_timer_stop(&p.timer);
  if (p.mode == Pending::kResolve) {
    size_t n = 0;
    if (reply != nullptr) {
      Pin();
      if (snap_ != nullptr) {
        const auto t = p.tcp_conn ? dns::Transport::kTcp : dns::Transport::kUdp;
        const sockaddr* who = reinterpret_cast<const sockaddr*>(&p.client);
        if (p.tcp_conn != 0) {
          auto conn = conns_.find(p.tcp_conn);
          who = conn != conns_.end() ? reinterpret_cast<const sockaddr*>(&conn->second->peer)
                                     : nullptr;
        }
        dns::SetClient(scratch_, who);
        const dns::AnswerResult r =
            dns::Answer(*snap_, p.client_query.data(), p.client_query.size(), t, fwd_out_.data(),
                        fwd_out_.size(), scratch_, counters_, reply, len);
        if (r.action == dns::AnswerResult::kReply || r.action == dns::AnswerResult::kResolve) {
          n = r.len;
        }
      }
    }
    if (n > 0) {
      ReplyTo(p, fwd_out_.data(), n);
    } else {
      ReplyTo(p, p.fallback.data(), p.fallback.size());
    }
  } else if (reply != nullptr) {
    std::vector<uint8_t> copy(reply, reply + len);
    dns::Put16(copy.data(), p.client_id);
    ReplyTo(p, copy.data(), copy.size());
  } else {
    uint8_t buf[512];
    const size_t n = dns::ErrorReply(p.client_query.data(), p.client_query.size(), dns::kServFail,
                                     true, buf, sizeof buf, scratch_);
    if (n > 0) ReplyTo(p, buf, n);
  }
  if (p.up_tcp != nullptr) {
    CloseUpTcp(p.up_tcp);
    p.up_tcp = nullptr;
  }
  const uint16_t id = p.up_id;
  auto owned = std::move(pending_[id]);
  pending_.erase(id);
  uv_close(reinterpret_cast<uv_handle_t*>(&owned.release()->timer),
           [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
}

}  // namespace beacon::net

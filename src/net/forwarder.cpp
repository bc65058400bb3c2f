// DnsWorker forwarder: queries outside the domain go to `recursors` (spec 1.11), one at a time in
// order (or from a random start), each with recursor_timeout; SERVFAIL with RA=1 when all fail.
// The upstream reply is relayed as it is (TC included), with the client's ID restored.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "beacon/dns/wire.h"
#include "dns_worker.h"
#include "tcp_conn.h"

namespace beacon::net {

namespace {

bool ParseRecursor(const std::string& text, sockaddr_storage* out) {
  std::string host = text;
  int port = 53;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return false;
    if (close + 2 < host.size() && host[close + 1] == ':') port = std::stoi(host.substr(close + 2));
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

}  // namespace

void DnsWorker::Forward(const uint8_t* q, size_t len, const sockaddr* client, uv_udp_t* via,
                        uint64_t tcp_conn) {
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
  }
  if (pending_.size() >= 4096) return;  // overload: drop, the client retries
  auto p = std::make_unique<Pending>();
  p->worker = this;
  p->client_id = dns::Get16(q);
  p->query.assign(q, q + len);
  p->tcp_conn = tcp_conn;
  if (client != nullptr) {
    std::memcpy(&p->client, client,
                client->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    p->client_fd = via->io_watcher.fd;
  }
  for (const auto& r : snap_->dns.recursors) {
    sockaddr_storage ss;
    if (ParseRecursor(r, &ss)) p->recursors.push_back(ss);
  }
  p->timeout_ms = snap_->dns.recursor_timeout_ms;
  if (p->recursors.empty()) return;
  p->next = snap_->dns.recursor_random ? scratch_.Rand() % p->recursors.size() : 0;
  do {
    p->up_id = static_cast<uint16_t>(scratch_.Rand());
  } while (pending_.count(p->up_id) != 0);
  uv_timer_init(&loop_, &p->timer);
  p->timer.data = p.get();
  Pending& ref = *p;
  pending_[p->up_id] = std::move(p);
  SendToRecursor(ref);
}

void DnsWorker::SendToRecursor(Pending& p) {
  dns::Put16(p.query.data(), p.up_id);
  const sockaddr_storage& to = p.recursors[p.next % p.recursors.size()];
  p.next++;
  p.tried++;
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(p.query.data()), static_cast<unsigned>(p.query.size()));
  uv_udp_try_send(up_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&to));
  uv_timer_start(
      &p.timer,
      [](uv_timer_t* t) {
        auto* pp = static_cast<Pending*>(t->data);
        pp->worker->OnForwardTimeout(pp->up_id);
      },
      p.timeout_ms, 0);
}

void DnsWorker::OnForwardTimeout(uint16_t up_id) {
  auto it = pending_.find(up_id);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  if (p.tried < p.recursors.size()) {
    SendToRecursor(p);
    return;
  }
  FinishForward(p, nullptr, 0);
}

void DnsWorker::OnUpstream(ssize_t n, const uv_buf_t* buf, const sockaddr* addr) {
  (void)addr;
  if (n < static_cast<ssize_t>(dns::kHeaderSize)) return;
  auto* r = reinterpret_cast<uint8_t*>(buf->base);
  auto it = pending_.find(dns::Get16(r));
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  const uint8_t rcode = r[3] & 0x0F;
  if (rcode != dns::kNoError && rcode != dns::kNxDomain) {
    if (p.tried < p.recursors.size()) {
      SendToRecursor(p);
      return;
    }
    FinishForward(p, nullptr, 0);
    return;
  }
  FinishForward(p, r, static_cast<size_t>(n));
}

void DnsWorker::ReplyTo(const Pending& p, const uint8_t* data, size_t len) {
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
  uint8_t buf[512];
  if (reply != nullptr) {
    auto* r = const_cast<uint8_t*>(reply);
    dns::Put16(r, p.client_id);
    ReplyTo(p, r, len);
  } else {
    dns::Put16(p.query.data(), p.client_id);
    const size_t n = dns::ErrorReply(p.query.data(), p.query.size(), dns::kServFail, true, buf,
                                     sizeof buf, scratch_);
    if (n > 0) ReplyTo(p, buf, n);
  }
  const uint16_t id = p.up_id;
  auto owned = std::move(pending_[id]);
  pending_.erase(id);
  uv_close(reinterpret_cast<uv_handle_t*>(&owned.release()->timer),
           [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
}

}  // namespace beacon::net

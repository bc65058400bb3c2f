// GossipTransport's TCP side: accepted connections (read one request frame, write the core's
// reply, close) and outgoing stream requests (connect, write, read one reply frame).
#include <cstring>

#include "beacon/gossip/envelope.h"
#include "gossip_transport_impl.h"

namespace beacon::net {
namespace {

constexpr std::size_t kReadChunk = 65536;

uv_stream_t* Stream(GossipConn* c) {
  return reinterpret_cast<uv_stream_t*>(&c->handle);
}

void ReadAlloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<GossipConn*>(h->data);
  const std::size_t old = c->in.size();
  c->in.resize(old + kReadChunk);
  *buf = uv_buf_init(reinterpret_cast<char*>(c->in.data() + old), kReadChunk);
}

void ReadCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<GossipConn*>(s->data);
  // ReadAlloc grew `in` by a whole chunk; keep only what arrived.
  if (buf->base != nullptr) {
    const auto start =
        static_cast<std::size_t>(reinterpret_cast<std::uint8_t*>(buf->base) - c->in.data());
    c->in.resize(start + (n > 0 ? static_cast<std::size_t>(n) : 0));
  }
  c->owner->OnRead(c, n);
}

void ConnectCb(uv_connect_t* req, int status) {
  auto* c = static_cast<GossipConn*>(req->data);
  c->owner->OnConnected(c, status);
}

void WriteCb(uv_write_t* req, int status) {
  auto* c = static_cast<GossipConn*>(req->data);
  c->owner->OnWritten(c, status);
}

void ConnTimerCb(uv_timer_t* t) {
  auto* c = static_cast<GossipConn*>(t->data);
  c->owner->OnConnTimer(c);
}

void ConnClosed(uv_handle_t* h) {
  auto* c = static_cast<GossipConn*>(h->data);
  if (--c->close_left == 0) delete c;
}

}  // namespace

GossipConn* GossipTransport::Impl::NewConn(bool outgoing) {
  auto* c = new GossipConn();
  c->owner = this;
  c->id = next_conn_id_++;
  c->outgoing = outgoing;
  uv_tcp_init(&loop_, &c->handle);
  uv_timer_init(&loop_, &c->timer);
  c->handle.data = c;
  c->timer.data = c;
  c->connect.data = c;
  c->write.data = c;
  c->close_left = 2;
  conns_[c->id] = c;
  if (!outgoing) ++accepted_open_;
  return c;
}

void GossipTransport::Impl::CloseConn(GossipConn* c) {
  if (c->closing) return;
  c->closing = true;
  conns_.erase(c->id);
  if (!c->outgoing) --accepted_open_;
  // Pending connect and write requests are cancelled (their callbacks see `closing`) before
  // the handles' close callbacks run; the last of those frees the connection.
  uv_close(reinterpret_cast<uv_handle_t*>(&c->handle), ConnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), ConnClosed);
}

void GossipTransport::Impl::OnConnection(uv_stream_t* server, int status) {
  if (stopping_) return;
  if (status < 0) {
    BEACON_LOG(log_, kDebug, "gossip", "tcp accept failed: %s", uv_strerror(status));
    return;
  }
  GossipConn* c = NewConn(false);
  if (uv_accept(server, Stream(c)) != 0) {
    CloseConn(c);
    return;
  }
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->handle, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->peer = EndpointOf(reinterpret_cast<sockaddr*>(&ss));
  }
  if (accepted_open_ > opts_.max_connections) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kWarn, "gossip", "refused a connection from %s: %zu already open",
               gossip::to_string(c->peer).c_str(), opts_.max_connections);
    CloseConn(c);
    return;
  }
  uv_tcp_nodelay(&c->handle, 1);
  uv_timer_start(&c->timer, ConnTimerCb, opts_.tcp_timeout_ms, 0);
  uv_read_start(Stream(c), ReadAlloc, ReadCb);
}

void GossipTransport::Impl::OnRead(GossipConn* c, ssize_t n) {
  if (c->closing || n == 0) return;
  const std::string peer = gossip::to_string(c->peer);
  if (n < 0) {
    if (c->outgoing) {
      FinishOutgoing(
          c, std::nullopt,
          n == UV_EOF ? std::string("EOF") : GoError(c, "read", uv_strerror(static_cast<int>(n))));
      return;
    }
    stream_errors_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kDebug, "gossip", "connection from %s ended before a whole request: %s",
               peer.c_str(), uv_strerror(static_cast<int>(n)));
    CloseConn(c);
    return;
  }
  const char* bad = nullptr;
  std::string reason;
  if (c->frame == 0) {
    Result<std::size_t> size = gossip::StreamFrameSize(c->in);
    if (!size.ok()) {
      bad = "garbage";
      reason = size.status().message();
    } else {
      c->frame = *size;
    }
  }
  if (bad == nullptr && (c->frame > opts_.max_stream_bytes ||
                         (c->frame == 0 && c->in.size() > opts_.max_stream_bytes))) {
    bad = "oversize";
    reason = "frame over " + std::to_string(opts_.max_stream_bytes) + " bytes";
  }
  if (bad != nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kWarn, "gossip", "dropped the stream %s %s (%s): %s",
               c->outgoing ? "reply from" : "request from", peer.c_str(), bad, reason.c_str());
    if (c->outgoing) {
      FinishOutgoing(c, std::nullopt, reason);
    } else {
      CloseConn(c);
    }
    return;
  }
  if (c->frame == 0 || c->in.size() < c->frame) return;  // wait for more
  uv_read_stop(Stream(c));
  if (c->outgoing) {
    gossip::Bytes reply(c->in.begin(), c->in.begin() + static_cast<std::ptrdiff_t>(c->frame));
    FinishOutgoing(c, std::move(reply));
    return;
  }
  ServeFrame(c);
}

void GossipTransport::Impl::ServeFrame(GossipConn* c) {
  streams_in_.fetch_add(1, std::memory_order_relaxed);
  gossip::Bytes reply = core_.OnStream(NowMs(), c->peer, gossip::ByteView(c->in.data(), c->frame));
  gossip::Bytes().swap(c->in);
  Pump();
  if (c->closing) return;
  if (reply.empty()) {
    BEACON_LOG(log_, kDebug, "gossip", "no reply to the stream from %s; closing",
               gossip::to_string(c->peer).c_str());
    CloseConn(c);
    return;
  }
  c->out = std::move(reply);
  StartWrite(c);
}

void GossipTransport::Impl::StartWrite(GossipConn* c) {
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(c->out.data()), static_cast<unsigned>(c->out.size()));
  const int rc = uv_write(&c->write, Stream(c), &b, 1, WriteCb);
  if (rc != 0) OnWritten(c, rc);
}

void GossipTransport::Impl::OnWritten(GossipConn* c, int status) {
  if (c->closing) return;  // cancelled by a close
  gossip::Bytes().swap(c->out);
  if (status < 0) {
    if (c->outgoing) {
      FinishOutgoing(c, std::nullopt, GoError(c, "write", uv_strerror(status)));
      return;
    }
    stream_errors_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kDebug, "gossip", "reply to %s not written: %s",
               gossip::to_string(c->peer).c_str(), uv_strerror(status));
    CloseConn(c);
    return;
  }
  if (!c->outgoing) {
    CloseConn(c);  // the reply is with the kernel; done
    return;
  }
  if (!c->expects_reply) {
    FinishOutgoing(c, gossip::Bytes{});
    return;
  }
  c->written = true;
  const int rc = uv_read_start(Stream(c), ReadAlloc, ReadCb);
  if (rc != 0) FinishOutgoing(c, std::nullopt, GoError(c, "read", uv_strerror(rc)));
}

void GossipTransport::Impl::StartStream(gossip::OutStream s) {
  streams_out_.fetch_add(1, std::memory_order_relaxed);
  GossipConn* c = NewConn(true);
  c->token = s.token;
  c->peer = s.to;
  c->expects_reply =
      s.kind == gossip::OutStream::Kind::kPushPull || s.kind == gossip::OutStream::Kind::kPing;
  c->out = std::move(s.bytes);
  sockaddr_storage ss;
  int rc = UV_EINVAL;
  if (SockaddrOf(c->peer, 0, &ss)) {
    rc = uv_tcp_connect(&c->connect, &c->handle, reinterpret_cast<const sockaddr*>(&ss), ConnectCb);
  }
  if (rc != 0) {
    // Reported from the timer, never from inside the core's TakeStreams loop.
    c->failure = GoError(c, "dial", uv_strerror(rc));
    uv_timer_start(&c->timer, ConnTimerCb, 0, 0);
    return;
  }
  uv_timer_start(&c->timer, ConnTimerCb, opts_.tcp_timeout_ms, 0);
}

void GossipTransport::Impl::OnConnected(GossipConn* c, int status) {
  if (c->closing) return;
  if (status < 0) {
    FinishOutgoing(c, std::nullopt,
                   GoError(c, "dial", std::string("connect: ") + uv_strerror(status)));
    return;
  }
  c->connected = true;
  uv_tcp_nodelay(&c->handle, 1);
  StartWrite(c);
}

void GossipTransport::Impl::OnConnTimer(GossipConn* c) {
  if (c->closing) return;
  if (c->outgoing) {
    std::string error = c->failure;
    if (error.empty()) {
      error = GoError(c, !c->connected ? "dial" : !c->written ? "write" : "read", "i/o timeout");
    }
    FinishOutgoing(c, std::nullopt, std::move(error));
    return;
  }
  stream_errors_.fetch_add(1, std::memory_order_relaxed);
  BEACON_LOG(log_, kDebug, "gossip", "connection from %s timed out",
             gossip::to_string(c->peer).c_str());
  CloseConn(c);
}

void GossipTransport::Impl::FinishOutgoing(GossipConn* c, std::optional<gossip::Bytes> reply,
                                           std::string error) {
  if (c->closing) return;
  if (!reply) {
    stream_errors_.fetch_add(1, std::memory_order_relaxed);
    BEACON_LOG(log_, kDebug, "gossip", "stream %llu to %s failed: %s",
               static_cast<unsigned long long>(c->token), gossip::to_string(c->peer).c_str(),
               error.c_str());
  }
  const std::uint64_t token = c->token;
  CloseConn(c);
  if (stopping_) return;
  if (reply) {
    core_.OnStreamReply(NowMs(), token, std::move(reply));
  } else {
    core_.OnStreamError(NowMs(), token, std::move(error));
  }
  Pump();
}

std::string GossipTransport::Impl::GoError(GossipConn* c, const char* op, const std::string& what) {
  std::string s = std::string(op) + " tcp ";
  sockaddr_storage local{};
  int len = sizeof local;
  if (std::strcmp(op, "dial") != 0 &&
      uv_tcp_getsockname(&c->handle, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    s += gossip::to_string(EndpointOf(reinterpret_cast<sockaddr*>(&local))) + "->";
  }
  return s + gossip::to_string(c->peer) + ": " + what;
}

}  // namespace beacon::net

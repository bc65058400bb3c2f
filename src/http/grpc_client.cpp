// GrpcClient: unary gRPC over h2c with libnghttp2's in-memory session API (see grpc_client.h).
#include "beacon/http/grpc_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "beacon/core/clock.h"
#include "beacon/core/strings.h"

namespace beacon::http {
namespace {

int64_t NowMs() {
  return static_cast<int64_t>(core::RealClock().MonotonicMs());
}

constexpr int64_t kPollSliceMs = 100;  // how often `cancel` is looked at
// A stream with nothing received for kPingAfterMs sends an HTTP/2 PING; nothing received for
// kDeadAfterMs (a partitioned or frozen server: no RST ever comes) ends it.
constexpr int64_t kPingAfterMs = 5000;
constexpr int64_t kDeadAfterMs = 15000;
// grpc-go servers (etcd) run a bandwidth-delay estimator: the first DATA frame they receive after
// their last estimator PING was acknowledged makes them send a new one. Acknowledged at once, that
// is one PING per request, which wakes the waiting caller a second time per call (and costs the
// server a write and a read). Its PINGs, told apart by their payload, are acknowledged when
// kBdpAckAfterMs have passed, with the next frames this side sends; any other PING at once. Our
// requests are a few hundred bytes, far below the window the estimator could ever raise.
constexpr int64_t kBdpAckAfterMs = 1000;
constexpr std::array<uint8_t, 8> kBdpPing = {2, 4, 16, 16, 9, 14, 7, 7};

nghttp2_nv Header(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values when the request is submitted (no NO_COPY flags).
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct GrpcClient::Impl {
  GrpcOptions o;
  std::string host, port, authority;
  int fd = -1;
  nghttp2_session* session = nullptr;
  bool goaway = false;
  int64_t last_rx = 0;    // when bytes last arrived
  std::string wbuf;       // Flush()'s gathered frames
  bool bdp_held = false;  // an estimator PING not yet acknowledged (kBdpAckAfterMs)
  int64_t bdp_at = 0;     // when it arrived

  // The call in flight.
  int32_t stream = -1;
  std::string out;  // gRPC-framed request
  size_t sent = 0;
  std::string in;  // gRPC-framed response
  int http_status = 0;
  int grpc_status = -1;
  std::string grpc_message;
  bool closed = false;
  uint32_t reset_code = 0;
  // Streaming calls: complete messages go here as they arrive (nullptr: unary, kept in `in`).
  const std::function<bool(std::string_view)>* on_message = nullptr;
  bool stopped = false;  // on_message returned false
  bool bad_frame = false;

  ~Impl() { Close(); }

  void Close() {
    if (session != nullptr) nghttp2_session_del(session);
    session = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
    goaway = false;
    bdp_held = false;
  }

  std::string Where() const { return "grpc " + authority; }

  Status Connect(int64_t deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return Status::Error(Where() + ": lookup: " + gai_strerror(rc));
    }
    std::string err = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      int s = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s < 0) continue;
      int rc = ::connect(s, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{s, POLLOUT, 0};
        rc = -1;
        errno = ETIMEDOUT;
        const int64_t end = std::min(deadline, NowMs() + o.connect_timeout_ms);
        while (NowMs() < end && !Cancelled()) {
          int n = ::poll(&p, 1, static_cast<int>(std::min(kPollSliceMs, end - NowMs())));
          if (n > 0) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len);
            rc = soerr == 0 ? 0 : -1;
            errno = soerr;
            break;
          }
        }
      }
      if (rc == 0) {
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd = s;
        break;
      }
      err = std::strerror(errno);
      ::close(s);
    }
    freeaddrinfo(res);
    if (fd < 0) return Status::Error(Where() + ": connect: " + err);

    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrame);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_ping_ack(opt, 1);  // OnFrame acknowledges (kBdpAckAfterMs)
    const int rc = nghttp2_session_client_new2(&session, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
      Close();
      return Status::Error(Where() + ": nghttp2: " + nghttp2_strerror(rc));
    }
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    return Status::Ok();
  }

  bool Cancelled() const { return o.cancel && o.cancel(); }

  // Writes everything nghttp2 has queued (preface, settings, headers, data, acks), gathered
  // into one send: a request's HEADERS and DATA frames used to leave as two segments, which
  // cost a syscall here and possibly a second wake-up at the server.
  Status Flush(int64_t deadline) {
    wbuf.clear();
    if (bdp_held && NowMs() - bdp_at >= kBdpAckAfterMs) {
      nghttp2_submit_ping(session, NGHTTP2_FLAG_ACK, kBdpPing.data());
      bdp_held = false;
    }
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n < 0) return Status::Error(Where() + ": nghttp2: " + nghttp2_strerror(int(n)));
      if (n == 0) break;
      wbuf.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    for (size_t off = 0; off < wbuf.size();) {
      ssize_t w = ::send(fd, wbuf.data() + off, wbuf.size() - off, MSG_NOSIGNAL);
      if (w > 0) {
        off += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        return Status::Error(Where() + ": send: " + std::strerror(errno));
      }
      if (NowMs() >= deadline) return Status::Error(Where() + ": send timed out");
      if (Cancelled()) return Status::Error("cancelled");
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(std::min(kPollSliceMs, deadline - NowMs())));
    }
    return Status::Ok();
  }

  // Reads once (bounded by one poll slice) and feeds nghttp2.
  Status Receive(int64_t deadline) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(
        &p, 1, static_cast<int>(std::max<int64_t>(0, std::min(kPollSliceMs, deadline - NowMs()))));
    if (n <= 0) return Status::Ok();
    std::array<uint8_t, 16384> buf;
    ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r == 0) return Status::Error(Where() + ": connection closed by the server");
    if (r > 0) last_rx = NowMs();
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return Status::Ok();
      return Status::Error(Where() + ": recv: " + std::strerror(errno));
    }
    ssize_t used = nghttp2_session_mem_recv(session, buf.data(), static_cast<size_t>(r));
    if (used < 0) return Status::Error(Where() + ": nghttp2: " + nghttp2_strerror(int(used)));
    return Status::Ok();
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (frame->hd.stream_id != self->stream) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      self->http_status = std::atoi(std::string(v).c_str());
    } else if (n == "grpc-status") {
      self->grpc_status = std::atoi(std::string(v).c_str());
    } else if (n == "grpc-message") {
      self->grpc_message = core::PercentDecode(v);  // percent-encoded (gRPC over HTTP/2)
    }
    return 0;
  }

  static int OnData(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                    void* user) {
    auto* self = static_cast<Impl*>(user);
    if (stream_id != self->stream) return 0;
    self->in.append(reinterpret_cast<const char*>(data), len);
    if (self->on_message != nullptr) self->Deliver();
    return 0;
  }

  // Hands each complete message in `in` to on_message.
  void Deliver() {
    size_t at = 0;
    while (!stopped && !bad_frame && in.size() - at >= 5) {
      const auto* p = reinterpret_cast<const unsigned char*>(in.data() + at);
      const size_t mlen = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
      if (p[0] != 0) {
        bad_frame = true;
        break;
      }
      if (in.size() - at - 5 < mlen) break;
      if (!(*on_message)(std::string_view(in).substr(at + 5, mlen))) stopped = true;
      at += 5 + mlen;
    }
    in.erase(0, at);
  }

  static int OnClose(nghttp2_session*, int32_t stream_id, uint32_t code, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (stream_id == self->stream) {
      self->closed = true;
      self->reset_code = code;
    }
    return 0;
  }

  static int OnFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) self->goaway = true;
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      const uint8_t* data = frame->ping.opaque_data;
      if (!self->bdp_held && std::equal(kBdpPing.begin(), kBdpPing.end(), data)) {
        self->bdp_held = true;
        self->bdp_at = NowMs();
      } else {
        nghttp2_submit_ping(session, NGHTTP2_FLAG_ACK, data);
      }
    }
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source*, void* user) {
    auto* self = static_cast<Impl*>(user);
    const size_t n = std::min(length, self->out.size() - self->sent);
    std::copy_n(reinterpret_cast<const uint8_t*>(self->out.data()) + self->sent, n, buf);
    self->sent += n;
    if (self->sent == self->out.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // deadline bounds connect and send; a stream (on_message set) then waits for messages without
  // one.
  Result<GrpcReply> Run(std::string_view method, std::string_view request, int64_t deadline,
                        const std::function<bool(std::string_view)>* stream_to = nullptr) {
    if (session != nullptr && (goaway || !nghttp2_session_want_read(session) ||
                               nghttp2_session_get_next_stream_id(session) > (1U << 30))) {
      Close();
    }
    if (session == nullptr) {
      if (Status s = Connect(deadline); !s.ok()) return s;
    }
    out.clear();
    out += '\0';  // not compressed
    const auto len = static_cast<uint32_t>(request.size());
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((len >> shift) & 0xff);
    out.append(request);
    sent = 0;
    in.clear();
    http_status = 0;
    grpc_status = -1;
    grpc_message.clear();
    closed = false;
    reset_code = 0;
    on_message = stream_to;
    stopped = bad_frame = false;
    const nghttp2_nv hdrs[] = {Header(":method", "POST"),
                               Header(":scheme", "http"),
                               Header(":path", method),
                               Header(":authority", authority),
                               Header("content-type", "application/grpc"),
                               Header("te", "trailers")};
    nghttp2_data_provider body{};
    body.read_callback = ReadBody;
    stream = nghttp2_submit_request(session, nullptr, hdrs, std::size(hdrs), &body, nullptr);
    if (stream < 0) return Status::Error(Where() + ": nghttp2: " + nghttp2_strerror(stream));
    last_rx = NowMs();
    bool pinged = false;
    while (!closed) {
      if (stream_to != nullptr) {
        const int64_t quiet = NowMs() - last_rx;
        if (quiet < kPingAfterMs) {
          pinged = false;
        } else if (!pinged) {
          nghttp2_submit_ping(session, NGHTTP2_FLAG_NONE, nullptr);
          pinged = true;
        } else if (quiet >= kDeadAfterMs) {
          return Status::Error(Where() + ": nothing received for " +
                               std::to_string(kDeadAfterMs / 1000) + " s (PING unanswered)");
        }
      }
      if (Status s = Flush(deadline); !s.ok()) return s;
      if (stream_to != nullptr && sent == out.size()) {
        deadline = std::numeric_limits<int64_t>::max();  // sent: wait for messages
      }
      if (closed) break;
      if (stopped) return GrpcReply{0, {}, {}};  // Stream(): the caller ended it
      if (bad_frame) return Status::Error(Where() + ": malformed gRPC message frame");
      if (NowMs() >= deadline) return Status::Error(Where() + std::string(method) + ": timed out");
      if (Cancelled()) return Status::Error("cancelled");
      if (Status s = Receive(deadline); !s.ok()) return s;
    }
    (void)Flush(deadline);  // acks and window updates the close left queued
    stream = -1;
    if (reset_code != 0) {
      return Status::Error(Where() + ": stream reset (HTTP/2 error " + std::to_string(reset_code) +
                           ")");
    }
    if (http_status != 200) {
      return Status::Error(Where() + ": HTTP status " + std::to_string(http_status));
    }
    if (grpc_status < 0) return Status::Error(Where() + ": answer without grpc-status");
    GrpcReply r;
    r.status = grpc_status;
    r.message = std::move(grpc_message);
    if (stream_to != nullptr) {
      if (stopped) return GrpcReply{0, {}, {}};
      if (bad_frame || !in.empty())
        return Status::Error(Where() + ": malformed gRPC message frame");
      return r;
    }
    if (in.size() >= 5) {
      const auto* p = reinterpret_cast<const unsigned char*>(in.data());
      const size_t mlen = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
      if (p[0] != 0 || in.size() != 5 + mlen) {
        return Status::Error(Where() + ": malformed gRPC message frame");
      }
      r.body = in.substr(5);
    } else if (!in.empty() || grpc_status == 0) {
      return Status::Error(Where() + ": answer without a message");
    }
    return r;
  }
};

GrpcClient::GrpcClient(GrpcOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(opts);
  std::string_view a = impl_->o.address;
  if (a.starts_with("http://")) a.remove_prefix(7);
  while (a.ends_with('/')) a.remove_suffix(1);
  impl_->authority = std::string(a);
  size_t colon = a.rfind(':');
  std::string_view host = colon == std::string_view::npos ? a : a.substr(0, colon);
  impl_->port = colon == std::string_view::npos ? "80" : std::string(a.substr(colon + 1));
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  impl_->host = std::string(host);
}

GrpcClient::~GrpcClient() = default;

Result<GrpcReply> GrpcClient::Stream(std::string_view method, std::string_view request,
                                     int64_t timeout_ms,
                                     const std::function<bool(std::string_view)>& on_message) {
  auto r = impl_->Run(method, request, NowMs() + timeout_ms, &on_message);
  impl_->on_message = nullptr;
  impl_->Close();  // a watch is never resumed on the same stream; the next call reconnects
  return r;
}

Result<GrpcReply> GrpcClient::Call(std::string_view method, std::string_view request,
                                   int64_t timeout_ms) {
  auto r = impl_->Run(method, request, NowMs() + timeout_ms);
  if (!r.ok()) impl_->Close();  // a stream left half-done poisons the connection: start afresh
  return r;
}

}  // namespace beacon::http

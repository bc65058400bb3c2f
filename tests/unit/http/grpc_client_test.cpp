// GrpcClient against a small h2c server on loopback that behaves like grpc-go's (etcd's) on the
// points the client cares about: it echoes each unary call's message with grpc-status 0, and
// sends a bandwidth-estimator PING on a request's DATA whenever its previous one was answered.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "beacon/http/grpc_client.h"

namespace {

constexpr std::array<uint8_t, 8> kBdp = {2, 4, 16, 16, 9, 14, 7, 7};  // grpc-go's estimator PING
constexpr std::array<uint8_t, 8> kOther = {'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v'};

nghttp2_nv Nv(const char* n, const char* v) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(v)), strlen(n), strlen(v),
                    NGHTTP2_NV_FLAG_NONE};
}

// One connection at a time; the test thread reads only the atomics.
class FakeGrpcServer {
 public:
  std::atomic<int> calls{0};
  std::atomic<int> bdp_sent{0}, bdp_acked{0}, other_sent{0}, other_acked{0};

  FakeGrpcServer() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(lfd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeGrpcServer() {
    stop_ = true;
    thread_.join();
    ::close(lfd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  struct Stream {
    std::string body;
    size_t sent = 0;
  };

  void Run() {
    int fd = -1;
    while (!stop_ && fd < 0) {
      pollfd p{lfd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) fd = ::accept(lfd_, nullptr, nullptr);
    }
    if (fd < 0) return;
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrame);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    while (!stop_) {
      for (;;) {
        const uint8_t* out = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &out);
        if (n <= 0) break;
        (void)::send(fd, out, static_cast<size_t>(n), MSG_NOSIGNAL);
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      std::array<uint8_t, 16384> buf;
      ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r <= 0) break;
      nghttp2_session_mem_recv(session_, buf.data(), static_cast<size_t>(r));
    }
    nghttp2_session_del(session_);
    ::close(fd);
  }

  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* u) {
    static_cast<FakeGrpcServer*>(u)->streams_[id].body.append(reinterpret_cast<const char*>(d), n);
    return 0;
  }

  static int OnFrame(nghttp2_session* s, const nghttp2_frame* f, void* u) {
    auto* self = static_cast<FakeGrpcServer*>(u);
    if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
      const bool bdp = std::equal(kBdp.begin(), kBdp.end(), f->ping.opaque_data);
      if (bdp) {
        self->bdp_outstanding_ = false;
        ++self->bdp_acked;
      } else {
        ++self->other_acked;
      }
    }
    if (f->hd.type != NGHTTP2_DATA) return 0;
    // grpc-go: each DATA frame feeds the estimator, which pings when its last PING was answered.
    if (!self->bdp_outstanding_) {
      nghttp2_submit_ping(s, NGHTTP2_FLAG_NONE, kBdp.data());
      self->bdp_outstanding_ = true;
      ++self->bdp_sent;
    }
    if (self->other_sent == 0) {  // one PING of another kind (a keepalive), on the first call
      nghttp2_submit_ping(s, NGHTTP2_FLAG_NONE, kOther.data());
      ++self->other_sent;
    }
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    const nghttp2_nv hdrs[] = {Nv(":status", "200"), Nv("content-type", "application/grpc")};
    nghttp2_data_provider body{};
    body.read_callback = ReadBody;
    nghttp2_submit_response(s, f->hd.stream_id, hdrs, 2, &body);
    ++self->calls;
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session* s, int32_t id, uint8_t* buf, size_t len, uint32_t* fl,
                          nghttp2_data_source*, void* u) {
    Stream& st = static_cast<FakeGrpcServer*>(u)->streams_[id];
    const size_t n = std::min(len, st.body.size() - st.sent);
    std::copy_n(st.body.data() + st.sent, n, buf);
    st.sent += n;
    if (st.sent == st.body.size()) {
      *fl |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const nghttp2_nv trailers[] = {Nv("grpc-status", "0")};
      nghttp2_submit_trailer(s, id, trailers, 1);
    }
    return static_cast<ssize_t>(n);
  }

  int lfd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Server thread only.
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  bool bdp_outstanding_ = false;
};

// The server thread may still be reading what the client sent last.
bool Eventually(const std::atomic<int>& v, int want) {
  for (int i = 0; i < 100 && v.load() != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return v.load() == want;
}

}  // namespace

TEST_CASE(
    "GrpcClient: calls answer; estimator PINGs are acknowledged after a second, others at once") {
  FakeGrpcServer srv;
  beacon::http::GrpcClient c(beacon::http::GrpcOptions{srv.address(), 2000, {}});

  auto r = c.Call("/test.Echo/Call", "first", 2000);
  REQUIRE(r.ok());
  CHECK(r.value().status == 0);
  CHECK(r.value().body == "first");
  // The keepalive-style PING is answered during the call that received it.
  CHECK(Eventually(srv.other_acked, 1));
  CHECK(srv.bdp_sent.load() == 1);

  // Calls right after: the estimator's PING is still unanswered, so the server sends no more
  // (one wake-up of the caller per call instead of two).
  for (int i = 0; i < 5; ++i) {
    auto again = c.Call("/test.Echo/Call", "again", 2000);
    REQUIRE(again.ok());
    CHECK(again.value().body == "again");
  }
  CHECK(srv.bdp_sent.load() == 1);
  CHECK(srv.bdp_acked.load() == 0);

  // A second later the next call carries the acknowledgement, and the estimator resumes.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto late = c.Call("/test.Echo/Call", "late", 2000);
  REQUIRE(late.ok());
  CHECK(late.value().body == "late");
  CHECK(Eventually(srv.bdp_acked, 1));
  CHECK(srv.bdp_sent.load() == 2);
  CHECK(srv.calls.load() == 7);
  CHECK(srv.other_acked.load() == 1);
}

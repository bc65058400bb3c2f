// TCP and UDP checks on the loop. See probes.h.
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "beacon/health/probes.h"

namespace beacon::health {
namespace {

using catalog::Health;

// "host:port" or "[v6]:port" -> host, port. False when malformed.
bool SplitHostPort(const std::string& addr, std::string* host, std::string* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon + 1 == addr.size()) return false;
  *host = addr.substr(0, colon);
  *port = addr.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return !host->empty();
}

// Shared plumbing: a timer for the timeout, name resolution through uv_getaddrinfo (libuv's
// thread pool) when the host is not a literal, self-deletion once every handle is closed.
class NetProbe : public Probe {
 public:
  NetProbe(uv_loop_t* loop, std::string addr, const ProbeOptions& o, ProbeDone done)
      : loop_(loop), addr_(std::move(addr)), opts_(o), done_(std::move(done)) {
    uv_timer_init(loop, &timer_);
    Track(reinterpret_cast<uv_handle_t*>(&timer_));
  }

  void Begin(int socktype) {
    std::string host, port;
    if (!SplitHostPort(addr_, &host, &port)) {
      FailSoon("address " + addr_ + ": missing port in address");
      return;
    }
    const int p = std::atoi(port.c_str());
    sockaddr_storage ss{};
    if (uv_ip4_addr(host.c_str(), p, reinterpret_cast<sockaddr_in*>(&ss)) == 0 ||
        uv_ip6_addr(host.c_str(), p, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) {
      uv_timer_start(&timer_, OnTimeout, opts_.timeout_ms, 0);
      Act(reinterpret_cast<const sockaddr*>(&ss));
      return;
    }
    addrinfo hints{};
    hints.ai_socktype = socktype;
    resolving_ = true;
    gai_.data = this;
    uv_timer_start(&timer_, OnTimeout, opts_.timeout_ms, 0);
    const int rc = uv_getaddrinfo(
        loop_, &gai_,
        [](uv_getaddrinfo_t* r, int status, addrinfo* res) {
          auto* self = static_cast<NetProbe*>(r->data);
          self->resolving_ = false;
          if (self->cancelled_ || self->reported_) {
            uv_freeaddrinfo(res);
            self->MaybeDelete();
            return;
          }
          if (status != 0 || res == nullptr) {
            self->Finish({Health::kCritical, self->Prefix() + "lookup: " + uv_strerror(status)});
          } else {
            self->Act(res->ai_addr);
          }
          uv_freeaddrinfo(res);
        },
        host.c_str(), port.c_str(), &hints);
    if (rc != 0) {
      resolving_ = false;
      FailSoon(Prefix() + "lookup: " + uv_strerror(rc));
    }
  }

  void Cancel() override {
    cancelled_ = true;
    CloseAll();
  }

 protected:
  virtual void Act(const sockaddr* sa) = 0;
  virtual void OnTimeoutResult() = 0;
  virtual std::string Prefix() const = 0;

  void Track(uv_handle_t* h) {
    h->data = this;
    handles_[n_handles_++] = h;
  }

  void FailSoon(std::string msg) {
    fail_ = std::move(msg);
    failed_ = true;
    uv_timer_start(&timer_, OnTimeout, 0, 0);
  }

  void Finish(ProbeResult r) {
    if (reported_ || cancelled_) return;
    reported_ = true;
    ProbeDone done = std::move(done_);
    CloseAll();
    done(std::move(r));
  }

  void CloseAll() {
    for (int i = 0; i < n_handles_; ++i) {
      if (uv_is_closing(handles_[i])) continue;
      ++closing_;
      uv_close(handles_[i], [](uv_handle_t* h) {
        auto* self = static_cast<NetProbe*>(h->data);
        --self->closing_;
        self->MaybeDelete();
      });
    }
  }

  void MaybeDelete() {
    if (closing_ != 0 || resolving_) return;
    for (int i = 0; i < n_handles_; ++i) {
      if (!uv_is_closing(handles_[i])) return;
    }
    delete this;
  }

  static void OnTimeout(uv_timer_t* t) {
    auto* self = static_cast<NetProbe*>(t->data);
    if (self->failed_) {
      self->Finish({Health::kCritical, self->fail_});
      return;
    }
    self->OnTimeoutResult();
  }

  uv_loop_t* loop_;
  std::string addr_;
  ProbeOptions opts_;
  ProbeDone done_;
  uv_timer_t timer_{};
  uv_getaddrinfo_t gai_{};
  uv_handle_t* handles_[2] = {nullptr, nullptr};
  int n_handles_ = 0;
  int closing_ = 0;
  bool resolving_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
  bool reported_ = false;
  std::string fail_;
};

class TcpProbe final : public NetProbe {
 public:
  using NetProbe::NetProbe;

 private:
  std::string Prefix() const override { return "dial tcp " + addr_ + ": "; }
  void Act(const sockaddr* sa) override {
    uv_tcp_init(loop_, &tcp_);
    Track(reinterpret_cast<uv_handle_t*>(&tcp_));
    req_.data = this;
    const int rc = uv_tcp_connect(&req_, &tcp_, sa, [](uv_connect_t* req, int status) {
      auto* self = static_cast<TcpProbe*>(req->data);
      if (status == UV_ECANCELED) return;  // closed by a timeout or a cancel
      if (status == 0) {
        self->Finish({Health::kPassing, "TCP connect " + self->addr_ + ": Success"});
      } else {
        self->Finish({Health::kCritical, self->Prefix() + "connect: " + uv_strerror(status)});
      }
    });
    if (rc != 0) FailSoon(Prefix() + "connect: " + uv_strerror(rc));
  }
  void OnTimeoutResult() override { Finish({Health::kCritical, Prefix() + "i/o timeout"}); }

  uv_tcp_t tcp_{};
  uv_connect_t req_{};
};

class UdpProbe final : public NetProbe {
 public:
  using NetProbe::NetProbe;

 private:
  std::string Prefix() const override { return "dial udp " + addr_ + ": "; }
  void Act(const sockaddr* sa) override {
    uv_udp_init(loop_, &udp_);
    Track(reinterpret_cast<uv_handle_t*>(&udp_));
    int rc = uv_udp_connect(&udp_, sa);
    if (rc == 0) {
      rc = uv_udp_recv_start(
          &udp_,
          [](uv_handle_t*, size_t, uv_buf_t* buf) {
            thread_local char scratch[2048];
            *buf = uv_buf_init(scratch, sizeof scratch);
          },
          [](uv_udp_t* u, ssize_t n, const uv_buf_t*, const sockaddr*, unsigned) {
            auto* self = static_cast<UdpProbe*>(u->data);
            if (n < 0) {
              self->Finish({Health::kCritical, "Failed to read UDP response from " + self->addr_ +
                                                   ": " + uv_strerror(static_cast<int>(n))});
            } else if (n > 0) {
              self->Finish({Health::kPassing, "UDP connect " + self->addr_ + ": Success"});
            }
          });
    }
    if (rc == 0) {
      static constexpr char kMsg[] = "Consul UDP health check";
      uv_buf_t b = uv_buf_init(const_cast<char*>(kMsg), sizeof kMsg - 1);
      rc = uv_udp_try_send(&udp_, &b, 1, nullptr);
      if (rc > 0) rc = 0;
    }
    if (rc != 0) FailSoon(Prefix() + uv_strerror(rc));
  }
  // No answer and no error within the timeout: healthy, as Consul.
  void OnTimeoutResult() override {
    Finish({Health::kPassing, "UDP connect " + addr_ + ": Success"});
  }

  uv_udp_t udp_{};
};

}  // namespace

Probe* StartTcp(uv_loop_t* loop, const std::string& addr, const ProbeOptions& o, ProbeDone done) {
  auto* p = new TcpProbe(loop, addr, o, std::move(done));
  p->Begin(SOCK_STREAM);
  return p;
}

Probe* StartUdp(uv_loop_t* loop, const std::string& addr, const ProbeOptions& o, ProbeDone done) {
  auto* p = new UdpProbe(loop, addr, o, std::move(done));
  p->Begin(SOCK_DGRAM);
  return p;
}

}  // namespace beacon::health

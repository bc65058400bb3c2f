#include "beacon/net/dns_server.h"
#include "beacon/core/thread_name.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dns_worker.h"

namespace beacon::net {
namespace {

// Creates a bound, non-blocking socket (with SO_REUSEPORT unless `exclusive`). Returns fd or
// -errno.
int MakeSocket(const std::string& addr, int port, int type, int* bound_port,
               bool exclusive = false) {
  sockaddr_storage ss{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return -EINVAL;
  }
  const int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  // For UDP, SO_REUSEADDR alone would let two sockets share the port: not on the probe.
  if (!exclusive || type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!exclusive) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    const int rcv = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    close(fd);
    return -err;
  }
  if (bound_port != nullptr) {
    sockaddr_storage got{};
    socklen_t gl = sizeof got;
    getsockname(fd, reinterpret_cast<sockaddr*>(&got), &gl);
    *bound_port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  }
  return fd;
}

}  // namespace

DnsServer::DnsServer(catalog::SnapshotHub& hub, const Logger& log, DnsServerOptions opts)
    : hub_(hub), log_(log), opts_(std::move(opts)) {}

DnsServer::~DnsServer() {
  Stop();
}

Status DnsServer::Start() {
  const int nworkers = opts_.workers > 0 ? opts_.workers : 1;
  port_ = opts_.port;
  for (int i = 0; i < nworkers; ++i) {
    workers_.push_back(
        std::make_unique<DnsWorker>(i, hub_, log_, opts_.tcp_idle_ms, opts_.max_tcp_conns));
  }
  // SO_REUSEPORT would let a second agent share the port and steal half the queries: first
  // prove the port is free with plain (exclusive) binds, as Consul's "address already in use".
  for (const std::string& addr : opts_.addresses) {
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      int bound = 0;
      const int fd = MakeSocket(addr, port_, type, port_ == 0 ? &bound : nullptr, true);
      if (fd < 0) {
        return Status::Error("DNS " + std::string(type == SOCK_DGRAM ? "udp" : "tcp") +
                             " listener on " + addr + ":" + std::to_string(port_) + ": " +
                             std::strerror(-fd));
      }
      close(fd);
      if (port_ == 0) port_ = bound;
    }
  }
  for (const std::string& addr : opts_.addresses) {
    for (int i = 0; i < nworkers; ++i) {
      for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        int bound = 0;
        const int fd = MakeSocket(addr, port_, type, port_ == 0 ? &bound : nullptr);
        if (fd < 0) {
          return Status::Error("DNS " + std::string(type == SOCK_DGRAM ? "udp" : "tcp") +
                               " listener on " + addr + ":" + std::to_string(port_) + ": " +
                               std::strerror(-fd));
        }
        if (port_ == 0) port_ = bound;  // every later socket shares the picked port
        const int rc = type == SOCK_DGRAM ? workers_[static_cast<size_t>(i)]->AddUdp(fd)
                                          : workers_[static_cast<size_t>(i)]->AddTcp(fd);
        if (rc != 0) {
          close(fd);
          return Status::Error("DNS listener on " + addr + ": " + uv_strerror(rc));
        }
      }
    }
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    DnsWorker* raw = workers_[i].get();
    threads_.emplace_back([raw, i] {
      core::SetThreadName("beacon-dns-" + std::to_string(i));
      raw->Run();
    });
  }
  for (const auto& addr : opts_.addresses) {
    BEACON_LOG(log_, kInfo, "dns", "listening on %s:%d (udp, tcp), %d worker(s)", addr.c_str(),
               port_, nworkers);
  }
  return Status::Ok();
}

void DnsServer::Stop() {
  for (auto& w : workers_) w->Stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  workers_.clear();
}

dns::Counters DnsServer::Stats() const {
  dns::Counters sum;
  for (const auto& w : workers_) {
    const dns::Counters c = w->Snapshot();
    sum.queries += c.queries;
    sum.dropped += c.dropped;
    sum.formerr += c.formerr;
    sum.notimp += c.notimp;
    sum.nxdomain += c.nxdomain;
    sum.refused += c.refused;
    sum.truncated += c.truncated;
    sum.forwarded += c.forwarded;
  }
  return sum;
}

}  // namespace beacon::net

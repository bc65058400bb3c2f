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
#include "socket.h"

namespace beacon::net {
namespace {

// Creates a bound, non-blocking socket (with SO_REUSEPORT unless `exclusive`). Returns fd or
// -errno.
int MakeSocket(const std::string& addr, int port, int type, int* bound_port,
               bool exclusive = false) {
  detail::SocketOptions o;
  // For UDP, SO_REUSEADDR alone would let two sockets share the port: not on the probe.
  o.reuse_addr = !exclusive || type == SOCK_STREAM;
  o.reuse_port = !exclusive;
  o.rcvbuf = 4 << 20;
  return detail::BoundSocket(addr, port, type, o, bound_port);
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
    workers_.push_back(std::make_unique<DnsWorker>(i, hub_, log_, opts_.tcp_idle_ms,
                                                   opts_.max_tcp_conns, opts_.udp_wait_ns));
    workers_.back()->EnableMetrics(opts_.metrics);
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
    sum.udp_waits += c.udp_waits;
  }
  return sum;
}

DnsMetricsTotals DnsServer::Metrics() const {
  DnsMetricsTotals sum;
  for (const auto& w : workers_) sum.Add(w->metrics());
  return sum;
}

}  // namespace beacon::net

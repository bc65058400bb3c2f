// DnsServer: the UDP/TCP DNS listeners, one libuv loop per worker thread.
//
// Contract:
// - Start() creates, per worker and per listen address, its own SO_REUSEPORT UDP and TCP sockets
//   (libuv 1.44 has no REUSEPORT flag: the sockets are made here and handed to uv_udp_open /
//   uv_tcp_open), then runs each worker's loop on its own thread. Port 0 picks a free port once
//   and every worker then shares it (see port()).
// - UDP: batched receive (UV_UDP_RECVMMSG); replies are queued and sent with one sendmmsg(2) per
//   batch from a uv_check_t. The snapshot is pinned once per batch. Nothing on this path
//   allocates.
// - TCP: length-prefixed, pipelined queries; a connection idle for tcp_idle_ms is closed; at most
//   max_tcp_conns per worker (more are accepted and closed at once, counted).
// - Queries outside the domain with recursors configured are forwarded (spec 1.11) by the
//   worker's forwarder, with a timeout per recursor and SERVFAIL when all fail.
// - Stop() is called from the owning (main) thread; it joins the workers. Thread-safe Counters
//   are read with Stats().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/dns/answer.h"
#include "beacon/net/dns_metrics.h"

namespace beacon::net {

struct DnsServerOptions {
  std::vector<std::string> addresses = {"127.0.0.1"};
  int port = 8600;
  int workers = 1;
  uint32_t tcp_idle_ms = 8000;
  uint32_t max_tcp_conns = 1024;  // per worker
  // Answers by type/rcode and the latency histogram (dns_metrics.h); off only to measure them.
  bool metrics = true;
  // UDP receive coalescing under load (src/net/udp_pacer.h): the wait before reading again once
  // the arrival rate makes it worth it; 0 turns it off.
  uint64_t udp_wait_ns = 0;
};

class DnsWorker;

class DnsServer {
 public:
  DnsServer(catalog::SnapshotHub& hub, const Logger& log, DnsServerOptions opts);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds every socket, then starts the worker threads. Error names the address that failed.
  Status Start();
  void Stop();
  int port() const { return port_; }
  // Sum of every worker's counters (relaxed reads; for metrics and logs).
  dns::Counters Stats() const;
  // Sum of every worker's query metrics (relaxed reads).
  DnsMetricsTotals Metrics() const;

 private:
  catalog::SnapshotHub& hub_;
  const Logger& log_;
  DnsServerOptions opts_;
  int port_ = 0;
  std::vector<std::unique_ptr<DnsWorker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace beacon::net

// Probes: one run of one check on a libuv loop (the Runner's). Each returns a Probe that
// reports once through `done`, always later on the loop (never from inside Start*).
//
// Contract:
// - All calls on the loop's thread. A Probe frees itself after it reported, or after Cancel()
//   (then `done` is never called); the caller drops its pointer in `done` or when cancelling.
// - Script: `args` spawned in its own session/process group (UV_PROCESS_DETACHED); stdout and
//   stderr share one pipe; at the timeout (default 30 s) the whole group gets SIGKILL; the child
//   is always reaped (the process handle stays open until its exit status arrives, even when
//   cancelled). Exit 0 -> passing, 1 -> warning, else critical; output capped (CapOutput).
// - TCP: connect -> passing "TCP connect <addr>: Success", else critical "dial tcp <addr>: ...".
// - UDP: one datagram; an error reported by the socket (ICMP port unreachable) -> critical;
//   an answer or a read timeout -> passing "UDP connect <addr>: Success" (as Consul).
// - HTTP: see HttpClient.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "beacon/catalog/types.h"

namespace beacon::health {

struct ProbeResult {
  catalog::Health status = catalog::Health::kCritical;
  std::string output;
};
using ProbeDone = std::function<void(ProbeResult)>;

struct ProbeOptions {
  uint64_t timeout_ms = 0;  // already defaulted by the caller
  size_t output_max = 4096;
};

class Probe {
 public:
  virtual ~Probe() = default;
  // Stops the run: kills a child (it is still reaped), closes sockets; `done` is not called.
  virtual void Cancel() = 0;
};

// The timeout of a check kind when the check sets none: 30 s for scripts, 10 s otherwise.
uint64_t DefaultTimeoutMs(const catalog::Check& c);

Probe* StartScript(uv_loop_t* loop, const std::vector<std::string>& args, const ProbeOptions& o,
                   ProbeDone done);
Probe* StartTcp(uv_loop_t* loop, const std::string& addr, const ProbeOptions& o, ProbeDone done);
Probe* StartUdp(uv_loop_t* loop, const std::string& addr, const ProbeOptions& o, ProbeDone done);

// HTTP checks through the libcurl multi interface, driven by the loop (uv_poll per socket, kept
// for the socket's life; one uv_timer for curl's timeouts). One per loop. Close() before the loop
// ends; the object may be destroyed once the loop has run the close callbacks.
// - Per check id, one prepared transfer (options, header list, output prefix) kept across runs,
//   rebuilt when the definition changes, dropped after two intervals (+ 1 min) without a run.
// - Connections are kept alive, unlike Consul's checks (a deliberate deviation, for the CPU of a
//   TCP handshake per run): a run reuses an idle connection to the same host:port only when curl
//   finds it still open and it is younger than 2 s. A server that dies or closes its connections
//   fails the next run (as Consul); one that only stops listening fails a run at most 2 s later.
class HttpClient {
 public:
  explicit HttpClient(uv_loop_t* loop);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET (or `method`) the check's URL with its headers and body. 2xx -> passing, 429 -> warning,
  // else critical; "HTTP <METHOD> <url>: <code> <reason> Output: <body, at most output_max>".
  // With tcp_use_tls set on a TCP check, `tls_connect` makes it a TCP+TLS handshake check.
  Probe* Start(const catalog::Check& c, const ProbeOptions& o, ProbeDone done);
  Probe* StartTlsConnect(const catalog::Check& c, const ProbeOptions& o, ProbeDone done);
  // Runs started within 10 ms go to curl together (one wake-up sends them all); Flush() hands
  // the runs started so far to curl now (the Runner calls it after starting one tick's runs).
  void Flush();
  // Cancels every transfer and closes the loop handles.
  void Close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::health

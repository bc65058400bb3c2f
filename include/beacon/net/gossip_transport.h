// GossipTransport: drives a sans-I/O gossip core (gossip::Membership, gossip::Serf, or anything
// implementing GossipCore) over one UDP socket and one TCP listener on a libuv loop of its own.
//
// Contract:
// - One thread ("beacon-gossip") runs the loop and is the only thread that calls the core. The
//   core is owned by the caller and must outlive the transport (or at least its Stop()). It is
//   called as soon as Start() succeeds (a first flush and NextDeadline(), then inputs), so it
//   must be usable by then, or treat calls before it is set up as no-ops.
// - Inputs: a UDP datagram -> OnPacket; a whole request frame read from an accepted TCP
//   connection -> OnStream (its reply is written back, then the connection closes; an empty
//   reply closes it without writing); the reply to one of the core's own stream requests (or
//   its failure) -> OnStreamReply / OnStreamError; the timer armed for NextDeadline() -> Tick;
//   Post(fn) -> fn. After every input the transport sends TakePackets() as datagrams (never
//   blocking: a datagram the kernel will not take now is dropped and counted), starts every
//   TakeStreams() request, re-arms the timer for NextDeadline() and calls AfterInput(now), then
//   flushes once more.
// - Outgoing stream: TCP connect to `to`, write the request, read exactly one reply frame (sized
//   with gossip::StreamFrameSize), then OnStreamReply(token, reply). Refusal, a reset, garbage,
//   a frame over max_stream_bytes or tcp_timeout_ms without a whole reply give
//   OnStreamError(token, why), whose default is OnStreamReply(token, nullopt). A kind that
//   expects no reply (kUser, memberlist's SendReliable: anything but kPushPull and kPing) is
//   written and closed; its success is reported as an empty reply, its failure as above.
// - Accepted connection: at most max_connections open at once (more are closed at once); each
//   must deliver one whole frame and take our reply within tcp_timeout_ms. Garbage, oversize
//   frames and timeouts close the connection and are counted (see GossipStats); never a crash.
// - Time: NowMs() is CLOCK_MONOTONIC in milliseconds (uv_hrtime); the core sees only that clock.
// - Start() binds both sockets (port 0: one ephemeral port shared by UDP and TCP) and starts the
//   thread; it succeeds once per object (a failed Start may be retried). Stop() from any thread but
//   the transport's own closes every handle, drops unfinished streams without calling the core, and
//   joins. Idempotent; the destructor calls it. Post() and stats() are safe from any thread,
//   before, during and after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/gossip/envelope.h"
#include "beacon/gossip/membership.h"

namespace beacon::net {

// What the transport drives. Called only on the transport's thread.
class GossipCore {
 public:
  virtual ~GossipCore() = default;
  virtual void Tick(std::uint64_t now_ms) = 0;
  virtual void OnPacket(std::uint64_t now_ms, const gossip::Endpoint& from,
                        gossip::ByteView bytes) = 0;
  virtual gossip::Bytes OnStream(std::uint64_t now_ms, const gossip::Endpoint& from,
                                 gossip::ByteView request) = 0;
  virtual void OnStreamReply(std::uint64_t now_ms, std::uint64_t token,
                             std::optional<gossip::Bytes> reply) = 0;
  // Called instead of OnStreamReply(token, nullopt) when a request failed, with Go's error text
  // as memberlist would see it ("dial tcp 10.0.0.2:8301: connect: connection refused", "read
  // tcp 10.0.0.1:51234->10.0.0.2:8301: i/o timeout", "EOF"). Default: OnStreamReply(nullopt).
  // By value: overrides keep the text (Serf hands it to the join outcome).
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void OnStreamError(std::uint64_t now_ms, std::uint64_t token, std::string error) {
    (void)error;
    OnStreamReply(now_ms, token, std::nullopt);
  }
  virtual std::vector<gossip::OutPacket> TakePackets() = 0;
  virtual std::vector<gossip::OutStream> TakeStreams() = 0;
  virtual std::uint64_t NextDeadline() const = 0;  // absolute ms on the same clock as now_ms
  // Called after every input has been processed and outputs flushed (drain events here).
  virtual void AfterInput(std::uint64_t now_ms) { (void)now_ms; }
};

struct GossipTransportOptions {
  std::string bind_addr = "127.0.0.1";   // IPv4 or IPv6 literal
  int port = 8301;                       // 0: ephemeral (tests); UDP and TCP share the number
  std::uint64_t tcp_timeout_ms = 10000;  // per outgoing stream and per accepted connection
  std::size_t max_stream_bytes = 32 << 20;
  std::size_t max_connections = 256;  // accepted at once; more are closed at once
};

struct GossipStats {
  std::uint64_t packets_in = 0;     // datagrams handed to OnPacket
  std::uint64_t packets_out = 0;    // datagrams the kernel took
  std::uint64_t bytes_in = 0;       // of packets_in
  std::uint64_t bytes_out = 0;      // of packets_out
  std::uint64_t streams_in = 0;     // accepted connections whose frame reached OnStream
  std::uint64_t streams_out = 0;    // outgoing requests started
  std::uint64_t stream_errors = 0;  // outgoing requests that failed; accepted ones that timed out
  // Refused input and undeliverable output: empty, truncated or non-memberlist datagrams,
  // datagrams the kernel would not take, garbage or oversize stream frames (in or out),
  // connections over max_connections.
  std::uint64_t dropped = 0;
};

class GossipTransport {
 public:
  GossipTransport(GossipTransportOptions opts, GossipCore& core, const Logger& log);
  ~GossipTransport();  // Stop()s
  GossipTransport(const GossipTransport&) = delete;
  GossipTransport& operator=(const GossipTransport&) = delete;

  // Binds UDP + TCP (the error names the address and the reason), starts thread "beacon-gossip".
  Status Start();
  // Any thread but the transport's own: stops the loop, closes everything, joins. Idempotent.
  void Stop();
  int port() const;  // the bound port (after Start)
  // Any thread: runs fn(now_ms) on the transport thread, then flushes outputs and re-arms the
  // timer. Functions posted before Start() run once it starts; after Stop() they are dropped.
  void Post(std::function<void(std::uint64_t now_ms)> fn);
  GossipStats stats() const;    // any thread (relaxed atomics)
  std::uint64_t NowMs() const;  // the monotonic clock it feeds the core

  class Impl;  // src/net/gossip_transport_impl.h

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::net

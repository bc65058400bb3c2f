// UdpPacer: receive coalescing for one UDP listening socket of a DNS worker, under load.
//
// Every time a worker drains its socket it pays a fixed price on top of the per-query work: an
// epoll_wait that sleeps, a context switch out and back in (in a VM, a halt and an
// inter-processor interrupt), and on the way out a wake-up of each client waiting on its socket.
// At 150,000 queries/s on loopback, spread over batches of five or six datagrams, those fixed
// costs were as large as the whole lookup (bench/README.md, "Receive coalescing").
//
// So, under load, the worker answers the batch it has, sends the replies, and then waits
// `wait_ns` before its next read, as a network card's interrupt moderation (rx-usecs) does:
// batches grow, and the fixed costs are paid once per larger batch. Replies are never held back;
// the wait only delays queries that arrive during it, by at most `wait_ns`.
//
// "Under load" means both:
// - the arrival rate, measured over windows of at least kWindowNs, says a wait would gather at
//   least kGather datagrams (rate × wait ≥ kGather: 80,000 queries/s at the default 50 µs);
// - the batch just read held at least kGather datagrams: queries are arriving while others are
//   being answered. A client with fewer than kGather queries outstanding never triggers a wait,
//   so one resolver asking in turn, or A and AAAA in pairs, sees no added latency at any rate.
// A lightly loaded agent therefore never waits. The waits count in the rate's window (they are
// part of the arrival process, not of the service), and an idle spell ends the load at once: the
// first batch after it closes a long window with a low rate.
//
// Contract: pure arithmetic on a clock passed in, one instance per socket, used by its worker's
// thread only. Unit-tested without sockets (tests/unit/net/udp_pacer_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace beacon::net {

class UdpPacer {
 public:
  static constexpr uint64_t kWindowNs = 1'000'000;   // rate windows of at least 1 ms
  static constexpr uint64_t kGather = 4;             // a wait must be worth this many datagrams
  static constexpr uint64_t kMaxWaitNs = 1'000'000;  // the config refuses longer waits

  // wait_ns 0: never wait.
  explicit UdpPacer(uint64_t wait_ns = 0) : wait_ns_(wait_ns < kMaxWaitNs ? wait_ns : kMaxWaitNs) {}

  uint64_t wait_ns() const { return wait_ns_; }
  // Datagrams per second over the last complete window (0 before the first one ends).
  uint64_t rate() const { return rate_; }

  // After reading a batch of n datagrams at now_ns (a monotonic clock): how long to wait before
  // reading again (0 = carry on as without coalescing).
  uint64_t AfterBatch(uint64_t now_ns, size_t n) {
    if (wait_ns_ == 0) return 0;
    if (!started_) {
      started_ = true;
      win_start_ = now_ns;
    }
    win_count_ += n;
    const uint64_t elapsed = now_ns - win_start_;
    if (elapsed >= kWindowNs) {
      rate_ = win_count_ * 1'000'000'000 / elapsed;
      win_start_ = now_ns;
      win_count_ = 0;
    }
    // rate × wait ≥ kGather, in integers: datagrams/s × ns ≥ kGather × 1e9.
    const bool loaded = n >= kGather && rate_ * wait_ns_ >= kGather * 1'000'000'000;
    return loaded ? wait_ns_ : 0;
  }

 private:
  uint64_t wait_ns_;
  bool started_ = false;
  uint64_t win_start_ = 0;
  uint64_t win_count_ = 0;
  uint64_t rate_ = 0;
};

}  // namespace beacon::net

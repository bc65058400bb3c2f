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
// Waiting must also not cost throughput. When many independent clients send, the arrival rate
// does not depend on the server's waits; when the server's CPU is the bottleneck, waiting raises
// it. But one client that keeps a handful of queries in flight (a busy forwarder with 16
// outstanding, say) sends its next query only when a reply comes back, and every wait idles it:
// measured on loopback, such a client lost 19% of its queries per second. So every kCycleNs the
// pacer probes: kProbeNs with waits allowed, then kProbeNs without, counting arrivals in each;
// for the rest of the cycle it waits only if the rate with waits kept at least kKeepPercent of
// the rate without.
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
  static constexpr uint64_t kProbeNs = 20'000'000;   // each half of a probe
  static constexpr uint64_t kCycleNs = 500'000'000;  // one probe per cycle
  static constexpr uint64_t kKeepPercent = 95;       // waits may cost at most 5% of the rate

  // wait_ns 0: never wait.
  explicit UdpPacer(uint64_t wait_ns = 0) : wait_ns_(wait_ns < kMaxWaitNs ? wait_ns : kMaxWaitNs) {}

  uint64_t wait_ns() const { return wait_ns_; }
  // Datagrams per second over the last complete window (0 before the first one ends).
  uint64_t rate() const { return rate_; }
  // Whether the last probe let waits go on for the rest of its cycle.
  bool waits_allowed() const { return allow_; }

  // After reading a batch of n datagrams at now_ns (a monotonic clock): how long to wait before
  // reading again (0 = carry on as without coalescing).
  uint64_t AfterBatch(uint64_t now_ns, size_t n) {
    if (wait_ns_ == 0) return 0;
    if (!started_) {
      started_ = true;
      win_start_ = now_ns;
      cycle_start_ = now_ns;
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
    return Allowed(now_ns, n) && loaded ? wait_ns_ : 0;
  }

 private:
  uint64_t wait_ns_;
  bool started_ = false;
  uint64_t win_start_ = 0;
  uint64_t win_count_ = 0;
  uint64_t rate_ = 0;
  // The probe: a cycle starts with kProbeNs of waits allowed, then kProbeNs without.
  uint64_t cycle_start_ = 0;
  uint64_t probe_on_ = 0;   // datagrams read in the first half
  uint64_t probe_off_ = 0;  // and in the second
  bool decided_ = false;
  bool allow_ = true;

  bool Allowed(uint64_t now_ns, size_t n) {
    uint64_t t = now_ns - cycle_start_;
    if (t >= kCycleNs) {  // also after an idle spell longer than a cycle
      cycle_start_ = now_ns;
      t = 0;
      probe_on_ = probe_off_ = 0;
      decided_ = false;
    }
    if (t < kProbeNs) {
      probe_on_ += n;
      return true;
    }
    if (t < 2 * kProbeNs) {
      probe_off_ += n;
      return false;
    }
    if (!decided_) {
      decided_ = true;
      allow_ = probe_on_ * 100 >= probe_off_ * kKeepPercent;
    }
    return allow_;
  }
};

}  // namespace beacon::net

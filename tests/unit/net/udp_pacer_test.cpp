// net/udp_pacer.h: when a DNS worker waits before its next UDP read (receive coalescing), driven
// by a simulated clock and the batches a worker would read.
#include "beacon/net/udp_pacer.h"

#include <doctest.h>

#include <cstdint>

using beacon::net::UdpPacer;

namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;

// Feeds batches of `n` datagrams every `gap_ns` for `for_ns`, from `*now`; returns how many of
// those batches were told to wait, and leaves *now after the last one.
int Feed(UdpPacer& p, uint64_t* now, uint64_t gap_ns, size_t n, uint64_t for_ns) {
  int waits = 0;
  for (const uint64_t end = *now + for_ns; *now < end; *now += gap_ns) {
    if (p.AfterBatch(*now, n) != 0) ++waits;
  }
  return waits;
}

}  // namespace

TEST_CASE("udp pacer: off (0) never waits, whatever the load") {
  UdpPacer p(0);
  uint64_t now = 5 * kMs;
  CHECK(Feed(p, &now, 10 * kUs, 30, 20 * kMs) == 0);
}

TEST_CASE("udp pacer: a light load never waits") {
  UdpPacer p(50 * kUs);
  uint64_t now = 1 * kMs;
  // 10,000 queries/s, one at a time: the latency a lightly used agent keeps.
  CHECK(Feed(p, &now, 100 * kUs, 1, 50 * kMs) == 0);
  CHECK(p.rate() >= 9'000);
  CHECK(p.rate() <= 11'000);
  // 40,000 queries/s in batches of 4: a 50 µs wait would gather 2, not worth it.
  CHECK(Feed(p, &now, 100 * kUs, 4, 50 * kMs) == 0);
}

TEST_CASE("udp pacer: a heavy load waits once the first window has measured it") {
  UdpPacer p(50 * kUs);
  uint64_t now = 3 * kMs;
  // 150,000 queries/s in batches of 6 (the closed-loop benchmark's shape): no rate is known for
  // the first millisecond, so nothing waits yet ...
  CHECK(Feed(p, &now, 40 * kUs, 6, 1 * kMs) == 0);
  // ... the batch that closes the first window waits, and so does every one after it.
  CHECK(p.AfterBatch(now, 6) == 50 * kUs);
  CHECK(p.rate() >= 100'000);
  now += 40 * kUs;
  CHECK(Feed(p, &now, 40 * kUs, 6, 10 * kMs) == 250);
}

TEST_CASE("udp pacer: a client with fewer than kGather queries outstanding is never delayed") {
  UdpPacer p(50 * kUs);
  uint64_t now = 1 * kMs;
  // One fast client on loopback, 3 queries in flight, 10 µs round trip: 300,000 queries/s, far
  // above the rate threshold, but every batch holds at most 3.
  CHECK(Feed(p, &now, 10 * kUs, 3, 20 * kMs) == 0);
  CHECK(p.rate() >= 250'000);
  // A and AAAA in pairs at a high rate likewise.
  CHECK(Feed(p, &now, 5 * kUs, 2, 20 * kMs) == 0);
  // A batch of kGather at that rate does wait.
  CHECK(p.AfterBatch(now, UdpPacer::kGather) == 50 * kUs);
}

TEST_CASE("udp pacer: an idle spell ends the waiting at once") {
  UdpPacer p(50 * kUs);
  uint64_t now = 1 * kMs;
  Feed(p, &now, 20 * kUs, 8, 5 * kMs);
  CHECK(p.AfterBatch(now, 8) == 50 * kUs);
  // Nothing for 2 s, then a burst: the window that closes now averages over the silence.
  now += 2000 * kMs;
  CHECK(p.AfterBatch(now, 8) == 0);
  CHECK(p.rate() < 1'000);
  // The burst keeps coming: waiting resumes after one window.
  CHECK(Feed(p, &now, 20 * kUs, 8, 3 * kMs) > 50);
}

TEST_CASE("udp pacer: the wait is capped at 1 ms") {
  UdpPacer p(5 * kMs);
  CHECK(p.wait_ns() == UdpPacer::kMaxWaitNs);
}

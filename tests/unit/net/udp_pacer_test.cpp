// net/udp_pacer.h: when a DNS worker waits before its next UDP read (receive coalescing), driven
// by a simulated clock and by simulated clients whose next queries depend, or not, on the waits.
#include "beacon/net/udp_pacer.h"

#include <doctest.h>

#include <cstdint>

using beacon::net::UdpPacer;

namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kWait = 50 * kUs;

// Batches of `n` datagrams every `gap_ns`, whatever the pacer answers, for `for_ns` from `*now`;
// returns how many of those batches were told to wait, and leaves *now after the last one.
int Feed(UdpPacer& p, uint64_t* now, uint64_t gap_ns, size_t n, uint64_t for_ns) {
  int waits = 0;
  for (const uint64_t end = *now + for_ns; *now < end; *now += gap_ns) {
    if (p.AfterBatch(*now, n) != 0) ++waits;
  }
  return waits;
}

// What a worker serves from a simulated source in `for_ns`: datagrams per second, and the share
// of batches (in %) that waited.
struct Served {
  uint64_t rate;
  uint64_t wait_pct;
};

// Many independent clients at `rate` per second: the datagrams a read finds are those that came
// in since the last one, during the `service_ns` a batch takes and any wait.
Served OpenLoop(UdpPacer& p, uint64_t rate, uint64_t service_ns, uint64_t for_ns) {
  uint64_t now = 0, served = 0, batches = 0, waited = 0, wait = 0;
  uint64_t arrived = 0;  // datagrams × 1e9 not read yet (whole ones are read)
  while (now < for_ns) {
    arrived += rate * (service_ns + wait);
    const uint64_t n = arrived / 1'000'000'000;
    arrived -= n * 1'000'000'000;
    wait = p.AfterBatch(now, n);
    served += n;
    ++batches;
    waited += wait != 0 ? 1 : 0;
    now += service_ns + wait;
  }
  return {served * 1'000'000'000 / for_ns, waited * 100 / batches};
}

// One client keeping `outstanding` queries in flight: the next batch comes back one round trip
// after the replies leave, so a wait delays it.
Served ClosedLoop(UdpPacer& p, size_t outstanding, uint64_t rtt_ns, uint64_t for_ns) {
  uint64_t now = 0, served = 0, batches = 0, waited = 0;
  while (now < for_ns) {
    const uint64_t wait = p.AfterBatch(now, outstanding);
    served += outstanding;
    ++batches;
    waited += wait != 0 ? 1 : 0;
    now += rtt_ns + wait;
  }
  return {served * 1'000'000'000 / for_ns, waited * 100 / batches};
}

}  // namespace

TEST_CASE("udp pacer: off (0) never waits, whatever the load") {
  UdpPacer p(0);
  uint64_t now = 5 * kMs;
  CHECK(Feed(p, &now, 10 * kUs, 30, 20 * kMs) == 0);
}

TEST_CASE("udp pacer: a light load never waits") {
  UdpPacer p(kWait);
  uint64_t now = 1 * kMs;
  // 10,000 queries/s, one at a time: the latency a lightly used agent keeps.
  CHECK(Feed(p, &now, 100 * kUs, 1, 50 * kMs) == 0);
  CHECK(p.rate() >= 9'000);
  CHECK(p.rate() <= 11'000);
  // 40,000 queries/s in batches of 4: a 50 µs wait would gather 2, not worth it.
  CHECK(Feed(p, &now, 100 * kUs, 4, 50 * kMs) == 0);
}

TEST_CASE("udp pacer: a heavy load waits once the first window has measured it") {
  UdpPacer p(kWait);
  uint64_t now = 3 * kMs;
  // 150,000 queries/s in batches of 6 (the closed-loop benchmark's shape): no rate is known for
  // the first millisecond, so nothing waits yet ...
  CHECK(Feed(p, &now, 40 * kUs, 6, 1 * kMs) == 0);
  // ... the batch that closes the first window waits, and so does every one after it.
  CHECK(p.AfterBatch(now, 6) == kWait);
  CHECK(p.rate() >= 100'000);
  now += 40 * kUs;
  CHECK(Feed(p, &now, 40 * kUs, 6, 10 * kMs) == 250);
}

TEST_CASE("udp pacer: a client with fewer than kGather queries outstanding is never delayed") {
  // One fast client on loopback, 3 queries in flight, 10 µs round trip: 300,000 queries/s, far
  // above the rate threshold, but every batch holds at most 3.
  UdpPacer p(kWait);
  const Served s = ClosedLoop(p, 3, 10 * kUs, 2000 * kMs);
  CHECK(s.wait_pct == 0);
  CHECK(s.rate == 300'000);
  CHECK(p.rate() >= 250'000);
  // A and AAAA in pairs at a high rate likewise.
  UdpPacer pairs(kWait);
  CHECK(ClosedLoop(pairs, 2, 5 * kUs, 2000 * kMs).wait_pct == 0);
}

TEST_CASE("udp pacer: many independent clients: the worker waits, and serves them all") {
  // 150,000 queries/s from many clients, 30 µs to answer a batch: the batches wait, and the
  // worker keeps up (what arrives is served).
  UdpPacer p(kWait);
  const Served s = OpenLoop(p, 150'000, 30 * kUs, 3000 * kMs);
  CHECK(s.wait_pct >= 85);  // all but the probes' halves without waits (20 ms of every 500)
  CHECK(s.rate >= 149'000);
  CHECK(p.waits_allowed());
}

TEST_CASE("udp pacer: one client with a few queries in flight keeps its rate") {
  // 16 queries in flight, 100 µs round trip: 160,000 queries/s. Waiting would make each round
  // trip 150 µs (107,000/s): the probe sees it, and the pacer stops waiting until the next one.
  UdpPacer p(kWait);
  const Served s = ClosedLoop(p, 16, 100 * kUs, 5000 * kMs);
  CHECK_FALSE(p.waits_allowed());
  // Waits happen only in each cycle's first probe half: 20 ms of every 500.
  CHECK(s.wait_pct <= 4);
  CHECK(s.rate >= 155'000);  // against 160,000 with no pacer at all
  UdpPacer off(0);
  CHECK(ClosedLoop(off, 16, 100 * kUs, 5000 * kMs).rate == 160'000);
}

TEST_CASE("udp pacer: each cycle probes again, so waiting resumes when the load changes") {
  UdpPacer p(kWait);
  uint64_t now = 1 * kMs;
  // A client-bound cycle: a 16-query client, as above, for one whole cycle.
  for (const uint64_t end = now + UdpPacer::kCycleNs; now < end;) {
    now += 100 * kUs + p.AfterBatch(now, 16);
  }
  CHECK_FALSE(p.waits_allowed());
  // Then many independent clients: the next probe finds no cost in waiting.
  const uint64_t end = now + UdpPacer::kCycleNs;
  int waits_after_probe = 0;
  for (uint64_t t = now; t < end; t += 40 * kUs) {
    const bool probe_done = t - now > 2 * UdpPacer::kProbeNs + 1 * kMs;
    if (p.AfterBatch(t, 6) != 0 && probe_done) ++waits_after_probe;
  }
  CHECK(p.waits_allowed());
  CHECK(waits_after_probe > 10'000);
}

TEST_CASE("udp pacer: an idle spell ends the waiting at once") {
  UdpPacer p(kWait);
  uint64_t now = 1 * kMs;
  Feed(p, &now, 20 * kUs, 8, 5 * kMs);
  CHECK(p.AfterBatch(now, 8) == kWait);
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

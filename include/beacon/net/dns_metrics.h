// DNS query metrics: each worker's answers by query type and response code, and its answer
// latency.
//
// Contract:
// - A DnsWorkerMetrics belongs to one worker thread, the only one that updates it (plain relaxed
//   stores, core/metrics.h); it is alignas(64) and a multiple of 64 bytes, so no two workers'
//   cells share a cache line. Readers (the metrics endpoint) sum every worker's with Sum().
// - Record() is a table lookup and one counter store; nothing on the answer path allocates.
// - Latency: a UDP batch's every query is observed with the time from the start of answering the
//   batch (just after recvmmsg) until its replies are ready to be sent; a TCP query with the time
//   its own answer took.
#pragma once

#include <cstdint>

#include "beacon/core/metrics.h"

namespace beacon::net {

// Query types counted one by one; everything else is "other".
constexpr int kDnsTypes = 12;
// NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED; everything else is "other".
constexpr int kDnsRcodes = 7;

inline int DnsTypeIndex(uint16_t qtype) {
  switch (qtype) {
    case 1:  // A
      return 0;
    case 28:  // AAAA
      return 1;
    case 33:  // SRV
      return 2;
    case 12:  // PTR
      return 3;
    case 16:  // TXT
      return 4;
    case 6:  // SOA
      return 5;
    case 2:  // NS
      return 6;
    case 5:  // CNAME
      return 7;
    case 15:  // MX
      return 8;
    case 255:  // ANY
      return 9;
    case 252:  // AXFR
    case 251:  // IXFR
      return 10;
    default:
      return kDnsTypes - 1;
  }
}
const char* DnsTypeName(int index);  // "A", ..., "XFR", "other"

inline int DnsRcodeIndex(uint8_t rcode) {
  return rcode < kDnsRcodes - 1 ? rcode : kDnsRcodes - 1;
}
const char* DnsRcodeName(int index);  // "NOERROR", ..., "other"

struct alignas(64) DnsWorkerMetrics {
  metrics::Counter answers[kDnsTypes][kDnsRcodes];
  metrics::Histogram latency;

  void Record(uint16_t qtype, uint8_t rcode) {
    answers[DnsTypeIndex(qtype)][DnsRcodeIndex(rcode)].Add();
  }
};

static_assert(alignof(DnsWorkerMetrics) == 64 && sizeof(DnsWorkerMetrics) % 64 == 0);

// Every worker's metrics summed.
struct DnsMetricsTotals {
  uint64_t answers[kDnsTypes][kDnsRcodes] = {};
  metrics::HistogramValue latency;

  void Add(const DnsWorkerMetrics& w);
};

}  // namespace beacon::net

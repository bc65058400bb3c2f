// net/dns_metrics.h: per-worker answer counters and their sum.
#include "beacon/net/dns_metrics.h"

#include <doctest.h>

#include <string>
#include <thread>
#include <vector>

using namespace beacon::net;

TEST_CASE("dns metrics: query types and response codes by name") {
  CHECK(std::string(DnsTypeName(DnsTypeIndex(1))) == "A");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(28))) == "AAAA");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(33))) == "SRV");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(12))) == "PTR");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(255))) == "ANY");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(252))) == "XFR");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(0))) == "other");
  CHECK(std::string(DnsTypeName(DnsTypeIndex(65000))) == "other");
  CHECK(std::string(DnsRcodeName(DnsRcodeIndex(0))) == "NOERROR");
  CHECK(std::string(DnsRcodeName(DnsRcodeIndex(3))) == "NXDOMAIN");
  CHECK(std::string(DnsRcodeName(DnsRcodeIndex(5))) == "REFUSED");
  CHECK(std::string(DnsRcodeName(DnsRcodeIndex(9))) == "other");
}

TEST_CASE("dns metrics: each worker writes its own cells, the reader sums them") {
  std::vector<DnsWorkerMetrics> workers(3);
  // Workers' cells never share a cache line.
  for (size_t i = 1; i < workers.size(); ++i) {
    const auto a = reinterpret_cast<uintptr_t>(&workers[i - 1]);
    const auto b = reinterpret_cast<uintptr_t>(&workers[i]);
    CHECK(b - a >= sizeof(DnsWorkerMetrics));
    CHECK(b % 64 == 0);
  }
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers.size(); ++w) {
    threads.emplace_back([&m = workers[w], w] {
      for (size_t i = 0; i <= w; ++i) m.Record(1, 0);  // A NOERROR: 1, 2, 3 times
      m.Record(33, 3);                                 // SRV NXDOMAIN once each
      m.latency.Observe(3000, 4);
    });
  }
  for (std::thread& t : threads) t.join();
  DnsMetricsTotals sum;
  for (const DnsWorkerMetrics& m : workers) sum.Add(m);
  CHECK(sum.answers[DnsTypeIndex(1)][0] == 6);
  CHECK(sum.answers[DnsTypeIndex(33)][3] == 3);
  CHECK(sum.answers[DnsTypeIndex(28)][0] == 0);
  CHECK(sum.latency.Count() == 12);
  CHECK(sum.latency.buckets[2] == 12);  // 3 us: le 4e-06
}

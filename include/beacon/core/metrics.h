// Metrics: the values /v1/agent/metrics shows, the single-writer cells hot paths update, and
// the two ways they are written out (Consul's JSON summary, Prometheus text 0.0.4).
//
// Contract:
// - Histogram buckets are fixed for every histogram: bucket i (i < kBuckets - 1) counts values
//   <= 1 µs · 2^i (1 µs … ~1.05 s), the last one everything above (+Inf). BucketOf() is a
//   subtraction, a division by a constant and a bit count: no loop, no table.
// - Histogram and Counter are single-writer cells: only one thread ever updates a given cell,
//   with a relaxed load and a relaxed store (no read-modify-write, no lock). Any thread may
//   read them (relaxed loads); a read racing an update may see some fields of the update and
//   not others, which a scrape tolerates. A cell is alignas(64): cells of different writers
//   never share a cache line.
// - Metric is a plain value, built when /v1/agent/metrics is asked for. `name` is dotted,
//   Consul style ("consul.state.nodes", "beacon.dns.queries"); a name without a dot
//   ("process_cpu_seconds_total") is Prometheus' own and written as it is.
// - FormatPrometheus: text exposition 0.0.4. Names sanitized (every character outside
//   [a-zA-Z0-9_:] becomes '_'), counters whose name starts with "beacon." get the "_total"
//   suffix, one "# HELP" and "# TYPE" per family (counter, gauge, histogram), histograms as
//   cumulative _bucket{le=...}, _sum and _count (seconds), label values escaped (\\ \" \n).
//   Families are sorted by name; series within one keep the given order.
// - FormatConsulJson: go-metrics' InmemSink display ({Timestamp, Gauges, Points, Counters,
//   Samples}), every field Consul's client reads; counters and samples (histograms, in
//   milliseconds like Consul's timers) are totals since the agent started, Rate is per second
//   over `uptime_s`. The timestamp is the start of the current 10 s interval (Consul's).
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::metrics {

constexpr int kBuckets = 22;

inline int BucketOf(uint64_t ns) {
  const uint64_t us = ns == 0 ? 0 : (ns - 1) / 1000;  // bucket i holds ns <= 1000 << i
  const int b = static_cast<int>(std::bit_width(us));
  return b < kBuckets - 1 ? b : kBuckets - 1;
}

// The upper bound of bucket i in seconds (+Inf for the last).
double BucketUpperSeconds(int i);

// A histogram read at one moment; `buckets` are per bucket (not cumulative). Times in ns.
struct HistogramValue {
  std::array<uint64_t, kBuckets> buckets{};
  uint64_t sum_ns = 0;
  uint64_t min_ns = 0;
  uint64_t max_ns = 0;
  double sumsq_ns2 = 0;  // for the JSON Stddev

  uint64_t Count() const;
  void Add(const HistogramValue& o);
  // Plain (single-threaded) observation of `n` values of `ns` each.
  void Observe(uint64_t ns, uint64_t n = 1);
};

class alignas(64) Histogram {
 public:
  // Writer thread only: `n` values of `ns` each.
  void Observe(uint64_t ns, uint64_t n = 1) {
    std::atomic<uint64_t>& b = buckets_[BucketOf(ns)];
    b.store(b.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + ns * n, std::memory_order_relaxed);
    const double d = static_cast<double>(ns);
    sumsq_.store(sumsq_.load(std::memory_order_relaxed) + d * d * static_cast<double>(n),
                 std::memory_order_relaxed);
    const uint64_t lo = min_ns_.load(std::memory_order_relaxed);
    if (lo == 0 || ns < lo) min_ns_.store(ns == 0 ? 1 : ns, std::memory_order_relaxed);
    if (ns > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(ns, std::memory_order_relaxed);
  }
  HistogramValue Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> min_ns_{0};  // 0: nothing observed yet
  std::atomic<uint64_t> max_ns_{0};
  std::atomic<double> sumsq_{0};
};

// A single-writer counter (see the contract).
class Counter {
 public:
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Read() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct Metric {
  enum class Kind : uint8_t { kGauge, kCounter, kHistogram };
  Kind kind = Kind::kGauge;
  std::string name;
  double value = 0;  // gauge value or counter total
  std::map<std::string, std::string> labels;
  std::string help;     // "# HELP" text; the name when empty
  HistogramValue hist;  // kHistogram
};

// Helpers for metric sources.
Metric Gauge(std::string name, double v, std::string help = {});
Metric CounterMetric(std::string name, double v, std::string help = {});
Metric HistogramMetric(std::string name, const HistogramValue& h, std::string help = {});

// The Prometheus family name of a metric (see the contract).
std::string PromName(const Metric& m);
// A label value escaped for the text format.
std::string PromEscape(std::string_view v);

std::string FormatPrometheus(const std::vector<Metric>& ms);
std::string FormatConsulJson(const std::vector<Metric>& ms, uint64_t wall_ms, double uptime_s);

// Consul's hostname prefix on gauge names (telemetry.disable_hostname = false): every gauge
// named "consul.<rest>" becomes "consul.<hostname>.<rest>".
void PrefixHostname(std::vector<Metric>* ms, std::string_view hostname);

}  // namespace beacon::metrics

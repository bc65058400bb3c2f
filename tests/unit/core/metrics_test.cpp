// core/metrics.h: histogram bucketing, the Prometheus text exposition and Consul's JSON.
#include "beacon/core/metrics.h"

#include <cmath>
#include <string>
#include <thread>

#include "beacon/core/json_writer.h"
#include "doctest.h"

using namespace beacon::metrics;

namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t CountOf(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t i = text.find(part); i != std::string::npos; i = text.find(part, i + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("histogram buckets: bucket i holds values up to 1 us * 2^i, then +Inf") {
  CHECK(BucketOf(0) == 0);
  CHECK(BucketOf(1) == 0);
  CHECK(BucketOf(1000) == 0);  // exactly 1 us is "le 1e-06"
  CHECK(BucketOf(1001) == 1);
  CHECK(BucketOf(2000) == 1);
  CHECK(BucketOf(2001) == 2);
  CHECK(BucketOf(4000) == 2);
  CHECK(BucketOf(1000ull << 10) == 10);
  CHECK(BucketOf((1000ull << 10) + 1) == 11);
  CHECK(BucketOf(1000ull << (kBuckets - 2)) == kBuckets - 2);
  CHECK(BucketOf((1000ull << (kBuckets - 2)) + 1) == kBuckets - 1);
  CHECK(BucketOf(~0ull) == kBuckets - 1);
  CHECK(BucketUpperSeconds(0) == doctest::Approx(1e-6));
  CHECK(BucketUpperSeconds(3) == doctest::Approx(8e-6));
  CHECK(std::isinf(BucketUpperSeconds(kBuckets - 1)));
  // Every finite bound is the largest value its bucket takes.
  for (int i = 0; i < kBuckets - 1; ++i) {
    const auto bound_ns = static_cast<uint64_t>(std::llround(BucketUpperSeconds(i) * 1e9));
    CHECK(BucketOf(bound_ns) == i);
    CHECK(BucketOf(bound_ns + 1) == i + 1);
  }
}

TEST_CASE("histogram cells: observe on one thread, read on another") {
  Histogram h;
  std::thread writer([&h] {
    for (int i = 0; i < 1000; ++i) h.Observe(1500);  // bucket 1
    h.Observe(500, 10);                              // bucket 0, ten values
    h.Observe(3'000'000'000ull);                     // 3 s: +Inf
  });
  writer.join();
  const HistogramValue v = h.Read();
  CHECK(v.Count() == 1011);
  CHECK(v.buckets[0] == 10);
  CHECK(v.buckets[1] == 1000);
  CHECK(v.buckets[kBuckets - 1] == 1);
  CHECK(v.sum_ns == 1000 * 1500 + 5000 + 3'000'000'000ull);
  CHECK(v.min_ns == 500);
  CHECK(v.max_ns == 3'000'000'000ull);
  CHECK(alignof(Histogram) == 64);

  HistogramValue sum = v;
  HistogramValue other;
  other.Observe(100);
  sum.Add(other);
  CHECK(sum.Count() == 1012);
  CHECK(sum.min_ns == 100);
  CHECK(sum.max_ns == 3'000'000'000ull);

  Counter c;
  c.Add();
  c.Add(41);
  CHECK(c.Read() == 42);
}

TEST_CASE("prometheus text: types, names, labels, histograms") {
  std::vector<Metric> ms;
  ms.push_back(Gauge("consul.state.nodes", 3, "Nodes in the catalog."));
  Metric a = CounterMetric("beacon.dns.answers", 5, "DNS replies.");
  a.labels["qtype"] = "A";
  a.labels["rcode"] = "NOERROR";
  Metric b = CounterMetric("beacon.dns.answers", 2, "DNS replies.");
  b.labels["qtype"] = "SRV";
  b.labels["rcode"] = "NXDOMAIN";
  ms.push_back(a);
  ms.push_back(Gauge("process_resident_memory_bytes", 1048576, "RSS"));
  ms.push_back(b);
  Metric esc = CounterMetric("beacon.http.requests", 1, "line one\nline \\two");
  esc.labels["route"] = "/v1/kv/\"odd\"\\path\n";
  ms.push_back(esc);
  ms.push_back(CounterMetric("process_cpu_seconds_total", 0.25));
  HistogramValue h;
  h.Observe(1500, 3);        // <= 2 us
  h.Observe(5'000'000);      // 5 ms: <= 8.192 ms
  h.Observe(5'000'000'000);  // +Inf
  Metric hist = HistogramMetric("beacon.dns.answer_duration_seconds", h, "Answer time.");
  ms.push_back(hist);
  ms.push_back(Gauge("beacon.weird-name.x", 1));

  const std::string t = FormatPrometheus(ms);
  // One HELP and TYPE per family, before its series; both series of a family together.
  CHECK(CountOf(t, "# TYPE beacon_dns_answers_total counter\n") == 1);
  CHECK(Has(t,
            "# HELP beacon_dns_answers_total DNS replies.\n"
            "# TYPE beacon_dns_answers_total counter\n"
            "beacon_dns_answers_total{qtype=\"A\",rcode=\"NOERROR\"} 5\n"
            "beacon_dns_answers_total{qtype=\"SRV\",rcode=\"NXDOMAIN\"} 2\n"));
  CHECK(Has(t, "# TYPE consul_state_nodes gauge\nconsul_state_nodes 3\n"));
  // Prometheus' own names are kept; no second _total.
  CHECK(Has(t,
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "
            "1048576\n"));
  CHECK(Has(t, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 0.25\n"));
  CHECK_FALSE(Has(t, "_total_total"));
  // Escaping: HELP (backslash, newline), label values (backslash, quote, newline).
  CHECK(Has(t, "# HELP beacon_http_requests_total line one\\nline \\\\two\n"));
  CHECK(Has(t, "beacon_http_requests_total{route=\"/v1/kv/\\\"odd\\\"\\\\path\\n\"} 1\n"));
  // Sanitized name.
  CHECK(Has(t, "# TYPE beacon_weird_name_x gauge\nbeacon_weird_name_x 1\n"));
  // Histogram: cumulative buckets with le, +Inf = count, sum in seconds.
  CHECK(Has(t, "# TYPE beacon_dns_answer_duration_seconds histogram\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"1e-06\"} 0\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"2e-06\"} 3\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"0.004096\"} 3\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"0.008192\"} 4\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"1.048576\"} 4\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_count 5\n"));
  CHECK(Has(t, "beacon_dns_answer_duration_seconds_sum 5.0050045\n"));
  CHECK(CountOf(t, "beacon_dns_answer_duration_seconds_bucket{") == kBuckets);
  // Families sorted by name; every line is a comment or "name[{labels}] value".
  CHECK(t.find("# TYPE beacon_") < t.find("# TYPE consul_"));
  CHECK(t.find("# TYPE consul_") < t.find("# TYPE process_"));
  CHECK(t.back() == '\n');
}

TEST_CASE("prometheus text: a histogram with labels puts le last") {
  HistogramValue h;
  h.Observe(10'000);
  Metric m = HistogramMetric("beacon.http.request_duration_seconds", h);
  m.labels["route"] = "/v1/kv/";
  m.labels["method"] = "PUT";
  const std::string t = FormatPrometheus({m});
  CHECK(Has(t,
            "beacon_http_request_duration_seconds_bucket{method=\"PUT\",route=\"/v1/kv/\","
            "le=\"1.6e-05\"} 1\n"));
  CHECK(Has(t,
            "beacon_http_request_duration_seconds_sum{method=\"PUT\",route=\"/v1/kv/\"} "
            "1e-05\n"));
  CHECK(Has(t, "beacon_http_request_duration_seconds_count{method=\"PUT\",route=\"/v1/kv/\"} 1\n"));
}

TEST_CASE("consul JSON: go-metrics' InmemSink display shape") {
  std::vector<Metric> ms;
  Metric g = Gauge("consul.state.nodes", 3);
  ms.push_back(g);
  Metric c = CounterMetric("beacon.dns.queries", 20);
  c.labels["k"] = "v";
  ms.push_back(c);
  HistogramValue h;
  h.Observe(1'000'000);  // 1 ms
  h.Observe(3'000'000);  // 3 ms
  ms.push_back(HistogramMetric("beacon.kv.commit_duration_seconds", h));
  // 2026-12-02 14:00:07 UTC: the timestamp is the start of its 10 s interval.
  const std::string j = FormatConsulJson(ms, 1796220007000ull, 10.0);
  CHECK(j.rfind(R"({"Timestamp":"2026-12-02 14:00:00 +0000 UTC","Gauges":[)", 0) == 0);
  CHECK(Has(j, R"("Gauges":[{"Name":"consul.state.nodes","Value":3,"Labels":{}}],"Points":[],)"));
  CHECK(Has(j, R"("Counters":[{"Name":"beacon.dns.queries","Count":20,"Rate":2,"Sum":20,)"
               R"("Min":1,"Max":1,"Mean":1,"Stddev":0,"Labels":{"k":"v"}}],)"));
  // Samples in milliseconds, like Consul's timers.
  CHECK(Has(j, R"("Samples":[{"Name":"beacon.kv.commit_duration_seconds","Count":2,"Rate":0.4,)"
               R"("Sum":4,"Min":1,"Max":3,"Mean":2,"Stddev":1.4142135623730951,"Labels":{}}]})"));
}

TEST_CASE("hostname prefix: Consul's gauges only") {
  std::vector<Metric> ms = {Gauge("consul.state.nodes", 1), Gauge("beacon.http.connections", 1),
                            CounterMetric("consul.dns.stale_queries", 1)};
  PrefixHostname(&ms, "web-1");
  CHECK(ms[0].name == "consul.web-1.state.nodes");
  CHECK(ms[1].name == "beacon.http.connections");
  CHECK(ms[2].name == "consul.dns.stale_queries");
  CHECK(Has(FormatPrometheus(ms), "consul_web_1_state_nodes 1\n"));
  PrefixHostname(&ms, "");  // disable_hostname: nothing changes
  CHECK(ms[0].name == "consul.web-1.state.nodes");
}

TEST_CASE("JsonWriter doubles: Go's layout") {
  beacon::core::JsonWriter w;
  w.BeginArray().Double(3).Double(0.5).Double(1e-7).Double(1e21).Double(-2.25).Double(NAN);
  w.EndArray();
  CHECK(w.str() == "[3,0.5,1e-07,1e+21,-2.25,0]");
}

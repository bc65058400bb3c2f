// HttpMetrics: the request metrics of one HttpServer.
//
// Contract:
// - Record() is called by the server's loop thread once per final response: the route pattern
//   the router matched ("/v1/catalog/service/"; null when none did, e.g. 404 or a malformed
//   request: shown as "unmatched"), the method, the status code and the time from the request's
//   last byte to its response being queued (a blocking query's includes its wait). `route`
//   points into the Router, which outlives this object; a known series costs two map lookups
//   and no allocation.
// - SetOpen() (loop thread) publishes the open connection and parked blocking query counts.
// - Append() may be called from any thread; a short mutex guards the series maps (the loop
//   thread holds it for one map update per request).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/core/metrics.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::http {

class HttpMetrics {
 public:
  void Record(const std::string* route, std::string_view method, int code, uint64_t ns);
  void SetOpen(size_t conns, size_t blocking) {
    conns_.store(conns, std::memory_order_relaxed);
    blocking_.store(blocking, std::memory_order_relaxed);
  }
  // beacon.http.requests{route,method,code} (counter), beacon.http.request_duration{route,
  // method} (histogram), beacon.http.connections and beacon.http.blocking_queries (gauges).
  void Append(std::vector<metrics::Metric>* out) const;

 private:
  using Route = std::pair<const std::string*, std::string>;  // (pattern, method)
  mutable Mutex mu_;
  std::map<std::pair<Route, int>, uint64_t> counts_ GUARDED_BY(mu_);
  std::map<Route, metrics::HistogramValue> durations_ GUARDED_BY(mu_);
  std::atomic<uint64_t> conns_{0};
  std::atomic<uint64_t> blocking_{0};
};

}  // namespace beacon::http

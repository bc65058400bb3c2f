// HttpMetrics. See include/beacon/http/http_metrics.h.
#include "beacon/http/http_metrics.h"

namespace beacon::http {

void HttpMetrics::Record(std::string_view route, std::string_view method, int code, uint64_t ns) {
  MutexLock lock(&mu_);
  auto key = std::make_tuple(std::string(route), std::string(method), code);
  ++counts_[key];
  durations_[{std::move(std::get<0>(key)), std::move(std::get<1>(key))}].Observe(ns);
}

void HttpMetrics::Append(std::vector<metrics::Metric>* out) const {
  {
    MutexLock lock(&mu_);
    for (const auto& [key, n] : counts_) {
      metrics::Metric m = metrics::CounterMetric(
          "beacon.http.requests", static_cast<double>(n),
          "HTTP API requests answered, by route pattern, method and status code.");
      m.labels["route"] = std::get<0>(key);
      m.labels["method"] = std::get<1>(key);
      m.labels["code"] = std::to_string(std::get<2>(key));
      out->push_back(std::move(m));
    }
    for (const auto& [key, h] : durations_) {
      metrics::Metric m = metrics::HistogramMetric(
          "beacon.http.request_duration_seconds", h,
          "HTTP API request time from the request's last byte to its response (seconds).");
      m.labels["route"] = key.first;
      m.labels["method"] = key.second;
      out->push_back(std::move(m));
    }
  }
  out->push_back(metrics::Gauge("beacon.http.connections",
                                static_cast<double>(conns_.load(std::memory_order_relaxed)),
                                "Open HTTP API connections."));
  out->push_back(metrics::Gauge("beacon.http.blocking_queries",
                                static_cast<double>(blocking_.load(std::memory_order_relaxed)),
                                "Blocking queries parked, waiting for their index to move."));
}

}  // namespace beacon::http

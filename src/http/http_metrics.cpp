// HttpMetrics. See include/beacon/http/http_metrics.h.
#include "beacon/http/http_metrics.h"

namespace beacon::http {

namespace {

std::string RouteName(const std::string* route) {
  return route != nullptr ? *route : std::string("unmatched");
}

}  // namespace

void HttpMetrics::Record(const std::string* route, std::string_view method, int code, uint64_t ns) {
  Route r(route, std::string(method));  // methods fit in the short-string buffer
  MutexLock lock(&mu_);
  auto c = counts_.find({r, code});
  if (c == counts_.end()) c = counts_.emplace(std::make_pair(r, code), 0).first;
  ++c->second;
  auto d = durations_.find(r);
  if (d == durations_.end()) d = durations_.emplace(std::move(r), metrics::HistogramValue{}).first;
  d->second.Observe(ns);
}

void HttpMetrics::Append(std::vector<metrics::Metric>* out) const {
  {
    MutexLock lock(&mu_);
    for (const auto& [key, n] : counts_) {
      metrics::Metric m = metrics::CounterMetric(
          "beacon.http.requests", static_cast<double>(n),
          "HTTP API requests answered, by route pattern, method and status code.");
      m.labels["route"] = RouteName(key.first.first);
      m.labels["method"] = key.first.second;
      m.labels["code"] = std::to_string(key.second);
      out->push_back(std::move(m));
    }
    for (const auto& [key, h] : durations_) {
      metrics::Metric m = metrics::HistogramMetric(
          "beacon.http.request_duration_seconds", h,
          "HTTP API request time from the request's last byte to its response (seconds).");
      m.labels["route"] = RouteName(key.first);
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

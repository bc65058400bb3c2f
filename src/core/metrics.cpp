// Metric cells and their two written forms. See include/beacon/core/metrics.h.
#include "beacon/core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

#include "beacon/core/json_writer.h"

namespace beacon::metrics {

double BucketUpperSeconds(int i) {
  if (i >= kBuckets - 1) return std::numeric_limits<double>::infinity();
  return std::ldexp(1e-6, i);
}

uint64_t HistogramValue::Count() const {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

void HistogramValue::Add(const HistogramValue& o) {
  const bool had = Count() != 0;
  const bool other = o.Count() != 0;
  for (int i = 0; i < kBuckets; ++i) buckets[i] += o.buckets[i];
  sum_ns += o.sum_ns;
  sumsq_ns2 += o.sumsq_ns2;
  if (other) {
    min_ns = had ? std::min(min_ns, o.min_ns) : o.min_ns;
    max_ns = std::max(max_ns, o.max_ns);
  }
}

void HistogramValue::Observe(uint64_t ns, uint64_t n) {
  if (n == 0) return;
  if (Count() == 0 || ns < min_ns) min_ns = ns;
  max_ns = std::max(max_ns, ns);
  buckets[BucketOf(ns)] += n;
  sum_ns += ns * n;
  sumsq_ns2 += static_cast<double>(ns) * static_cast<double>(ns) * static_cast<double>(n);
}

HistogramValue Histogram::Read() const {
  HistogramValue v;
  for (int i = 0; i < kBuckets; ++i) v.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  v.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  v.min_ns = min_ns_.load(std::memory_order_relaxed);
  v.max_ns = max_ns_.load(std::memory_order_relaxed);
  v.sumsq_ns2 = sumsq_.load(std::memory_order_relaxed);
  return v;
}

Metric Gauge(std::string name, double v, std::string help) {
  Metric m;
  m.kind = Metric::Kind::kGauge;
  m.name = std::move(name);
  m.value = v;
  m.help = std::move(help);
  return m;
}

Metric CounterMetric(std::string name, double v, std::string help) {
  Metric m = Gauge(std::move(name), v, std::move(help));
  m.kind = Metric::Kind::kCounter;
  return m;
}

Metric HistogramMetric(std::string name, const HistogramValue& h, std::string help) {
  Metric m = Gauge(std::move(name), 0, std::move(help));
  m.kind = Metric::Kind::kHistogram;
  m.hist = h;
  return m;
}

namespace {

bool ValidNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

std::string Sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 1);
  if (!s.empty() && !ValidNameChar(s[0], true) && ValidNameChar(s[0], false)) out += '_';
  for (char c : s) out += ValidNameChar(c, false) ? c : '_';
  return out;
}

void AppendNumber(std::string* out, double v) {
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// HELP text escaping: backslash and newline.
std::string HelpEscape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendLabels(std::string* out, const std::map<std::string, std::string>& labels,
                  const char* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  *out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) *out += ',';
    first = false;
    out->append(Sanitize(k)).append("=\"").append(PromEscape(v)).append("\"");
  }
  if (le != nullptr) {
    if (!first) *out += ',';
    out->append("le=\"").append(le).append("\"");
  }
  *out += '}';
}

void AppendSeries(std::string* out, const std::string& name, const Metric& m) {
  if (m.kind != Metric::Kind::kHistogram) {
    out->append(name);
    AppendLabels(out, m.labels);
    *out += ' ';
    AppendNumber(out, m.value);
    *out += '\n';
    return;
  }
  uint64_t cum = 0;
  for (int i = 0; i < kBuckets; ++i) {
    cum += m.hist.buckets[i];
    std::string le;
    AppendNumber(&le, BucketUpperSeconds(i));
    out->append(name).append("_bucket");
    AppendLabels(out, m.labels, le.c_str());
    *out += ' ';
    out->append(std::to_string(cum)).append("\n");
  }
  out->append(name).append("_sum");
  AppendLabels(out, m.labels);
  *out += ' ';
  AppendNumber(out, static_cast<double>(m.hist.sum_ns) / 1e9);
  out->append("\n").append(name).append("_count");
  AppendLabels(out, m.labels);
  out->append(" ").append(std::to_string(cum)).append("\n");
}

const char* TypeName(Metric::Kind k) {
  switch (k) {
    case Metric::Kind::kCounter:
      return "counter";
    case Metric::Kind::kHistogram:
      return "histogram";
    case Metric::Kind::kGauge:
      break;
  }
  return "gauge";
}

void Labels(core::JsonWriter& w, const std::map<std::string, std::string>& labels) {
  w.Key("Labels").BeginObject();
  for (const auto& [k, v] : labels) w.Key(k).String(v);
  w.EndObject();
}

void Sampled(core::JsonWriter& w, const std::string& name, uint64_t count, double sum, double min,
             double max, double stddev, double uptime_s,
             const std::map<std::string, std::string>& labels) {
  w.BeginObject().Key("Name").String(name).Key("Count").Uint(count);
  w.Key("Rate").Double(uptime_s > 0 ? sum / uptime_s : 0).Key("Sum").Double(sum);
  w.Key("Min").Double(min).Key("Max").Double(max);
  w.Key("Mean").Double(count > 0 ? sum / static_cast<double>(count) : 0);
  w.Key("Stddev").Double(stddev);
  Labels(w, labels);
  w.EndObject();
}

}  // namespace

std::string PromEscape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PromName(const Metric& m) {
  std::string name = Sanitize(m.name);
  if (m.kind == Metric::Kind::kCounter && m.name.rfind("beacon.", 0) == 0 &&
      !(name.size() >= 6 && name.compare(name.size() - 6, 6, "_total") == 0)) {
    name += "_total";
  }
  return name;
}

std::string FormatPrometheus(const std::vector<Metric>& ms) {
  std::vector<std::pair<std::string, const Metric*>> order;
  order.reserve(ms.size());
  for (const Metric& m : ms) order.emplace_back(PromName(m), &m);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  const std::string* last = nullptr;
  for (const auto& [name, m] : order) {
    if (last == nullptr || *last != name) {
      out.append("# HELP ").append(name).append(" ");
      out.append(HelpEscape(m->help.empty() ? m->name : m->help));
      out.append("\n# TYPE ").append(name).append(" ").append(TypeName(m->kind)).append("\n");
      last = &name;
    }
    AppendSeries(&out, name, *m);
  }
  return out;
}

std::string FormatConsulJson(const std::vector<Metric>& ms, uint64_t wall_ms, double uptime_s) {
  std::vector<const Metric*> sorted;
  sorted.reserve(ms.size());
  for (const Metric& m : ms) sorted.push_back(&m);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Metric* a, const Metric* b) { return a->name < b->name; });
  std::time_t now = static_cast<std::time_t>(wall_ms / 1000);
  now -= now % 10;
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[64];
  std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  core::JsonWriter w;
  w.BeginObject().Key("Timestamp").String(ts).Key("Gauges").BeginArray();
  for (const Metric* m : sorted) {
    if (m->kind != Metric::Kind::kGauge) continue;
    w.BeginObject().Key("Name").String(m->name).Key("Value").Double(m->value);
    Labels(w, m->labels);
    w.EndObject();
  }
  w.EndArray().Key("Points").BeginArray().EndArray().Key("Counters").BeginArray();
  for (const Metric* m : sorted) {
    if (m->kind != Metric::Kind::kCounter) continue;
    // Every increment is one event: Count = Sum, each sample is 1.
    const double one = m->value > 0 ? 1 : 0;
    Sampled(w, m->name, static_cast<uint64_t>(m->value), m->value, one, one, 0, uptime_s,
            m->labels);
  }
  w.EndArray().Key("Samples").BeginArray();
  for (const Metric* m : sorted) {
    if (m->kind != Metric::Kind::kHistogram) continue;
    const uint64_t n = m->hist.Count();
    const double sum = static_cast<double>(m->hist.sum_ns) / 1e6;  // ms, like Consul's timers
    double stddev = 0;
    if (n > 1) {
      const double dn = static_cast<double>(n);
      const double var = (m->hist.sumsq_ns2 / 1e12 - sum * sum / dn) / (dn - 1);  // ms^2
      stddev = var > 0 ? std::sqrt(var) : 0;
    }
    Sampled(w, m->name, n, sum, static_cast<double>(m->hist.min_ns) / 1e6,
            static_cast<double>(m->hist.max_ns) / 1e6, stddev, uptime_s, m->labels);
  }
  w.EndArray().EndObject();
  return w.Take();
}

void PrefixHostname(std::vector<Metric>* ms, std::string_view hostname) {
  if (hostname.empty()) return;
  for (Metric& m : *ms) {
    if (m.kind != Metric::Kind::kGauge || m.name.rfind("consul.", 0) != 0) continue;
    m.name.insert(7, std::string(hostname) + ".");
  }
}

}  // namespace beacon::metrics

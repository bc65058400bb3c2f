// The agent's metric sources. See agent_metrics.h.
#include "agent_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "beacon/health/runner.h"
#include "beacon/kv/store.h"
#include "beacon/net/dns_server.h"

namespace beacon::agent {
namespace {

using metrics::CounterMetric;
using metrics::Gauge;

// Fields of /proc/self/stat after the command name, 0-based from field 3 (state).
bool ReadStat(std::vector<std::string>* fields) {
  std::ifstream f("/proc/self/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  const size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return false;
  std::istringstream in(line.substr(close + 1));
  std::string x;
  while (in >> x) fields->push_back(x);
  return fields->size() > 21;
}

// /proc/stat's btime: the boot time in seconds since the epoch.
uint64_t BootTime() {
  std::ifstream f("/proc/stat");
  std::string key;
  uint64_t v = 0;
  while (f >> key) {
    if (key == "btime") {
      f >> v;
      return v;
    }
    f.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  double n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void AppendProcessMetrics(std::vector<http::Metric>* out) {
  std::vector<std::string> f;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (ReadStat(&f) && tick > 0) {
    // state=0 ... utime=11 stime=12 ... num_threads=17 ... starttime=19 vsize=20 rss=21
    const double utime = std::strtod(f[11].c_str(), nullptr);
    const double stime = std::strtod(f[12].c_str(), nullptr);
    out->push_back(CounterMetric("process_cpu_seconds_total", (utime + stime) / tick,
                                 "Total user and system CPU time spent in seconds."));
    out->push_back(Gauge("process_threads", std::strtod(f[17].c_str(), nullptr),
                         "Number of OS threads in the process."));
    out->push_back(Gauge("process_virtual_memory_bytes", std::strtod(f[20].c_str(), nullptr),
                         "Virtual memory size in bytes."));
    out->push_back(Gauge("process_resident_memory_bytes",
                         std::strtod(f[21].c_str(), nullptr) * page,
                         "Resident memory size in bytes."));
    if (const uint64_t boot = BootTime(); boot != 0) {
      out->push_back(Gauge("process_start_time_seconds",
                           static_cast<double>(boot) + std::strtod(f[19].c_str(), nullptr) / tick,
                           "Start time of the process since unix epoch in seconds."));
    }
  }
  if (const double fds = OpenFds(); fds >= 0) {
    out->push_back(Gauge("process_open_fds", fds, "Number of open file descriptors."));
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    out->push_back(Gauge("process_max_fds", static_cast<double>(rl.rlim_cur),
                         "Maximum number of open file descriptors."));
  }
}

void AppendDnsMetrics(const net::DnsServer& dns, std::vector<http::Metric>* out) {
  const dns::Counters c = dns.Stats();
  const struct {
    const char* name;
    uint64_t v;
    const char* help;
  } counters[] = {
      {"beacon.dns.queries", c.queries, "DNS queries received (UDP and TCP)."},
      {"beacon.dns.nxdomain", c.nxdomain, "DNS answers with NXDOMAIN."},
      {"beacon.dns.refused", c.refused, "DNS queries refused (outside the domain)."},
      {"beacon.dns.malformed", c.formerr, "DNS queries answered FORMERR (malformed)."},
      {"beacon.dns.dropped", c.dropped,
       "DNS packets dropped unanswered (unparseable, responses, unsendable)."},
      {"beacon.dns.truncated", c.truncated, "DNS answers truncated to fit."},
      {"beacon.dns.forwarded", c.forwarded, "DNS queries relayed to the recursors."},
      {"beacon.dns.udp_waits", c.udp_waits,
       "Receive-coalescing waits under load (dns_udp_batch_wait) before reading UDP again."},
  };
  for (const auto& x : counters) {
    out->push_back(CounterMetric(x.name, static_cast<double>(x.v), x.help));
  }
  const net::DnsMetricsTotals t = dns.Metrics();
  for (int q = 0; q < net::kDnsTypes; ++q) {
    for (int r = 0; r < net::kDnsRcodes; ++r) {
      if (t.answers[q][r] == 0) continue;
      http::Metric m = CounterMetric("beacon.dns.answers", static_cast<double>(t.answers[q][r]),
                                     "DNS replies sent, by query type and response code.");
      m.labels["qtype"] = net::DnsTypeName(q);
      m.labels["rcode"] = net::DnsRcodeName(r);
      out->push_back(std::move(m));
    }
  }
  out->push_back(metrics::HistogramMetric(
      "beacon.dns.answer_duration_seconds", t.latency,
      "Time from receiving a DNS query (its recvmmsg batch) to its reply being ready."));
}

void AppendHealthMetrics(const health::Runner& runner, std::vector<http::Metric>* out) {
  static constexpr const char* kKinds[] = {"none", "script", "http", "tcp", "udp", "alias"};
  static constexpr catalog::Health kStatuses[] = {
      catalog::Health::kPassing, catalog::Health::kWarning, catalog::Health::kCritical};
  for (int k = 1; k < 6; ++k) {
    for (catalog::Health h : kStatuses) {
      const uint64_t n = runner.RunCount(static_cast<health::Kind>(k), h);
      if (n == 0) continue;
      http::Metric m = CounterMetric("beacon.health.check_runs", static_cast<double>(n),
                                     "Health check probes finished, by check type and result.");
      m.labels["type"] = kKinds[k];
      m.labels["status"] = std::string(catalog::HealthName(h));
      out->push_back(std::move(m));
    }
  }
}

void AppendKvMetrics(const kv::Store& store, std::vector<http::Metric>* out) {
  const kv::StoreStats& s = store.stats();
  for (int v = 0; v < kv::StoreStats::kVerbs; ++v) {
    const uint64_t n = s.ops[v].Read();
    if (n == 0) continue;
    http::Metric m = CounterMetric("beacon.kv.ops", static_cast<double>(n),
                                   "KV operations applied (PUT, DELETE, txn), by verb.");
    m.labels["verb"] = kv::VerbName(static_cast<kv::Verb>(v));
    out->push_back(std::move(m));
  }
  out->push_back(metrics::HistogramMetric(
      "beacon.kv.commit_duration_seconds", s.commit.Read(),
      "KV store commits (a group commit: every write of the batch, durable) in seconds."));
}

}  // namespace beacon::agent

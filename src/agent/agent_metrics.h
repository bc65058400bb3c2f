// The agent's metric sources for /v1/agent/metrics (internal to src/agent). Each appends the
// current values of one module; all are safe from any thread (they read relaxed counters or
// take the module's own short locks).
#pragma once

#include <vector>

#include "beacon/api/agent_api.h"

namespace beacon::net {
class DnsServer;
}
namespace beacon::health {
class Runner;
}
namespace beacon::kv {
class Store;
}

namespace beacon::agent {

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_threads, process_start_time_seconds (Prometheus'
// standard process collector names), read from /proc/self. Nothing is appended for a value that
// cannot be read.
void AppendProcessMetrics(std::vector<http::Metric>* out);
// beacon.dns.*: queries, answers by qtype/rcode, latency histogram, dropped, malformed, ...
void AppendDnsMetrics(const net::DnsServer& dns, std::vector<http::Metric>* out);
// beacon.health.check_runs{type,status}.
void AppendHealthMetrics(const health::Runner& runner, std::vector<http::Metric>* out);
// beacon.kv.ops{verb}, beacon.kv.commit_seconds (histogram).
void AppendKvMetrics(const kv::Store& store, std::vector<http::Metric>* out);

}  // namespace beacon::agent

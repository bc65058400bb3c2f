// bench_publish: catalog load and republish cost at scale.
//   build/bench/bench_publish [services=100000]
// Prints: load time for N services x 3 instances (3N nodes), RSS per instance, and the median
// and p99 time to flip one check and publish a new snapshot (what a health change costs): a
// per-instance check when a second argument is given, else a node-level check.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"

namespace {

long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace beacon::catalog;
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  SnapshotHub hub;
  Writer w(hub, "bench", "dc1", {});
  w.Publish(true);
  const long rss0 = RssKb();
  const size_t heap0 = mallinfo2().uordblks;
  const auto t0 = std::chrono::steady_clock::now();
  Registration reg;
  reg.services.resize(1);
  reg.checks.resize(argc > 2 ? 1 : 0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) {
      const int node = i * 3 + j;
      reg.node.name = "node" + std::to_string(node);
      reg.node.address = "10." + std::to_string((node >> 16) & 255) + "." +
                         std::to_string((node >> 8) & 255) + "." + std::to_string(node & 255);
      Service& s = reg.services[0];
      s.name = s.id = "svc" + std::to_string(i);
      s.port = static_cast<uint16_t>(20000 + i % 10000);
      if (reg.checks.empty()) {
        if (!w.Apply(reg).ok()) return 1;
        continue;
      }
      Check& c = reg.checks[0];
      c.id = "chk";
      c.service_id = s.id;
      c.status = Health::kPassing;
      if (!w.Apply(reg).ok()) return 1;
    }
  }
  w.Publish();
  const auto t1 = std::chrono::steady_clock::now();
  const long rss1 = RssKb();
  const size_t heap1 = mallinfo2().uordblks;
  if (reg.checks.empty()) {
    // Without per-instance checks, flip a node-level check (added after the memory sample) on
    // the nodes the loop below touches: every service on that node is re-derived.
    for (int k = 0; k < 201; ++k) {
      Check c;
      c.id = "chk";
      c.status = Health::kPassing;
      if (!w.UpsertCheck("node" + std::to_string((k * 7919) % n * 3), c).ok()) return 1;
    }
    w.Publish();
  }
  std::vector<double> flips;
  for (int k = 0; k < 201; ++k) {
    const int svc = (k * 7919) % n;
    const std::string node = "node" + std::to_string(svc * 3);
    const auto a = std::chrono::steady_clock::now();
    w.UpdateCheck(node, "chk", k % 2 ? Health::kPassing : Health::kCritical, "");
    w.Publish();
    flips.push_back(Ms(std::chrono::steady_clock::now() - a));
  }
  std::sort(flips.begin(), flips.end());
  std::printf(
      "services=%d instances=%d load_ms=%.0f rss_mb=%.1f bytes_per_instance=%.0f "
      "heap_bytes_per_instance=%.0f flip_publish_ms_p50=%.3f flip_publish_ms_p99=%.3f\n",
      n, 3 * n, Ms(t1 - t0), rss1 / 1024.0, (rss1 - rss0) * 1024.0 / (3.0 * n),
      static_cast<double>(heap1 - heap0) / (3.0 * n), flips[flips.size() / 2],
      flips[flips.size() * 99 / 100]);
  return 0;
}

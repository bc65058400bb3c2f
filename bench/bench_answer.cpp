// bench_answer: ns per query through dns::Answer (no sockets) for the compare.sh query mix.
//   build/bench/bench_answer [services=1000] [rounds=50]   (each round: 20,000 queries)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"

// Last: golden_util.h pulls in ldns, whose macros break C++ standard headers included after it.
#include "../tests/golden/golden_util.h"

int main(int argc, char** argv) {
  using namespace beacon;
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  catalog::SnapshotHub hub;
  catalog::Writer w(hub, "bench", "dc1", {});
  catalog::Registration reg;
  reg.services.resize(1);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) {
      const int node = i * 3 + j;
      reg.node.name = "node" + std::to_string(node);
      reg.node.address = "10." + std::to_string((node >> 16) & 255) + "." +
                         std::to_string((node >> 8) & 255) + "." + std::to_string(node & 255);
      reg.services[0].name = reg.services[0].id = "svc" + std::to_string(i);
      reg.services[0].port = static_cast<uint16_t>(20000 + i % 10000);
      if (!w.Apply(reg).ok()) return 1;
    }
  }
  w.Publish();
  auto snap = hub.Current();
  std::vector<std::vector<uint8_t>> qs;
  for (int i = 0; i < 20000; ++i) {
    const int s = (i * 7919) % n;
    const int r = i % 20;
    if (r < 12)
      qs.push_back(golden::BuildQuery("svc" + std::to_string(s) + ".service.consul", "A"));
    else if (r < 14)
      qs.push_back(golden::BuildQuery("svc" + std::to_string(s) + ".service.consul", "SRV"));
    else if (r < 17)
      qs.push_back(golden::BuildQuery("_svc" + std::to_string(s) + "._tcp.service.consul", "SRV"));
    else if (r < 19)
      qs.push_back(golden::BuildQuery("node" + std::to_string(s * 3) + ".node.consul", "A"));
    else
      qs.push_back(golden::BuildQuery("nosuch" + std::to_string(s) + ".service.consul", "A"));
  }
  auto* scratch = new dns::Scratch(1);
  dns::Counters c;
  std::vector<uint8_t> out(4096);
  size_t bytes = 0;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 50;
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < rounds; ++k) {
    for (const auto& q : qs) {
      bytes += dns::Answer(*snap, q.data(), q.size(), dns::Transport::kUdp, out.data(), out.size(),
                           *scratch, c)
                   .len;
    }
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  const double per = ns / (static_cast<double>(qs.size()) * rounds);
  std::printf("services=%d ns_per_answer=%.0f answers_per_s=%.0f avg_reply_bytes=%.0f\n", n, per,
              1e9 / per, static_cast<double>(bytes) / (static_cast<double>(qs.size()) * rounds));
  delete scratch;
  return 0;
}

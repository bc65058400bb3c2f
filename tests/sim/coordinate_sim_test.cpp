// Network coordinates on whole Serf agents (agent_sim.h): two sites, 1 ms one way inside each and
// 15 ms one way between them. Every agent's coordinates, learnt from its probes' acks alone,
// must estimate the RTTs and rank same-site nodes nearer than the other site's.
#include <doctest.h>

#include <algorithm>

#include "agent_sim.h"
#include "beacon/gossip/coordinate.h"

using namespace beacon::sim;
using beacon::gossip::Coordinate;
using beacon::gossip::DistanceSeconds;

TEST_CASE("sim: Vivaldi coordinates converge across two sites and rank the near site first") {
  constexpr std::size_t kN = 8;
  World<SimAgent> w(11, LinkSpec{0, 1, 0});
  auto site = [](std::size_t i) { return i < kN / 2 ? 0 : 1; };
  for (std::size_t i = 0; i < kN; ++i) w.Add(std::make_unique<SimAgent>(i, w.NodeSeed(i), w.now()));
  for (std::size_t i = 0; i < kN; ++i)
    for (std::size_t j = 0; j < kN; ++j)
      if (site(i) != site(j)) w.SetLink(i, j, LinkSpec{0, 15, 1});
  for (std::size_t i = 1; i < kN; ++i)
    w.Do(i, [](SimAgent& a, std::uint64_t now) { a.Join(now, 0); });
  w.RunUntil(w.now() + 300000);

  for (std::size_t i = 0; i < kN; ++i) {
    const auto& cache = w.node(i).serf().coordinates();
    REQUIRE(cache.size() == kN);  // every member probed at least once, ourselves included
    const Coordinate& me = w.node(i).serf().coordinate();
    CHECK(cache.at(SimAgent::Name(i)) == me);
    // Each peer's cached coordinate is what that peer last sent: close to its own current one.
    std::vector<std::pair<double, std::size_t>> by_rtt;
    for (std::size_t j = 0; j < kN; ++j) {
      if (j == i) continue;
      const double est = DistanceSeconds(me, cache.at(SimAgent::Name(j)));
      const double truth = site(i) == site(j) ? 0.002 : 0.030;
      INFO("node", i, " -> node", j, " estimated ", est * 1e3, " ms, true ", truth * 1e3, " ms");
      CHECK(est > truth * 0.5);
      CHECK(est < truth * 1.5 + 0.001);
      by_rtt.emplace_back(est, j);
    }
    std::sort(by_rtt.begin(), by_rtt.end());
    for (std::size_t k = 0; k < kN / 2 - 1; ++k) CHECK(site(by_rtt[k].second) == site(i));
  }
}

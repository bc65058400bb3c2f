// The gossip simulator at 10 and 100 nodes: deterministic replay, cluster formation, failure
// detection, no false positives at 10% loss (Lifeguard), stalled nodes, one change's
// dissemination and partition heal. Each case runs minutes of virtual time in about a second.
#include <doctest.h>

#include "agent_sim.h"
#include "membership_sim.h"

using namespace beacon::sim;
using beacon::gossip::Membership;
using beacon::gossip::NodeState;

namespace {

ClusterOptions Opts(std::size_t n, std::uint64_t seed) {
  ClusterOptions o;
  o.n = n;
  o.seed = seed;
  o.link = LinkSpec{0, 1, 2};
  return o;
}

// Kills a node, stalls another and runs 40 s with 5% loss; returns the trace hash.
std::uint64_t Continue(MemberCluster& c) {
  c.world().Kill(3);
  c.world().SetDefaultLink(LinkSpec{0.05, 2, 5});
  c.world().Stall(5, c.world().now() + 2000);
  c.world().RunUntil(c.world().now() + 40000);
  return c.world().trace_hash();
}

std::uint64_t TracedRun(std::uint64_t seed) {
  MemberCluster c(Opts(20, seed));
  REQUIRE(c.Form(60000) != kNever);
  return Continue(c);
}

}  // namespace

TEST_SUITE("sim") {
  TEST_CASE("the same seed replays byte for byte; another seed differs") {
    const std::uint64_t a = TracedRun(42), b = TracedRun(42), other = TracedRun(43);
    CHECK(a == b);
    CHECK(a != other);
  }

  TEST_CASE("a copied simulation runs on exactly like the original") {
    MemberCluster c(Opts(20, 42));
    REQUIRE(c.Form(60000) != kNever);
    MemberCluster copy(c);
    const std::uint64_t from_copy = Continue(copy), from_original = Continue(c);
    CHECK(from_copy == from_original);
    CHECK(from_copy == TracedRun(42));
  }

  TEST_CASE("a stalled node handles its queued inputs when the stall ends") {
    MemberCluster c(Opts(3, 1));
    REQUIRE(c.Form(30000) != kNever);
    auto& w = c.world();
    const std::uint64_t t0 = w.now();
    w.Stall(2, t0 + 3000);
    w.Do(0, [](Membership& m, std::uint64_t now) { m.UpdateMeta(now, {'x'}); });
    std::uint64_t seen_at = 0;
    c.on_event = [&](std::size_t obs, std::uint64_t now, const auto& e) {
      if (obs == 2 && e.member.name == "n0" && seen_at == 0) seen_at = now;
    };
    w.RunUntil(t0 + 10000);
    CHECK(seen_at >= t0 + 3000);
    CHECK(w.node(2).Find("n0")->meta == beacon::gossip::Bytes{'x'});
  }

  TEST_CASE("a partition cuts datagrams between groups and Heal restores them") {
    MemberCluster c(Opts(4, 2));
    REQUIRE(c.Form(30000) != kNever);
    auto& w = c.world();
    w.Partition({0, 0, 1, 1});
    w.RunUntil(w.now() + 120000);
    CHECK(c.View(0, 2) == NodeState::kDead);
    CHECK(c.View(2, 0) == NodeState::kDead);
    CHECK(c.View(0, 1) == NodeState::kAlive);
  }

  TEST_CASE("clusters of 10 and 100 form: everyone sees everyone alive") {
    for (std::size_t n : {10, 100}) {
      MemberCluster c(Opts(n, 7));
      const std::uint64_t t = c.Form(120000);
      CAPTURE(n);
      CHECK(t != kNever);
      CHECK(c.Converged());
      CHECK(c.world().node(n - 1).Members().size() == n);
    }
  }

  TEST_CASE("a killed node is suspected, then declared dead everywhere, with no collateral") {
    for (std::size_t n : {10, 100}) {
      for (std::uint64_t seed : {1, 2, 3}) {
        const auto c = FormCluster(Opts(n, seed));
        REQUIRE(c);
        const DetectResult r = FailureDetection(*c);
        CAPTURE(n);
        CAPTURE(seed);
        CHECK(r.all_suspect_or_dead_ms < 10000);
        CHECK(r.all_dead_ms <= (n == 10 ? 30000u : 60000u));  // within Lifeguard's max timeout
        CHECK(r.all_suspect_or_dead_ms <= r.all_dead_ms);
        CHECK(r.false_dead == 0);
      }
    }
  }

  TEST_CASE("10% loss for two minutes declares no healthy node dead (Lifeguard)") {
    for (std::size_t n : {10, 100}) {
      const auto c = FormCluster(Opts(n, 11));
      REQUIRE(c);
      const FalsePositiveResult r = FalsePositives(*c, 0.10, 2, 0, 0, 1);
      CAPTURE(n);
      REQUIRE(r.formed);
      CHECK(r.false_dead_events == 0);
      CHECK(r.falsely_dead_nodes == 0);
    }
  }

  TEST_CASE("stalled nodes at 10% loss do not get healthy nodes declared dead") {
    for (std::size_t n : {10, 100}) {
      const auto c = FormCluster(Opts(n, 12));
      REQUIRE(c);
      const FalsePositiveResult r = FalsePositives(*c, 0.10, 2, n / 10, 2000, 15000);
      CAPTURE(n);
      REQUIRE(r.formed);
      CHECK(r.false_dead_events == 0);
      CHECK(r.falsely_dead_nodes == 0);
    }
  }

  TEST_CASE("slow readers (every input 1 s late) at 10% loss: no healthy node declared dead") {
    for (std::size_t n : {10, 100}) {
      const auto c = FormCluster(Opts(n, 13));
      REQUIRE(c);
      const FalsePositiveResult r = FalsePositives(*c, 0.10, 2, n / 10, 1000, 1, true);
      CAPTURE(n);
      CHECK(r.false_dead_events == 0);
      CHECK(r.falsely_dead_nodes == 0);
      CHECK(r.max_health_score > 0);  // Lifeguard noticed: the slow node probes less often
    }
  }

  TEST_CASE("one meta update reaches every node within seconds") {
    for (std::size_t n : {10, 100}) {
      const auto c = FormCluster(Opts(n, 5));
      REQUIRE(c);
      const SpreadResult r = MetaDissemination(*c);
      CAPTURE(n);
      CHECK(r.p50_ms <= r.p99_ms);
      CHECK(r.all_ms < 5000);
    }
  }

  TEST_CASE("a long partition: memberlist alone stays split, Serf-style reconnect heals it") {
    for (std::size_t n : {10, 100}) {
      const auto c = FormCluster(Opts(n, 9));
      REQUIRE(c);
      CAPTURE(n);
      const PartitionResult alone = PartitionHeal(*c, 60000, 120000);
      CHECK(alone.all_dead_across_ms < 60000);  // each half declared the other dead
      CHECK(alone.heal_ms == kNever);           // dead nodes are neither probed nor pushed to
      const PartitionResult rejoin = PartitionHeal(*c, 60000, 300000, 30000);
      CHECK(rejoin.all_dead_across_ms < 60000);
      CHECK(rejoin.heal_ms < 120000);
    }
  }

  TEST_CASE("a partition shorter than the suspicion timeout heals by itself") {
    const auto c = FormCluster(Opts(100, 4));
    REQUIRE(c);
    const PartitionResult r = PartitionHeal(*c, 3000, 60000);
    CHECK(r.all_dead_across_ms == kNever);
    CHECK(r.heal_ms < 30000);
  }
}

TEST_SUITE("sim") {
  TEST_CASE(
      "Serf + CatalogSync agents: a registered service, then its check change, reach every agent's "
      "catalog") {
    for (std::size_t n : {10, 50}) {
      const AgentSpreadResult r = CatalogDissemination(n, 3, 0);
      CAPTURE(n);
      REQUIRE(r.form_ms != kNever);
      CHECK(r.p50_ms <= r.all_ms);
      CHECK(r.all_ms < 5000);
      // Then its check turns critical: every agent's catalog shows the instance critical.
      CHECK(r.check_p50_ms <= r.check_all_ms);
      CHECK(r.check_all_ms < 5000);
    }
  }

  TEST_CASE("Serf agents heal a long partition by themselves (Serf's reconnect)") {
    for (std::size_t n : {10, 50}) {
      CAPTURE(n);
      CHECK(AgentPartitionHeal(n, 9, 60000, 300000) < 120000);
    }
  }

  TEST_CASE("Serf + CatalogSync agents replay deterministically, also at 10% loss") {
    const AgentSpreadResult a = CatalogDissemination(10, 8, 0.10),
                            b = CatalogDissemination(10, 8, 0.10);
    CHECK(a.trace == b.trace);
    CHECK(a.all_ms == b.all_ms);
    CHECK(a.check_all_ms == b.check_all_ms);
    CHECK(a.all_ms < 30000);  // anti-entropy repairs what gossip loses
  }
}

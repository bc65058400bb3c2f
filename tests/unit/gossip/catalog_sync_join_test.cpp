// CatalogSync when an agent joins a settled cluster the way a real one does: it learns every
// member from one seed's push-pull, announces its own record, and the members hear that it is
// alive over the next rounds. Its services must reach every member within seconds, long before
// the next anti-entropy round (a 30 s interval here), however the gossip dice fall.
#include <doctest.h>

#include <string>

#include "catalog_sync_cluster.h"

using namespace synctest;

namespace {

CatalogSyncConfig SlowAntiEntropy() {
  CatalogSyncConfig c;
  c.anti_entropy_interval_ms = 30000;
  return c;
}

bool HasWeb(const Snapshot& s, const std::string& node) {
  const ServiceEntry* e = s.services.Find("web");
  if (e == nullptr) return false;
  for (const Instance& in : e->instances) {
    if (in.node->MatchesKey(node)) return true;
  }
  return false;
}

// Five settled agents; node5 joins through node0 with a "web" instance. The number of members
// that still lack node5's service `within_ms` after the join (0 when everyone has it).
int MissingAfterJoin(std::uint64_t seed, std::uint64_t within_ms) {
  Cluster c(seed, SlowAntiEntropy());
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil(
      [&] { return c.Everywhere([](const Snapshot& s) { return s.nodes.size() == 5; }); }, 12000));
  c.RunUntil([] { return false; }, 3000);  // every join broadcast long gone
  Agent& late = c.Add();
  Service web;
  web.name = web.id = "web";
  web.port = 80;
  late.Local(op::UpsertService{"node5", web, {}});
  c.Pump(late);
  // The seed's push-pull: the newcomer learns every member, the seed learns the newcomer.
  for (std::size_t j = 0; j < 5; ++j) {
    late.sync->OnMember(c.now(), c[j].name, Liveness::kAlive, true);
  }
  c[0].sync->OnMember(c.now(), "node5", Liveness::kAlive, true);
  late.sync->AnnounceSelf(c.now());
  c.Settle();
  // The others hear of it from gossip, one per round.
  for (std::size_t j = 1; j < 5; ++j) {
    c.Round();
    c[j].sync->OnMember(c.now(), "node5", Liveness::kAlive, true);
    c.Settle();
  }
  c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return HasWeb(s, "node5"); }); },
             within_ms);
  int missing = 0;
  for (std::size_t j = 0; j < 5; ++j) missing += HasWeb(*c[j].snap(), "node5") ? 0 : 1;
  return missing;
}

}  // namespace

TEST_CASE("a joiner's services reach every member within seconds, whatever the gossip dice") {
  int failed_joins = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const int missing = MissingAfterJoin(seed, 8000);
    if (missing != 0) {
      ++failed_joins;
      MESSAGE("seed " << seed << ": " << missing << " member(s) without node5's service");
    }
  }
  CHECK(failed_joins == 0);
}

TEST_CASE("a live peer whose record never came is pulled from that peer after the wait") {
  Cluster c(3, SlowAntiEntropy());
  c.Add();
  c.Add();
  Agent& a = c[0];
  a.sync->Tick(c.now());  // started (anti-entropy 30 s or more away)
  a.sync->OnMember(c.now(), "node1", Liveness::kAlive, true);
  a.sync->TakeSends();                                    // the join's digest exchange is lost
  const std::uint64_t wait = CatalogSync::kRecordWaitMs;  // ceil(log10(2 + 1)) = 1
  CHECK(a.sync->NextDeadline() == c.now() + wait);
  a.sync->Tick(c.now() + wait - 1);
  CHECK(a.sync->TakeSends().empty());
  a.sync->Tick(c.now() + wait);
  auto sends = a.sync->TakeSends();
  REQUIRE(sends.size() == 1);
  CHECK(std::get<0>(sends[0]) == "node1");
  CHECK(a.sync->stats().missing_pulls == 1);
  c[1].sync->NotifyMsg(std::get<1>(sends[0]));
  for (auto& [to, msg, reliable] : c[1].sync->TakeSends()) a.sync->NotifyMsg(msg);
  c.Pump(a);
  CHECK(a.snap()->nodes.Find("node1") != nullptr);
  // Once held, nothing more is pulled.
  a.sync->Tick(c.now() + 10 * wait);
  CHECK(a.sync->stats().missing_pulls == 1);
}

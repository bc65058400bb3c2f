// CatalogSync end to end on an in-memory cluster (catalog_sync_cluster.h): changes spread by
// deltas, anti-entropy repairs losses and late joiners, liveness becomes serfHealth and removal.
#include <doctest.h>

#include <string>

#include "beacon/catalog/record.h"
#include "beacon/gossip/catalog_sync_wire.h"
#include "catalog_sync_cluster.h"

using namespace synctest;
namespace catsync = beacon::gossip::catsync;

namespace {

Service Web(const std::string& id, uint16_t port) {
  Service s;
  s.name = "web";
  s.id = id;
  s.port = port;
  return s;
}

Check Chk(const std::string& id, Health h) {
  Check c;
  c.id = c.name = id;
  c.status = h;
  c.ttl_ms = 10000;
  return c;
}

// The instance `id` of "web" on `node` in the snapshot, or null.
const Instance* WebOn(const Snapshot& s, const std::string& node, const std::string& id = "web3") {
  const ServiceEntry* e = s.services.Find("web");
  if (e == nullptr) return nullptr;
  for (const Instance& in : e->instances) {
    if (in.node->MatchesKey(node) && in.service.id == id) return &in;
  }
  return nullptr;
}

// The anti-entropy counters summed over every agent of the cluster.
beacon::gossip::CatalogSyncStats Totals(Cluster& c) {
  beacon::gossip::CatalogSyncStats t;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const beacon::gossip::CatalogSyncStats& s = c[i].sync->stats();
    t.digests_sent += s.digests_sent;
    t.digest_sums_sent += s.digest_sums_sent;
    t.digest_sums_received += s.digest_sums_received;
    t.digest_sums_matched += s.digest_sums_matched;
    t.pushpull_sums_received += s.pushpull_sums_received;
    t.pushpull_sums_matched += s.pushpull_sums_matched;
    t.deltas_applied += s.deltas_applied;
  }
  return t;
}

const Check* NodeCheck(const Snapshot& s, const std::string& node, const std::string& id) {
  const NodeEntry* n = s.nodes.Find(node);
  if (n == nullptr) return nullptr;
  for (const Check& c : n->checks()) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

bool AllNodes(const Snapshot& s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (s.nodes.Find("node" + std::to_string(i)) == nullptr) return false;
  }
  return true;
}

// Three agents joined and settled, node1's queue drained; then `n` services registered on node1,
// returned as the deltas node1 broadcasts for them (not delivered).
std::vector<Bytes> SettledThenChangesOnNode1(Cluster& c, int n) {
  for (int i = 0; i < 3; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 3); }); },
                     12000));
  REQUIRE(c.RunUntil([&] { return c[1].sync->queued() == 0; }, 10000));
  for (int i = 1; i <= n; ++i) {
    c[1].Local(
        op::UpsertService{"node1", Web("w" + std::to_string(i), static_cast<uint16_t>(i)), {}});
  }
  c.Pump(c[1]);
  return c[1].sync->GetBroadcasts(2, 1400);
}

// The sends of one message type.
template <typename Sends>
Sends OfType(Sends sends, catsync::MsgType type) {
  std::erase_if(
      sends, [&](const auto& x) { return std::get<1>(x)[0] != static_cast<std::uint8_t>(type); });
  return sends;
}

}  // namespace

TEST_CASE("joining agents exchange digests and learn every node; serfHealth follows membership") {
  Cluster c(1);
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  CHECK(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 5); }); },
                   12000));
  // Each observer's view of the others: serfHealth passing (created once the node exists).
  CHECK(c.Everywhere([](const Snapshot& s) {
    for (int i = 0; i < 5; ++i) {
      const std::string n = "node" + std::to_string(i);
      if (n == s.self_node) continue;
      const Check* h = NodeCheck(s, n, "serfHealth");
      if (h == nullptr || h->status != Health::kPassing) return false;
    }
    return true;
  }));
}

TEST_CASE("a service registered on node 3 appears everywhere, and a check flip spreads") {
  Cluster c(2);
  for (int i = 0; i < 6; ++i) c.Add();
  c.JoinAll();
  c[3].Local(op::UpsertService{"node3", Web("web3", 8080), {Chk("web3-ttl", Health::kPassing)}});
  c.Pump(c[3]);
  REQUIRE(c.RunUntil(
      [&] { return c.Everywhere([](const Snapshot& s) { return WebOn(s, "node3") != nullptr; }); },
      12000));
  CHECK(c.Everywhere([](const Snapshot& s) { return s.services.Find("web")->n_passing == 1; }));
  const auto stats = c[3].sync->stats();
  CHECK(stats.deltas_queued >= 1);
  CHECK(stats.deltas_sent >= 1);

  c[3].Local(op::UpdateCheck{"node3", "web3-ttl", Health::kCritical, "timed out"});
  c.Pump(c[3]);
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          const Instance* in = WebOn(s, "node3");
          return in != nullptr && in->health == Health::kCritical &&
                 in->checks()[0].output == "timed out";
        });
      },
      12000));
  std::uint64_t applied = 0;
  for (std::size_t i = 0; i < c.size(); ++i) applied += c[i].sync->stats().deltas_applied;
  // Mostly as deltas (gossip may miss an agent now and then: anti-entropy repairs it).
  CHECK(applied >= c.size() - 1);
}

TEST_CASE("deltas lost on gossip are repaired by anti-entropy") {
  CatalogSyncConfig cfg;
  cfg.anti_entropy_interval_ms = 2000;
  Cluster c(3, cfg);
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 5); }); },
                     12000));
  c.set_loss(1.0);  // every broadcast is lost; reliable sends still arrive
  c[3].Local(op::UpsertService{"node3", Web("web3", 8080), {}});
  c[3].Local(op::UpsertCheck{"node3", Chk("mem", Health::kWarning)});
  c.Pump(c[3]);
  std::uint64_t deltas_before = 0;
  for (std::size_t i = 0; i < c.size(); ++i) deltas_before += c[i].sync->stats().deltas_applied;
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          return WebOn(s, "node3") != nullptr && NodeCheck(s, "node3", "mem") != nullptr;
        });
      },
      60000));
  std::uint64_t deltas = 0, digests = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    deltas += c[i].sync->stats().deltas_applied;
    digests += c[i].sync->stats().digests_sent;
  }
  CHECK(deltas == deltas_before);  // gossip got nothing through: digests and records did it
  CHECK(digests > 0);
}

TEST_CASE("in sync, periodic rounds are matching digest sums; a differing sum repairs the gap") {
  CatalogSyncConfig cfg = Cluster::Fast();
  cfg.anti_entropy_interval_ms = 1000;
  cfg.full_digest_every = 1000000;  // periodic rounds send only sums: repair must come from them
  Cluster c(7, cfg);
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 5); }); },
                     12000));
  c.RunUntil([] { return false; }, 2000);  // past each agent's first periodic round
  const beacon::gossip::CatalogSyncStats joined = Totals(c);
  c.RunUntil([] { return false; }, 10000);  // ten quiet rounds per agent
  const beacon::gossip::CatalogSyncStats quiet = Totals(c);
  CHECK(quiet.digest_sums_received - joined.digest_sums_received >= 30);
  CHECK(quiet.digest_sums_matched - joined.digest_sums_matched ==
        quiet.digest_sums_received - joined.digest_sums_received);
  CHECK(quiet.digests_sent == joined.digests_sent);  // no full digest while in sync

  c.set_loss(1.0);  // the change's broadcasts are all lost
  c[2].Local(op::UpsertService{"node2", Web("web3", 8080), {}});
  c.Pump(c[2]);
  c.RunUntil([] { return false; }, 3000);
  REQUIRE(c[2].sync->queued() == 0);  // gossip gave up on it
  CHECK(!c.Everywhere([](const Snapshot& s) { return WebOn(s, "node2") != nullptr; }));
  c.set_loss(0);
  CHECK(c.RunUntil(
      [&] { return c.Everywhere([](const Snapshot& s) { return WebOn(s, "node2") != nullptr; }); },
      20000));
  const beacon::gossip::CatalogSyncStats repaired = Totals(c);
  CHECK(repaired.deltas_applied == quiet.deltas_applied);  // not gossip: the sums found it
  CHECK(repaired.digests_sent > quiet.digests_sent);       // a peer whose sum differed answered
  CHECK(repaired.digest_sums_matched - quiet.digest_sums_matched <
        repaired.digest_sums_received - quiet.digest_sums_received);
}

TEST_CASE("push-pull carries the digest sum: no separate rounds in sync, a missed delta repaired") {
  CatalogSyncConfig cfg = Cluster::Fast();
  cfg.anti_entropy_interval_ms = 2000;
  Cluster c(11, cfg);
  c.set_push_pull_ms(2000);  // Serf's push-pull as often as anti-entropy (up to 32 nodes)
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 5); }); },
                     12000));
  c.RunUntil([] { return false; }, 4000);
  const beacon::gossip::CatalogSyncStats joined = Totals(c);
  c.RunUntil([] { return false; }, 20000);  // ten push-pull periods, in sync
  const beacon::gossip::CatalogSyncStats quiet = Totals(c);
  CHECK(quiet.pushpull_sums_received - joined.pushpull_sums_received >= 50);
  CHECK(quiet.pushpull_sums_matched - joined.pushpull_sums_matched ==
        quiet.pushpull_sums_received - joined.pushpull_sums_received);
  CHECK(quiet.digest_sums_sent == joined.digest_sums_sent);  // no separate round at all
  CHECK(quiet.digests_sent == joined.digests_sent);

  c.set_loss(1.0);  // every broadcast of the change is lost (push-pull is TCP: it arrives)
  c[3].Local(op::UpsertService{"node3", Web("web3", 8080), {}});
  c.Pump(c[3]);
  c.RunUntil([&] { return c[3].sync->queued() == 0; }, 5000);
  REQUIRE(c[3].sync->queued() == 0);  // gossip gave up on it
  CHECK(c.RunUntil(
      [&] { return c.Everywhere([](const Snapshot& s) { return WebOn(s, "node3") != nullptr; }); },
      20000));
  const beacon::gossip::CatalogSyncStats repaired = Totals(c);
  CHECK(repaired.deltas_applied == quiet.deltas_applied);      // gossip delivered nothing
  CHECK(repaired.digest_sums_sent == quiet.digest_sums_sent);  // nor a separate sum round
  CHECK(repaired.digests_sent > quiet.digests_sent);           // a push-pull's differing sum did it
  CHECK(repaired.pushpull_sums_matched - quiet.pushpull_sums_matched <
        repaired.pushpull_sums_received - quiet.pushpull_sums_received);
}

TEST_CASE("a node joining late gets everything through the digest exchange") {
  Cluster c(4);
  for (int i = 0; i < 4; ++i) c.Add();
  c.JoinAll();
  for (int i = 0; i < 4; ++i) {
    const std::string n = "node" + std::to_string(i);
    c[i].Local(op::UpsertService{n, Web("web" + std::to_string(i), 80), {}});
    c.Pump(c[i]);
  }
  REQUIRE(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          return s.services.Find("web") != nullptr && s.services.Find("web")->instances.size() == 4;
        });
      },
      12000));
  // Long after every broadcast is gone, node4 joins with a service of its own.
  c.RunUntil([] { return false; }, 5000);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].sync->queued() == 0);
  Agent& late = c.Add();
  late.Local(op::UpsertService{"node4", Web("web4", 80), {}});
  c.Pump(late);
  for (std::size_t j = 0; j < c.size(); ++j) {  // the newcomer learns everyone, everyone it
    late.sync->OnMember(c.now(), c[j].name, Liveness::kAlive, true);
  }
  c.SetMember(4, Liveness::kAlive);
  CHECK(late.snap()->services.Find("web") != nullptr);
  CHECK(late.snap()->services.Find("web")->instances.size() == 5);  // at once: one exchange
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          return s.services.Find("web") != nullptr && s.services.Find("web")->instances.size() == 5;
        });
      },
      12000));
}

TEST_CASE("failed makes a node's serfHealth critical everywhere; left removes it for good") {
  Cluster c(5);
  for (int i = 0; i < 5; ++i) c.Add();
  c.JoinAll();
  c[3].Local(op::UpsertService{"node3", Web("web3", 8080), {}});
  c.Pump(c[3]);
  REQUIRE(c.RunUntil(
      [&] { return c.Everywhere([](const Snapshot& s) { return WebOn(s, "node3") != nullptr; }); },
      12000));
  c.RunUntil([] { return false; }, 5000);  // broadcasts drained
  REQUIRE(!c[0].heard.empty());

  c[3].up = false;
  c.SetMember(3, Liveness::kSuspect);
  CHECK(c[0].snap()->nodes.Find("node3")->suspect);
  c.SetMember(3, Liveness::kFailed);
  CHECK(c.Everywhere([](const Snapshot& s) {
    const Check* h = NodeCheck(s, "node3", "serfHealth");
    const Instance* in = WebOn(s, "node3");
    return h != nullptr && h->status == Health::kCritical && in != nullptr &&
           in->health == Health::kCritical && s.services.Find("web")->n_passing == 0 &&
           !s.nodes.Find("node3")->suspect;
  }));

  c.SetMember(3, Liveness::kLeft);
  CHECK(c.Everywhere([](const Snapshot& s) {
    return s.nodes.Find("node3") == nullptr && s.services.Find("web") == nullptr;
  }));
  // Old gossip about node3 arriving now does not bring it back.
  const auto before = c[0].sync->stats();
  for (const Bytes& m : c[0].heard) c[0].sync->NotifyMsg(m);
  c.Settle();
  CHECK(c[0].snap()->nodes.Find("node3") == nullptr);
  CHECK(c[0].sync->stats().records_applied == before.records_applied);
  // Nor does an anti-entropy round with a peer.
  c.RunUntil([] { return false; }, 40000);
  CHECK(c.Everywhere([](const Snapshot& s) { return s.nodes.Find("node3") == nullptr; }));
}

TEST_CASE("stale and duplicate deltas are dropped; a gap waits, then pulls from the sender") {
  Cluster c(6);
  // Three changes on node1, captured as node1 broadcasts them (not delivered).
  std::vector<Bytes> msgs = SettledThenChangesOnNode1(c, 3);
  REQUIRE(msgs.size() == 3);
  for (const Bytes& m : msgs) CHECK(m[0] == static_cast<std::uint8_t>(catsync::MsgType::kDelta));

  Agent& a = c[0];
  const auto a0 = a.sync->stats();
  a.sync->NotifyMsg(msgs[0]);
  c.Pump(a);
  a.sync->NotifyMsg(msgs[0]);  // duplicate
  c.Pump(a);
  CHECK(a.sync->stats().deltas_applied - a0.deltas_applied == 1);
  CHECK(a.sync->stats().deltas_stale - a0.deltas_stale == 1);
  CHECK(a.snap()->services.Find("web")->instances.size() == 1);

  // msgs[2] before msgs[1]: held, then applied in order once msgs[1] arrives; no pull.
  a.sync->NotifyMsg(msgs[2]);
  CHECK(a.sync->stats().deltas_gap - a0.deltas_gap == 1);
  a.sync->NotifyMsg(msgs[1]);
  c.Pump(a);
  CHECK(a.sync->stats().deltas_applied - a0.deltas_applied == 3);
  CHECK(a.sync->stats().pulls_sent == a0.pulls_sent);
  CHECK(a.snap()->services.Find("web")->instances.size() == 3);

  // A gap nothing fills: after gap_wait_ms agent 2 pulls node1's record from the sender.
  Agent& b = c[2];
  const auto b0 = b.sync->stats();
  b.sync->NotifyMsg(msgs[2]);
  CHECK(b.sync->TakeSends().empty());
  CHECK(b.sync->NextDeadline() <= c.now() + 500);
  b.sync->Tick(c.now() + 500);
  // The pull (and maybe a digest, if a round was due).
  auto sends = OfType(b.sync->TakeSends(), catsync::MsgType::kPull);
  REQUIRE(sends.size() == 1);
  CHECK(std::get<0>(sends[0]) == "node1");
  CHECK(std::get<2>(sends[0]));  // reliable
  CHECK(std::get<1>(sends[0])[0] == static_cast<std::uint8_t>(catsync::MsgType::kPull));
  c[1].sync->NotifyMsg(std::get<1>(sends[0]));
  auto replies = OfType(c[1].sync->TakeSends(), catsync::MsgType::kRecords);
  REQUIRE(replies.size() == 1);
  CHECK(std::get<0>(replies[0]) == "node2");
  b.sync->NotifyMsg(std::get<1>(replies[0]));
  c.Pump(b);
  CHECK(b.sync->stats().records_applied - b0.records_applied == 1);
  CHECK(b.snap()->services.Find("web")->instances.size() == 3);
  // Our own node's deltas echoed back by others are never taken.
  const auto s1 = c[1].sync->stats();
  c[1].sync->NotifyMsg(msgs[0]);
  CHECK(c[1].sync->stats().deltas_stale - s1.deltas_stale == 1);
}

TEST_CASE("a long chain of one origin becomes one record broadcast; a big one an announcement") {
  Cluster c(7);
  for (int i = 0; i < 4; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 4); }); },
                     12000));
  REQUIRE(c.RunUntil([&] { return c[2].sync->queued() == 0; }, 10000));
  // (Joining spread the records node2 got from their origins: counted already.)
  const std::uint64_t records_before = c[2].sync->stats().records_broadcast;
  for (int k = 0; k < 6; ++k) {
    c[2].Local(op::UpsertService{"node2", Web("w" + std::to_string(k), 80), {}});
  }
  c.Pump(c[2]);
  // Four deltas became one record; the two after it are queued behind it.
  CHECK(c[2].sync->stats().records_broadcast == records_before + 1);
  CHECK(c[2].sync->queued() == 3);
  REQUIRE(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          return s.services.Find("web") != nullptr && s.services.Find("web")->instances.size() == 6;
        });
      },
      12000));

  // A record too big for a broadcast is announced; receivers pull it from the sender.
  Service big = Web("big", 1);
  big.meta["blob"] = std::string(2000, 'x');
  c[2].Local(op::UpsertService{"node2", big, {}});
  c.Pump(c[2]);
  CHECK(c[2].sync->stats().announces == 1);
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          return s.services.Find("web") != nullptr && s.services.Find("web")->instances.size() == 7;
        });
      },
      12000));
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i != 2) CHECK(c[i].sync->stats().records_applied >= 1);
  }
}

TEST_CASE("random changes under 20% loss converge: every agent holds every origin's record") {
  CatalogSyncConfig cfg;
  cfg.anti_entropy_interval_ms = 3000;
  Cluster c(8, cfg);
  const int n = 12;
  for (int i = 0; i < n; ++i) c.Add();
  c.JoinAll();
  c.set_loss(0.2);
  std::mt19937_64 rng(99);
  for (int step = 0; step < 60; ++step) {
    const int i = static_cast<int>(rng() % n);
    const std::string node = "node" + std::to_string(i);
    const std::string id = "s" + std::to_string(rng() % 4);
    switch (rng() % 3) {
      case 0:
        c[i].Local(op::UpsertService{node,
                                     Web(id, static_cast<uint16_t>(rng() % 1000)),
                                     {Chk(id + "-ttl", Health::kPassing)}});
        break;
      case 1:
        c[i].Local(op::RemoveService{node, id});
        break;
      default:
        c[i].Local(op::UpdateCheck{node, id + "-ttl",
                                   rng() % 2 ? Health::kPassing : Health::kCritical, "x"});
        break;
    }
    c.Pump(c[i]);
    if (step % 3 == 0) c.Round();
  }
  auto converged = [&] {
    for (int o = 0; o < n; ++o) {
      const std::string key = "node" + std::to_string(o);
      const auto want = RecordOf(*c[o].snap(), key);
      for (int i = 0; i < n; ++i) {
        if (RecordOf(*c[i].snap(), key) != want) return false;
      }
    }
    return true;
  };
  CHECK(c.RunUntil(converged, 60000));
  std::uint64_t applied = 0, gaps = 0, pulls = 0, compacted = 0;
  for (int i = 0; i < n; ++i) {
    const auto& s = c[i].sync->stats();
    applied += s.deltas_applied;
    gaps += s.deltas_gap;
    pulls += s.pulls_sent;
    compacted += s.records_broadcast;
  }
  MESSAGE("deltas applied " << applied << ", gaps " << gaps << ", pulls " << pulls
                            << ", record broadcasts " << compacted << ", at " << c.now() << " ms");
  CHECK(applied > 0);
}

TEST_CASE("a node its origin removes is removed everywhere, by anti-entropy too") {
  CatalogSyncConfig cfg;
  cfg.anti_entropy_interval_ms = 2000;
  Cluster c(9, cfg);
  for (int i = 0; i < 4; ++i) c.Add();
  c.JoinAll();
  // An external node registered through node1's catalog API: node1 is its origin.
  Registration reg;
  reg.node.name = "ext";
  reg.node.address = "192.0.2.1";
  reg.services.push_back(Web("ext-web", 80));
  c[1].Local(op::Register{reg});
  c.Pump(c[1]);
  REQUIRE(c.RunUntil(
      [&] {
        return c.Everywhere(
            [](const Snapshot& s) { return WebOn(s, "ext", "ext-web") != nullptr; });
      },
      12000));
  c.set_loss(1.0);
  c[1].Local(op::RemoveNode{"ext"});
  c.Pump(c[1]);
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) { return s.nodes.Find("ext") == nullptr; });
      },
      40000));
  // Once everyone has the tombstone, exchanges stop moving anything about it.
  c.RunUntil([] { return false; }, 10000);
  std::uint64_t pulls = 0;
  for (std::size_t i = 0; i < c.size(); ++i) pulls += c[i].sync->stats().pulls_sent;
  c.RunUntil([] { return false; }, 20000);
  std::uint64_t later = 0;
  for (std::size_t i = 0; i < c.size(); ++i) later += c[i].sync->stats().pulls_sent;
  CHECK(later == pulls);
  CHECK(c.Everywhere([](const Snapshot& s) { return s.nodes.Find("ext") == nullptr; }));
}

TEST_CASE("a flapping check is damped: its origin's queue stays bounded and the end state wins") {
  Cluster c(11);
  for (int i = 0; i < 4; ++i) c.Add();
  c.JoinAll();
  REQUIRE(c.RunUntil([&] { return c.Everywhere([](const Snapshot& s) { return AllNodes(s, 4); }); },
                     12000));
  c[1].Local(op::UpsertService{"node1", Web("flap", 80), {Chk("flap-check", Health::kPassing)}});
  c.Pump(c[1]);
  std::size_t most = 0;
  for (int k = 0; k < 1000; ++k) {  // 1,000 flips in a burst
    const Health h = k % 2 == 0 ? Health::kCritical : Health::kPassing;
    c[1].Local(op::UpdateCheck{"node1", "flap-check", h, "flip " + std::to_string(k)});
    c.Pump(c[1]);
    most = std::max(most, c[1].sync->queued());
  }
  // However fast it flaps, one origin never holds more than a record and a short chain.
  CHECK(most <= CatalogSync::kMaxChain + 1);
  // The last status (passing after an even count) is what every agent ends with.
  CHECK(c.RunUntil(
      [&] {
        return c.Everywhere([](const Snapshot& s) {
          const auto* e = s.services.Find("web");
          return e != nullptr && e->n_passing == 1;
        });
      },
      15000));
}

TEST_CASE("a gap's pull goes to a reachable member and is sent again when nothing fills it") {
  Cluster c(8);
  std::vector<Bytes> msgs = SettledThenChangesOnNode1(c, 2);
  REQUIRE(msgs.size() == 2);
  // The second delta as relayed by a node this agent's membership has not heard of yet (a new
  // node's broadcasts can outrun its alive message): a pull to it would go nowhere.
  auto decoded = catsync::Decode(msgs[1]);
  REQUIRE(decoded.ok());
  catsync::Delta d = std::get<catsync::Delta>(*decoded);
  d.sender = "ghost";
  const Bytes relayed = catsync::Encode(d);

  Agent& b = c[2];
  auto pulls = [&](std::uint64_t at) {
    b.sync->Tick(at);
    return OfType(b.sync->TakeSends(), catsync::MsgType::kPull);
  };
  b.sync->NotifyMsg(relayed);
  const std::uint64_t t = c.now();
  auto first = pulls(t + 500);
  REQUIRE(first.size() == 1);
  CHECK(std::get<0>(first[0]) == "node1");  // the origin, not the unknown sender
  // That pull is lost. Nothing more before the retry time, then the same pull again.
  CHECK(pulls(t + 500 + 1000).empty());
  auto again = pulls(t + 500 + beacon::gossip::CatalogSync::kPullRetryMs);
  REQUIRE(again.size() == 1);
  CHECK(std::get<0>(again[0]) == "node1");
  c[1].sync->NotifyMsg(std::get<1>(again[0]));
  auto replies = OfType(c[1].sync->TakeSends(), catsync::MsgType::kRecords);
  REQUIRE(replies.size() == 1);
  b.sync->NotifyMsg(std::get<1>(replies[0]));
  c.Pump(b);
  CHECK(b.snap()->services.Find("web")->instances.size() == 2);
  CHECK(pulls(t + 500 + 3 * beacon::gossip::CatalogSync::kPullRetryMs).empty());  // filled
}

// Whole-record replacement, gossip liveness, the applied-change feed and node records.
#include <doctest.h>

#include <string>

#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/record.h"
#include "beacon/catalog/writer.h"
#include "builders.h"

using namespace beacon::catalog;
using namespace beacon::catalog::testing;

namespace {

Change At(uint64_t version, Op o) {
  Change c = LocalChange(std::move(o));
  c.version = version;
  return c;
}

const Check* FindNodeCheck(const Snapshot& s, const std::string& node, const std::string& id) {
  const NodeEntry* n = s.nodes.Find(node);
  if (n == nullptr) return nullptr;
  for (const Check& c : n->checks()) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

op::ReplaceNode Record(const std::string& node, std::vector<std::string> service_ids) {
  op::ReplaceNode r;
  r.node = MakeNode(node, "10.0.0.9");
  for (const auto& id : service_ids) {
    r.services.push_back({MakeService("web", id, 80), {MakeCheck("chk-" + id, Health::kPassing)}});
  }
  r.node_checks.push_back(MakeCheck("disk", Health::kPassing));
  return r;
}

}  // namespace

TEST_CASE("ReplaceNode replaces a node's record at one version and keeps serfHealth") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  REQUIRE(w.Apply(At(5, Record("n1", {"a", "b"}))).ok());
  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kAlive})).ok());
  REQUIRE(w.Apply(At(6, op::UpsertCheck{"n1", MakeCheck("mem", Health::kWarning)})).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("web")->instances.size() == 2);
  CHECK(w.VersionOf("n1") == 6);

  // The new record drops b and mem, keeps a and disk; serfHealth stays.
  REQUIRE(w.Apply(At(9, Record("n1", {"a"}))).ok());
  w.Publish();
  auto s = hub.Current();
  CHECK(w.VersionOf("n1") == 9);
  REQUIRE(s->services.Find("web") != nullptr);
  CHECK(s->services.Find("web")->instances.size() == 1);
  CHECK(s->services.Find("web")->instances[0].service.id == "a");
  CHECK(FindNodeCheck(*s, "n1", "mem") == nullptr);
  REQUIRE(FindNodeCheck(*s, "n1", "disk") != nullptr);
  REQUIRE(FindNodeCheck(*s, "n1", "serfHealth") != nullptr);
  CHECK(FindNodeCheck(*s, "n1", "serfHealth")->status == Health::kPassing);

  // The same record again at a newer version moves no index; an older one is stale.
  const uint64_t index = w.index();
  REQUIRE(w.Apply(At(10, Record("n1", {"a"}))).ok());
  CHECK(w.index() == index);
  CHECK(w.VersionOf("n1") == 10);
  bool stale = false;
  REQUIRE(w.Apply(At(8, Record("n1", {})), &stale).ok());
  CHECK(stale);
  w.Publish();
  CHECK(hub.Current()->services.Find("web")->instances.size() == 1);

  // A record's own serfHealth is ignored; a bad record changes nothing.
  op::ReplaceNode bad = Record("n1", {});
  bad.node_checks.push_back(MakeCheck("serfHealth", Health::kCritical));
  bad.services.push_back({MakeService("", "x", 1), {}});
  CHECK_FALSE(w.Apply(At(11, bad)).ok());
  CHECK(w.VersionOf("n1") == 10);
  bad.services.clear();
  REQUIRE(w.Apply(At(11, bad)).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("web") == nullptr);
  CHECK(FindNodeCheck(*hub.Current(), "n1", "serfHealth")->status == Health::kPassing);
}

TEST_CASE("a remote change never writes serfHealth but still takes its version") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  REQUIRE(w.Apply(At(1, op::UpsertNode{MakeNode("n1", "10.0.0.1")})).ok());
  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kFailed})).ok());
  REQUIRE(w.Apply(At(2, op::UpdateCheck{"n1", "serfHealth", Health::kPassing, "x"})).ok());
  CHECK(w.VersionOf("n1") == 2);
  w.Publish();
  CHECK(FindNodeCheck(*hub.Current(), "n1", "serfHealth")->status == Health::kCritical);
}

TEST_CASE("SetLiveness: serfHealth, suspect and left, without versions") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.TrackApplied(true);
  REQUIRE(w.Apply(At(7, Record("n1", {"a"}))).ok());
  // Unknown nodes: nothing happens.
  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"ghost", Liveness::kAlive})).ok());
  w.Publish();
  CHECK(hub.Current()->nodes.Find("ghost") == nullptr);

  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kAlive})).ok());
  w.Publish();
  auto s = hub.Current();
  const Check* serf = FindNodeCheck(*s, "n1", "serfHealth");
  REQUIRE(serf != nullptr);
  CHECK(serf->name == "Serf Health Status");
  CHECK(serf->output == "Agent alive and reachable");
  CHECK(s->services.Find("web")->n_passing == 1);
  CHECK(w.VersionOf("n1") == 7);  // no version taken

  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kSuspect})).ok());
  w.Publish();
  CHECK(hub.Current()->nodes.Find("n1")->suspect);
  CHECK(hub.Current()->services.Find("web")->instances[0].node->suspect);

  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kFailed})).ok());
  w.Publish();
  s = hub.Current();
  CHECK_FALSE(s->nodes.Find("n1")->suspect);
  CHECK(FindNodeCheck(*s, "n1", "serfHealth")->status == Health::kCritical);
  CHECK(FindNodeCheck(*s, "n1", "serfHealth")->output == "Agent not live or unreachable");
  CHECK(s->services.Find("web")->n_passing == 0);
  CHECK(s->services.Find("web")->n_ok == 0);
  CHECK(w.VersionOf("n1") == 7);

  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kLeft})).ok());
  w.Publish();
  CHECK(hub.Current()->nodes.Find("n1") == nullptr);
  CHECK(hub.Current()->services.Find("web") == nullptr);
  CHECK(w.VersionOf("n1") == 7);
  bool stale = false;
  REQUIRE(w.Apply(At(7, Record("n1", {"a"})), &stale).ok());
  CHECK(stale);  // an old record does not resurrect it
  REQUIRE(w.Apply(At(8, Record("n1", {"a"})), &stale).ok());
  CHECK_FALSE(stale);  // a newer one does
  w.Publish();
  CHECK(hub.Current()->services.Find("web") != nullptr);
  CHECK(w.TakeApplied().empty());  // only remote changes and liveness so far
}

TEST_CASE("the applied feed holds local changes that changed something, versions stamped") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {}, /*version_base=*/100);
  w.TrackApplied(true);
  REQUIRE(w.Apply(LocalChange(op::UpsertNode{MakeNode("self", "10.0.0.1")})).ok());
  REQUIRE(w.Apply(LocalChange(op::UpsertNode{MakeNode("self", "10.0.0.1")})).ok());  // no-op
  REQUIRE(w.Apply(LocalChange(op::UpsertService{"self", MakeService("db", "db", 5432), {}})).ok());
  REQUIRE(w.Apply(LocalChange(op::UpsertNode{MakeNode("ext", "10.0.0.2")})).ok());
  REQUIRE(w.Apply(At(500, op::UpsertNode{MakeNode("remote", "10.0.0.3")})).ok());
  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"self", Liveness::kAlive})).ok());
  const auto applied = w.TakeApplied();
  REQUIRE(applied.size() == 3);
  CHECK(applied[0].from_version == 0);
  CHECK(applied[0].change.version == 101);
  CHECK(applied[1].from_version == 101);
  CHECK(applied[1].change.version == 102);
  CHECK(std::holds_alternative<op::UpsertService>(applied[1].change.op));
  CHECK(applied[2].change.origin == "ext");  // registered through this agent
  CHECK(applied[2].from_version == 0);
  CHECK(applied[2].change.version == 103);
  CHECK(w.TakeApplied().empty());
}

TEST_CASE("RecordOf builds a node's record without serfHealth; ToChange replays it") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  op::ReplaceNode r = Record("N1", {"b", "a"});
  r.services.push_back({MakeService("api", "api1", 9000), {}});
  REQUIRE(w.Apply(At(42, r)).ok());
  REQUIRE(w.Apply(LocalChange(op::SetLiveness{"n1", Liveness::kAlive})).ok());
  w.Publish();
  CHECK_FALSE(RecordOf(*hub.Current(), "nope").has_value());
  auto rec = RecordOf(*hub.Current(), "n1");
  REQUIRE(rec.has_value());
  CHECK(rec->version == 42);
  CHECK(rec->node.name == "N1");
  CHECK(rec->node.address == "10.0.0.9");
  REQUIRE(rec->node_checks.size() == 1);  // disk, not serfHealth
  CHECK(rec->node_checks[0].id == "disk");
  CHECK(rec->node_checks[0].modify_index == 0);
  REQUIRE(rec->services.size() == 3);
  CHECK(rec->services[0].first.id == "api1");
  CHECK(rec->services[1].first.id == "a");
  CHECK(rec->services[2].first.id == "b");
  CHECK(rec->services[1].second.size() == 1);

  const Change c = ToChange(*rec);
  CHECK(c.origin == "n1");
  CHECK(c.version == 42);
  SnapshotHub hub2;
  Writer w2(hub2, "other", "dc1", {});
  REQUIRE(w2.Apply(c).ok());
  w2.Publish();
  auto rec2 = RecordOf(*hub2.Current(), "n1");
  REQUIRE(rec2.has_value());
  CHECK(*rec2 == *rec);
}

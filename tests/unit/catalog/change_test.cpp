// Catalog changes as values: origins, versions, stale changes, and every op through Apply.
#include <doctest.h>

#include <string>

#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"

using namespace beacon::catalog;

namespace {

Service Web(uint16_t port) {
  Service s;
  s.name = "web";
  s.id = "web1";
  s.port = port;
  return s;
}

Check Ttl(const std::string& id, const std::string& service_id = "") {
  Check c;
  c.id = c.name = id;
  c.ttl_ms = 10000;
  c.service_id = service_id;
  return c;
}

Change Remote(const std::string& node, uint64_t version, Op o) {
  Change c;
  c.origin = node;
  c.version = version;
  c.op = std::move(o);
  return c;
}

}  // namespace

TEST_CASE("a change is a plain value: equal when built the same, named for logs") {
  const Change a = LocalChange(op::UpsertService{"N1", Web(80), {Ttl("t", "web1")}});
  const Change b = LocalChange(op::UpsertService{"N1", Web(80), {Ttl("t", "web1")}});
  CHECK(a == b);
  CHECK(a.origin == "n1");  // the node's key
  CHECK(a.version == 0);
  CHECK(std::string(OpName(a.op)) == "upsert-service");
  CHECK_FALSE(a == LocalChange(op::UpsertService{"N1", Web(81), {}}));
  CHECK(NodeOf(op::UpdateCheck{"n2", "c", Health::kPassing, ""}) == "n2");
}

TEST_CASE("every op applies through the writer, and local versions only go up") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {}, /*version_base=*/1000);
  Node n;
  n.name = "n1";
  n.address = "10.0.0.1";
  REQUIRE(w.Apply(LocalChange(op::UpsertNode{n})).ok());
  CHECK(w.VersionOf("n1") == 1001);
  REQUIRE(w.Apply(LocalChange(op::UpsertNode{n})).ok());  // the same again: nothing to spread
  CHECK(w.VersionOf("n1") == 1001);
  REQUIRE(w.Apply(LocalChange(op::UpsertService{"n1", Web(80), {Ttl("svc-ttl", "web1")}})).ok());
  REQUIRE(w.Apply(LocalChange(op::UpsertCheck{"n1", Ttl("node-ttl")})).ok());
  REQUIRE(w.Apply(LocalChange(op::UpdateCheck{"n1", "svc-ttl", Health::kPassing, "ok"})).ok());
  CHECK(w.VersionOf("N1") == 1004);
  REQUIRE(w.Apply(LocalChange(op::UpdateCheck{"n1", "svc-ttl", Health::kPassing, "ok"})).ok());
  CHECK(w.VersionOf("n1") == 1004);  // a TTL pass that changes nothing takes no version
  w.Publish();
  auto s = hub.Current();
  REQUIRE(s->services.Find("web") != nullptr);
  CHECK(s->services.Find("web")->n_passing == 0);  // node-ttl is critical
  CHECK(s->services.Find("web")->instances[0].checks()[0].status == Health::kPassing);
  CHECK(s->node_services.Find("n1")->version == 1004);  // readers (digests) see the version
  REQUIRE(w.Apply(LocalChange(op::RemoveCheck{"n1", "node-ttl"})).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("web")->n_passing == 1);
  REQUIRE(w.Apply(LocalChange(op::RemoveService{"n1", "web1"})).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("web") == nullptr);
  Registration reg;
  reg.node.name = "ext";
  reg.node.address = "10.0.0.9";
  reg.services.push_back(Web(8080));
  REQUIRE(w.Apply(LocalChange(op::Register{reg})).ok());
  REQUIRE(w.Apply(LocalChange(op::RemoveNode{"n1"})).ok());
  w.Publish();
  s = hub.Current();
  CHECK(s->nodes.Find("n1") == nullptr);
  CHECK(s->services.Find("web")->instances[0].port == 8080);
  CHECK(w.VersionOf("n1") == 1008);  // remembered after the node is gone
  CHECK(w.VersionOf("ext") == 1007);
}

TEST_CASE("a remote change wins by version: older or equal ones change nothing") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  bool stale = true;
  REQUIRE(w.Apply(Remote("n2", 5, op::UpsertService{"n2", Web(80), {}}), &stale).ok());
  CHECK_FALSE(stale);
  REQUIRE(w.Apply(Remote("n2", 5, op::UpsertService{"n2", Web(99), {}}), &stale).ok());
  CHECK(stale);
  REQUIRE(w.Apply(Remote("n2", 4, op::RemoveService{"n2", "web1"}), &stale).ok());
  CHECK(stale);
  w.Publish();
  REQUIRE(hub.Current()->services.Find("web") != nullptr);
  CHECK(hub.Current()->services.Find("web")->instances[0].port == 80);
  // Removed at version 7: a late version-6 change cannot bring the node back.
  REQUIRE(w.Apply(Remote("n2", 7, op::RemoveNode{"n2"})).ok());
  REQUIRE(w.Apply(Remote("n2", 6, op::UpsertService{"n2", Web(80), {}}), &stale).ok());
  CHECK(stale);
  w.Publish();
  CHECK(hub.Current()->nodes.Find("n2") == nullptr);
  // A newer one can.
  REQUIRE(w.Apply(Remote("n2", 8, op::UpsertService{"n2", Web(81), {}}), &stale).ok());
  CHECK_FALSE(stale);
  w.Publish();
  CHECK(hub.Current()->services.Find("web")->instances[0].port == 81);
}

TEST_CASE("a change whose op names another node than its origin, or fails, records nothing") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  const beacon::Status st = w.Apply(Remote("n1", 3, op::UpsertService{"n2", Web(80), {}}));
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("origin") != std::string::npos);
  CHECK(w.VersionOf("n1") == 0);
  CHECK(w.VersionOf("n2") == 0);
  Service nameless;
  CHECK_FALSE(w.Apply(Remote("n3", 1, op::UpsertService{"n3", nameless, {}})).ok());
  CHECK(w.VersionOf("n3") == 0);
  // Deregistering a node nobody knows leaves no trace either.
  REQUIRE(w.Apply(LocalChange(op::RemoveNode{"ghost"})).ok());
  CHECK(w.VersionOf("ghost") == 0);
}

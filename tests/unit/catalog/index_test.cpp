// Blocking-query indexes (spec 2.2): which index moves for which change, and which must not.
#include <doctest.h>

#include <string>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "builders.h"

using namespace beacon::catalog;
using namespace beacon::catalog::testing;

namespace {

// Two nodes: web on n1 (with a check), db on n2 (with a check), plus a node check on n2.
struct Catalog {
  SnapshotHub hub;
  Writer w{hub, "self", "dc1", {}};

  Catalog() {
    Registration r;
    r.node.name = "n1";
    r.node.address = "10.0.0.1";
    Service web;
    web.name = "web";
    web.id = "web1";
    web.port = 80;
    web.tags = {"v1"};
    r.services = {web};
    r.checks = {MakeCheck("web-alive", Health::kPassing, "web1")};
    REQUIRE(w.Apply(r).ok());
    r.node.name = "n2";
    r.node.address = "10.0.0.2";
    Service db = web;
    db.name = db.id = "db";
    r.services = {db};
    r.checks = {MakeCheck("db-alive", Health::kPassing, "db"), MakeCheck("disk", Health::kPassing)};
    REQUIRE(w.Apply(r).ok());
    w.Publish();
  }
  SnapshotPtr Pub() {
    w.Publish();
    return hub.Current();
  }
  static uint64_t Svc(const SnapshotPtr& s, const char* k) { return s->services.Find(k)->index; }
  static uint64_t NodeIdx(const SnapshotPtr& s, const char* k) { return s->NodeIndex(k); }
  static const Check& CheckOf(const SnapshotPtr& s, const char* svc) {
    return s->services.Find(svc)->instances.front().checks().front();
  }
};

}  // namespace

TEST_CASE("a new snapshot has every index at 1 or more") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.Publish(true);
  SnapshotPtr s = hub.Current();
  CHECK(s->index >= 1);
  CHECK(s->services_index >= 1);
  CHECK(s->nodes_index >= 1);
  CHECK(s->checks_index >= 1);
}

TEST_CASE("a change to one service does not move another service's index") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  Service db;
  db.name = db.id = "db";
  db.port = 5432;  // redefined
  REQUIRE(c.w.UpsertService("n2", db, {MakeCheck("db-alive", Health::kPassing)}).ok());
  SnapshotPtr b = c.Pub();
  CHECK(Catalog::Svc(b, "db") > Catalog::Svc(a, "db"));
  CHECK(Catalog::Svc(b, "web") == Catalog::Svc(a, "web"));
  CHECK(b->services_index > a->services_index);
  CHECK(Catalog::NodeIdx(b, "n1") == Catalog::NodeIdx(a, "n1"));
  CHECK(Catalog::NodeIdx(b, "n2") > Catalog::NodeIdx(a, "n2"));

  // A new service on web's own node leaves web alone too.
  Service cache;
  cache.name = cache.id = "cache";
  REQUIRE(c.w.UpsertService("n1", cache, {}).ok());
  SnapshotPtr d = c.Pub();
  CHECK(Catalog::Svc(d, "web") == Catalog::Svc(a, "web"));
  CHECK(Catalog::NodeIdx(d, "n1") > Catalog::NodeIdx(a, "n1"));
  // And removing it.
  REQUIRE(c.w.RemoveService("n1", "cache"));
  SnapshotPtr e = c.Pub();
  CHECK(Catalog::Svc(e, "web") == Catalog::Svc(a, "web"));
  CHECK(e->services.Find("cache") == nullptr);
  CHECK(e->services_index > d->services_index);
}

TEST_CASE(
    "a check status flip moves its service, its node and the checks table, not the services "
    "table") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  const Check& before = Catalog::CheckOf(a, "web");
  CHECK(before.create_index >= 1);
  CHECK(before.modify_index == before.create_index);
  REQUIRE(c.w.UpdateCheck("n1", "web-alive", Health::kCritical, "down"));
  SnapshotPtr b = c.Pub();
  CHECK(Catalog::Svc(b, "web") > Catalog::Svc(a, "web"));
  CHECK(b->checks_index > a->checks_index);
  CHECK(b->services_index == a->services_index);
  CHECK(b->nodes_index == a->nodes_index);
  CHECK(Catalog::Svc(b, "db") == Catalog::Svc(a, "db"));
  CHECK(Catalog::NodeIdx(b, "n1") > Catalog::NodeIdx(a, "n1"));
  CHECK(Catalog::NodeIdx(b, "n2") == Catalog::NodeIdx(a, "n2"));
  const Check& after = Catalog::CheckOf(b, "web");
  CHECK(after.status == Health::kCritical);
  CHECK(after.create_index == before.create_index);
  CHECK(after.modify_index > before.modify_index);
  CHECK(after.modify_index == Catalog::Svc(b, "web"));
  // The instance's own ModifyIndex is its registration's: a check does not move it.
  CHECK(b->services.Find("web")->instances.front().modify_index ==
        a->services.Find("web")->instances.front().modify_index);
}

TEST_CASE("output-only check updates move no index at all") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  REQUIRE(c.w.UpdateCheck("n1", "web-alive", Health::kPassing, "still fine"));
  REQUIRE(c.w.UpdateCheck("n2", "disk", Health::kPassing, "92% free"));
  SnapshotPtr b = c.Pub();
  CHECK(b->index == a->index);
  CHECK(b->checks_index == a->checks_index);
  CHECK(Catalog::Svc(b, "web") == Catalog::Svc(a, "web"));
  CHECK(Catalog::Svc(b, "db") == Catalog::Svc(a, "db"));
  CHECK(Catalog::CheckOf(c.hub.Current(), "web").modify_index ==
        Catalog::CheckOf(a, "web").modify_index);
  // ...but the new output is published at once.
  CHECK(Catalog::CheckOf(b, "web").output == "still fine");
}

TEST_CASE("a node-level check moves every service on that node") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  REQUIRE(c.w.UpdateCheck("n2", "disk", Health::kWarning, "low"));
  SnapshotPtr b = c.Pub();
  CHECK(Catalog::Svc(b, "db") > Catalog::Svc(a, "db"));
  CHECK(Catalog::Svc(b, "web") == Catalog::Svc(a, "web"));
  CHECK(b->nodes.Find("n2")->checks().front().modify_index == Catalog::Svc(b, "db"));
  // The node record itself did not change.
  CHECK(b->nodes.Find("n2")->modify_index == a->nodes.Find("n2")->modify_index);
  CHECK(b->nodes_index == a->nodes_index);
}

TEST_CASE("a node change moves the services on it and the nodes table") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  Node n;
  n.name = "n1";
  n.address = "10.0.0.9";
  c.w.UpsertNode(n);
  SnapshotPtr b = c.Pub();
  CHECK(b->nodes_index > a->nodes_index);
  CHECK(Catalog::Svc(b, "web") > Catalog::Svc(a, "web"));
  CHECK(Catalog::Svc(b, "db") == Catalog::Svc(a, "db"));
  CHECK(b->services_index == a->services_index);
  CHECK(b->nodes.Find("n1")->modify_index > a->nodes.Find("n1")->modify_index);
  CHECK(b->nodes.Find("n1")->create_index == a->nodes.Find("n1")->create_index);
}

TEST_CASE("identical re-registration moves nothing; a changed check moves only the check side") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  Registration r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  Service web;
  web.name = "web";
  web.id = "web1";
  web.port = 80;
  web.tags = {"v1"};
  r.services = {web};
  r.checks = {MakeCheck("web-alive", Health::kPassing, "web1")};
  REQUIRE(c.w.Apply(r).ok());
  SnapshotPtr b = c.Pub();
  CHECK(b->index == a->index);
  CHECK(Catalog::Svc(b, "web") == Catalog::Svc(a, "web"));

  r.checks[0].notes = "new notes";
  REQUIRE(c.w.Apply(r).ok());
  SnapshotPtr d = c.Pub();
  CHECK(Catalog::Svc(d, "web") > Catalog::Svc(a, "web"));
  CHECK(d->checks_index > a->checks_index);
  CHECK(d->services_index == a->services_index);
  CHECK(Catalog::CheckOf(d, "web").create_index == Catalog::CheckOf(a, "web").create_index);
  CHECK(d->services.Find("web")->instances.front().modify_index ==
        a->services.Find("web")->instances.front().modify_index);
}

TEST_CASE("catalog register merges: a service re-registered without checks keeps them") {
  Catalog c;
  Registration r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  Service web;
  web.name = "web";
  web.id = "web1";
  web.port = 81;
  r.services = {web};
  REQUIRE(c.w.Apply(r).ok());
  SnapshotPtr b = c.Pub();
  const Instance& in = b->services.Find("web")->instances.front();
  CHECK(in.port == 81);
  REQUIRE(in.checks().size() == 1);
  CHECK(in.checks().front().id == "web-alive");

  // A check for an existing service, alone.
  Registration only;
  only.node = r.node;
  only.skip_node_update = true;
  only.node.address.clear();
  only.checks = {MakeCheck("web-deep", Health::kWarning, "web1")};
  REQUIRE(c.w.Apply(only).ok());
  CHECK(c.Pub()->services.Find("web")->instances.front().checks().size() == 2);
}

TEST_CASE("Apply checks everything first: an error changes nothing") {
  Catalog c;
  const uint64_t before = c.w.index();
  Registration r;
  r.node.name = "n3";
  r.node.address = "10.0.0.3";
  r.checks = {MakeCheck("orphan", Health::kPassing, "nope")};
  beacon::Status st = c.w.Apply(r);
  CHECK_FALSE(st.ok());
  CHECK(st.message() == "Missing service registration");
  CHECK(c.w.index() == before);
  CHECK(c.w.staged().nodes.Find("n3") == nullptr);

  r.checks.clear();
  r.skip_node_update = true;
  CHECK(c.w.Apply(r).message() == "Missing node registration");
  r.node.name.clear();
  CHECK(c.w.Apply(r).message() == "Must provide node");
  CHECK(c.w.index() == before);
}

TEST_CASE("removing a node moves the nodes, services and checks tables and its services") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  REQUIRE(c.w.RemoveNode("n2"));
  SnapshotPtr b = c.Pub();
  CHECK(b->services.Find("db") == nullptr);
  CHECK(b->nodes_index > a->nodes_index);
  CHECK(b->services_index > a->services_index);
  CHECK(b->checks_index > a->checks_index);
  CHECK(Catalog::Svc(b, "web") == Catalog::Svc(a, "web"));
  // Registering it again: the new entries' indexes are above everything seen before.
  Service db;
  db.name = db.id = "db";
  REQUIRE(c.w.UpsertService("n2", db, {}).ok());
  SnapshotPtr d = c.Pub();
  CHECK(Catalog::Svc(d, "db") > b->services_index);
  CHECK(Catalog::NodeIdx(d, "n2") > b->nodes_index);
}

TEST_CASE("removing a check moves its service, node and the checks table") {
  Catalog c;
  SnapshotPtr a = c.hub.Current();
  REQUIRE(c.w.RemoveCheck("n1", "web-alive"));
  SnapshotPtr b = c.Pub();
  CHECK(b->services.Find("web")->instances.front().checks().empty());
  CHECK(Catalog::Svc(b, "web") > Catalog::Svc(a, "web"));
  CHECK(Catalog::NodeIdx(b, "n1") > Catalog::NodeIdx(a, "n1"));
  CHECK(b->checks_index > a->checks_index);
  CHECK(b->services_index == a->services_index);
}

// A node's service list (KeyList, NodeServices) and what registering on a busy node touches.
#include <doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "builders.h"

using namespace beacon::catalog;
using namespace beacon::catalog::testing;

namespace {

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("KeyList keeps every key, small or large, and a copy never sees later changes") {
  KeyList list;
  CHECK(list.empty());
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {  // far past the flat form's size
    keys.push_back("service-" + std::to_string(i));
    REQUIRE(list.Add(keys.back()));
    if (i == 10) {
      const KeyList small = list;
      REQUIRE(list.Add("later"));
      CHECK_FALSE(small.Contains("later"));
      list.Remove("later");
    }
  }
  REQUIRE(list.Add("service-7"));  // already there: no duplicate
  CHECK(Sorted(list.Items()) == Sorted(keys));
  const KeyList before = list;
  for (int i = 0; i < 2000; i += 2) list.Remove(keys[i]);
  for (int i = 0; i < 2000; ++i) {
    CHECK(list.Contains(keys[i]) == (i % 2 == 1));
    CHECK(before.Contains(keys[i]));  // the copy is untouched
  }
  size_t n = 0;
  list.ForEach([&](std::string_view) { ++n; });
  CHECK(n == 1000);
  for (int i = 1; i < 2000; i += 2) list.Remove(keys[i]);
  CHECK(list.empty());
  CHECK(list.Items().empty());
  CHECK_FALSE(list.Add(std::string(KeyList::kMaxKey + 1, 'x')));
  CHECK(list.empty());
}

TEST_CASE("registering on a busy node leaves the node record and its other services as they were") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  for (int i = 0; i < 300; ++i) {
    REQUIRE(w.UpsertService("n1", MakeService("svc" + std::to_string(i), "", 80), {}).ok());
  }
  w.Publish();
  auto before = hub.Current();
  REQUIRE(w.UpsertService("n1", MakeService("new", "", 81), {}).ok());
  w.Publish();
  auto after = hub.Current();
  // The node record and every other service are shared, not rebuilt: the registration cost
  // O(its own service), and blocking queries on other services do not wake.
  CHECK(after->nodes.Find("n1") == before->nodes.Find("n1"));
  CHECK(after->services.Find("svc7") == before->services.Find("svc7"));
  CHECK(after->services.Find("svc7")->index == before->services.Find("svc7")->index);
  // The node's own index and service list move (catalog/node and health/node see it).
  CHECK(after->NodeIndex("n1") > before->NodeIndex("n1"));
  size_t listed = 0;
  bool has_new = false;
  after->ForEachNodeService("n1", [&](std::string_view k) {
    ++listed;
    has_new |= k == "new";
  });
  CHECK(listed == 301);
  CHECK(has_new);
  CHECK(before->NodeIndex("n1") != 0);  // the old snapshot still reads its own view
  // Removing it takes it off the node's list; the node's index moves again.
  REQUIRE(w.RemoveService("n1", "new"));
  w.Publish();
  bool still = false;
  hub.Current()->ForEachNodeService("n1", [&](std::string_view k) { still |= k == "new"; });
  CHECK_FALSE(still);
  CHECK(hub.Current()->NodeIndex("n1") > after->NodeIndex("n1"));
}

TEST_CASE("a check id names one check per node: re-registering it elsewhere moves it") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  REQUIRE(w.UpsertService("n1", MakeService("web", "web1", 80), {MakeCheck("c1", Health::kPassing)})
              .ok());
  REQUIRE(w.UpsertService("n1", MakeService("db", "db1", 5432), {}).ok());
  // The same id as a node-level check: the service's check goes.
  REQUIRE(w.UpsertCheck("n1", MakeCheck("c1", Health::kCritical)).ok());
  w.Publish();
  auto s = hub.Current();
  CHECK(s->services.Find("web")->instances[0].checks().empty());
  REQUIRE(s->nodes.Find("n1")->checks().size() == 1);
  CHECK(s->nodes.Find("n1")->checks()[0].status == Health::kCritical);
  // And back onto another service: the node-level one goes.
  REQUIRE(w.UpsertCheck("n1", MakeCheck("c1", Health::kWarning, "db1")).ok());
  w.Publish();
  s = hub.Current();
  CHECK(s->nodes.Find("n1")->checks().empty());
  REQUIRE(s->services.Find("db")->instances[0].checks().size() == 1);
  // Status updates find it where it now lives; a removed service takes its checks along.
  REQUIRE(w.UpdateCheck("n1", "c1", Health::kPassing, "ok"));
  w.Publish();
  CHECK(hub.Current()->services.Find("db")->instances[0].checks()[0].status == Health::kPassing);
  REQUIRE(w.RemoveService("n1", "db1"));
  CHECK_FALSE(w.UpdateCheck("n1", "c1", Health::kCritical, ""));
}

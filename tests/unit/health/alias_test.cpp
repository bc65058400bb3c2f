// Alias checks evaluated against a real catalog snapshot.
#include <doctest.h>

#include "beacon/catalog/writer.h"
#include "beacon/health/alias.h"

using namespace beacon;
using catalog::Check;
using catalog::Health;

namespace {

Check Make(std::string id, Health st, std::string service_id = "") {
  Check c;
  c.id = c.name = std::move(id);
  c.status = st;
  c.output = "out-" + c.id;
  c.service_id = std::move(service_id);
  c.ttl_ms = 60000;
  return c;
}

}  // namespace

TEST_CASE("alias_service mirrors the worst of the service's and its node's checks") {
  catalog::SnapshotHub hub;
  catalog::Writer w(hub, "node1", "dc1", {});
  catalog::Node n;
  n.name = "node1";
  n.address = "10.0.0.1";
  w.UpsertNode(n);
  catalog::Service db;
  db.id = db.name = "db";
  REQUIRE(w.UpsertService("node1", db, {Make("db-check", Health::kPassing, "db")}).ok());
  catalog::Service other;
  other.id = other.name = "other";
  REQUIRE(w.UpsertService("node1", other, {Make("other-check", Health::kCritical, "other")}).ok());
  w.Publish(true);

  Check alias{};
  alias.id = "alias-db";
  alias.alias_service = "db";
  auto eval = [&] { return health::EvaluateAlias(*hub.Current(), "node1", alias); };
  CHECK(eval().status == Health::kPassing);
  CHECK(eval().output == "All checks passing.");  // "other" is not looked at

  w.UpdateCheck("node1", "db-check", Health::kWarning, "slow");
  w.Publish(true);
  CHECK(eval().status == Health::kWarning);
  CHECK(eval().output == "Aliased check \"db-check\" failing: slow");

  REQUIRE(w.UpsertCheck("node1", Make("node-down", Health::kCritical)).ok());
  w.Publish(true);
  CHECK(eval().status == Health::kCritical);

  alias.alias_service = "missing";
  w.RemoveCheck("node1", "node-down");
  w.Publish(true);
  CHECK(eval().status == Health::kCritical);
  CHECK(eval().output == "Service missing could not be found on node node1");

  // alias_node alone: the node-level checks only.
  alias.alias_service.clear();
  alias.alias_node = "node1";
  CHECK(eval().status == Health::kPassing);
  CHECK(eval().output == "No checks found.");
  alias.alias_node = "elsewhere";
  CHECK(eval().output == "No checks found.");
}

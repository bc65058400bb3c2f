// HealthSync: the health runner runs exactly this node's runnable checks as the catalog changes,
// and script checks only as the policy allows.
#include "beacon/agent/health_sync.h"

#include <doctest.h>

#include <chrono>
#include <thread>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"

using namespace beacon;
using catalog::Check;
using catalog::Health;

namespace {

Check Tcp(const std::string& id) {
  Check c;
  c.id = c.name = id;
  c.tcp = "127.0.0.1:1";
  c.interval_ms = 3600 * 1000;  // scheduled, not run during the test
  c.status = Health::kPassing;
  return c;
}

Check Script(const std::string& id) {
  Check c = Tcp(id);
  c.tcp.clear();
  c.args = {"true"};
  return c;
}

Check Ttl(const std::string& id) {
  Check c;
  c.id = c.name = id;
  c.ttl_ms = 60000;
  return c;
}

catalog::Service Svc(const std::string& name) {
  catalog::Service s;
  s.name = s.id = name;
  return s;
}

struct Fixture {
  Logger log{LogLevel::kError};
  catalog::SnapshotHub hub;
  catalog::Writer w{hub, "self", "dc1", {}};
  health::Runner runner{{}, [](const std::string&, Health, const std::string&) {}, {}, log};
  agent::HealthSync sync{runner, "self"};
  agent::ScriptPolicy policy;

  Fixture() {
    REQUIRE(runner.Start().ok());
    w.TrackChanges(true);
  }
  ~Fixture() { runner.Stop(); }
  // Publishes and syncs; returns how many checks the runner then schedules.
  size_t Publish() {
    w.Publish();
    sync.Sync(*hub.Current(), w.TakeChangedServices(), policy);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    size_t last = runner.size();
    // The runner applies changes on its own thread: wait until the count stops moving.
    for (int still = 0; still < 5 && std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const size_t n = runner.size();
      still = n == last ? still + 1 : 0;
      last = n;
    }
    return last;
  }
};

}  // namespace

TEST_CASE("the runner follows registrations, changes and removals on this node only") {
  Fixture f;
  REQUIRE(f.w.UpsertService("self", Svc("web"), {Tcp("web-tcp"), Ttl("web-ttl")}).ok());
  REQUIRE(f.w.UpsertService("self", Svc("db"), {Tcp("db-tcp")}).ok());
  REQUIRE(f.w.UpsertService("other", Svc("web"), {Tcp("remote-tcp")}).ok());
  CHECK(f.Publish() == 2);  // TTL checks and other nodes' checks do not run here
  REQUIRE(f.w.UpsertService("self", Svc("cache"), {Tcp("cache-a"), Tcp("cache-b")}).ok());
  CHECK(f.Publish() == 4);
  REQUIRE(f.w.UpsertService("self", Svc("cache"), {Tcp("cache-a")}).ok());  // one check dropped
  CHECK(f.Publish() == 3);
  REQUIRE(f.w.RemoveService("self", "db"));
  CHECK(f.Publish() == 2);
  REQUIRE(f.w.UpsertCheck("self", Tcp("node-tcp")).ok());  // node-level
  CHECK(f.Publish() == 3);
  REQUIRE(f.w.RemoveCheck("self", "node-tcp"));
  CHECK(f.Publish() == 2);
  // A check that moves from one service to another keeps running.
  REQUIRE(f.w.UpsertService("self", Svc("cache"), {}).ok());
  REQUIRE(f.w.UpsertService("self", Svc("web"), {Tcp("web-tcp"), Tcp("cache-a")}).ok());
  CHECK(f.Publish() == 2);
  REQUIRE(f.w.RemoveNode("self"));
  CHECK(f.Publish() == 0);
}

TEST_CASE("script checks run only as the policy allows, and a policy change resyncs everything") {
  Fixture f;
  REQUIRE(f.w.UpsertService("self", Svc("web"), {Script("from-api"), Script("from-file")}).ok());
  CHECK(f.Publish() == 0);  // no script may run by default
  f.policy.enable_local_script_checks = true;
  f.policy.config_scripts = {Script("from-file")};
  CHECK(f.Publish() == 1);  // only the one the config files declare
  f.policy.enable_script_checks = true;
  CHECK(f.Publish() == 2);
  f.policy = {};
  CHECK(f.Publish() == 0);
}

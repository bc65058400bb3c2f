// health::Scheduler on a fake clock, the threshold state machine, output capping and the
// definition diff used by Runner::Sync.
#include <doctest.h>

#include <map>
#include <set>
#include <string>

#include "beacon/health/check_state.h"
#include "beacon/health/scheduler.h"

using beacon::catalog::Check;
using beacon::catalog::Health;
using beacon::health::CapOutput;
using beacon::health::Kind;
using beacon::health::KindOf;
using beacon::health::SameDefinition;
using beacon::health::Scheduler;
using beacon::health::Thresholds;

TEST_CASE("first runs of many checks are spread over their interval") {
  Scheduler s;
  constexpr int kChecks = 1000;
  for (int i = 0; i < kChecks; ++i) s.Add("check-" + std::to_string(i), 10000, 0);
  // Ten buckets of one second: none may hold more than twice its fair share.
  std::map<uint64_t, int> buckets;
  for (int i = 0; i < kChecks; ++i) {
    const uint64_t due = *s.DueOf("check-" + std::to_string(i));
    CHECK(due < 10000);
    ++buckets[due / 1000];
  }
  CHECK(buckets.size() == 10);
  for (const auto& [b, n] : buckets) CHECK(n < 2 * kChecks / 10);
  // The phase is stable for an id.
  CHECK(Scheduler::Phase("web", 5000) == Scheduler::Phase("web", 5000));
}

TEST_CASE("runs keep their phase: the next run is the previous due time plus the interval") {
  Scheduler s;
  s.Add("a", 3000, 100);
  const uint64_t first = *s.DueOf("a");
  CHECK(s.PopDue(first - 1).empty());
  // Called late (the loop was busy): still due on the grid first + k * interval.
  CHECK(s.PopDue(first + 250) == std::vector<std::string>{"a"});
  CHECK(*s.DueOf("a") == first + 3000);
  CHECK(s.PopDue(first + 3000 + 999) == std::vector<std::string>{"a"});
  CHECK(*s.DueOf("a") == first + 6000);
  // A long stall skips the missed runs instead of firing them in a burst.
  CHECK(s.PopDue(first + 20000) == std::vector<std::string>{"a"});
  CHECK(*s.DueOf("a") == first + 21000);
  CHECK(s.PopDue(first + 20500).empty());
}

TEST_CASE("intervals below one second are raised to one second") {
  Scheduler s;
  s.Add("fast", 10, 0);
  const uint64_t first = *s.DueOf("fast");
  CHECK(first < 1000);
  s.PopDue(first);
  CHECK(*s.DueOf("fast") == first + 1000);
  CHECK(Scheduler::EffectiveInterval(0) == 1000);
  CHECK(Scheduler::EffectiveInterval(2500) == 2500);
}

TEST_CASE("removed checks never run again; replacing restarts the schedule") {
  Scheduler s;
  s.Add("a", 1000, 0);
  s.Add("b", 1000, 0);
  s.Remove("a");
  s.Remove("unknown");
  CHECK(!s.Contains("a"));
  CHECK(s.size() == 1);
  std::set<std::string> seen;
  for (uint64_t t = 0; t <= 5000; t += 100) {
    for (const auto& id : s.PopDue(t)) seen.insert(id);
  }
  CHECK(seen == std::set<std::string>{"b"});
  s.Add("b", 60000, 10000);
  CHECK(s.size() == 1);
  CHECK(*s.DueOf("b") >= 10000);
  CHECK(*s.DueOf("b") < 70000);
  CHECK(s.NextDue() == s.DueOf("b"));
  s.Remove("b");
  CHECK(!s.NextDue());
}

TEST_CASE("thresholds: consecutive results before a status is reported") {
  SUBCASE("no thresholds: every result is reported") {
    Thresholds t(0, 0, 0);
    CHECK(t.Observe(Health::kPassing) == Health::kPassing);
    CHECK(t.Observe(Health::kCritical) == Health::kCritical);
    CHECK(t.Observe(Health::kWarning) == Health::kWarning);
  }
  SUBCASE("success_before_passing and failures_before_critical") {
    Thresholds t(2, 0, 3);
    CHECK(!t.Observe(Health::kPassing));
    CHECK(t.Observe(Health::kPassing) == Health::kPassing);
    CHECK(!t.Observe(Health::kCritical));
    CHECK(!t.Observe(Health::kCritical));
    CHECK(!t.Observe(Health::kPassing));  // breaks the failure run
    CHECK(!t.Observe(Health::kCritical));
    CHECK(!t.Observe(Health::kCritical));
    CHECK(t.Observe(Health::kCritical) == Health::kCritical);
    CHECK(t.Observe(Health::kCritical) == Health::kCritical);
    CHECK(!t.Observe(Health::kWarning));  // a warning counts as a success
    CHECK(t.Observe(Health::kWarning) == Health::kWarning);
  }
  SUBCASE("failures_before_warning reports warning first") {
    Thresholds t(0, 1, 3);
    CHECK(t.Observe(Health::kCritical) == Health::kWarning);
    CHECK(t.Observe(Health::kCritical) == Health::kWarning);
    CHECK(t.Observe(Health::kCritical) == Health::kCritical);
  }
}

TEST_CASE("output is capped to its last bytes with Consul's header") {
  CHECK(CapOutput("short", 4096) == "short");
  const std::string big = std::string(5000, 'a') + "TAIL";
  const std::string out = CapOutput(big, 100);
  CHECK(out.rfind("Captured 100 of 5004 bytes\n...\n", 0) == 0);
  CHECK(out.size() == std::string("Captured 100 of 5004 bytes\n...\n").size() + 100);
  CHECK(out.substr(out.size() - 4) == "TAIL");
}

TEST_CASE("check kinds and definition equality") {
  Check c;
  c.id = "web";
  c.http = "http://127.0.0.1/";
  c.interval_ms = 1000;
  CHECK(KindOf(c) == Kind::kHttp);
  Check d = c;
  d.status = Health::kPassing;
  d.output = "HTTP GET ...";
  d.modify_index = 42;
  d.name = "renamed";
  CHECK(SameDefinition(c, d));
  d.interval_ms = 2000;
  CHECK(!SameDefinition(c, d));
  Check ttl;
  ttl.ttl_ms = 1000;
  CHECK(KindOf(ttl) == Kind::kNone);
  Check script;
  script.args = {"true"};
  CHECK(KindOf(script) == Kind::kScript);
  Check alias;
  alias.alias_service = "db";
  CHECK(KindOf(alias) == Kind::kAlias);
  Check docker;
  docker.docker_container_id = "abc";
  docker.args = {"true"};
  CHECK(KindOf(docker) == Kind::kNone);
}

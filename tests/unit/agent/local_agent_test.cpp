// agent::LocalAgent against a real catalog Writer + SnapshotHub: registrations, TTL expiry,
// maintenance, deregister_critical_service_after, persistence across a restart, and the HTTP
// routes end to end through a real socket.
#include "beacon/agent/local_agent.h"

#include <doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "../http/test_client.h"
#include "beacon/catalog/writer.h"
#include "beacon/config/api_bodies.h"

using namespace beacon;
using namespace beacon::agent;
using beacon::catalog::Check;
using beacon::catalog::Health;
using beacon::catalog::Service;
using beacon::http::AgentStatus;

namespace {

// A catalog with the node "node1" and a SubmitFn that runs each command at once and publishes,
// as the agent's loop does (minus the coalescing).
struct Catalog {
  catalog::SnapshotHub hub;
  catalog::Writer writer{hub, "node1", "dc1", {}};
  int publishes = 0;
  Catalog() {
    catalog::Node n;
    n.name = "node1";
    n.address = "10.0.0.1";
    writer.UpsertNode(n);
    writer.Publish();
  }
  catalog::SubmitFn Submit() {
    return [this](catalog::CommandQueue::Command c, std::function<void()> published) {
      c(writer);
      if (writer.dirty()) {
        writer.Publish();
        ++publishes;
      }
      if (published) published();
    };
  }
};

struct Env {
  Logger log{LogLevel::kError};
  Catalog cat;
  uint64_t now = 1'700'000'000'000;
  std::unique_ptr<LocalAgent> agent;

  explicit Env(std::string data_dir = "", bool scripts = false) {
    LocalAgentOptions o;
    o.node_name = "node1";
    o.datacenter = "dc1";
    o.data_dir = std::move(data_dir);
    o.enable_script_checks = scripts;
    agent = std::make_unique<LocalAgent>(o, cat.Submit(), cat.hub, log, [this] { return now; });
  }

  // Runs a write and returns what it answered. The fake submit is synchronous; with a data dir
  // the answer waits for the agent's persister thread, so this waits too (up to 10 s).
  template <typename Fn>
  AgentStatus Call(Fn&& fn) {
    auto answer = std::make_shared<std::promise<AgentStatus>>();
    std::future<AgentStatus> got = answer->get_future();
    fn([answer](AgentStatus st) { answer->set_value(std::move(st)); });
    if (got.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return AgentStatus{-1, "no answer"};
    }
    return got.get();
  }
  AgentStatus Register(const std::string& json, bool replace = false) {
    auto body = config::ParseServiceBody(json);
    REQUIRE(body.ok());
    return Call([&](http::AgentDone d) { agent->RegisterService(*body, replace, std::move(d)); });
  }
  AgentStatus RegisterCheck(const std::string& json) {
    auto body = config::ParseCheckBody(json);
    REQUIRE(body.ok());
    return Call([&](http::AgentDone d) { agent->RegisterCheck(*body, std::move(d)); });
  }
  AgentStatus Ttl(const std::string& id, Health h, const std::string& out) {
    return Call([&](http::AgentDone d) { agent->UpdateTtlCheck(id, h, out, std::move(d)); });
  }
  const Check* FindCheck(const std::string& id) {
    checks_ = agent->Checks();
    for (const Check& c : checks_) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  bool HasService(const std::string& id) {
    for (const Service& s : agent->Services()) {
      if (s.id == id) return true;
    }
    return false;
  }
  // The published catalog: instances of `name` visible to DNS and HTTP readers.
  size_t CatalogInstances(const std::string& name) {
    const catalog::ServiceEntry* e = cat.hub.Current()->services.Find(name);
    return e == nullptr ? 0 : e->instances.size();
  }

 private:
  std::vector<Check> checks_;
};

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/beacon-local-agent-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("register and deregister services; replies come after the catalog publishes") {
  Env e;
  CHECK(e.Register(R"({"Name":"web","ID":"web1","Port":80,"Tags":["a"],"Check":{"TTL":"10s"}})")
            .ok());
  CHECK(e.CatalogInstances("web") == 1);
  REQUIRE(e.HasService("web1"));
  const Check* c = e.FindCheck("service:web1");
  REQUIRE(c != nullptr);
  CHECK(c->status == Health::kCritical);
  CHECK(c->service_name == "web");

  // Re-registering keeps the check's state; without replace-existing-checks old checks stay.
  CHECK(e.Ttl("service:web1", Health::kPassing, "fine").ok());
  CHECK(e.RegisterCheck(R"({"Name":"extra","TTL":"30s","ServiceID":"web1"})").ok());
  CHECK(e.Register(R"({"Name":"web","ID":"web1","Port":81,"Check":{"TTL":"10s"}})").ok());
  CHECK(e.FindCheck("service:web1")->status == Health::kPassing);
  CHECK(e.FindCheck("service:web1")->output == "fine");
  CHECK(e.FindCheck("extra") != nullptr);
  CHECK(e.Register(R"({"Name":"web","ID":"web1","Port":81,"Check":{"TTL":"10s"}})", true).ok());
  CHECK(e.FindCheck("extra") == nullptr);
  CHECK(e.agent->Services().at(0).port == 81);

  AgentStatus st = e.Call([&](http::AgentDone d) { e.agent->DeregisterService("nope", d); });
  CHECK(st.code == 404);
  CHECK(st.message ==
        "Unknown service ID \"nope\". Ensure that the service ID is passed, not the service name.");
  CHECK(e.Call([&](http::AgentDone d) { e.agent->DeregisterService("web1", d); }).ok());
  CHECK_FALSE(e.HasService("web1"));
  CHECK(e.FindCheck("service:web1") == nullptr);
  CHECK(e.CatalogInstances("web") == 0);
}

TEST_CASE("check register and deregister; unknown ids; script checks need enable_script_checks") {
  Env e;
  AgentStatus st = e.RegisterCheck(R"({"Name":"c","TTL":"5s","ServiceID":"ghost"})");
  CHECK(st.code == 404);
  CHECK(st.message == "ServiceID \"ghost\" does not exist");
  CHECK(e.RegisterCheck(R"({"Name":"disk","TTL":"5s","Status":"warning"})").ok());
  REQUIRE(e.FindCheck("disk") != nullptr);
  CHECK(e.FindCheck("disk")->status == Health::kWarning);
  CHECK(e.FindCheck("disk")->service_id.empty());
  st = e.Call([&](http::AgentDone d) { e.agent->DeregisterCheck("nope", d); });
  CHECK(st.code == 404);
  CHECK(st.message.find("Unknown check ID \"nope\"") == 0);
  CHECK(e.Call([&](http::AgentDone d) { e.agent->DeregisterCheck("disk", d); }).ok());
  CHECK(e.FindCheck("disk") == nullptr);

  st = e.Register(R"({"Name":"s","Check":{"Args":["true"],"Interval":"10s"}})");
  CHECK(st.code == 500);
  CHECK(st.message.find("Scripts are disabled on this agent") == 0);
  CHECK_FALSE(e.HasService("s"));
  Env allowed("", true);
  CHECK(allowed.Register(R"({"Name":"s","Check":{"Args":["true"],"Interval":"10s"}})").ok());
}

TEST_CASE("done callbacks may call back into the agent (no lock is held while they run)") {
  Env e;
  // A refused script check answers at once: its done turns scripts on, reads the agent and
  // registers again, all from inside the callback (with the lock held this deadlocked).
  auto body = config::ParseServiceBody(R"({"Name":"s","Check":{"Args":["true"],"Interval":"1s"}})");
  REQUIRE(body.ok());
  AgentStatus first{-1, ""}, second{-1, ""};
  e.agent->RegisterService(*body, false, [&](AgentStatus st) {
    first = st;
    e.agent->SetEnableScriptChecks(true);
    CHECK(e.agent->Checks().empty());
    CHECK_FALSE(e.agent->Metrics().empty());
    e.agent->RegisterService(*body, false, [&](AgentStatus again) { second = again; });
  });
  CHECK(first.code == 500);
  CHECK(second.ok());
  CHECK(e.HasService("s"));
  auto chk = config::ParseCheckBody(R"({"Name":"c","Args":["true"],"Interval":"1s"})");
  REQUIRE(chk.ok());
  e.agent->SetEnableScriptChecks(false);
  AgentStatus third{-1, ""};
  e.agent->RegisterCheck(*chk, [&](AgentStatus st) {
    third = st;
    e.agent->SetEnableScriptChecks(true);
  });
  CHECK(third.code == 500);
  // Successful writes answer after the publish, also free to call back in.
  AgentStatus fourth{-1, ""};
  e.agent->RegisterCheck(*chk, [&](AgentStatus st) {
    fourth = st;
    CHECK(e.agent->Checks().size() >= 2);
  });
  CHECK(fourth.ok());
}

TEST_CASE("TTL checks: pass/warn/fail, expiry in Tick with Consul's output, non-TTL is 500") {
  Env e;
  CHECK(e.Register(R"({"Name":"web","Checks":[{"TTL":"10s"},{"HTTP":"http://x/",)"
                   R"("Interval":"10s"}]})")
            .ok());
  CHECK(e.Ttl("service:web:1", Health::kPassing, "ok").ok());
  CHECK(e.FindCheck("service:web:1")->status == Health::kPassing);
  CHECK(e.FindCheck("service:web:1")->output == "ok");
  AgentStatus st = e.Ttl("service:web:2", Health::kPassing, "");
  CHECK(st.code == 500);
  CHECK(st.message == "CheckID \"service:web:2\" does not have associated TTL");
  CHECK(e.Ttl("nope", Health::kPassing, "").code == 404);

  e.now += 9000;
  e.agent->Tick(e.now);
  CHECK(e.FindCheck("service:web:1")->status == Health::kPassing);
  CHECK(e.Ttl("service:web:1", Health::kWarning, "slow").ok());  // resets the timer
  e.now += 9000;
  e.agent->Tick(e.now);
  CHECK(e.FindCheck("service:web:1")->status == Health::kWarning);
  e.now += 1001;
  e.agent->Tick(e.now);
  const Check* c = e.FindCheck("service:web:1");
  CHECK(c->status == Health::kCritical);
  CHECK(c->output == "TTL expired (last output before timeout follows): slow");

  // A TTL check never updated expires with the bare text.
  CHECK(e.RegisterCheck(R"({"Name":"hb","TTL":"2s","Status":"passing"})").ok());
  e.agent->Tick(e.now + 1000);
  CHECK(e.FindCheck("hb")->status == Health::kPassing);
  e.agent->Tick(e.now + 2000);
  CHECK(e.FindCheck("hb")->status == Health::kCritical);
  CHECK(e.FindCheck("hb")->output == "TTL expired");
}

TEST_CASE("node and service maintenance") {
  Env e;
  CHECK(e.Call([&](http::AgentDone d) { e.agent->NodeMaintenance(true, "", d); }).ok());
  const Check* c = e.FindCheck("_node_maintenance");
  REQUIRE(c != nullptr);
  CHECK(c->name == "Node Maintenance Mode");
  CHECK(c->status == Health::kCritical);
  CHECK(c->notes.find("Maintenance mode is enabled for this node") == 0);
  const int publishes = e.cat.publishes;
  CHECK(e.Call([&](http::AgentDone d) { e.agent->NodeMaintenance(true, "again", d); }).ok());
  CHECK(e.cat.publishes == publishes);  // a no-op
  CHECK(e.Call([&](http::AgentDone d) { e.agent->NodeMaintenance(false, "", d); }).ok());
  CHECK(e.FindCheck("_node_maintenance") == nullptr);

  AgentStatus st =
      e.Call([&](http::AgentDone d) { e.agent->ServiceMaintenance("web1", true, "x", d); });
  CHECK(st.code == 404);
  CHECK(st.message == "No service registered with ID \"web1\"");
  CHECK(e.Register(R"({"Name":"web","ID":"web1","Check":{"TTL":"10s","Status":"passing"}})").ok());
  CHECK(
      e.Call([&](http::AgentDone d) { e.agent->ServiceMaintenance("web1", true, "dbg", d); }).ok());
  c = e.FindCheck("_service_maintenance:web1");
  REQUIRE(c != nullptr);
  CHECK(c->service_id == "web1");
  CHECK(c->notes == "dbg");
  // The instance is critical now: the catalog orders it out of the passing set.
  CHECK(e.cat.hub.Current()->services.Find("web")->n_passing == 0);
  CHECK(e.Call([&](http::AgentDone d) { e.agent->ServiceMaintenance("web1", false, "", d); }).ok());
  CHECK(e.FindCheck("_service_maintenance:web1") == nullptr);
  CHECK(e.cat.hub.Current()->services.Find("web")->n_passing == 1);
}

TEST_CASE("deregister_critical_service_after removes the service once critical that long") {
  Env e;
  CHECK(e.Register(R"({"Name":"job","Check":{"TTL":"10s","DeregisterCriticalServiceAfter":"90s"}})")
            .ok());
  e.agent->Tick(e.now);  // critical from the start (no status given)
  e.agent->Tick(e.now + 89000);
  CHECK(e.HasService("job"));
  e.agent->Tick(e.now + 90000);
  CHECK_FALSE(e.HasService("job"));

  // Below the 1 minute floor, the floor applies; a passing check is never reaped.
  CHECK(e.Register(R"({"Name":"fast","Check":{"TTL":"1h","DeregisterCriticalServiceAfter":"1s"}})")
            .ok());
  e.now += 100000;
  e.agent->Tick(e.now);
  e.agent->Tick(e.now + 30000);
  CHECK(e.HasService("fast"));
  CHECK(e.Ttl("service:fast", Health::kPassing, "").ok());
  e.agent->Tick(e.now + 120000);
  CHECK(e.HasService("fast"));
}

TEST_CASE("deregister_critical_service_after also reaps services whose run check is critical") {
  // The health Runner reports HTTP/TCP/script results as Writer::UpdateCheck, as here.
  Env e;
  CHECK(e.Register(R"({"Name":"api","Check":{"HTTP":"http://127.0.0.1:1/","Interval":"10s",)"
                   R"("Status":"passing","DeregisterCriticalServiceAfter":"1m"}})")
            .ok());
  auto report = [&](Health h) {
    e.cat.Submit()([h](catalog::Writer& w) { w.UpdateCheck("node1", "service:api", h, "x"); }, {});
  };
  e.agent->Tick(e.now);
  e.agent->Tick(e.now + 120000);
  CHECK(e.HasService("api"));  // passing: never reaped
  report(Health::kCritical);
  e.agent->Tick(e.now + 130000);
  e.agent->Tick(e.now + 189000);
  CHECK(e.HasService("api"));
  report(Health::kPassing);  // recovered: the critical time starts over
  e.agent->Tick(e.now + 189500);
  report(Health::kCritical);
  e.agent->Tick(e.now + 190000);
  e.agent->Tick(e.now + 249000);
  CHECK(e.HasService("api"));
  e.agent->Tick(e.now + 250000);
  CHECK_FALSE(e.HasService("api"));
}

TEST_CASE("persistence: registrations, TTL state and maintenance survive a restart") {
  TempDir dir;
  std::string node_id;
  {
    Env e(dir.path);
    node_id = e.agent->node_id();
    CHECK(node_id.size() == 36);
    CHECK(e.Register(R"({"Name":"web","ID":"web/1","Port":80,"Tags":["x"],"Meta":{"k":"v"},)"
                     R"("Check":{"TTL":"60s","Notes":"n"}})")
              .ok());
    CHECK(e.Register(R"({"Name":"db","Port":5432})").ok());
    CHECK(e.RegisterCheck(R"({"Name":"disk","HTTP":"http://127.0.0.1:1/","Interval":"15s",)"
                          R"("Header":{"X":["1"]}})")
              .ok());
    CHECK(e.RegisterCheck(R"({"Name":"gone","TTL":"5s"})").ok());
    CHECK(e.Ttl("service:web/1", Health::kPassing, "up").ok());
    CHECK(e.Call([&](http::AgentDone d) { e.agent->NodeMaintenance(true, "patching", d); }).ok());
    CHECK(e.Call([&](http::AgentDone d) { e.agent->ServiceMaintenance("db", true, "", d); }).ok());
    CHECK(e.Call([&](http::AgentDone d) { e.agent->DeregisterCheck("gone", d); }).ok());
    CHECK(e.Register(R"({"Name":"tmp"})").ok());
    CHECK(e.Call([&](http::AgentDone d) { e.agent->DeregisterService("tmp", d); }).ok());
  }
  Env e(dir.path);
  e.now += 30000;  // within the TTL: the passing state comes back
  CHECK(e.agent->node_id() == node_id);
  CHECK(e.agent->Restore() == 6);  // web/1, db; service:web/1, disk and two maintenance checks
  REQUIRE(e.HasService("web/1"));
  CHECK(e.HasService("db"));
  CHECK_FALSE(e.HasService("tmp"));
  CHECK(e.CatalogInstances("web") == 1);
  for (const Service& s : e.agent->Services()) {
    if (s.id != "web/1") continue;
    CHECK(s.port == 80);
    CHECK(s.tags == std::vector<std::string>{"x"});
    CHECK(s.meta.at("k") == "v");
  }
  const Check* c = e.FindCheck("service:web/1");
  REQUIRE(c != nullptr);
  CHECK(c->status == Health::kPassing);
  CHECK(c->output == "up");
  CHECK(c->notes == "n");
  c = e.FindCheck("disk");
  REQUIRE(c != nullptr);
  CHECK(c->interval_ms == 15000);
  CHECK(c->header.at("X") == std::vector<std::string>{"1"});
  CHECK(e.FindCheck("gone") == nullptr);
  REQUIRE(e.FindCheck("_node_maintenance") != nullptr);
  CHECK(e.FindCheck("_node_maintenance")->notes == "patching");
  REQUIRE(e.FindCheck("_service_maintenance:db") != nullptr);
  CHECK(e.FindCheck("_service_maintenance:db")->service_id == "db");
  // The restored TTL timer runs: the check expires a full TTL after the restart.
  e.agent->Tick(e.now + 59000);
  CHECK(e.FindCheck("service:web/1")->status == Health::kPassing);
  e.agent->Tick(e.now + 60000);
  CHECK(e.FindCheck("service:web/1")->status == Health::kCritical);

  // Maintenance off and a deregistration are persisted too.
  CHECK(e.Call([&](http::AgentDone d) { e.agent->NodeMaintenance(false, "", d); }).ok());
  CHECK(e.Call([&](http::AgentDone d) { e.agent->DeregisterService("db", d); }).ok());
  Env again(dir.path);
  again.agent->Restore();
  CHECK(again.HasService("web/1"));
  CHECK_FALSE(again.HasService("db"));
  CHECK(again.FindCheck("_node_maintenance") == nullptr);
  CHECK(again.FindCheck("_service_maintenance:db") == nullptr);
}

TEST_CASE("persistence: expired TTL state is dropped; config-file services win over files") {
  TempDir dir;
  {
    Env e(dir.path);
    CHECK(e.Register(R"({"Name":"web","Check":{"TTL":"10s"}})").ok());
    CHECK(e.Ttl("service:web", Health::kPassing, "up").ok());
    CHECK(e.Register(R"({"Name":"cfg","Port":1})").ok());
  }
  Env e(dir.path);
  e.now += 11000;  // past the TTL: the check starts over as registered (critical)
  Service cfg;
  cfg.name = cfg.id = "cfg";
  cfg.port = 2;
  REQUIRE(e.cat.writer.UpsertService("node1", cfg, {}).ok());  // as agent.cpp's ApplyLocal does
  e.cat.writer.Publish();
  e.agent->Restore();
  CHECK(e.FindCheck("service:web")->status == Health::kCritical);
  for (const Service& s : e.agent->Services()) {
    if (s.id == "cfg") CHECK(s.port == 2);
  }
  CHECK_FALSE(std::filesystem::exists(dir.path + "/services/cfg.json"));
  CHECK(std::filesystem::exists(dir.path + "/services/web.json"));
}

TEST_CASE("HTTP end to end: register over a socket, read it back from the agent endpoints") {
  Env e;
  http::Router router;
  http::AddAgentRoutes(router, *e.agent);
  http::HttpServerOptions o;
  o.port = 0;
  http::HttpServer server(e.log, std::move(router), o);
  REQUIRE(server.Start().ok());
  const std::string body = R"({"name":"api","port":9000,"check":{"ttl":"10s"}})";
  std::string out = http::testing::Exchange(
      server.port(), "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  CHECK(out.find("HTTP/1.1 200") == 0);
  out = http::testing::Exchange(server.port(),
                                "GET /v1/agent/check/pass/service:api?note=hi HTTP/1.1\r\n"
                                "Host: x\r\nConnection: close\r\n\r\n");
  CHECK(out.find("HTTP/1.1 200") == 0);
  out = http::testing::Exchange(
      server.port(), "GET /v1/agent/checks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(out.find(R"("service:api":{"Node":"node1","CheckID":"service:api",)") != std::string::npos);
  CHECK(out.find(R"("Status":"passing","Notes":"","Output":"hi")") != std::string::npos);
  out = http::testing::Exchange(
      server.port(),
      "PUT /v1/agent/service/deregister/api HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n");
  CHECK(out.find("HTTP/1.1 200") == 0);
  CHECK_FALSE(e.HasService("api"));
  server.Stop();
}

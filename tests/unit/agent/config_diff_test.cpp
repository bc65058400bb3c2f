// agent::ApplyConfigDiff (live reload): config dirs loaded with config::LoadPaths and applied to a
// real catalog Writer one after the other, with a LocalAgent for what arrives over the API.
#include "beacon/agent/config_diff.h"

#include <doctest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "../config/test_util.h"
#include "beacon/agent/local_agent.h"
#include "beacon/config/api_bodies.h"

using namespace beacon;
using beacon::agent::ApplyConfigDiff;
using beacon::agent::ConfigDiffStats;
using beacon::catalog::Check;
using beacon::catalog::Health;
using beacon::catalog::Instance;
using beacon::http::AgentStatus;

namespace {

struct Env {
  Logger log{LogLevel::kError};
  catalog::SnapshotHub hub;
  catalog::Writer writer{hub, "node1", "dc1", {}};
  std::unique_ptr<agent::LocalAgent> api;
  config::testing::TempDir dir;
  std::optional<config::AgentConfig> applied;

  Env() {
    catalog::Node n;
    n.name = "node1";
    n.address = "127.0.0.1";
    writer.UpsertNode(n);
    writer.Publish();
    agent::LocalAgentOptions o;
    o.node_name = "node1";
    // The agent's loop, minus the coalescing: run each command at once and publish.
    catalog::SubmitFn submit = [this](catalog::CommandQueue::Command c,
                                      std::function<void()> published) {
      c(writer);
      if (writer.dirty()) writer.Publish();
      if (published) published();
    };
    api = std::make_unique<agent::LocalAgent>(o, submit, hub, log);
  }

  // Loads the config dir and applies it against the previous one, as Agent::Reload does.
  ConfigDiffStats Reload() {
    auto cfg = config::LoadPaths({dir.path()});
    REQUIRE_MESSAGE(cfg.ok(), cfg.status().message());
    ConfigDiffStats d = ApplyConfigDiff(writer, "node1", *cfg, applied ? &*applied : nullptr, log);
    applied = std::move(*cfg);
    if (writer.dirty()) writer.Publish();
    return d;
  }
  void Write(const std::string& name, const std::string& json) { dir.Write(name, json); }
  void Remove(const std::string& name) {
    std::filesystem::remove(std::filesystem::path(dir.path()) / name);
  }

  template <typename Fn>
  AgentStatus Call(Fn&& fn) {
    AgentStatus out{-1, "no answer"};
    fn([&out](AgentStatus st) { out = std::move(st); });
    return out;
  }
  AgentStatus Pass(const std::string& id, const std::string& output) {
    return Call([&](http::AgentDone d) {
      api->UpdateTtlCheck(id, Health::kPassing, output, std::move(d));
    });
  }

  const Instance* Find(const std::string& name, const std::string& id) const {
    const catalog::ServiceEntry* e = hub.Current()->services.Find(name);
    if (e == nullptr) return nullptr;
    for (const Instance& in : e->instances) {
      if (in.service.id.str() == id) return &in;
    }
    return nullptr;
  }
  uint64_t ServiceIndex(const std::string& name) const {
    const catalog::ServiceEntry* e = hub.Current()->services.Find(name);
    return e == nullptr ? 0 : e->index;
  }
  static const Check* CheckOf(const Instance* in, const std::string& id) {
    if (in == nullptr) return nullptr;
    for (const Check& c : in->checks()) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  const Check* NodeCheck(const std::string& id) const {
    const catalog::NodeEntry* n = hub.Current()->nodes.Find("node1");
    if (n == nullptr) return nullptr;
    for (const Check& c : n->checks()) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
};

constexpr char kCache[] =
    R"({"service": {"name": "cache", "port": 6379, "check": {"id": "cache-ttl", "ttl": "30s"}}})";

}  // namespace

TEST_CASE("an unchanged service keeps its check status, output and every index") {
  Env e;
  e.Write("cache.json", kCache);
  e.Write("node.json", R"({"check": {"id": "disk", "name": "disk", "ttl": "1m"}})");
  ConfigDiffStats first = e.Reload();
  CHECK(first.added == 2);
  REQUIRE(e.Pass("cache-ttl", "warm").ok());
  REQUIRE(e.Pass("disk", "ok").ok());
  const Instance* before = e.Find("cache", "cache");
  REQUIRE(before != nullptr);
  const Check before_check = *Env::CheckOf(before, "cache-ttl");
  const uint64_t modify = before->modify_index, service_index = e.ServiceIndex("cache");
  const uint64_t catalog_index = e.writer.index(), generation = e.hub.Current()->generation;

  ConfigDiffStats d = e.Reload();
  CHECK(d.unchanged == 2);
  CHECK(d.added + d.changed + d.removed == 0);
  CHECK_FALSE(e.writer.dirty());
  CHECK(e.hub.Current()->generation == generation);  // nothing published, no one woken
  CHECK(e.writer.index() == catalog_index);
  const Instance* after = e.Find("cache", "cache");
  REQUIRE(after != nullptr);
  CHECK(after->modify_index == modify);
  CHECK(e.ServiceIndex("cache") == service_index);
  const Check* c = Env::CheckOf(after, "cache-ttl");
  REQUIRE(c != nullptr);
  CHECK(*c == before_check);  // status, output, indexes and definition as they were
  CHECK(c->status == Health::kPassing);
  CHECK(c->output == "warm");
  REQUIRE(e.NodeCheck("disk") != nullptr);
  CHECK(e.NodeCheck("disk")->status == Health::kPassing);
}

TEST_CASE("a changed service keeps the status of its checks whose definition did not change") {
  Env e;
  e.Write("web.json", R"({"service": {"name": "web", "tags": ["a"], "port": 80, "checks": [
      {"id": "web-a", "ttl": "30s"}, {"id": "web-b", "ttl": "30s"}]}})");
  e.Reload();
  REQUIRE(e.Pass("web-a", "a ok").ok());
  REQUIRE(e.Pass("web-b", "b ok").ok());
  const Check a_before = *Env::CheckOf(e.Find("web", "web"), "web-a");

  e.Write("web.json", R"({"service": {"name": "web", "tags": ["b"], "port": 80, "checks": [
      {"id": "web-a", "ttl": "30s"}, {"id": "web-b", "ttl": "45s"}, {"id": "web-c", "ttl": "1m"}]}})");
  ConfigDiffStats d = e.Reload();
  CHECK(d.changed == 1);
  const Instance* web = e.Find("web", "web");
  REQUIRE(web != nullptr);
  CHECK(web->ToService().tags == std::vector<std::string>{"b"});
  const Check* a = Env::CheckOf(web, "web-a");
  REQUIRE(a != nullptr);
  CHECK(*a == a_before);
  const Check* b = Env::CheckOf(web, "web-b");
  REQUIRE(b != nullptr);
  CHECK(b->ttl_ms == 45000);
  CHECK(b->status == Health::kCritical);  // redefined: starts over as its definition says
  REQUIRE(Env::CheckOf(web, "web-c") != nullptr);

  // Dropping a check from the file deregisters it; the others stay as they are.
  e.Write("web.json", R"({"service": {"name": "web", "tags": ["b"], "port": 80, "checks": [
      {"id": "web-a", "ttl": "30s"}, {"id": "web-b", "ttl": "45s"}]}})");
  e.Reload();
  web = e.Find("web", "web");
  CHECK(Env::CheckOf(web, "web-c") == nullptr);
  REQUIRE(Env::CheckOf(web, "web-a") != nullptr);
  CHECK(Env::CheckOf(web, "web-a")->status == Health::kPassing);
}

TEST_CASE("a removed file deregisters its services and checks, and only those") {
  Env e;
  e.Write("cache.json", kCache);
  e.Write("db.json", R"({"service": {"name": "db", "port": 5432}})");
  e.Write("disk.json", R"({"check": {"id": "disk", "name": "disk", "ttl": "1m"}})");
  e.Reload();
  REQUIRE(e.Find("db", "db") != nullptr);
  REQUIRE(e.NodeCheck("disk") != nullptr);
  const uint64_t cache_index = e.ServiceIndex("cache");

  e.Remove("db.json");
  ConfigDiffStats d = e.Reload();
  CHECK(d.removed == 1);
  CHECK(e.Find("db", "db") == nullptr);
  REQUIRE(e.Find("cache", "cache") != nullptr);
  CHECK(e.ServiceIndex("cache") == cache_index);  // another service's removal moves nothing here
  REQUIRE(e.NodeCheck("disk") != nullptr);

  e.Remove("disk.json");
  d = e.Reload();
  CHECK(d.removed == 1);
  CHECK(e.NodeCheck("disk") == nullptr);
  CHECK(e.Find("cache", "cache") != nullptr);
}

TEST_CASE("services and checks registered over the API are left alone") {
  Env e;
  e.Write("cache.json", kCache);
  e.Reload();
  auto body = config::ParseServiceBody(R"({"Name":"api","Port":9000,"Check":{"TTL":"10s"}})");
  REQUIRE(body.ok());
  REQUIRE(
      e.Call([&](http::AgentDone d) { e.api->RegisterService(*body, false, std::move(d)); }).ok());
  REQUIRE(e.Pass("service:api", "up").ok());
  auto chk = config::ParseCheckBody(
      R"({"ID":"cache-extra","Name":"extra","TTL":"20s","ServiceID":"cache"})");
  REQUIRE(chk.ok());
  REQUIRE(e.Call([&](http::AgentDone d) { e.api->RegisterCheck(*chk, std::move(d)); }).ok());
  const uint64_t api_index = e.ServiceIndex("api");

  // The config's service changes: the API's check on it stays, the API's own service is not
  // touched.
  e.Write(
      "cache.json",
      R"({"service": {"name": "cache", "port": 6380, "check": {"id": "cache-ttl", "ttl": "30s"}}})");
  ConfigDiffStats d = e.Reload();
  CHECK(d.changed == 1);
  const Instance* cache = e.Find("cache", "cache");
  REQUIRE(cache != nullptr);
  CHECK(cache->port == 6380);
  CHECK(Env::CheckOf(cache, "cache-extra") != nullptr);
  CHECK(e.ServiceIndex("api") == api_index);
  const Check* api_check = Env::CheckOf(e.Find("api", "api"), "service:api");
  REQUIRE(api_check != nullptr);
  CHECK(api_check->status == Health::kPassing);

  // Removing the config file removes the config's service, not the API's.
  e.Remove("cache.json");
  e.Reload();
  CHECK(e.Find("cache", "cache") == nullptr);
  CHECK(e.Find("api", "api") != nullptr);
}

TEST_CASE("a config service whose id the API registered replaces it (the config wins)") {
  Env e;
  e.Write("cache.json", kCache);
  e.Reload();
  auto body = config::ParseServiceBody(R"({"Name":"web","Port":1})");
  REQUIRE(body.ok());
  REQUIRE(
      e.Call([&](http::AgentDone d) { e.api->RegisterService(*body, false, std::move(d)); }).ok());
  e.Write("web.json", R"({"service": {"name": "web", "port": 80}})");
  ConfigDiffStats d = e.Reload();
  CHECK(d.changed == 1);
  const Instance* web = e.Find("web", "web");
  REQUIRE(web != nullptr);
  CHECK(web->port == 80);
}

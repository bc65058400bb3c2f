// The health endpoints, and blocking queries over real sockets: a watcher wakes for its own
// service's changes and sleeps through everyone else's.
#include <doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "beacon/catalog/writer.h"
#include "catalog_test_env.h"

using namespace beacon;
using namespace beacon::catalog;
using namespace beacon::http;
using beacon::http::testing::Json;
using beacon::http::testing::LiveCatalog;
using beacon::http::testing::Reply;

namespace {

Check MakeCheck(const std::string& id, Health h, const std::string& svc = "") {
  Check c;
  c.id = id;
  c.name = id;
  c.status = h;
  c.service_id = svc;
  return c;
}

// n1 (rack a, node check "serf" passing): web1 (tags v1, passing). n2 (rack b, node check
// "disk" warning): web2 (tags v1,canary, passing), db1 (critical).
void Seed(Writer& w) {
  Node n;
  n.name = "n1";
  n.address = "10.0.0.1";
  n.meta = {{"rack", "a"}};
  w.UpsertNode(n);
  n.name = "n2";
  n.address = "10.0.0.2";
  n.meta = {{"rack", "b"}};
  w.UpsertNode(n);
  REQUIRE(w.UpsertCheck("n1", MakeCheck("serf", Health::kPassing)).ok());
  REQUIRE(w.UpsertCheck("n2", MakeCheck("disk", Health::kWarning)).ok());
  Service s;
  s.name = "web";
  s.id = "web1";
  s.port = 80;
  s.tags = {"v1"};
  REQUIRE(w.UpsertService("n1", s, {MakeCheck("web1-http", Health::kPassing)}).ok());
  s.id = "web2";
  s.tags = {"v1", "Canary"};
  REQUIRE(w.UpsertService("n2", s, {MakeCheck("web2-http", Health::kPassing)}).ok());
  Service db;
  db.name = db.id = "db1";
  db.name = "db";
  REQUIRE(w.UpsertService("n2", db, {MakeCheck("db1-tcp", Health::kCritical)}).ok());
}

size_t Count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

uint64_t Ms(std::chrono::steady_clock::time_point since) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - since)
                                   .count());
}

// A GET sent on its own connection, answered later (or not).
struct Pending {
  int fd = -1;
  Pending(int port, const std::string& target) {
    fd = testing::Connect(port);
    testing::SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }
  ~Pending() {
    if (fd >= 0) close(fd);
  }
  bool AnsweredWithin(int ms) const { return testing::Readable(fd, ms); }
  Reply Read() const { return testing::ParseReply(testing::ReadAll(fd)); }
};

}  // namespace

TEST_CASE("health/service: entries with node, service and checks; ?passing; ?tag; ?node-meta") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  Reply r = live.Get("/v1/health/service/web");
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type") == "application/json");
  CHECK(r.Index() == live.hub.Current()->services.Find("web")->index);
  Json j(r.body);
  REQUIRE(j.error == simdjson::SUCCESS);
  simdjson::dom::array entries = j.root.get_array();
  REQUIRE(entries.size() == 2);
  simdjson::dom::element e0 = entries.at(0);
  CHECK(std::string_view(e0["Node"]["Node"]) == "n1");
  CHECK(std::string_view(e0["Node"]["Address"]) == "10.0.0.1");
  CHECK(std::string_view(e0["Node"]["Meta"]["rack"]) == "a");
  CHECK(std::string_view(e0["Service"]["ID"]) == "web1");
  CHECK(uint64_t(e0["Service"]["Port"]) == 80);
  CHECK(std::string_view(e0["Service"]["Tags"].at(0)) == "v1");
  CHECK(std::string_view(e0["Service"]["Address"]).empty());
  simdjson::dom::array checks = e0["Checks"].get_array();
  REQUIRE(checks.size() == 2);  // the node's check, then the instance's
  CHECK(std::string_view(checks.at(0)["CheckID"]) == "serf");
  CHECK(std::string_view(checks.at(0)["ServiceID"]).empty());
  CHECK(std::string_view(checks.at(1)["ServiceName"]) == "web");
  CHECK(std::string_view(checks.at(1)["ServiceTags"].at(0)) == "v1");
  CHECK(uint64_t(checks.at(1)["CreateIndex"]) >= 1);
  CHECK(uint64_t(checks.at(1)["ModifyIndex"]) >= uint64_t(checks.at(1)["CreateIndex"]));

  // ?passing drops web2 (its node check warns); every spelling Go's ParseBool takes.
  for (const char* v : {"", "=1", "=true", "=True", "=t"}) {
    r = live.Get(std::string("/v1/health/service/web?passing") + v);
    CHECK(Count(r.body, "\"Service\":{") == 1);
    CHECK(r.body.find("\"ID\":\"web1\"") != std::string::npos);
  }
  for (const char* v : {"=0", "=false", "=F"}) {
    r = live.Get(std::string("/v1/health/service/web?passing") + v);
    CHECK(Count(r.body, "\"Service\":{") == 2);
  }
  r = live.Get("/v1/health/service/web?passing=maybe");
  CHECK(r.status == 400);
  CHECK(r.body == "Invalid value for ?passing\n");
  CHECK(r.Index() >= 1);

  r = live.Get("/v1/health/service/web?tag=v1&tag=CANARY");
  CHECK(Count(r.body, "\"Service\":{") == 1);
  CHECK(r.body.find("\"ID\":\"web2\"") != std::string::npos);
  r = live.Get("/v1/health/service/web?node-meta=rack:a&near=_agent&stale=");
  CHECK(Count(r.body, "\"Service\":{") == 1);
  CHECK(r.Header("X-Consul-Effective-Consistency") == "stale");
  r = live.Get("/v1/health/service/nope");
  CHECK(r.body == "[]");
  CHECK(r.Index() == live.hub.Current()->services_index);
  CHECK(live.Get("/v1/health/service/web?dc=dc2").status == 500);
  CHECK(live.Get("/v1/health/service/web?filter=Checks.Status%3D%3Dpassing").status == 400);
}

TEST_CASE("health/node, health/checks, health/state") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  Reply r = live.Get("/v1/health/node/N2");
  CHECK(r.status == 200);
  CHECK(Count(r.body, "\"CheckID\"") == 3);
  CHECK(r.body.find("\"CheckID\":\"db1-tcp\"") < r.body.find("\"CheckID\":\"disk\""));
  CHECK(r.Index() == live.hub.Current()->NodeIndex("n2"));
  CHECK(live.Get("/v1/health/node/ghost").body == "[]");
  CHECK(live.Get("/v1/health/node/").status == 400);

  r = live.Get("/v1/health/checks/web");
  CHECK(Count(r.body, "\"CheckID\"") == 2);  // service-level checks only
  CHECK(r.body.find("\"serf\"") == std::string::npos);
  r = live.Get("/v1/health/checks/web?node-meta=rack:b");
  CHECK(Count(r.body, "\"CheckID\"") == 1);
  CHECK(r.body.find("\"web2-http\"") != std::string::npos);
  CHECK(live.Get("/v1/health/checks/nope").body == "[]");

  r = live.Get("/v1/health/state/any");
  CHECK(Count(r.body, "\"CheckID\"") == 5);
  CHECK(r.Index() == live.hub.Current()->checks_index);
  CHECK(Count(live.Get("/v1/health/state/passing").body, "\"CheckID\"") == 3);
  CHECK(Count(live.Get("/v1/health/state/warning").body, "\"CheckID\"") == 1);
  r = live.Get("/v1/health/state/critical");
  CHECK(Count(r.body, "\"CheckID\"") == 1);
  CHECK(r.body.find("\"ServiceName\":\"db\"") != std::string::npos);
  CHECK(Count(live.Get("/v1/health/state/any?node-meta=rack:a").body, "\"CheckID\"") == 2);
  CHECK(live.Get("/v1/health/state/unknown").body == "[]");
  r = live.Get("/v1/health/state/bogus");
  CHECK(r.status == 400);
  CHECK(r.Index() >= 1);
  CHECK(live.Get("/v1/health/state/").status == 400);
}

TEST_CASE("blocking health/service wakes for its own service only") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  const uint64_t idx = live.Get("/v1/health/service/web").Index();
  REQUIRE(idx >= 1);

  Pending watch(live.port(), "/v1/health/service/web?index=" + std::to_string(idx) + "&wait=10s");
  CHECK_FALSE(watch.AnsweredWithin(300));
  // Unrelated changes: another service's check flips, a new service, a new node.
  live.writer->Sync([](Writer& w) { w.UpdateCheck("n2", "db1-tcp", Health::kPassing, "ok"); });
  live.writer->Sync([](Writer& w) {
    Service s;
    s.name = s.id = "cache";
    if (!w.UpsertService("n3", s, {}).ok()) std::abort();  // writer thread: no doctest asserts
  });
  CHECK_FALSE(watch.AnsweredWithin(500));
  // web's own check flips: the watcher answers at once with a higher index.
  const auto t0 = std::chrono::steady_clock::now();
  live.writer->Sync([](Writer& w) { w.UpdateCheck("n1", "web1-http", Health::kCritical, "down"); });
  REQUIRE(watch.AnsweredWithin(3000));
  CHECK(Ms(t0) < 3000);
  Reply r = watch.Read();
  CHECK(r.status == 200);
  CHECK(r.Index() > idx);
  CHECK(r.body.find("\"Status\":\"critical\"") != std::string::npos);
}

TEST_CASE("blocking catalog/services sleeps through check flips; wakes on a registration") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  const uint64_t idx = live.Get("/v1/catalog/services").Index();
  Pending watch(live.port(), "/v1/catalog/services?index=" + std::to_string(idx) + "&wait=10s");
  live.writer->Sync([](Writer& w) { w.UpdateCheck("n1", "web1-http", Health::kCritical, "x"); });
  CHECK_FALSE(watch.AnsweredWithin(500));
  Reply r = live.Put("/v1/catalog/register",
                     R"({"Node":"n9","Address":"10.0.0.9","Service":{"Service":"api"}})");
  CHECK(r.body == "true");
  REQUIRE(watch.AnsweredWithin(3000));
  r = watch.Read();
  CHECK(r.Index() > idx);
  CHECK(r.body.find("\"api\":[]") != std::string::npos);
}

TEST_CASE("blocking queries time out with the same index; an old index answers at once") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  const uint64_t idx = live.Get("/v1/health/node/n1").Index();
  const auto t0 = std::chrono::steady_clock::now();
  Reply r = live.Get("/v1/health/node/n1?index=" + std::to_string(idx) + "&wait=400ms");
  const uint64_t took = Ms(t0);
  CHECK(took >= 380);
  CHECK(took < 400 + 400 / 16 + 1000);
  CHECK(r.status == 200);
  CHECK(r.Index() == idx);
  const auto t1 = std::chrono::steady_clock::now();
  r = live.Get("/v1/health/node/n1?index=" + std::to_string(idx - 1) + "&wait=5s");
  CHECK(Ms(t1) < 1000);
  CHECK(r.Index() == idx);
}

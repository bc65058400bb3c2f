// The catalog and status endpoints over a real catalog snapshot: reads, filters, errors, and
// register/deregister through real sockets with the writer on its own thread.
#include "beacon/api/catalog_api.h"

#include <doctest.h>

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

// n1 (rack r"1) runs web1 (passing, tags Primary,v1, port 80, tagged address and meta);
// n2 runs web2 (warning, tag v1, no port).
void Seed(Writer& writer) {
  Node n;
  n.name = "n1";
  n.address = "10.0.0.1";
  n.meta["rack"] = "r\"1";
  writer.UpsertNode(n);
  n.name = "n2";
  n.address = "10.0.0.2";
  n.meta = {{"rack", "r2"}};
  writer.UpsertNode(n);
  Service s;
  s.name = "web";
  s.id = "web1";
  s.port = 80;
  s.tags = {"Primary", "v1"};
  s.meta = {{"version", "1.2"}};
  s.tagged_addresses["wan"] = {"198.51.100.1", 8080};
  Check ok;
  ok.id = "c1";
  ok.name = "c1";
  ok.status = Health::kPassing;
  ok.service_id = "web1";
  ok.interval_ms = 90000;
  ok.http = "http://x/";
  REQUIRE(writer.UpsertService("n1", s, {ok}).ok());
  s.id = "web2";
  s.tags = {"v1"};
  s.port = 0;
  s.meta.clear();
  s.tagged_addresses.clear();
  Check bad = ok;
  bad.id = "c2";
  bad.service_id = "web2";
  bad.status = Health::kWarning;
  REQUIRE(writer.UpsertService("n2", s, {bad}).ok());
}

struct Env {
  SnapshotHub hub;
  Writer writer{hub, "self", "dc1", {}};
  Router router;
  explicit Env(bool pretty = false) {
    Seed(writer);
    writer.Publish();
    CatalogApiOptions o;
    o.node_name = "self";
    o.pretty_default = pretty;
    // Synchronous writes (Dispatch outside a server: Defer() replies land in the Response).
    o.submit = [this](CommandQueue::Command c, std::function<void()> published) {
      c(writer);
      writer.Publish();
      if (published) published();
    };
    AddCatalogRoutes(router, hub, o);
  }
  Response Get(const std::string& path, std::vector<std::pair<std::string, std::string>> q = {}) {
    Request req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(q);
    Response resp;
    router.Dispatch(req, resp);
    return resp;
  }
  Response Put(const std::string& path, std::string body,
               std::vector<std::pair<std::string, std::string>> q = {}) {
    Request req;
    req.method = "PUT";
    req.path = path;
    req.query = std::move(q);
    req.body = std::move(body);
    Response resp;
    router.Dispatch(req, resp);
    return resp;
  }
  uint64_t Index(const Response& r) { return std::stoull(*r.Header("X-Consul-Index")); }
};

size_t Count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("status endpoints, datacenters, ?pretty") {
  Env e;
  CHECK(e.Get("/v1/status/leader").body == "\"127.0.0.1:8300\"");
  CHECK(e.Get("/v1/status/peers").body == "[\"127.0.0.1:8300\"]");
  Response r = e.Get("/v1/catalog/datacenters");
  CHECK(r.body == "[\"dc1\"]");
  CHECK(r.Header("X-Consul-Index") == nullptr);
  CHECK(e.Get("/v1/catalog/services", {{"pretty", ""}}).body.find("{\n    \"web\": [\n") == 0);
  Env dev(/*pretty=*/true);
  CHECK(dev.Get("/v1/catalog/datacenters").body == "[\n    \"dc1\"\n]\n");
}

TEST_CASE("catalog/services: tag union per service, services-table index, ?node-meta") {
  Env e;
  Response r = e.Get("/v1/catalog/services");
  CHECK(r.status == 200);
  CHECK(*r.Header("Content-Type") == "application/json");
  CHECK(r.body == "{\"web\":[\"Primary\",\"v1\"]}");
  CHECK(e.Index(r) == e.hub.Current()->services_index);
  CHECK(*r.Header("X-Consul-KnownLeader") == "true");
  CHECK(*r.Header("X-Consul-LastContact") == "0");
  CHECK(*r.Header("X-Consul-Effective-Consistency") == "leader");
  r = e.Get("/v1/catalog/services", {{"node-meta", "rack:r2"}});
  CHECK(r.body == "{\"web\":[\"v1\"]}");
  r = e.Get("/v1/catalog/services", {{"node-meta", "rack:nope"}});
  CHECK(r.body == "{}");
}

TEST_CASE("catalog/services and ?tag with 50,000 tags on one service: every tag once, in order") {
  Env e;
  const int n = 50000;
  Service big;
  big.name = big.id = "big";
  for (int i = 0; i < n; ++i) big.tags.push_back("t" + std::to_string(i));
  REQUIRE(e.writer.UpsertService("n1", big, {}).ok());
  // A second instance repeats every other tag, reversed, and adds one of its own.
  Service twin = big;
  twin.id = "big2";
  twin.tags.clear();
  for (int i = n - 1; i >= 0; i -= 2) twin.tags.push_back("t" + std::to_string(i));
  twin.tags.push_back("extra");
  REQUIRE(e.writer.UpsertService("n2", twin, {}).ok());
  e.writer.Publish();
  Response r = e.Get("/v1/catalog/services");
  REQUIRE(r.status == 200);
  Json j(r.body);
  REQUIRE(j.error == simdjson::SUCCESS);
  simdjson::dom::array tags;
  REQUIRE(j.root["big"].get_array().get(tags) == simdjson::SUCCESS);
  REQUIRE(tags.size() == static_cast<size_t>(n) + 1);
  size_t i = 0, wrong = 0;
  for (simdjson::dom::element t : tags) {
    const std::string want = i < static_cast<size_t>(n) ? "t" + std::to_string(i) : "extra";
    wrong += std::string_view(t.get_string().value()) != want;
    ++i;
  }
  CHECK(wrong == 0);
  // Many ?tag= parameters against many tags: AND of all of them.
  std::vector<std::pair<std::string, std::string>> q;
  for (int k = 0; k < 2000; ++k) q.emplace_back("tag", "T" + std::to_string(n - 1 - 2 * k));
  r = e.Get("/v1/catalog/service/big", q);
  Json both(r.body);
  REQUIRE(both.error == simdjson::SUCCESS);
  CHECK(both.root.get_array().size() == 2);
  q.emplace_back("tag", "t0");  // only the first instance has it
  r = e.Get("/v1/catalog/service/big", q);
  Json one(r.body);
  REQUIRE(one.error == simdjson::SUCCESS);
  REQUIRE(one.root.get_array().size() == 1);
  CHECK(std::string_view(one.root.at(0)["ServiceID"].get_string().value()) == "big");
}

TEST_CASE("catalog/nodes: sorted by name, ?node-meta, nodes-table index") {
  Env e;
  Response r = e.Get("/v1/catalog/nodes", {{"near", "_agent"}});
  CHECK(r.body.find("\"Node\":\"n1\"") < r.body.find("\"Node\":\"n2\""));
  CHECK(r.body.find("\"Meta\":{\"rack\":\"r\\\"1\"}") != std::string::npos);
  CHECK(e.Index(r) == e.hub.Current()->nodes_index);
  r = e.Get("/v1/catalog/nodes", {{"node-meta", "rack:r2"}});
  CHECK(Count(r.body, "\"Node\":") == 1);
  CHECK(r.body.find("\"Node\":\"n2\"") != std::string::npos);
}

TEST_CASE("catalog/service: ServiceNode fields, ?tag (AND, any case), ?node-meta, unknown") {
  Env e;
  Response r = e.Get("/v1/catalog/service/WEB");
  Json j(r.body);
  REQUIRE(j.error == simdjson::SUCCESS);
  simdjson::dom::array arr = j.root.get_array();
  REQUIRE(arr.size() == 2);
  simdjson::dom::element first = arr.at(0);
  CHECK(std::string_view(first["Node"]) == "n1");  // ordered by node
  CHECK(std::string_view(first["Address"]) == "10.0.0.1");
  CHECK(std::string_view(first["Datacenter"]) == "dc1");
  CHECK(std::string_view(first["NodeMeta"]["rack"]) == "r\"1");
  CHECK(std::string_view(first["ServiceID"]) == "web1");
  CHECK(uint64_t(first["ServicePort"]) == 80);
  CHECK(std::string_view(first["ServiceAddress"]).empty());
  CHECK(std::string_view(first["ServiceMeta"]["version"]) == "1.2");
  CHECK(std::string_view(first["ServiceTaggedAddresses"]["wan"]["Address"]) == "198.51.100.1");
  CHECK(uint64_t(first["ServiceTaggedAddresses"]["wan"]["Port"]) == 8080);
  CHECK(uint64_t(first["ServiceWeights"]["Passing"]) == 1);
  CHECK(std::string_view(first["ServiceKind"]).empty());
  CHECK(first["ServiceLocality"].is_null());
  CHECK(uint64_t(first["CreateIndex"]) >= 1);
  CHECK(arr.at(1)["ServiceTaggedAddresses"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(e.Index(r) == e.hub.Current()->services.Find("web")->index);

  r = e.Get("/v1/catalog/service/web", {{"tag", "primary"}});
  CHECK(Count(r.body, "\"ServiceID\"") == 1);
  r = e.Get("/v1/catalog/service/web", {{"tag", "V1"}, {"tag", "primary"}});
  CHECK(Count(r.body, "\"ServiceID\"") == 1);
  r = e.Get("/v1/catalog/service/web", {{"node-meta", "rack:r2"}});
  CHECK(Count(r.body, "\"ServiceID\":\"web2\"") == 1);
  CHECK(Count(r.body, "\"ServiceID\"") == 1);
  r = e.Get("/v1/catalog/service/nope");
  CHECK(r.status == 200);
  CHECK(r.body == "[]");
  CHECK(e.Index(r) == e.hub.Current()->services_index);
}

TEST_CASE("catalog/node: the node and its services by ID; unknown is 200 null") {
  Env e;
  Response r = e.Get("/v1/catalog/node/N1");
  Json j(r.body);
  REQUIRE(j.error == simdjson::SUCCESS);
  CHECK(std::string_view(j.root["Node"]["Node"]) == "n1");
  CHECK(std::string_view(j.root["Services"]["web1"]["Service"]) == "web");
  CHECK(uint64_t(j.root["Services"]["web1"]["Port"]) == 80);
  CHECK(e.Index(r) == e.hub.Current()->NodeIndex("n1"));
  r = e.Get("/v1/catalog/node/n2");
  Json j2(r.body);
  REQUIRE(j2.error == simdjson::SUCCESS);
  CHECK(j2.root["Services"]["web2"]["Port"].error() == simdjson::NO_SUCH_FIELD);  // 0: left out
  r = e.Get("/v1/catalog/node/ghost");
  CHECK(r.status == 200);
  CHECK(r.body == "null");
  CHECK(e.Index(r) >= 1);
  CHECK(e.Get("/v1/catalog/node/").status == 400);
}

TEST_CASE("read errors: consistency, blocking params, filter, datacenter") {
  Env e;
  Response r = e.Get("/v1/catalog/services", {{"stale", ""}, {"consistent", ""}});
  CHECK(r.status == 400);
  CHECK(r.Header("X-Consul-Index") != nullptr);
  CHECK(*r.Header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(e.Get("/v1/catalog/nodes", {{"index", "abc"}}).body == "Invalid index\n");
  r = e.Get("/v1/catalog/nodes", {{"wait", "soon"}});
  CHECK(r.status == 400);
  CHECK(r.body == "Invalid wait time\n");
  CHECK(r.Header("X-Consul-Index") != nullptr);
  CHECK(e.Get("/v1/catalog/service/web", {{"filter", "Service.Port == 80"}}).status == 400);
  CHECK(e.Get("/v1/catalog/service/web", {{"filter", ""}}).status == 200);
  r = e.Get("/v1/catalog/service/web", {{"dc", "dc2"}});
  CHECK(r.status == 500);
  CHECK(r.body == "No path to datacenter\n");
  CHECK(e.Get("/v1/catalog/service/web", {{"dc", "DC1"}}).status == 200);
  CHECK(e.Get("/v1/catalog/nodes", {{"dc", "dc1"}, {"datacenter", "dc9"}}).status == 500);
  CHECK(*e.Get("/v1/catalog/nodes", {{"stale", ""}}).Header("X-Consul-Effective-Consistency") ==
        "stale");
  CHECK(
      *e.Get("/v1/catalog/nodes", {{"consistent", "1"}}).Header("X-Consul-Effective-Consistency") ==
      "consistent");
  // An index the result has already passed answers at once (outside a server: always).
  r = e.Get("/v1/catalog/nodes", {{"index", "1"}, {"wait", "10s"}});
  CHECK(r.status == 200);
}

TEST_CASE("register and deregister through Dispatch: body rules and error codes") {
  Env e;
  // Lower-case and snake_case keys (python-consul), unknown fields ignored.
  Response r = e.Put("/v1/catalog/register",
                     R"({"node":"ext1","address":"192.0.2.7","node_meta":{"env":"prod"},
                         "service":{"service":"redis","port":6379,"tags":["primary"]},
                         "check":{"name":"redis alive","status":"passing","service_id":"redis",
                                  "definition":{"tcp":"192.0.2.7:6379","interval":"10s"}},
                         "WriteRequest":{"Token":""}})");
  CHECK(r.status == 200);
  CHECK(r.body == "true");
  SnapshotPtr s = e.hub.Current();
  REQUIRE(s->services.Find("redis") != nullptr);
  const Instance& in = s->services.Find("redis")->instances.front();
  CHECK(in.port == 6379);
  REQUIRE(in.checks().size() == 1);
  CHECK(in.checks().front().id == "redis alive");
  CHECK(in.checks().front().tcp == "192.0.2.7:6379");

  r = e.Get("/v1/health/service/redis");
  CHECK(r.body.find("\"Interval\":\"10s\"") != std::string::npos);
  CHECK(r.body.find("\"TCP\":\"192.0.2.7:6379\"") != std::string::npos);

  CHECK(e.Put("/v1/catalog/register", "{\"Node\":").status == 400);
  CHECK(e.Put("/v1/catalog/register", "{\"Node\":").body.rfind("Request decode failed: ", 0) == 0);
  CHECK(e.Put("/v1/catalog/register", "").body == "Request decode failed: EOF\n");
  r = e.Put("/v1/catalog/register",
            R"({"Node":"x","Address":"1.2.3.4","Service":{"Service":"a","Port":"80"}})");
  CHECK(r.status == 400);
  CHECK(r.body.find("Service.Port") != std::string::npos);
  r = e.Put("/v1/catalog/register", R"({"Address":"1.2.3.4"})");
  CHECK(r.status == 500);
  CHECK(r.body == "Must provide node\n");
  r = e.Put("/v1/catalog/register", R"({"Node":"x","Address":"1.2.3.4","Service":{"Service":")" +
                                        std::string(70000, 'n') + R"("}})");
  CHECK(r.status == 400);
  CHECK(r.body == "Invalid service name: longer than 256 bytes\n");
  r = e.Put("/v1/catalog/register",
            R"({"Node":")" + std::string(300, 'n') + R"(","Address":"1.2.3.4"})");
  CHECK(r.status == 400);
  CHECK(r.body == "Invalid node name: longer than 256 bytes\n");
  r = e.Put("/v1/catalog/register", R"({"Node":"x"})");
  CHECK(r.body == "Must provide address if SkipNodeUpdate is not set\n");
  r = e.Put("/v1/catalog/register", R"({"Node":"x","Address":"1.2.3.4","Service":{"ID":"a"}})");
  CHECK(r.body == "Must provide service name with ID\n");
  r = e.Put("/v1/catalog/register", R"({"Node":"x","Address":"1.2.3.4","ID":"not-a-uuid"})");
  CHECK(r.status == 500);
  r = e.Put("/v1/catalog/register",
            R"({"Node":"x","Address":"1.2.3.4","Check":{"Name":"c","ServiceID":"nope"}})");
  CHECK(r.status == 500);
  CHECK(r.body == "Missing service registration\n");
  CHECK(e.hub.Current()->nodes.Find("x") == nullptr);  // nothing partial stored
  r = e.Put("/v1/catalog/register", R"({"Node":"x","Address":"1.2.3.4","Datacenter":"dc2"})");
  CHECK(r.body == "No path to datacenter\n");
  CHECK(e.Put("/v1/catalog/register", R"({"Node":"x","Address":"1.2.3.4"})", {{"dc", "dc2"}})
            .status == 500);
  CHECK(e.Get("/v1/catalog/register").status == 405);

  // Deregister: a check, a service, then the node.
  r = e.Put("/v1/catalog/deregister", R"({"node":"ext1","checkid":"redis alive"})");
  CHECK(r.body == "true");
  CHECK(e.hub.Current()->services.Find("redis")->instances.front().checks().empty());
  CHECK(e.Put("/v1/catalog/deregister", R"({"Node":"ext1","service_id":"redis"})").body == "true");
  CHECK(e.hub.Current()->services.Find("redis") == nullptr);
  CHECK(e.hub.Current()->nodes.Find("ext1") != nullptr);
  CHECK(e.Put("/v1/catalog/deregister", R"({"Node":"ext1"})").body == "true");
  CHECK(e.hub.Current()->nodes.Find("ext1") == nullptr);
  CHECK(e.Put("/v1/catalog/deregister", R"({"Node":"ghost"})").body == "true");
  CHECK(e.Put("/v1/catalog/deregister", R"({"ServiceID":"x"})").body == "Must provide node\n");
  CHECK(e.Put("/v1/catalog/deregister", R"({"Node":5})").status == 400);
}

TEST_CASE("writes without a submit function answer 500") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.Publish(true);
  Router router;
  AddCatalogRoutes(router, hub, CatalogApiOptions{});
  Request req;
  req.method = "PUT";
  req.path = "/v1/catalog/register";
  req.body = R"({"Node":"a","Address":"1.2.3.4"})";
  Response resp;
  router.Dispatch(req, resp);
  CHECK(resp.status == 500);
}

TEST_CASE("index headers on a 404 through a real socket") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  std::string out = testing::Exchange(
      live.port(), "GET /v1/health/service/web HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("X-Consul-Index: ") != std::string::npos);
  out =
      testing::Exchange(live.port(), "GET /v1/catalog/nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(out.find("X-Consul-Index: ") != std::string::npos);
  CHECK(out.find("X-Consul-KnownLeader: true\r\n") != std::string::npos);
  CHECK(out.find("Content-Type: text/plain") != std::string::npos);
}

TEST_CASE("register over a socket: `true` only once readers see it; then read it back") {
  LiveCatalog live(Seed);
  REQUIRE(live.Start());
  Reply r =
      live.Put("/v1/catalog/register",
               R"({"Node":"ext1","Address":"192.0.2.7","TaggedAddresses":{"wan":"203.0.113.7"},
                         "NodeMeta":{"env":"prod"},
                         "Service":{"ID":"db1","Service":"db","Port":5432,"Tags":["a","b"],
                                    "Address":"192.0.2.8","Meta":{"shard":"3"},
                                    "TaggedAddresses":{"lan":{"Address":"192.0.2.8","Port":5432}}},
                         "Checks":[{"CheckID":"db-up","Name":"db up","Status":"passing",
                                    "ServiceID":"db1"},
                                   {"Name":"node-up","Status":"warning"}]})");
  CHECK(r.status == 200);
  CHECK(r.body == "true");
  // Visible in the snapshot DNS reads at the moment the client has its answer.
  SnapshotPtr s = live.hub.Current();
  REQUIRE(s->services.Find("db") != nullptr);
  CHECK(s->services.Find("db")->instances.front().addr(kFamA).kind == AddrChoice::kV4);

  r = live.Get("/v1/catalog/service/db");
  Json j(r.body);
  REQUIRE(j.error == simdjson::SUCCESS);
  simdjson::dom::element sn = j.root.at(0);
  CHECK(std::string_view(sn["Node"]) == "ext1");
  CHECK(std::string_view(sn["Address"]) == "192.0.2.7");
  CHECK(std::string_view(sn["TaggedAddresses"]["wan"]) == "203.0.113.7");
  CHECK(std::string_view(sn["NodeMeta"]["env"]) == "prod");
  CHECK(std::string_view(sn["ServiceAddress"]) == "192.0.2.8");
  CHECK(std::string_view(sn["ServiceMeta"]["shard"]) == "3");
  CHECK(uint64_t(sn["ServiceTaggedAddresses"]["lan"]["Port"]) == 5432);
  CHECK(uint64_t(sn["ServicePort"]) == 5432);

  r = live.Get("/v1/catalog/services");
  CHECK(r.body.find("\"db\":[\"a\",\"b\"]") != std::string::npos);
  r = live.Get("/v1/health/node/ext1");
  CHECK(r.body.find("\"CheckID\":\"db-up\"") < r.body.find("\"CheckID\":\"node-up\""));
  r = live.Get("/v1/catalog/node/ext1");
  CHECK(r.body.find("\"db1\":{") != std::string::npos);

  // Deregistering the service: gone when the client gets `true`.
  r = live.Put("/v1/catalog/deregister", R"({"Node":"ext1","ServiceID":"db1"})");
  CHECK(r.body == "true");
  CHECK(live.hub.Current()->services.Find("db") == nullptr);
  CHECK(live.Get("/v1/catalog/service/db").body == "[]");
  // Re-registering the identical node is `true` at once, and moves no index.
  const uint64_t before = live.hub.Current()->index;
  r = live.Put("/v1/catalog/register",
               R"({"Node":"ext1","Address":"192.0.2.7","TaggedAddresses":{"wan":"203.0.113.7"},
                   "NodeMeta":{"env":"prod"}})");
  CHECK(r.body == "true");
  CHECK(live.hub.Current()->index == before);
  CHECK(live.Put("/v1/catalog/register", "{nope").status == 400);
}

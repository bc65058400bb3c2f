// The catalog, health and status endpoints over a real catalog snapshot.
#include "beacon/http/catalog_api.h"

#include <doctest.h>

#include <string>

#include "beacon/catalog/writer.h"
#include "test_client.h"

using namespace beacon;
using namespace beacon::catalog;
using namespace beacon::http;

namespace {

struct Env {
  SnapshotHub hub;
  Writer writer{hub, "self", "dc1", {}};
  Router router;
  Env() {
    Node n;
    n.name = "n1";
    n.address = "10.0.0.1";
    n.meta["rack"] = "r\"1";
    writer.UpsertNode(n);
    n.name = "n2";
    n.address = "10.0.0.2";
    n.meta.clear();
    writer.UpsertNode(n);
    Service s;
    s.name = "web";
    s.id = "web1";
    s.port = 80;
    s.tags = {"Primary", "v1"};
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
    Check bad = ok;
    bad.id = "c2";
    bad.service_id = "web2";
    bad.status = Health::kWarning;
    REQUIRE(writer.UpsertService("n2", s, {bad}).ok());
    writer.Publish();
    AddCatalogRoutes(router, hub, "127.0.0.1:8300");
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
};

size_t Count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("GoDuration prints like Go's time.Duration") {
  CHECK(GoDuration(0).empty());
  CHECK(GoDuration(500) == "500ms");
  CHECK(GoDuration(10000) == "10s");
  CHECK(GoDuration(1500) == "1.5s");
  CHECK(GoDuration(90000) == "1m30s");
  CHECK(GoDuration(3600000) == "1h0m0s");
}

TEST_CASE("status endpoints") {
  Env e;
  CHECK(e.Get("/v1/status/leader").body == "\"127.0.0.1:8300\"");
  CHECK(e.Get("/v1/status/peers").body == "[\"127.0.0.1:8300\"]");
  CHECK(e.Get("/v1/catalog/services", {{"pretty", ""}}).body.find("{\n    \"web\": [\n") == 0);
}

TEST_CASE("catalog endpoints") {
  Env e;
  Response r = e.Get("/v1/catalog/services");
  CHECK(r.status == 200);
  CHECK(*r.Header("Content-Type") == "application/json");
  CHECK(r.body.find("\"web\":[\"Primary\",\"v1\"]") != std::string::npos);
  CHECK(std::stoull(*r.Header("X-Consul-Index")) >= 1);
  CHECK(*r.Header("X-Consul-KnownLeader") == "true");
  CHECK(*r.Header("X-Consul-LastContact") == "0");

  r = e.Get("/v1/catalog/nodes");
  CHECK(r.body.find("\"Node\":\"n1\"") < r.body.find("\"Node\":\"n2\""));
  CHECK(r.body.find("\"Meta\":{\"rack\":\"r\\\"1\"}") != std::string::npos);

  r = e.Get("/v1/catalog/service/WEB");
  CHECK(Count(r.body, "\"ServiceName\":\"web\"") == 2);
  CHECK(r.body.find("\"ServicePort\":80") != std::string::npos);
  CHECK(r.body.find("\"Datacenter\":\"dc1\"") != std::string::npos);
  r = e.Get("/v1/catalog/service/web", {{"tag", "primary"}});
  CHECK(Count(r.body, "\"ServiceID\"") == 1);
  r = e.Get("/v1/catalog/service/nope");
  CHECK(r.body == "[]");
  CHECK(r.Header("X-Consul-Index") != nullptr);
}

TEST_CASE("health/service with ?passing and ?tag") {
  Env e;
  Response r = e.Get("/v1/health/service/web");
  CHECK(Count(r.body, "\"Service\":{") == 2);
  CHECK(r.body.find("\"Interval\":\"1m30s\"") != std::string::npos);
  CHECK(r.body.find("\"Type\":\"http\"") != std::string::npos);
  CHECK(r.body.find("\"Status\":\"warning\"") != std::string::npos);
  r = e.Get("/v1/health/service/web", {{"passing", ""}});
  CHECK(Count(r.body, "\"Service\":{") == 1);
  CHECK(r.body.find("\"ID\":\"web1\"") != std::string::npos);
  r = e.Get("/v1/health/service/web", {{"tag", "V1"}, {"tag", "nope"}});
  CHECK(r.body == "[]");
  r = e.Get("/v1/health/service/web", {{"passing", "maybe"}});
  CHECK(r.status == 400);
  CHECK(r.Header("X-Consul-Index") != nullptr);
}

TEST_CASE("index headers on a 404 through a real socket") {
  Env e;
  Logger log(LogLevel::kError);
  HttpServerOptions o;
  o.port = 0;
  HttpServer server(log, std::move(e.router), o);
  REQUIRE(server.Start().ok());
  std::string out = testing::Exchange(
      server.port(), "GET /v1/health/service/web HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("X-Consul-Index: ") != std::string::npos);
  out = testing::Exchange(server.port(),
                          "GET /v1/catalog/nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(out.find("X-Consul-Index: ") != std::string::npos);
  CHECK(out.find("X-Consul-KnownLeader: true\r\n") != std::string::npos);
  CHECK(out.find("Content-Type: text/plain") != std::string::npos);
}

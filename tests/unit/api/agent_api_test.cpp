// /v1/agent/* through real sockets against a fake AgentApi that answers writes from another
// thread (as the catalog writer does).
#include "beacon/api/agent_api.h"

#include <doctest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../http/test_client.h"

using namespace beacon;
using namespace beacon::http;
using beacon::catalog::Check;
using beacon::catalog::Health;
using beacon::catalog::Service;

namespace {

class FakeAgent : public AgentApi {
 public:
  std::vector<Service> services;
  std::vector<Check> checks;
  AgentStatus next;  // what the next write answers

  // What the writes received, as text; and the last bodies.
  std::vector<std::string> calls;
  config::ServiceBody last_service;
  config::CheckBody last_check;

  ~FakeAgent() override { Join(); }
  void Join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  AgentSelf Self() const override {
    AgentSelf s;
    s.node_name = "node1";
    s.node_id = "11111111-2222-3333-4444-555555555555";
    s.datacenter = "dc1";
    s.address = "127.0.0.1";
    s.server = true;
    s.meta["rack"] = "r1";
    return s;
  }
  std::vector<Service> Services() const override { return services; }
  std::vector<Check> Checks() const override { return checks; }
  std::vector<Metric> Metrics() const override {
    Metric m;
    m.name = "consul.state.nodes";
    m.value = 3;
    Metric c;
    c.kind = Metric::Kind::kCounter;
    c.name = "beacon.http.requests";
    c.value = 7;
    c.labels["code"] = "200";
    return {m, c};
  }
  void RegisterService(config::ServiceBody body, bool replace, AgentDone done) override {
    last_service = body;
    Record("register " + body.service.id + (replace ? " replace" : ""), std::move(done));
  }
  void DeregisterService(std::string id, AgentDone done) override {
    Record("deregister " + id, std::move(done));
  }
  void RegisterCheck(config::CheckBody body, AgentDone done) override {
    last_check = body;
    Record("check " + body.check.id, std::move(done));
  }
  void DeregisterCheck(std::string id, AgentDone done) override {
    Record("check-deregister " + id, std::move(done));
  }
  void UpdateTtlCheck(std::string id, Health st, std::string output, AgentDone done) override {
    Record("ttl " + id + " " + std::string(catalog::HealthName(st)) + " " + output,
           std::move(done));
  }
  void NodeMaintenance(bool enable, std::string reason, AgentDone done) override {
    Record("maint " + std::to_string(enable) + " " + reason, std::move(done));
  }
  void ServiceMaintenance(std::string id, bool enable, std::string reason,
                          AgentDone done) override {
    Record("smaint " + id + " " + std::to_string(enable) + " " + reason, std::move(done));
  }
  void Reload(AgentDone done) override { Record("reload", std::move(done)); }

 private:
  void Record(std::string call, AgentDone done) {
    calls.push_back(std::move(call));
    threads_.emplace_back([done = std::move(done), st = next] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      done(st);
    });
  }
  std::vector<std::thread> threads_;
};

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

struct Fixture {
  Logger log{LogLevel::kError};
  FakeAgent agent;
  std::unique_ptr<HttpServer> server;

  Fixture() {
    Service s;
    s.id = "web1";
    s.name = "web";
    s.port = 80;
    s.tags = {"primary"};
    agent.services.push_back(s);
    Check c;
    c.id = "service:web1";
    c.name = "Service 'web' check";
    c.service_id = "web1";
    c.service_name = "web";
    c.ttl_ms = 10000;
    c.status = Health::kPassing;
    agent.checks.push_back(c);
    Router r;
    AddAgentRoutes(r, agent);
    HttpServerOptions o;
    o.port = 0;
    server = std::make_unique<HttpServer>(log, std::move(r), o);
    REQUIRE(server->Start().ok());
  }
  ~Fixture() {
    agent.Join();  // every deferred reply is in before the server stops
    server->Stop();
  }

  Reply Do(const std::string& method, const std::string& target, const std::string& body = "") {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!body.empty() || method == "PUT") {
      raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    raw += "\r\n" + body;
    const std::string out = testing::Exchange(server->port(), raw);
    Reply r;
    if (out.size() > 12) r.status = std::atoi(out.c_str() + 9);
    const size_t split = out.find("\r\n\r\n");
    if (split != std::string::npos) {
      r.head = out.substr(0, split);
      r.body = out.substr(split + 4);
    }
    return r;
  }
};

}  // namespace

TEST_CASE("agent reads: self, members, services, service/<id>, checks; no index headers") {
  Fixture f;
  Reply self = f.Do("GET", "/v1/agent/self");
  CHECK(self.status == 200);
  CHECK(self.head.find("X-Consul-Index") == std::string::npos);
  CHECK(self.body.find(R"("Config":{"Datacenter":"dc1","PrimaryDatacenter":"dc1",)"
                       R"("NodeName":"node1","NodeID":"11111111-2222-3333-4444-555555555555")") !=
        std::string::npos);
  CHECK(self.body.find(R"("Server":true,"Version":"1.16.4")") != std::string::npos);
  CHECK(self.body.find(R"("Member":{"Name":"node1","Addr":"127.0.0.1","Port":8301)") !=
        std::string::npos);
  CHECK(self.body.find(R"("Meta":{"rack":"r1"}})") != std::string::npos);
  CHECK(self.body.find(R"("Coord":null)") != std::string::npos);

  Reply members = f.Do("GET", "/v1/agent/members");
  CHECK(members.body.find(R"([{"Name":"node1","Addr":"127.0.0.1","Port":8301,"Tags":{)") == 0);
  CHECK(members.body.find(R"("role":"consul")") != std::string::npos);
  CHECK(members.body.find(R"("Status":1)") != std::string::npos);
  CHECK(f.Do("GET", "/v1/agent/members?wan=1").body == "[]");

  Reply services = f.Do("GET", "/v1/agent/services");
  CHECK(services.status == 200);
  CHECK(services.head.find("Content-Type: application/json") != std::string::npos);
  CHECK(services.body ==
        R"({"web1":{"ID":"web1","Service":"web","Tags":["primary"],"Meta":{},"Port":80,)"
        R"("Address":"","Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,)"
        R"("Datacenter":"dc1"}})");
  CHECK(f.Do("GET", "/v1/agent/service/web1").body.find(R"({"ID":"web1",)") == 0);
  Reply missing = f.Do("GET", "/v1/agent/service/nope");
  CHECK(missing.status == 404);
  CHECK(missing.body == "unknown service ID: nope\n");

  Reply checks = f.Do("GET", "/v1/agent/checks");
  CHECK(checks.body.find(R"({"service:web1":{"Node":"node1","CheckID":"service:web1",)"
                         R"("Name":"Service 'web' check","Status":"passing")") == 0);
  CHECK(checks.body.find(R"("ServiceTags":["primary"],"Type":"ttl")") != std::string::npos);
  CHECK(checks.body.find(R"("Definition":{"TTL":"10s"})") != std::string::npos);
  CHECK(checks.head.find("X-Consul-Index") == std::string::npos);
}

TEST_CASE("agent metrics: Consul JSON and Prometheus text") {
  Fixture f;
  Reply json = f.Do("GET", "/v1/agent/metrics");
  CHECK(json.status == 200);
  CHECK(json.body.find(R"("Gauges":[{"Name":"consul.state.nodes","Value":3,"Labels":{}}])") !=
        std::string::npos);
  CHECK(json.body.find(R"("Counters":[{"Name":"beacon.http.requests","Count":7,)") !=
        std::string::npos);
  CHECK(json.body.find(R"("Timestamp":")") == 1);
  Reply prom = f.Do("GET", "/v1/agent/metrics?format=prometheus");
  CHECK(prom.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(prom.body.find("# TYPE consul_state_nodes gauge\nconsul_state_nodes 3\n") !=
        std::string::npos);
  CHECK(prom.body.find("# TYPE beacon_http_requests_total counter\n"
                       "beacon_http_requests_total{code=\"200\"} 7\n") != std::string::npos);
  Reply bad = f.Do("GET", "/v1/agent/metrics?format=xml");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("Invalid format") != std::string::npos);
}

TEST_CASE("service register accepts python-consul, node-consul and snake_case bodies") {
  Fixture f;
  // python-consul 0.7.1: lower-case keys, check dict from Check.ttl().
  Reply r = f.Do("PUT", "/v1/agent/service/register",
                 R"({"name":"api","id":"api1","address":"10.0.0.5","port":8080,"tags":["v1"],)"
                 R"("check":{"ttl":"10s"},"enabletagoverride":true})");
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(r.head.find("Content-Type") == std::string::npos);
  REQUIRE(f.agent.calls.size() == 1);
  CHECK(f.agent.calls[0] == "register api1");
  const config::ServiceBody& b = f.agent.last_service;
  CHECK(b.service.name == "api");
  CHECK(b.service.port == 8080);
  CHECK(b.service.enable_tag_override);
  CHECK(b.service.tagged_addresses.at("lan_ipv4").address == "10.0.0.5");
  CHECK(b.service.tagged_addresses.at("wan_ipv4").port == 8080);
  REQUIRE(b.checks.size() == 1);
  CHECK(b.checks[0].id == "service:api1");
  CHECK(b.checks[0].name == "Service 'api' check");
  CHECK(b.checks[0].ttl_ms == 10000);
  CHECK(b.checks[0].status == Health::kCritical);

  // Integer nanoseconds, snake_case, an empty Check object (ignored), replace-existing-checks.
  r = f.Do("PUT", "/v1/agent/service/register?replace-existing-checks",
           R"({"Name":"db","Check":{},"Checks":[{"HTTP":"http://127.0.0.1:1/","Interval":)"
           R"(10000000000,"deregister_critical_service_after":"90s"},{"tcp":"127.0.0.1:5432",)"
           R"("interval":"5s","Status":"passing"}],"Unknown":{"x":1}})");
  CHECK(r.status == 200);
  CHECK(f.agent.calls.back() == "register db replace");
  const config::ServiceBody& d = f.agent.last_service;
  REQUIRE(d.checks.size() == 2);
  CHECK(d.checks[0].id == "service:db:1");
  CHECK(d.checks[0].interval_ms == 10000);
  CHECK(d.checks[0].deregister_critical_after_ms == 90000);
  CHECK(d.checks[1].id == "service:db:2");
  CHECK(d.checks[1].status == Health::kPassing);

  // python-consul's Check.script(): a string, run as sh -c.
  r = f.Do("PUT", "/v1/agent/service/register",
           R"({"name":"s","check":{"script":"true","interval":"10s"}})");
  CHECK(r.status == 200);
  CHECK(f.agent.last_service.has_script_check);
  CHECK(f.agent.last_service.checks.at(0).args == std::vector<std::string>{"sh", "-c", "true"});
}

TEST_CASE("service register errors are 400 and reach nothing") {
  Fixture f;
  Reply r = f.Do("PUT", "/v1/agent/service/register", R"({"Name": "x", )");
  CHECK(r.status == 400);
  CHECK(r.body.find("Request decode failed: ") == 0);
  r = f.Do("PUT", "/v1/agent/service/register", R"({"ID":"x","Port":1})");
  CHECK(r.status == 400);
  CHECK(r.body == "Missing service name\n");
  r = f.Do("PUT", "/v1/agent/service/register", R"({"Name":"x","Port":"eighty"})");
  CHECK(r.status == 400);
  CHECK(r.body.find("Request decode failed: Port: expected a number") == 0);
  r = f.Do("PUT", "/v1/agent/service/register", R"({"Name":"x","Meta":{"consul-a":"b"}})");
  CHECK(r.status == 400);
  CHECK(r.body.find("Invalid Service Meta: ") == 0);
  r = f.Do("PUT", "/v1/agent/service/register", R"({"Name":"x","Check":{"HTTP":"http://a/"}})");
  CHECK(r.status == 400);
  CHECK(r.body.find("Invalid check: ") == 0);
  r = f.Do("PUT", "/v1/agent/service/register", R"({"Name":"x","Address":"0.0.0.0"})");
  CHECK(r.status == 400);
  CHECK(f.agent.calls.empty());
  CHECK(f.Do("GET", "/v1/agent/service/register").status == 405);
}

TEST_CASE("register bodies nested far too deep are 400 with the reason, and the agent lives") {
  Fixture f;
  // 35,000 levels (about 210 KB, under the body limit): the parser must refuse it without
  // recursing once per level.
  const int levels = 35000;
  std::string deep = R"({"Name":"x","Meta":)";
  for (int i = 0; i < levels; ++i) deep += R"({"a":)";
  deep += "1";
  deep.append(static_cast<size_t>(levels), '}');
  deep += "}";
  for (const char* path : {"/v1/agent/service/register", "/v1/agent/check/register"}) {
    Reply r = f.Do("PUT", path, deep);
    CHECK(r.status == 400);
    CHECK(r.body.find("Request decode failed: ") == 0);
    CHECK(r.body.find("nested deeper than") != std::string::npos);
  }
  // Just past the parser's own limit (the DOM validator accepts it, the tree builder refuses).
  std::string mid = R"({"Name":"x","Tags":)";
  for (int i = 0; i < 300; ++i) mid += "[";
  for (int i = 0; i < 300; ++i) mid += "]";
  mid += "}";
  Reply r = f.Do("PUT", "/v1/agent/service/register", mid);
  CHECK(r.status == 400);
  CHECK(r.body.find("nested deeper than") != std::string::npos);
  CHECK(f.agent.calls.empty());
  CHECK(f.Do("PUT", "/v1/agent/service/register", R"({"Name":"x"})").status == 200);
}

TEST_CASE("over-long service names, IDs, tags and check IDs are 400 with the reason") {
  Fixture f;
  const std::string ok(256, 'a'), long_name(257, 'a'), huge(70000, 'b');
  struct Case {
    std::string path, body, reason;
  };
  const Case cases[] = {
      {"/v1/agent/service/register", R"({"Name":")" + long_name + R"("})",
       "Invalid service name: longer than 256 bytes"},
      {"/v1/agent/service/register", R"({"Name":")" + huge + R"("})",
       "Invalid service name: longer than 256 bytes"},
      {"/v1/agent/service/register", R"({"Name":"s","ID":")" + long_name + R"("})",
       "Invalid service ID: longer than 256 bytes"},
      {"/v1/agent/service/register",
       R"({"Name":"s","Tags":["a",")" + std::string(513, 't') + R"("]})",
       "Invalid service tag: longer than 512 bytes"},
      {"/v1/agent/service/register",
       R"({"Name":"s","Check":{"CheckID":")" + long_name + R"(","TTL":"10s"}})",
       "Invalid check ID: longer than 256 bytes"},
      {"/v1/agent/check/register", R"({"Name":")" + long_name + R"(","TTL":"10s"})",
       "Invalid check ID: longer than 256 bytes"},
  };
  for (const Case& c : cases) {
    Reply r = f.Do("PUT", c.path, c.body);
    CHECK(r.status == 400);
    CHECK(r.body == c.reason + "\n");
  }
  CHECK(f.agent.calls.empty());
  // At the limit: accepted whole.
  Reply r = f.Do("PUT", "/v1/agent/service/register",
                 R"({"Name":")" + ok + R"(","Tags":[")" + std::string(512, 't') + R"("]})");
  CHECK(r.status == 200);
  CHECK(f.agent.last_service.service.name == ok);
}

TEST_CASE("write endpoints pass ids, notes and errors through; GET where python-consul uses it") {
  Fixture f;
  CHECK(f.Do("GET", "/v1/agent/service/deregister/web1").status == 200);
  CHECK(f.agent.calls.back() == "deregister web1");
  f.agent.next = AgentStatus::Error(404,
                                    "Unknown service ID \"zz\". Ensure that the service "
                                    "ID is passed, not the service name.");
  Reply r = f.Do("PUT", "/v1/agent/service/deregister/zz");
  CHECK(r.status == 404);
  CHECK(r.body.find("Unknown service ID \"zz\"") == 0);
  f.agent.next = AgentStatus::Ok();

  r = f.Do("PUT", "/v1/agent/check/register", R"({"name":"mem","ttl":"30s","serviceid":"web1"})");
  CHECK(r.status == 200);
  CHECK(f.agent.last_check.check.id == "mem");
  CHECK(f.agent.last_check.check.service_id == "web1");
  CHECK(f.agent.last_check.check.ttl_ms == 30000);
  CHECK(f.Do("PUT", "/v1/agent/check/register", R"({"ttl":"30s"})").body == "Missing check name\n");
  CHECK(f.Do("PUT", "/v1/agent/check/register", R"({"name":"a","ttl":"3s","status":"ok"})").body ==
        "Bad check status\n");

  CHECK(f.Do("GET", "/v1/agent/check/pass/mem?note=all%20good").status == 200);
  CHECK(f.agent.calls.back() == "ttl mem passing all good");
  CHECK(f.Do("PUT", "/v1/agent/check/warn/mem").status == 200);
  CHECK(f.agent.calls.back() == "ttl mem warning ");
  CHECK(f.Do("GET", "/v1/agent/check/fail/mem?note=x").status == 200);
  CHECK(f.agent.calls.back() == "ttl mem critical x");
  CHECK(f.Do("PUT", "/v1/agent/check/update/mem", R"({"Status":"warning","Output":"hi"})").status ==
        200);
  CHECK(f.agent.calls.back() == "ttl mem warning hi");
  r = f.Do("PUT", "/v1/agent/check/update/mem", R"({"Status":"bogus"})");
  CHECK(r.status == 400);
  CHECK(r.body == "Invalid check status: 'bogus'\n");
  CHECK(f.Do("GET", "/v1/agent/check/deregister/mem").status == 200);
  CHECK(f.agent.calls.back() == "check-deregister mem");

  CHECK(f.Do("PUT", "/v1/agent/maintenance?enable=True&reason=upgrade").status == 200);
  CHECK(f.agent.calls.back() == "maint 1 upgrade");
  r = f.Do("PUT", "/v1/agent/maintenance");
  CHECK(r.status == 400);
  CHECK(r.body == "Missing value for enable\n");
  CHECK(f.Do("PUT", "/v1/agent/maintenance?enable=maybe").status == 400);
  CHECK(f.Do("PUT", "/v1/agent/service/maintenance/web1?enable=false").status == 200);
  CHECK(f.agent.calls.back() == "smaint web1 0 ");
  CHECK(f.Do("GET", "/v1/agent/service/maintenance/web1?enable=true").status == 405);
  CHECK(f.Do("PUT", "/v1/agent/reload").status == 200);
  CHECK(f.agent.calls.back() == "reload");
}

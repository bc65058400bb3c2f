// Service and check definitions: Consul's defaults and validation.
#include <doctest.h>

#include <string>

#include "beacon/config/config.h"

namespace beacon::config {
namespace {

using catalog::Health;

AgentConfig MergeSvc(std::string_view text) {
  AgentConfig cfg;
  Status st = MergeDocument("svc.json", text, false, &cfg);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  return cfg;
}

std::string MergeSvcError(std::string_view text) {
  AgentConfig cfg;
  Status st = MergeDocument("svc.json", text, false, &cfg);
  REQUIRE_FALSE(st.ok());
  return st.message();
}

constexpr const char* kSeedExample =
    R"({"service": {"name": "web", "tags": ["rails"], "port": 80, "check": {"args": ["curl", "localhost"], "interval": "10s"}}})";

TEST_CASE("the documented example loads when local script checks are enabled") {
  AgentConfig cfg;
  cfg.enable_local_script_checks = true;
  REQUIRE(MergeDocument("web.json", kSeedExample, false, &cfg).ok());
  REQUIRE(cfg.services.size() == 1);
  const catalog::Service& s = cfg.services[0];
  CHECK(s.id == "web");
  CHECK(s.name == "web");
  CHECK(s.tags == std::vector<std::string>{"rails"});
  CHECK(s.port == 80);
  CHECK(s.weights.passing == 1);
  CHECK(s.weights.warning == 1);
  REQUIRE(cfg.checks.size() == 1);
  const catalog::Check& c = cfg.checks[0];
  CHECK(c.id == "service:web");
  CHECK(c.name == "Service 'web' check");
  CHECK(c.service_id == "web");
  CHECK(c.service_name == "web");
  CHECK(c.status == Health::kCritical);
  CHECK(c.args == std::vector<std::string>{"curl", "localhost"});
  CHECK(c.interval_ms == 10000);
}

TEST_CASE("the documented example is refused while script checks are disabled") {
  CHECK(MergeSvcError(kSeedExample) ==
        "svc.json:1: service.check: Scripts are disabled on this agent; to enable, "
        "configure 'enable_script_checks' or 'enable_local_script_checks' to true");
  // Enabling them in the same document is enough.
  AgentConfig cfg;
  std::string with_flag = std::string(kSeedExample);
  with_flag.insert(1, "\"enable_script_checks\": true, ");
  CHECK(MergeDocument("w.json", with_flag, false, &cfg).ok());
}

TEST_CASE("service fields") {
  AgentConfig cfg = MergeSvc(R"({"services": [{
    "id": "web-1", "name": "web", "tags": ["a", "b"], "address": "10.0.0.1", "port": 8080,
    "meta": {"version": "1.2"}, "kind": "",
    "tagged_addresses": {"lan": {"address": "10.0.0.1", "port": 8080},
                         "wan": {"address": "198.51.100.1", "port": 80}},
    "weights": {"passing": 10, "warning": 2}, "enable_tag_override": true,
    "token": "ignored", "connect": {"native": false}
  }]})");
  REQUIRE(cfg.services.size() == 1);
  const catalog::Service& s = cfg.services[0];
  CHECK(s.id == "web-1");
  CHECK(s.address == "10.0.0.1");
  CHECK(s.port == 8080);
  CHECK(s.meta.at("version") == "1.2");
  CHECK(s.tagged_addresses.at("wan").address == "198.51.100.1");
  CHECK(s.tagged_addresses.at("wan").port == 80);
  CHECK(s.tagged_addresses.at("lan").port == 8080);
  CHECK(s.weights.passing == 10);
  CHECK(s.weights.warning == 2);
  CHECK(s.enable_tag_override);
}

TEST_CASE("several checks on one service get numbered ids; explicit ids are kept") {
  AgentConfig cfg = MergeSvc(R"({"service": {"name": "db", "id": "db1",
    "check": {"tcp": "localhost:5432", "interval": "5s"},
    "checks": [{"ttl": "30s", "status": "passing"},
               {"CheckID": "mine", "Name": "custom", "HTTP": "http://x/", "Interval": "1m",
                "Method": "POST", "Header": {"X-A": ["1", "2"]}, "Body": "{}",
                "TLSSkipVerify": true, "DisableRedirects": true, "Timeout": "3s",
                "DeregisterCriticalServiceAfter": "90m", "SuccessBeforePassing": 2,
                "FailuresBeforeWarning": 1, "FailuresBeforeCritical": 3}]}})");
  REQUIRE(cfg.checks.size() == 3);
  CHECK(cfg.checks[0].id == "service:db1:1");
  CHECK(cfg.checks[0].tcp == "localhost:5432");
  CHECK(cfg.checks[1].id == "service:db1:2");
  CHECK(cfg.checks[1].ttl_ms == 30000);
  CHECK(cfg.checks[1].status == Health::kPassing);
  CHECK(cfg.checks[1].name == "Service 'db' check");
  const catalog::Check& h = cfg.checks[2];
  CHECK(h.id == "mine");
  CHECK(h.name == "custom");
  CHECK(h.service_id == "db1");
  CHECK(h.method == "POST");
  CHECK(h.header.at("X-A") == std::vector<std::string>{"1", "2"});
  CHECK(h.body == "{}");
  CHECK(h.tls_skip_verify);
  CHECK(h.disable_redirects);
  CHECK(h.timeout_ms == 3000);
  CHECK(h.deregister_critical_after_ms == 90 * 60 * 1000);
  CHECK(h.success_before_passing == 2);
  CHECK(h.failures_before_warning == 1);
  CHECK(h.failures_before_critical == 3);
}

TEST_CASE("check types: script string, udp, grpc, docker") {
  AgentConfig cfg = MergeSvc(R"({"enable_script_checks": true, "checks": [
    {"name": "legacy", "script": "/bin/check --fast", "interval": "10s"},
    {"name": "u", "udp": "127.0.0.1:53", "interval": "10s"},
    {"name": "g", "grpc": "127.0.0.1:9090/health", "interval": "10s"},
    {"name": "d", "docker_container_id": "f972c95ebf0e", "shell": "/bin/bash",
     "args": ["/check.sh"], "interval": "10s"}]})");
  REQUIRE(cfg.checks.size() == 4);
  CHECK(cfg.checks[0].args == std::vector<std::string>{"sh", "-c", "/bin/check --fast"});
  CHECK(cfg.checks[1].udp == "127.0.0.1:53");
  CHECK(cfg.checks[2].grpc == "127.0.0.1:9090/health");
  CHECK(cfg.checks[3].docker_container_id == "f972c95ebf0e");
  CHECK(cfg.checks[3].shell == "/bin/bash");
}

TEST_CASE("check fields the health runner uses: alias, TLS name, output size") {
  AgentConfig cfg = MergeSvc(R"({"check_output_max_size": 1024, "checks": [
    {"name": "a", "alias_service": "db", "alias_node": "n2"},
    {"Name": "h", "HTTP": "https://10.0.0.1/", "Interval": "5s", "TLSServerName": "api.local",
     "OutputMaxSize": 100},
    {"name": "t", "tcp": "10.0.0.1:443", "tcp_use_tls": true, "interval": "5s"}]})");
  CHECK(cfg.check_output_max_size == 1024);
  REQUIRE(cfg.checks.size() == 3);
  CHECK(cfg.checks[0].alias_service == "db");
  CHECK(cfg.checks[0].alias_node == "n2");
  CHECK(cfg.checks[0].interval_ms == 0);  // alias checks need no interval
  CHECK(cfg.checks[1].tls_server_name == "api.local");
  CHECK(cfg.checks[1].output_max_size == 100);
  CHECK(cfg.checks[2].tcp_use_tls);
  CHECK(MergeSvcError(R"({"check": {"name": "x", "alias_service": "db", "ttl": "1m"}})")
            .find("found ttl and alias") != std::string::npos);
}

TEST_CASE("node-level checks: id defaults to the name, no service") {
  AgentConfig cfg = MergeSvc(R"({"check": {"name": "mem", "ttl": "1m", "notes": "n"},
                               "checks": [{"id": "disk", "name": "Disk", "ttl": "1m",
                                           "status": "warning"}]})");
  REQUIRE(cfg.checks.size() == 2);
  CHECK(cfg.checks[0].id == "mem");
  CHECK(cfg.checks[0].service_id.empty());
  CHECK(cfg.checks[0].notes == "n");
  CHECK(cfg.checks[1].id == "disk");
  CHECK(cfg.checks[1].status == Health::kWarning);
}

TEST_CASE("a later definition with the same service id replaces the earlier one") {
  AgentConfig cfg;
  REQUIRE(MergeDocument("a.json", R"({"service": {"name": "web", "port": 80}})", false, &cfg).ok());
  REQUIRE(MergeDocument("b.json", R"({"service": {"name": "web", "port": 81}})", false, &cfg).ok());
  REQUIRE(cfg.services.size() == 1);
  CHECK(cfg.services[0].port == 81);
}

TEST_CASE("service errors name file, line and key") {
  CHECK(MergeSvcError("{\"services\": [\n  {\"name\": \"a\"},\n  {\"port\": 80}\n]}") ==
        "svc.json:3: services[1].name: missing required key: name");
  CHECK(MergeSvcError("{\"service\": {\"name\": \"a\",\n \"port\": 65536}}") ==
        "svc.json:2: service.port: expected a number between 0 and 65535, got 65536");
  CHECK(MergeSvcError("{\"service\": {\"name\": \"a\", \"port\": \"80\"}}") ==
        "svc.json:1: service.port: expected a number between 0 and 65535, got string \"80\"");
  CHECK(MergeSvcError("{\"service\": {\"name\": \"a\", \"tags\": \"x\"}}") ==
        "svc.json:1: service.tags: expected a list of strings, got string \"x\"");
  CHECK(MergeSvcError(R"({"service": {"name": "a", "weights": {"passing": 0}}})")
            .find("service.weights.passing") != std::string::npos);
}

TEST_CASE("check errors name file, line and key") {
  CHECK(MergeSvcError("{\"services\": [{\"name\": \"a\"}, {\"name\": \"b\",\n"
                      "  \"check\": {\"http\": \"http://x\",\n"
                      "             \"interval\": \"often\"}}]}") ==
        "svc.json:3: services[1].check.interval: expected a duration such as \"10s\" or "
        "\"1m30s\", got string \"often\"");
  CHECK(MergeSvcError("{\"service\": {\"name\": \"a\", \"check\": {\"ttl\": \"1m\",\n"
                      "  \"status\": \"ok\"}}}") ==
        "svc.json:2: service.check.status: expected one of \"passing\", \"warning\", "
        "\"critical\", got \"ok\"");
  CHECK(MergeSvcError(
            R"({"service": {"name": "a", "check": {"ttl": "1m", "status": "maintenance"}}})")
            .find("service.check.status") != std::string::npos);
  CHECK(MergeSvcError("{\"service\": {\"name\": \"a\",\n \"check\": {\"http\": \"http://x\"}}}") ==
        "svc.json:2: service.check.interval: missing required key: http checks need an interval");
  CHECK(MergeSvcError(R"({"service": {"name": "a", "check": {"interval": "10s"}}})")
            .find("service.check: check has no type") != std::string::npos);
  CHECK(
      MergeSvcError(
          R"({"service": {"name": "a", "check": {"http": "http://x", "ttl": "1m", "interval": "1s"}}})")
          .find("found http and ttl") != std::string::npos);
  CHECK(MergeSvcError(R"({"check": {"ttl": "1m"}})") ==
        "svc.json:1: check.name: missing required key: name");
  CHECK(MergeSvcError(R"({"check": {"name": "x", "h2ping": "localhost:1", "interval": "1s"}})")
            .find("check.h2ping: this check type is not supported") != std::string::npos);
  CHECK(MergeSvcError(R"({"checks": [{"name": "x", "args": "ls", "interval": "1s"}]})") ==
        "svc.json:1: checks[0].args: expected a list of strings, got string \"ls\"");
}

}  // namespace
}  // namespace beacon::config

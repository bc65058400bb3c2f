// Config keys applied through MergeDocument (JSON and YAML), and the errors they produce.
#include <doctest.h>

#include <string>

#include "beacon/config/config.h"

namespace beacon::config {
namespace {

AgentConfig Merge(std::string_view text, bool yaml = false) {
  AgentConfig cfg;
  Status st = MergeDocument("t.json", text, yaml, &cfg);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  return cfg;
}

std::string MergeError(std::string_view text, bool yaml = false) {
  AgentConfig cfg;
  Status st = MergeDocument(yaml ? "t.yaml" : "t.json", text, yaml, &cfg);
  REQUIRE_FALSE(st.ok());
  return st.message();
}

TEST_CASE("agent keys: top-level scalars, lists and maps") {
  AgentConfig cfg = Merge(R"({
    "node_name": "n1", "datacenter": "DC-East", "data_dir": "/var/lib/beacon",
    "client_addr": "127.0.0.1 ::1", "bind_addr": "10.0.0.5", "advertise_addr": "10.0.0.6",
    "server": true, "bootstrap": false, "bootstrap_expect": 1, "log_level": "WARN",
    "enable_script_checks": true, "enable_local_script_checks": true,
    "node_meta": {"rack": "r1", "Zone": "a"},
    "ports": {"dns": 53, "http": 8080, "serf_lan": 9301, "server": 9300, "https": -1, "grpc": 8502},
    "domain": "Example.COM", "alt_domain": "alt", "recursors": ["8.8.8.8", "1.1.1.1:5353", "[::1]:53"],
    "dns_workers": 3, "pid_file": "/run/beacon.pid", "retry_join": ["10.0.0.9"]
  })");
  CHECK(cfg.node_name == "n1");
  CHECK(cfg.datacenter == "dc-east");
  CHECK(cfg.data_dir == "/var/lib/beacon");
  CHECK(cfg.client_addrs == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(cfg.bind_addr == "10.0.0.5");
  CHECK(cfg.advertise_addr == "10.0.0.6");
  CHECK(cfg.server);
  CHECK(cfg.log_level == "warn");
  CHECK(cfg.enable_script_checks);
  CHECK(cfg.enable_local_script_checks);
  CHECK(cfg.node_meta == std::map<std::string, std::string>{{"rack", "r1"}, {"Zone", "a"}});
  CHECK(cfg.ports.dns == 53);
  CHECK(cfg.ports.http == 8080);
  CHECK(cfg.ports.serf_lan == 9301);
  CHECK(cfg.ports.server == 9300);
  CHECK(cfg.dns.domain == "example.com.");
  CHECK(cfg.dns.alt_domain == "alt.");
  CHECK(cfg.dns.recursors == std::vector<std::string>{"8.8.8.8", "1.1.1.1:5353", "[::1]:53"});
  CHECK(cfg.dns_workers == 3);
  CHECK(cfg.pid_file == "/run/beacon.pid");
  CHECK(cfg.retry_join == std::vector<std::string>{"10.0.0.9"});
  CHECK(cfg.sources == std::vector<std::string>{"t.json"});
}

TEST_CASE("agent keys: defaults without any config") {
  AgentConfig cfg = Merge("{}");
  CHECK(cfg.datacenter == "dc1");
  CHECK(cfg.dns.domain == "consul.");
  CHECK(cfg.dns.udp_answer_limit == 3);
  CHECK(cfg.dns.recursor_timeout_ms == 2000);
  CHECK(cfg.dns.allow_stale);
  CHECK(cfg.dns.enable_additional_node_meta_txt);
  CHECK(cfg.ports.dns == 8600);
  CHECK(cfg.ports.http == 8500);
  CHECK(cfg.dns_udp_batch_wait_ns == 50'000);
}

TEST_CASE("dns_udp_batch_wait: a Go duration from 0 to 1ms") {
  CHECK(Merge(R"({"dns_udp_batch_wait": "20us"})").dns_udp_batch_wait_ns == 20'000);
  CHECK(Merge(R"({"dns_udp_batch_wait": "0.1ms"})").dns_udp_batch_wait_ns == 100'000);
  CHECK(Merge(R"({"dns_udp_batch_wait": "0"})").dns_udp_batch_wait_ns == 0);
  CHECK(Merge("dns_udp_batch_wait: 1ms\n", true).dns_udp_batch_wait_ns == 1'000'000);
  CHECK(MergeError("{\n\"dns_udp_batch_wait\": \"2ms\"}") ==
        "t.json:2: dns_udp_batch_wait: must be between 0 and 1ms, got \"2ms\"");
  CHECK(MergeError(R"({"dns_udp_batch_wait": "50"})") ==
        "t.json:1: dns_udp_batch_wait: time: missing unit in duration \"50\"");
  CHECK(Merge(R"({"dns_udp_batch_wait": 0})").dns_udp_batch_wait_ns == 0);
  CHECK(Merge("dns_udp_batch_wait: 0\n", true).dns_udp_batch_wait_ns == 0);
  CHECK(MergeError(R"({"dns_udp_batch_wait": 50})") ==
        "t.json:1: dns_udp_batch_wait: expected a duration such as \"50us\", or 0");
  CHECK(MergeError(R"({"dns_udp_batch_wait": ["50us"]})") ==
        "t.json:1: dns_udp_batch_wait: expected a duration such as \"50us\", or 0");
}

TEST_CASE("agent keys: addresses.dns sets the listener addresses") {
  CHECK(Merge(R"({"addresses": {"dns": "127.0.0.2", "https": "0.0.0.0"}})").client_addrs ==
        std::vector<std::string>{"127.0.0.2"});
  CHECK(Merge(R"({"addresses": {"http": "127.0.0.3"}})").client_addrs ==
        std::vector<std::string>{"127.0.0.3"});
}

TEST_CASE("dns_config: every key") {
  AgentConfig cfg = Merge(R"({"dns_config": {
    "node_ttl": "30s", "service_ttl": {"*": "5s", "web": "1m", "db*": 10},
    "only_passing": true, "enable_truncate": true, "udp_answer_limit": 0, "a_record_limit": 7,
    "recursor_timeout": "500ms", "recursor_strategy": "random", "disable_compression": true,
    "enable_additional_node_meta_txt": false, "allow_stale": false, "max_stale": "10s",
    "use_cache": true, "cache_max_age": "5s", "recursion_available": true,
    "soa": {"refresh": 1, "retry": 2, "expire": 3, "min_ttl": 4}
  }})");
  const DnsConfig& d = cfg.dns;
  CHECK(d.node_ttl_s == 30);
  CHECK(d.service_ttl_s == std::map<std::string, uint32_t>{{"*", 5}, {"web", 60}, {"db*", 10}});
  CHECK(d.only_passing);
  CHECK(d.enable_truncate);
  CHECK(d.udp_answer_limit == 0);
  CHECK(d.a_record_limit == 7);
  CHECK(d.recursor_timeout_ms == 500);
  CHECK(d.recursor_random);
  CHECK(d.disable_compression);
  CHECK_FALSE(d.enable_additional_node_meta_txt);
  CHECK_FALSE(d.allow_stale);
  CHECK(d.recursion_available);
  CHECK(d.soa.refresh == 1);
  CHECK(d.soa.retry == 2);
  CHECK(d.soa.expire == 3);
  CHECK(d.soa.min_ttl == 4);
}

TEST_CASE("dns_config: a partial soa keeps the other defaults; sequential strategy") {
  AgentConfig cfg =
      Merge(R"({"dns_config": {"soa": {"min_ttl": 60}, "recursor_strategy": "sequential"}})");
  CHECK(cfg.dns.soa.min_ttl == 60);
  CHECK(cfg.dns.soa.refresh == 3600);
  CHECK(cfg.dns.soa.retry == 600);
  CHECK(cfg.dns.soa.expire == 86400);
  CHECK_FALSE(cfg.dns.recursor_random);
}

TEST_CASE("keys: snake_case, CamelCase and lowercase are the same key") {
  for (const char* text : {R"({"node_name": "a", "dns_config": {"udp_answer_limit": 5}})",
                           R"({"NodeName": "a", "DNSConfig": {"UDPAnswerLimit": 5}})",
                           R"({"nodename": "a", "dnsconfig": {"udpanswerlimit": 5}})"}) {
    AgentConfig cfg = Merge(text);
    CHECK(cfg.node_name == "a");
    CHECK(cfg.dns.udp_answer_limit == 5);
  }
  AgentConfig cfg = Merge(R"({"Service": {"Name": "x", "ID": "x1", "EnableTagOverride": true}})");
  REQUIRE(cfg.services.size() == 1);
  CHECK(cfg.services[0].id == "x1");
  CHECK(cfg.services[0].enable_tag_override);
}

TEST_CASE("keys: Consul keys Beacon does not use, and unknown keys, are ignored") {
  AgentConfig cfg = Merge(R"({"acl": {"enabled": true},
    "telemetry": {"disable_hostname": true}, "performance": {"raft_multiplier": 1},
    "limits": {"http_max_conns_per_client": 200}, "no_such_key": [1, 2], "node_name": "k"})");
  CHECK(cfg.node_name == "k");
}

TEST_CASE("ui_config.enabled and the older `ui` key turn the web UI on or off") {
  CHECK_FALSE(Merge("{}").ui);
  CHECK(Merge(R"({"ui_config": {"enabled": true, "dir": "/x", "content_path": "/ui/"}})").ui);
  CHECK(Merge(R"({"UIConfig": {"Enabled": true}})").ui);
  CHECK(Merge("ui_config:\n  enabled: true\n", true).ui);
  CHECK(Merge(R"({"ui": true})").ui);
  AgentConfig cfg;
  cfg.ui = true;
  REQUIRE(MergeDocument("t.json", R"({"ui_config": {"enabled": false}})", false, &cfg).ok());
  CHECK_FALSE(cfg.ui);
  CHECK(MergeError(R"({"ui_config": {"enabled": "yes"}})") ==
        "t.json:1: ui_config.enabled: expected a boolean (true or false), got string \"yes\"");
  CHECK(MergeError(R"({"ui_config": true})").find("ui_config: expected an object") !=
        std::string::npos);
}

TEST_CASE("keys: YAML document with the same tree") {
  AgentConfig cfg = Merge(R"(
node_name: y1
datacenter: DC2
enable_local_script_checks: true
recursors:
  - 9.9.9.9
ports:
  dns: 8653
dns_config:
  node_ttl: 10s
  only_passing: true
  service_ttl:
    "*": 3
service:
  name: web
  port: 80
  tags: [rails, "1.0"]
  meta:
    version: 2
  check:
    args: [curl, localhost]
    interval: 10s
)",
                          true);
  CHECK(cfg.node_name == "y1");
  CHECK(cfg.datacenter == "dc2");
  CHECK(cfg.dns.recursors == std::vector<std::string>{"9.9.9.9"});
  CHECK(cfg.ports.dns == 8653);
  CHECK(cfg.dns.node_ttl_s == 10);
  CHECK(cfg.dns.only_passing);
  CHECK(cfg.dns.service_ttl_s.at("*") == 3);
  REQUIRE(cfg.services.size() == 1);
  CHECK(cfg.services[0].tags == std::vector<std::string>{"rails", "1.0"});
  CHECK(cfg.services[0].meta.at("version") == "2");
  REQUIRE(cfg.checks.size() == 1);
  CHECK(cfg.checks[0].args == std::vector<std::string>{"curl", "localhost"});
  CHECK(cfg.checks[0].interval_ms == 10000);
}

TEST_CASE("errors: wrong types name file, line and key path") {
  CHECK(MergeError("{\n  \"server\": \"yes\"\n}") ==
        "t.json:2: server: expected a boolean (true or false), got string \"yes\"");
  CHECK(MergeError("{\"ports\": {\n\"dns\": 70000}}") ==
        "t.json:2: ports.dns: expected a number between -1 and 65535, got 70000");
  CHECK(MergeError("{\"dns_config\": {\"udp_answer_limit\": -1}}")
            .find("t.json:1: dns_config.udp_answer_limit: expected a number between 0") == 0);
  CHECK(MergeError("{\"node_meta\": {\"a\": 1}}") ==
        "t.json:1: node_meta.a: expected a string, got 1");
  CHECK(MergeError("{\n\n\"dns_config\": {\"node_ttl\": \"soon\"}}") ==
        "t.json:3: dns_config.node_ttl: expected a duration such as \"10s\" or \"1m30s\", got "
        "string \"soon\"");
  CHECK(MergeError("{\"dns_config\": {\"recursor_strategy\": \"fastest\"}}")
            .find("dns_config.recursor_strategy") != std::string::npos);
  CHECK(MergeError("server: [1]\n", true) ==
        "t.yaml:1: server: expected a boolean (true or false), got a list");
  CHECK(MergeError("dns_config:\n  max_stale: forever\n", true)
            .find("t.yaml:2: dns_config.max_stale: expected a duration") == 0);
}

TEST_CASE("errors: invalid values") {
  CHECK(MergeError(R"({"recursors": ["0.0.0.0"]})").find("recursors[0]: invalid recursor") !=
        std::string::npos);
  CHECK(MergeError(R"({"recursors": ["dns.google"]})").find("not an IP address") !=
        std::string::npos);
  CHECK(MergeError(R"({"recursors": ["8.8.8.8:99999"]})").find("bad port") != std::string::npos);
  CHECK(MergeError(R"({"client_addr": "{{ GetPrivateIP }}"})").find("client_addr") !=
        std::string::npos);
  CHECK(MergeError(R"({"bind_addr": "localhost"})").find("bind_addr: expected an IP address") !=
        std::string::npos);
  CHECK(MergeError(R"({"domain": "bad..domain"})").find("domain: expected a domain name") !=
        std::string::npos);
  CHECK(MergeError(R"({"datacenter": "dc 1"})").find("datacenter") != std::string::npos);
  CHECK(MergeError(R"({"log_level": "chatty"})").find("log_level") != std::string::npos);
}

TEST_CASE("errors: invalid JSON and YAML syntax give the parser error and the file") {
  CHECK(MergeError("{\"node_name\": \"a\",\n \"server\": tru }") ==
        "t.json:2: invalid JSON: Problem while parsing an atom starting with the letter 't'");
  CHECK(MergeError("{\n\"a\": [1,\n2,]\n}").rfind("t.json:3: invalid JSON: ", 0) == 0);
  std::string e = MergeError("{\"a\": \"unterminated}");
  CHECK(e == "t.json: invalid JSON: A string is opened, but never closed.");
  e = MergeError("{\"a\": 1} trailing");
  CHECK(e.find("invalid JSON") != std::string::npos);
  e = MergeError("{\"a\": ");
  CHECK(e.find("invalid JSON") != std::string::npos);
  CHECK(MergeError("[1, 2]") == "t.json:1: expected a JSON object at the top level");
  e = MergeError("a: [1, 2\nb: 3\n", true);
  CHECK(e.rfind("t.yaml:", 0) == 0);
  CHECK(e.find("invalid YAML") != std::string::npos);
}

TEST_CASE("MergeDocument leaves the config unchanged on error") {
  AgentConfig cfg;
  REQUIRE(MergeDocument("a.json", R"({"node_name": "keep"})", false, &cfg).ok());
  CHECK_FALSE(MergeDocument("b.json", R"({"node_name": "lost", "server": 1})", false, &cfg).ok());
  CHECK(cfg.node_name == "keep");
  CHECK(cfg.sources == std::vector<std::string>{"a.json"});
}

TEST_CASE("merging two documents: scalars replace, lists append, maps merge") {
  AgentConfig cfg;
  REQUIRE(MergeDocument("a.json",
                        R"({"node_name": "a", "recursors": ["8.8.8.8"], "node_meta": {"x": "1"},
                            "service": {"name": "s1"}})",
                        false, &cfg)
              .ok());
  REQUIRE(MergeDocument("b.yaml",
                        "node_name: b\nrecursors: [1.1.1.1]\nnode_meta: {y: '2'}\n"
                        "services:\n  - name: s2\n",
                        true, &cfg)
              .ok());
  CHECK(cfg.node_name == "b");
  CHECK(cfg.dns.recursors == std::vector<std::string>{"8.8.8.8", "1.1.1.1"});
  CHECK(cfg.node_meta == std::map<std::string, std::string>{{"x", "1"}, {"y", "2"}});
  REQUIRE(cfg.services.size() == 2);
  CHECK(cfg.services[0].name == "s1");
  CHECK(cfg.services[1].name == "s2");
  CHECK(cfg.sources == std::vector<std::string>{"a.json", "b.yaml"});
}

TEST_CASE("agent keys: telemetry") {
  AgentConfig def;
  CHECK(def.telemetry.prometheus_retention_ms == 0);
  CHECK_FALSE(def.telemetry.disable_hostname);
  CHECK(def.telemetry.dns_metrics);
  AgentConfig cfg = Merge(R"({"telemetry": {"prometheus_retention_time": "60s",
    "disable_hostname": true, "statsd_address": "127.0.0.1:8125", "dns_metrics": false}})");
  CHECK(cfg.telemetry.prometheus_retention_ms == 60000);
  CHECK(cfg.telemetry.disable_hostname);
  CHECK_FALSE(cfg.telemetry.dns_metrics);
  AgentConfig y =
      Merge("telemetry:\n  prometheus_retention_time: 2m\n  disable_hostname: true\n", true);
  CHECK(y.telemetry.prometheus_retention_ms == 120000);
  CHECK(y.telemetry.disable_hostname);
  const std::string err = MergeError(R"({"telemetry": {"disable_hostname": "maybe"}})");
  CHECK(err.find("telemetry.disable_hostname") != std::string::npos);
  CHECK(MergeError(R"({"telemetry": {"prometheus_retention_time": "soon"}})")
            .find("prometheus_retention_time") != std::string::npos);
  CHECK(MergeError(R"({"telemetry": 5})").find("telemetry") != std::string::npos);
}

}  // namespace
}  // namespace beacon::config

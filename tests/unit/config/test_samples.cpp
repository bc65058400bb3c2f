// Every sample in conf/ loads (the test runs with the project root as working directory).
#include <doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "beacon/config/config.h"

namespace beacon::config {
namespace {

const catalog::Service* FindService(const AgentConfig& cfg, std::string_view id) {
  for (const catalog::Service& s : cfg.services) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const catalog::Check* FindCheck(const AgentConfig& cfg, std::string_view id) {
  for (const catalog::Check& c : cfg.checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

TEST_CASE("samples: every JSON/YAML file under conf/ loads on its own") {
  namespace fs = std::filesystem;
  REQUIRE(fs::is_directory("conf"));
  int loaded = 0;
  for (const auto& e : fs::recursive_directory_iterator("conf")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".json" && ext != ".yaml" && ext != ".yml") continue;
    // conf/dev.json comes first: it enables the local script checks the samples use.
    const std::string path = e.path().string();
    Result<AgentConfig> r = LoadPaths({"conf/dev.json", path});
    CHECK_MESSAGE(r.ok(), path << ": " << (r.ok() ? "" : r.status().message()));
    ++loaded;
  }
  CHECK(loaded >= 3);
}

TEST_CASE("samples: the dev agent command line loads conf/ and conf/services") {
  Result<CommandLine> cl =
      ParseAgentFlags({"-dev", "-config-dir", "conf", "-config-dir", "conf/services"});
  REQUIRE(cl.ok());
  Result<AgentConfig> r = Load(*cl);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  const AgentConfig& cfg = *r;
  CHECK(cfg.datacenter == "dc1");
  CHECK(cfg.dns.domain == "consul.");
  CHECK(cfg.ports.dns == 8600);
  CHECK(cfg.ports.http == 8500);
  CHECK(cfg.enable_local_script_checks);
  CHECK(cfg.dns.udp_answer_limit == 3);
  CHECK(cfg.sources == std::vector<std::string>{"conf/dev.json", "conf/services/multi.json",
                                                "conf/services/web.json"});

  const catalog::Service* web = FindService(cfg, "web");
  REQUIRE(web != nullptr);
  CHECK(web->port == 80);
  CHECK(web->tags == std::vector<std::string>{"rails"});
  const catalog::Check* web_check = FindCheck(cfg, "service:web");
  REQUIRE(web_check != nullptr);
  CHECK(web_check->http == "http://127.0.0.1:8500/v1/status/leader");
  CHECK(web_check->interval_ms == 10000);

  const catalog::Service* api1 = FindService(cfg, "api-1");
  const catalog::Service* api2 = FindService(cfg, "api-2");
  REQUIRE(api1 != nullptr);
  REQUIRE(api2 != nullptr);
  CHECK(api1->name == "api");
  CHECK(api2->name == "api");
  CHECK(api1->port != api2->port);
  CHECK(api1->address != api2->address);
  CHECK(api1->tags != api2->tags);

  const catalog::Check* cache = FindCheck(cfg, "service:cache");
  REQUIRE(cache != nullptr);
  CHECK(cache->tcp == "127.0.0.1:8600");

  const catalog::Service* db = FindService(cfg, "db-primary");
  REQUIRE(db != nullptr);
  CHECK(db->meta.at("role") == "primary");
  CHECK(db->weights.passing == 10);
  CHECK(FindCheck(cfg, "db-primary-api") != nullptr);

  // Every sample check probes the dev agent itself (HTTP 127.0.0.1:8500, DNS 127.0.0.1:8600)
  // and starts passing, except the one that fails on purpose and says so in its notes.
  int failing = 0;
  for (const catalog::Check& c : cfg.checks) {
    if (c.status == catalog::Health::kPassing) {
      const bool self = c.http.rfind("http://127.0.0.1:8500/", 0) == 0 ||
                        c.tcp == "127.0.0.1:8500" || c.tcp == "127.0.0.1:8600";
      CHECK_MESSAGE(self, c.id);
      continue;
    }
    ++failing;
    CHECK(c.id == "db-primary-down");
    CHECK(c.notes.find("fails on purpose") != std::string::npos);
  }
  CHECK(failing == 1);
}

TEST_CASE("samples: the dnsmasq snippet forwards the consul zone to the DNS port") {
  REQUIRE(std::filesystem::exists("conf/dnsmasq-consul.conf"));
  std::FILE* f = std::fopen("conf/dnsmasq-consul.conf", "r");
  REQUIRE(f != nullptr);
  std::string text;
  char buf[512];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  CHECK(text.find("\nserver=/consul/127.0.0.1#8600\n") != std::string::npos);
}

}  // namespace
}  // namespace beacon::config

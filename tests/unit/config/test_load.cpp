// Load(): defaults, config dirs, config files and flag overrides, in that order.
#include <doctest.h>

#include <string>

#include "beacon/config/config.h"
#include "test_util.h"

namespace beacon::config {
namespace {

using testing::TempDir;

AgentConfig MustLoad(const CommandLine& cl) {
  Result<AgentConfig> r = Load(cl);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  return r.value();
}

std::string LoadError(const CommandLine& cl) {
  Result<AgentConfig> r = Load(cl);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

CommandLine Flags(const std::vector<std::string>& args) {
  Result<CommandLine> r = ParseAgentFlags(args);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  return r.value();
}

TEST_CASE("Load: dirs in alphabetical order, then files, then flags") {
  TempDir t;
  t.Write("d/b.json", R"({"node_name": "from-b", "datacenter": "b", "recursors": ["2.2.2.2"]})");
  t.Write("d/a.yaml", "node_name: from-a\nlog_level: warn\nrecursors: [1.1.1.1]\n");
  t.Write("d/c.yml", "datacenter: c\n");
  t.Write("d/ignored.hcl", "this is not loaded");
  t.Write("d/notes.txt", "nor this");
  t.Write("d/sub/x.json", R"({"node_name": "from-subdir"})");
  std::string file = t.Write("f.json", R"({"datacenter": "file", "data_dir": "/data"})");
  CommandLine cl = Flags({"-config-dir", t.path() + "/d", "-config-file", file, "-datacenter",
                          "flag", "-recursor", "3.3.3.3", "-node-meta", "k:v"});
  AgentConfig cfg = MustLoad(cl);
  CHECK(cfg.node_name == "from-b");
  CHECK(cfg.log_level == "warn");
  CHECK(cfg.datacenter == "flag");
  CHECK(cfg.data_dir == "/data");
  CHECK(cfg.dns.recursors == std::vector<std::string>{"1.1.1.1", "2.2.2.2", "3.3.3.3"});
  CHECK(cfg.node_meta.at("k") == "v");
  CHECK(cfg.sources == std::vector<std::string>{t.path() + "/d/a.yaml", t.path() + "/d/b.json",
                                                t.path() + "/d/c.yml", file});
}

TEST_CASE("Load: flag overrides for every config-backed flag") {
  TempDir t;
  AgentConfig cfg = MustLoad(Flags({"-data-dir",
                                    t.path(),
                                    "-node",
                                    "n",
                                    "-server",
                                    "-bind",
                                    "10.1.1.1",
                                    "-client",
                                    "127.0.0.1 127.0.0.2",
                                    "-advertise",
                                    "10.1.1.2",
                                    "-dns-port",
                                    "53",
                                    "-http-port",
                                    "80",
                                    "-serf-lan-port",
                                    "1",
                                    "-server-port",
                                    "2",
                                    "-domain",
                                    "Corp",
                                    "-alt-domain",
                                    "alt.example",
                                    "-log-level",
                                    "trace",
                                    "-enable-script-checks",
                                    "-enable-local-script-checks",
                                    "-pid-file",
                                    "/run/b.pid",
                                    "-join",
                                    "10.0.0.1",
                                    "-dns-workers",
                                    "2",
                                    "-dns-udp-batch-wait",
                                    "0"}));
  CHECK(cfg.data_dir == t.path());
  CHECK(cfg.node_name == "n");
  CHECK(cfg.server);
  CHECK(cfg.bind_addr == "10.1.1.1");
  CHECK(cfg.client_addrs == std::vector<std::string>{"127.0.0.1", "127.0.0.2"});
  CHECK(cfg.advertise_addr == "10.1.1.2");
  CHECK(cfg.ports.dns == 53);
  CHECK(cfg.ports.http == 80);
  CHECK(cfg.ports.serf_lan == 1);
  CHECK(cfg.ports.server == 2);
  CHECK(cfg.dns.domain == "corp.");
  CHECK(cfg.dns.alt_domain == "alt.example.");
  CHECK(cfg.log_level == "trace");
  CHECK(cfg.enable_script_checks);
  CHECK(cfg.enable_local_script_checks);
  CHECK(cfg.pid_file == "/run/b.pid");
  CHECK(cfg.start_join == std::vector<std::string>{"10.0.0.1"});  // -join: once, at start
  CHECK(cfg.retry_join.empty());
  CHECK(cfg.dns_workers == 2);
  CHECK(cfg.dns_udp_batch_wait_ns == 0);
}

TEST_CASE("Load: -dev defaults and the ones files may still override") {
  AgentConfig cfg = MustLoad(Flags({"-dev"}));
  CHECK(cfg.dev);
  CHECK(cfg.server);
  CHECK(cfg.log_level == "debug");
  CHECK(cfg.bind_addr == "127.0.0.1");
  CHECK(cfg.advertise_addr == "127.0.0.1");
  CHECK_FALSE(cfg.node_name.empty());  // the hostname
  CHECK(cfg.data_dir.empty());
  TempDir t;
  std::string f = t.Write("x.json", R"({"log_level": "info"})");
  CHECK(MustLoad(Flags({"-dev", "-config-file", f})).log_level == "info");
  CHECK(MustLoad(Flags({"-dev", "-config-file", f, "-log-level", "error"})).log_level == "error");
}

TEST_CASE("Load: the web UI is on with -dev, off otherwise; files and -ui decide over that") {
  CHECK(MustLoad(Flags({"-dev"})).ui);
  CHECK_FALSE(MustLoad(Flags({"-data-dir", "/tmp"})).ui);
  CHECK(MustLoad(Flags({"-data-dir", "/tmp", "-ui"})).ui);
  CHECK_FALSE(MustLoad(Flags({"-dev", "-ui=false"})).ui);
  TempDir t;
  std::string off = t.Write("off.json", R"({"ui_config": {"enabled": false}})");
  std::string on = t.Write("on.yaml", "ui_config:\n  enabled: true\n");
  CHECK_FALSE(MustLoad(Flags({"-dev", "-config-file", off})).ui);
  CHECK(MustLoad(Flags({"-data-dir", "/tmp", "-config-file", on})).ui);
  CHECK(MustLoad(Flags({"-dev", "-config-file", off, "-ui"})).ui);  // the flag comes last
}

TEST_CASE("Load: -dns-udp-batch-wait wins over the file") {
  TempDir t;
  std::string f = t.Write("x.json", R"({"dns_udp_batch_wait": "80us"})");
  CHECK(MustLoad(Flags({"-dev", "-config-file", f})).dns_udp_batch_wait_ns == 80'000);
  CHECK(MustLoad(Flags({"-dev", "-config-file", f, "-dns-udp-batch-wait", "30us"}))
            .dns_udp_batch_wait_ns == 30'000);
}

TEST_CASE("Load: data_dir is required unless -dev; node name defaults to the hostname") {
  CHECK(LoadError(CommandLine{}) == "data_dir is required unless -dev");
  AgentConfig cfg = MustLoad(Flags({"-data-dir", "/tmp"}));
  CHECK_FALSE(cfg.node_name.empty());
  CHECK_FALSE(cfg.dev);
  CHECK(cfg.log_level == "info");
}

TEST_CASE("Load: advertise_addr follows bind_addr, or 127.0.0.1 for 0.0.0.0") {
  CHECK(MustLoad(Flags({"-dev", "-bind", "10.2.3.4"})).advertise_addr == "10.2.3.4");
  CHECK(MustLoad(Flags({"-dev", "-bind", "0.0.0.0"})).advertise_addr == "127.0.0.1");
}

TEST_CASE("Load: errors for missing dirs and files and unsupported formats") {
  CHECK(LoadError(Flags({"-dev", "-config-dir", "/nonexistent/beacon"})) ==
        "config dir /nonexistent/beacon: no such directory");
  CHECK(LoadError(Flags({"-dev", "-config-file", "/nonexistent/x.json"}))
            .rfind("/nonexistent/x.json: cannot read", 0) == 0);
  TempDir t;
  std::string hcl = t.Write("a.hcl", "node_name = \"x\"");
  CHECK(LoadError(Flags({"-dev", "-config-file", hcl})).find("HCL") != std::string::npos);
  std::string conf = t.Write("a.conf", "node_name: forced\n");
  CHECK(LoadError(Flags({"-dev", "-config-file", conf})).find("-config-format") !=
        std::string::npos);
  CHECK(MustLoad(Flags({"-dev", "-config-format", "yaml", "-config-file", conf})).node_name ==
        "forced");
}

TEST_CASE("Load: an error in a file names that file") {
  TempDir t;
  t.Write("d/a.json", R"({"node_name": "ok"})");
  t.Write("d/b.json", "{\n\"ports\": {\"dns\": \"53\"}}");
  CHECK(LoadError(Flags({"-dev", "-config-dir", t.path() + "/d"})) ==
        t.path() +
            "/d/b.json:2: ports.dns: expected a number between -1 and 65535, got string "
            "\"53\"");
}

TEST_CASE("Load: script checks are judged after everything is merged") {
  TempDir t;
  std::string svc = t.Write(
      "svc.json", R"({"service": {"name": "s", "check": {"args": ["true"], "interval": "1s"}}})");
  std::string e = LoadError(Flags({"-dev", "-config-file", svc}));
  CHECK(e == svc +
                 ":1: service.check: Scripts are disabled on this agent; to enable, "
                 "configure 'enable_script_checks' or 'enable_local_script_checks' to true");
  CHECK(
      MustLoad(Flags({"-dev", "-config-file", svc, "-enable-local-script-checks"})).checks.size() ==
      1);
  std::string later = t.Write("z.json", R"({"enable_script_checks": true})");
  CHECK(MustLoad(Flags({"-dev", "-config-file", svc, "-config-file", later})).checks.size() == 1);
}

TEST_CASE("Load: a node-level check may name a service from another file") {
  TempDir t;
  std::string a = t.Write("a.json", R"({"check": {"name": "c", "ttl": "1m", "service_id": "w1"}})");
  std::string b = t.Write("b.json", R"({"service": {"name": "web", "id": "w1"}})");
  AgentConfig cfg = MustLoad(Flags({"-dev", "-config-file", a, "-config-file", b}));
  REQUIRE(cfg.checks.size() == 1);
  CHECK(cfg.checks[0].service_name == "web");
  CHECK(LoadError(Flags({"-dev", "-config-file", a})) ==
        a + ":1: check.service_id: no service with id \"w1\"");
}

TEST_CASE("LoadPaths: files and directories without flags or data_dir") {
  TempDir t;
  t.Write("d/1.json", R"({"service": {"name": "a"}})");
  std::string f = t.Write("x.yaml", "services:\n  - name: b\n");
  Result<AgentConfig> r = LoadPaths({t.path() + "/d", f});
  REQUIRE(r.ok());
  REQUIRE(r->services.size() == 2);
  CHECK(r->services[1].name == "b");
  CHECK_FALSE(LoadPaths({t.path() + "/missing.json"}).ok());
}

}  // namespace
}  // namespace beacon::config

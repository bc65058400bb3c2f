// -etcd-supervise (issue 10): the etcd command line, how etcd's JSON log lines are logged, which
// gossip members make the initial cluster, and the config keys, flags and their errors.
#include "beacon/agent/etcd_supervisor.h"

#include <doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace beacon::agent {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
  auto it = std::find(v.begin(), v.end(), a);
  return it != v.end() && it + 1 != v.end() && *(it + 1) == b;
}

TEST_CASE("etcd args: URLs on the bind and advertise addresses; initial cluster only when new") {
  EtcdSupervisorOptions o;
  o.name = "s1";
  o.data_dir = "/var/lib/beacon/etcd";
  o.listen_addr = "0.0.0.0";
  o.advertise_addr = "10.0.0.1";
  o.client_port = 3379;
  o.peer_port = 3380;
  o.initial_cluster = "s1=http://10.0.0.1:3380,s2=http://10.0.0.2:3380";
  o.cluster_token = "beacon-dc1";
  std::vector<std::string> a = EtcdArgs(o);
  CHECK(a[0] == "/usr/bin/etcd");
  CHECK(Has(a, "--name", "s1"));
  CHECK(Has(a, "--data-dir", "/var/lib/beacon/etcd"));
  CHECK(Has(a, "--listen-client-urls", "http://0.0.0.0:3379"));
  CHECK(Has(a, "--advertise-client-urls", "http://10.0.0.1:3379"));
  CHECK(Has(a, "--listen-peer-urls", "http://0.0.0.0:3380"));
  CHECK(Has(a, "--initial-advertise-peer-urls", "http://10.0.0.1:3380"));
  CHECK(Has(a, "--initial-cluster", o.initial_cluster));
  CHECK(Has(a, "--initial-cluster-state", "new"));
  CHECK(Has(a, "--initial-cluster-token", "beacon-dc1"));
  CHECK(Has(a, "--logger", "zap"));
  o.initial_cluster.clear();  // existing data: etcd rejoins from it
  a = EtcdArgs(o);
  CHECK(std::find(a.begin(), a.end(), "--initial-cluster") == a.end());
  CHECK(std::find(a.begin(), a.end(), "--initial-cluster-state") == a.end());
  o.advertise_addr = "::1";
  CHECK(Has(EtcdArgs(o), "--advertise-client-urls", "http://[::1]:3379"));
}

TEST_CASE("etcd log lines: level mapped, msg then fields, plain lines as warn") {
  EtcdLogLine l = ParseEtcdLogLine(
      R"({"level":"warn","ts":"2026-12-02T18:21:08.156Z","caller":"auth/store.go:1366",)"
      R"("msg":"lost TCP streaming connection","peer-id":"e49","n":3,"urls":["http://a:1"]})");
  CHECK(l.level == LogLevel::kWarn);
  CHECK(l.text == R"(lost TCP streaming connection peer-id=e49 n=3 urls=["http://a:1"])");
  CHECK(ParseEtcdLogLine(R"({"level":"info","msg":"ready"})").level == LogLevel::kInfo);
  CHECK(ParseEtcdLogLine(R"({"level":"debug","msg":"x"})").level == LogLevel::kDebug);
  CHECK(ParseEtcdLogLine(R"({"level":"fatal","msg":"x"})").level == LogLevel::kError);
  CHECK(ParseEtcdLogLine(R"({"level":"panic","msg":"x"})").level == LogLevel::kError);
  l = ParseEtcdLogLine("exec of etcd failed\r");
  CHECK(l.level == LogLevel::kWarn);
  CHECK(l.text == "exec of etcd failed");
}

TEST_CASE("etcd peers: alive servers with etcd tags, sorted by name; tags only when supervised") {
  config::AgentConfig cfg;
  cfg.advertise_addr = "10.0.0.2";
  std::map<std::string, std::string> tags;
  AddEtcdTags(cfg, &tags);
  CHECK(tags.empty());
  cfg.etcd.supervise = true;
  cfg.etcd.peer_port = 3380;
  AddEtcdTags(cfg, &tags);
  CHECK(tags["etcd_peer"] == "http://10.0.0.2:3380");
  CHECK(tags["etcd_client"] == "http://10.0.0.2:2379");

  auto member = [](std::string name, std::string role, int status, bool etcd) {
    http::ClusterMember m;
    m.name = std::move(name);
    m.status = status;
    m.tags["role"] = std::move(role);
    if (etcd) {
      m.tags["etcd_peer"] = "http://" + m.name + ":2380";
      m.tags["etcd_client"] = "http://" + m.name + ":2379";
    }
    return m;
  };
  std::vector<EtcdPeer> peers =
      EtcdPeersOf({member("s3", "consul", 1, true), member("c1", "node", 1, true),
                   member("s1", "consul", 1, true), member("s0", "consul", 1, false),
                   member("s4", "consul", 4, true), member("s2", "consul", 1, true)});
  REQUIRE(peers.size() == 3);
  CHECK(peers[0].name == "s1");
  CHECK(peers[1].name == "s2");
  CHECK(peers[2].name == "s3");
  CHECK(peers[0].peer_url == "http://s1:2380");
  CHECK(peers[2].client_url == "http://s3:2379");
}

Result<config::AgentConfig> LoadArgs(const std::vector<std::string>& args) {
  Result<config::CommandLine> cl = config::ParseAgentFlags(args);
  if (!cl.ok()) return cl.status();
  return config::Load(cl.value());
}

TEST_CASE("etcd supervise config: flags, keys, defaults and errors") {
  char tmpl[] = "/tmp/beacon-etcdsup-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  Result<config::AgentConfig> r =
      LoadArgs({"-data-dir", dir, "-server", "-kv-backend", "etcd", "-etcd-supervise",
                "-etcd-client-port", "3379", "-etcd-peer-port", "3380"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  CHECK(r.value().etcd.supervise);
  CHECK(r.value().etcd.client_port == 3379);
  CHECK(r.value().etcd.peer_port == 3380);
  CHECK(r.value().etcd.endpoints.empty());  // the supervised members' client URLs, later
  CHECK(r.value().etcd.binary == "/usr/bin/etcd");

  const std::string file = dir + "/e.json";
  std::ofstream(file) << R"({"server": true, "kv_backend": "etcd", "etcd": {"supervise": true,
      "client_port": 4379, "peer_port": 4380, "binary": "/opt/etcd/etcd"}})";
  r = LoadArgs({"-data-dir", dir, "-config-file", file});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  CHECK(r.value().etcd.supervise);
  CHECK(r.value().etcd.client_port == 4379);
  CHECK(r.value().etcd.peer_port == 4380);
  CHECK(r.value().etcd.binary == "/opt/etcd/etcd");

  r = LoadArgs({"-data-dir", dir, "-kv-backend", "etcd", "-etcd-supervise"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "etcd.supervise (-etcd-supervise) needs -server");
  r = LoadArgs({"-data-dir", dir, "-server", "-etcd-supervise"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "etcd.supervise (-etcd-supervise) needs kv_backend \"etcd\"");
  r = LoadArgs({"-dev", "-server", "-kv-backend", "etcd", "-etcd-supervise"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "etcd.supervise (-etcd-supervise) needs -data-dir (not -dev)");
  r = LoadArgs({"-data-dir", dir, "-etcd-peer-port", "0"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "invalid value \"0\" for flag -etcd-peer-port: expected a port 1..65535");
  std::ofstream(file) << R"({"etcd": {"client_port": 70000}})";
  r = LoadArgs({"-data-dir", dir, "-config-file", file});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("etcd.client_port") != std::string::npos);
  unlink(file.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace beacon::agent

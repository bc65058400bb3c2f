// -etcd-supervise (issue 10): the etcd command line, how etcd's JSON log lines are logged, which
// gossip members make the initial cluster, and the config keys, flags and their errors.
#include "beacon/agent/etcd_supervisor.h"

#include <doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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
  CHECK(Has(a, "--max-txn-ops", "4096"));  // delete-trees and session invalidations of many keys
  o.join_existing = true;                  // added to a running cluster (MemberAdd)
  CHECK(Has(EtcdArgs(o), "--initial-cluster-state", "existing"));
  o.join_existing = false;
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

// A stand-in for etcd (a shell script) under the real supervisor: what the log says and what
// happens to the child.
struct FakeEtcd {
  std::string dir;
  std::string log_path;
  int log_fd = -1;
  Logger log;
  explicit FakeEtcd(const std::string& script)
      : dir(MakeDir()),
        log_path(dir + "/agent.log"),
        log_fd(OpenLog(log_path)),
        log(LogLevel::kDebug, log_fd) {
    std::ofstream(dir + "/etcd") << "#!/bin/sh\n" << script;
    chmod((dir + "/etcd").c_str(), 0755);
  }
  ~FakeEtcd() {
    close(log_fd);
    (void)!system(("rm -rf " + dir).c_str());
  }
  EtcdSupervisorOptions Options() const {
    EtcdSupervisorOptions o;
    o.binary = dir + "/etcd";
    o.name = "s1";
    o.data_dir = dir + "/data";
    o.listen_addr = o.advertise_addr = "127.0.0.1";
    o.stop_timeout_ms = 300;
    o.backoff_min_ms = 50;
    o.backoff_max_ms = 100;
    return o;
  }
  std::string Text() const {
    std::ifstream in(log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool WaitFor(const std::string& needle, int count = 1) const {
    for (int i = 0; i < 300; ++i) {  // up to 30 s
      const std::string t = Text();
      int n = 0;
      for (size_t p = t.find(needle); p != std::string::npos; p = t.find(needle, p + 1)) ++n;
      if (n >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  static std::string MakeDir() {
    char tmpl[] = "/tmp/beacon-fake-etcd-XXXXXX";
    return mkdtemp(tmpl);
  }
  static int OpenLog(const std::string& path) {
    return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
};

bool Alive(pid_t pid) {
  return kill(pid, 0) == 0;
}

TEST_CASE("supervisor: stderr logged at its level; SIGTERM ignored -> SIGKILL; child reaped") {
  FakeEtcd f(
      "trap '' TERM\n"
      "echo '{\"level\":\"warn\",\"ts\":1,\"msg\":\"hello from etcd\",\"n\":1}' >&2\n"
      "exec sleep 60\n");
  EtcdSupervisor sup(f.Options(), f.log);
  REQUIRE(sup.Start().ok());
  REQUIRE(f.WaitFor("[WARN] etcd: hello from etcd n=1"));
  const pid_t pid = sup.pid();
  REQUIRE(pid > 0);
  CHECK(Alive(pid));
  sup.Stop();
  CHECK_FALSE(Alive(pid));  // killed and reaped (a zombie would still answer kill 0)
  CHECK(sup.pid() == 0);
  const std::string t = f.Text();
  CHECK(t.find("still running 300 ms after SIGTERM, sending SIGKILL") != std::string::npos);
  CHECK(t.find("stopped: killed by signal 9") != std::string::npos);
}

TEST_CASE("supervisor: a crashing child is restarted with a growing backoff, one line each") {
  FakeEtcd f("echo 'boom' >&2\nexit 3\n");
  EtcdSupervisor sup(f.Options(), f.log);
  REQUIRE(sup.Start().ok());
  REQUIRE(f.WaitFor("exited with status 3; restarting in 100 ms", 2));
  sup.Stop();
  const std::string t = f.Text();
  CHECK(t.find("exited with status 3; restarting in 50 ms") != std::string::npos);
  CHECK(t.find("[WARN] etcd: boom") != std::string::npos);
}

TEST_CASE("supervisor: a missing binary is a clear error") {
  EtcdSupervisorOptions o;
  o.binary = "/nonexistent/etcd";
  Logger log;
  EtcdSupervisor sup(o, log);
  Status st = sup.Start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("/nonexistent/etcd is not executable") != std::string::npos);
}

}  // namespace
}  // namespace beacon::agent

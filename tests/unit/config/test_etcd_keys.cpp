// kv_backend and etcd { ... } (issue 10): JSON and YAML keys, -kv-backend / -etcd-endpoints, and
// the errors a user sees for a bad backend, a bad endpoint or etcd without endpoints.
#include <doctest.h>

#include <string>

#include "beacon/config/config.h"
#include "test_util.h"

namespace beacon::config {
namespace {

using testing::TempDir;

Result<AgentConfig> LoadArgs(const std::vector<std::string>& args) {
  Result<CommandLine> cl = ParseAgentFlags(args);
  if (!cl.ok()) return cl.status();
  return Load(cl.value());
}

TEST_CASE("etcd config: defaults, JSON block, YAML block, flags override files") {
  TempDir t;
  Result<AgentConfig> r = LoadArgs({"-data-dir", t.path()});
  REQUIRE(r.ok());
  CHECK(r.value().kv_backend == "embedded");
  CHECK(r.value().etcd.endpoints.empty());
  CHECK(r.value().etcd.dial_timeout_ms == 5000);
  CHECK(r.value().etcd.transport == "grpc");
  CHECK(r.value().etcd.compaction_interval_ms == 300000);

  std::string json = t.Write("e.json", R"({"kv_backend": "etcd", "etcd": {
      "endpoints": ["http://10.0.0.1:2379", "https://10.0.0.2:2379"],
      "dial_timeout": "2s", "request_timeout": "15s", "prefix": "/dc1/",
      "tls": {"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"},
      "transport": "gateway", "compaction_interval": "10m"}})");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", json});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  const EtcdConfig& e = r.value().etcd;
  CHECK(r.value().kv_backend == "etcd");
  CHECK(e.endpoints == std::vector<std::string>{"http://10.0.0.1:2379", "https://10.0.0.2:2379"});
  CHECK(e.dial_timeout_ms == 2000);
  CHECK(e.request_timeout_ms == 15000);
  CHECK(e.prefix == "/dc1/");
  CHECK(e.ca_file == "/ca.pem");
  CHECK(e.cert_file == "/c.pem");
  CHECK(e.key_file == "/k.pem");
  CHECK(e.transport == "gateway");
  CHECK(e.compaction_interval_ms == 600000);

  std::string yaml = t.Write("e.yaml", "kv_backend: etcd\netcd:\n  endpoints: [http://a:2379]\n");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", yaml, "-etcd-endpoints",
                "http://127.0.0.2:2379, http://127.0.0.3:2379"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  CHECK(r.value().etcd.endpoints ==
        std::vector<std::string>{"http://127.0.0.2:2379", "http://127.0.0.3:2379"});

  r = LoadArgs({"-data-dir", t.path(), "-config-file", yaml, "-kv-backend", "embedded"});
  REQUIRE(r.ok());
  CHECK(r.value().kv_backend == "embedded");
}

TEST_CASE("etcd config: errors name the key or flag and what was expected") {
  TempDir t;
  Result<AgentConfig> r = LoadArgs({"-data-dir", t.path(), "-kv-backend", "zookeeper"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expected embedded or etcd") != std::string::npos);

  r = LoadArgs({"-data-dir", t.path(), "-kv-backend", "etcd"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "kv_backend \"etcd\" needs etcd.endpoints (or -etcd-endpoints)");

  r = LoadArgs({"-data-dir", t.path(), "-etcd-endpoints", "127.0.0.1:2379"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expected an endpoint URL such as http://127.0.0.1:2379") !=
        std::string::npos);

  std::string bad =
      t.Write("b.json", R"({"etcd": {"endpoints": ["http://a:1"], "tls": {"ca": 1}}})");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", bad});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("etcd.tls.ca: unknown key") != std::string::npos);

  bad = t.Write("d.json", R"({"etcd": {"endpoints": ["http://a:1"], "transport": "h3"}})");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", bad});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("etcd.transport: expected \"grpc\" or \"gateway\", got \"h3\"") !=
        std::string::npos);

  bad = t.Write("i.json",
                R"({"etcd": {"endpoints": ["http://a:1"], "compaction_interval": "often"}})");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", bad});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("etcd.compaction_interval") != std::string::npos);

  bad = t.Write("c.json", R"({"kv_backend": "raft"})");
  r = LoadArgs({"-data-dir", t.path(), "-config-file", bad});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("kv_backend: expected \"embedded\" or \"etcd\", got \"raft\"") !=
        std::string::npos);
}

}  // namespace
}  // namespace beacon::config

// /v1/status/* and /v1/operator/raft/* over the embedded backend's cluster view (one server,
// itself the leader): Consul's JSON, DELETE's 400s and 500s with Consul's texts.
#include <doctest.h>

#include "beacon/api/raft_api.h"

namespace beacon::http {
namespace {

Response Send(Router& router, const std::string& method, const std::string& path,
              std::vector<std::pair<std::string, std::string>> query = {}) {
  Request req;
  req.method = method;
  req.path = path;
  req.query = std::move(query);
  Response resp;
  router.Dispatch(req, resp);
  return resp;
}

std::unique_ptr<kv::ClusterView> Local() {
  kv::LocalClusterOptions o;
  o.node_name = "s1";
  o.node_id = "0b5c5a3e-0000-4000-8000-000000000001";
  o.address = "10.0.0.1:8300";
  o.storage = "lmdb";
  o.index = [] { return uint64_t{42}; };
  return kv::NewLocalCluster(std::move(o));
}

}  // namespace

TEST_CASE("raft api, embedded backend: this server alone, the leader") {
  auto cluster = Local();
  Router router;
  AddRaftRoutes(router, *cluster, false);
  CHECK(Send(router, "GET", "/v1/status/leader").body == R"("10.0.0.1:8300")");
  CHECK(Send(router, "GET", "/v1/status/peers").body == R"(["10.0.0.1:8300"])");
  Response c = Send(router, "GET", "/v1/operator/raft/configuration");
  CHECK(c.status == 200);
  CHECK(c.body == R"({"Servers":[{"ID":"0b5c5a3e-0000-4000-8000-000000000001","Node":"s1",)"
                  R"("Address":"10.0.0.1:8300","Leader":true,"ProtocolVersion":"3","Voter":true}],)"
                  R"("Index":42})");
  auto info = cluster->Info();
  CHECK(info["backend"] == "embedded");
  CHECK(info["storage"] == "lmdb");
  CHECK(info["revision"] == "42");
  CHECK(cluster->KnownLeader());
}

TEST_CASE("raft api: DELETE /v1/operator/raft/peer errors") {
  auto cluster = Local();
  Router router;
  AddRaftRoutes(router, *cluster, false);
  Response none = Send(router, "DELETE", "/v1/operator/raft/peer");
  CHECK(none.status == 400);
  CHECK(none.body.rfind("Must specify either ?id with the server's ID or ?address", 0) == 0);
  Response both =
      Send(router, "DELETE", "/v1/operator/raft/peer", {{"id", "x"}, {"address", "a:1"}});
  CHECK(both.status == 400);
  CHECK(both.body == "Must specify only one of ?id or ?address\n");
  Response unknown =
      Send(router, "DELETE", "/v1/operator/raft/peer", {{"address", "10.0.0.9:8300"}});
  CHECK(unknown.status == 500);
  CHECK(unknown.body == "address \"10.0.0.9:8300\" was not found in the Raft configuration\n");
  Response self = Send(router, "DELETE", "/v1/operator/raft/peer", {{"address", "10.0.0.1:8300"}});
  CHECK(self.status == 500);
  CHECK(self.body.find("only server") != std::string::npos);
}

}  // namespace beacon::http

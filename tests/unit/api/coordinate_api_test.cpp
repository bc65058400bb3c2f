// /v1/coordinate/* over a CoordinateStore, and ?near sorting (SortNear): the index moves only
// when a coordinate changes, written coordinates give way to newer gossip, bad ones are refused.
#include <doctest.h>

#include "beacon/api/coordinate_api.h"

namespace beacon::http {
namespace {

gossip::Coordinate At(double x) {
  gossip::Coordinate c = gossip::OriginCoordinate();
  c.vec[0] = x;
  return c;
}

Response Send(Router& router, const std::string& method, const std::string& path,
              const std::string& body = "") {
  Request req;
  req.method = method;
  req.path = path.substr(0, path.find('?'));
  if (const auto q = path.find('?'); q != std::string::npos) {  // one "k=v"
    const std::string kv = path.substr(q + 1);
    req.query.emplace_back(kv.substr(0, kv.find('=')), kv.substr(kv.find('=') + 1));
  }
  req.body = body;
  Response resp;
  router.Dispatch(req, resp);
  return resp;
}

TEST_CASE("coordinate store: the index moves only when a coordinate changes") {
  CoordinateStore store;
  int changes = 0;
  store.SetOnChange([&] { ++changes; });
  CHECK(store.Current()->nodes.empty());
  const uint64_t i0 = store.Current()->index;
  store.Publish({{"a", At(0)}, {"B", At(0.01)}}, {"a"});
  const uint64_t i1 = store.Current()->index;
  CHECK(i1 > i0);
  CHECK(changes == 1);
  store.Publish({{"a", At(0)}, {"B", At(0.01)}}, {"a"});
  CHECK(store.Current()->index == i1);
  CHECK(changes == 1);
  REQUIRE(store.Current()->Find("b") != nullptr);  // node names ignore case
  CHECK(store.Current()->Find("b")->node == "B");
  CHECK(store.Current()->Find("a")->server);
  CHECK(store.Current()->Find("zz") == nullptr);
}

TEST_CASE("coordinate store: a written coordinate holds until gossip brings a newer one") {
  CoordinateStore store;
  store.Publish({{"a", At(0)}}, {});
  REQUIRE(store.Update("a", At(0.5)).ok());
  REQUIRE(store.Update("ext", At(0.2)).ok());
  store.Publish({{"a", At(0)}}, {});  // the same gossip value: the written one stays
  CHECK(store.Current()->Find("a")->coord == At(0.5));
  store.Publish({{"a", At(0.001)}}, {});  // a newer gossip value wins
  CHECK(store.Current()->Find("a")->coord == At(0.001));
  CHECK(store.Current()->Find("ext")->coord == At(0.2));  // not a member: stays
  gossip::Coordinate bad = At(0);
  bad.vec.resize(3);
  CHECK(store.Update("x", bad).message() == "incompatible coordinate");
  bad = At(std::numeric_limits<double>::infinity());
  CHECK(store.Update("x", bad).message() == "invalid coordinate");
  CHECK(store.Update("", At(0)).message() == "Missing node");
}

TEST_CASE("SortNear: by estimated RTT from the near node, unknown nodes last, stable") {
  CoordinateStore store;
  store.Publish({{"n0", At(0)}, {"n1", At(0.03)}, {"n2", At(0.01)}, {"n3", At(0.02)}}, {});
  std::vector<std::string> v = {"u1", "n1", "n3", "u2", "n2", "n0"};
  SortNear(*store.Current(), "n0", v, [](const std::string& s) { return s; });
  CHECK(v == std::vector<std::string>{"n0", "n2", "n3", "n1", "u1", "u2"});
  std::vector<std::string> w = {"n1", "n0"};
  SortNear(*store.Current(), "ghost", w, [](const std::string& s) { return s; });
  CHECK(w == std::vector<std::string>{"n1", "n0"});  // no coordinate for near: unchanged
}

TEST_CASE("coordinate routes: nodes, node, datacenters, update") {
  CoordinateStore store;
  store.Publish({{"n0", At(0)}, {"srv", At(0.25)}}, {"srv"});
  Router router;
  AddCoordinateRoutes(router, store, {"dc1", false});
  Response r = Send(router, "GET", "/v1/coordinate/nodes");
  CHECK(r.status == 200);
  CHECK(r.body.find(R"({"Node":"n0","Segment":"","Coord":{"Adjustment":0,"Error":1.5,)") !=
        std::string::npos);
  CHECK(*r.Header("X-Consul-Index") == std::to_string(store.Current()->index));
  r = Send(router, "GET", "/v1/coordinate/node/SRV");
  CHECK(r.status == 200);
  CHECK(r.body.rfind(R"([{"Node":"srv",)", 0) == 0);
  CHECK(Send(router, "GET", "/v1/coordinate/node/ghost").status == 404);
  r = Send(router, "GET", "/v1/coordinate/datacenters");
  CHECK(r.body.rfind(R"([{"Datacenter":"dc1","AreaID":"wan","Coordinates":[{"Node":"srv.dc1",)",
                     0) == 0);
  r = Send(router, "PUT", "/v1/coordinate/update",
           R"({"Node":"ext","Coord":{"Adjustment":0,"Error":0.5,"Height":0.0001,)"
           R"("Vec":[0.1,0,0,0,0,0,0,0]}})");
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  REQUIRE(store.Current()->Find("ext") != nullptr);
  CHECK(store.Current()->Find("ext")->coord.vec[0] == 0.1);
  r = Send(router, "PUT", "/v1/coordinate/update", R"({"Node":"ext","Coord":{"Vec":[1]}})");
  CHECK(r.status == 400);
  CHECK(r.body == "incompatible coordinate\n");
  CHECK(Send(router, "PUT", "/v1/coordinate/update", "{").status == 400);
  CHECK(Send(router, "GET", "/v1/coordinate/nodes?dc=other").status == 500);
}

}  // namespace
}  // namespace beacon::http

// GET/PUT /v1/snapshot through the router over the in-memory store (replies are synchronous).
#include <doctest.h>

#include <future>

#include "beacon/api/snapshot_api.h"
#include "beacon/kv/snapshot.h"
#include "dispatch.h"

using namespace beacon;
using namespace beacon::http;

namespace {

void Put(kv::Store& s, std::string key, std::string value) {
  kv::Op op;
  op.key = std::move(key);
  op.value = std::move(value);
  std::promise<void> p;
  s.Apply({op}, [&p](kv::WriteResult r) {
    CHECK(r.ok);
    p.set_value();
  });
  p.get_future().get();
}

}  // namespace

TEST_CASE("snapshot api: GET carries KV and the agent's prepared queries; PUT restores both") {
  auto src = kv::NewMemStore();
  Put(*src, "a", "1");
  Put(*src, "b", "2");
  SnapshotApiOptions o;
  o.background = false;  // replies inline, so Dispatch returns with the answer
  o.prepared_queries = [] { return std::vector<std::string>{R"({"ID":"q1","Name":"web"})"}; };
  Router r;
  AddSnapshotRoutes(r, *src, o);
  Response got = testing::Dispatch(r, "GET", "/v1/snapshot");
  REQUIRE(got.status == 200);
  REQUIRE(got.Header("X-Consul-Index") != nullptr);
  CHECK(*got.Header("X-Consul-Index") == std::to_string(src->Index()));
  CHECK(*got.Header("Content-Type") == "application/octet-stream");
  auto parsed = kv::ParseSnapshot(got.body);
  REQUIRE(parsed.ok());
  CHECK(parsed->entries.size() == 2);
  REQUIRE(parsed->prepared_queries.size() == 1);

  auto dst = kv::NewMemStore();
  std::vector<std::string> restored;
  SnapshotApiOptions d;
  d.background = false;
  d.restore_prepared_queries = [&restored](std::vector<std::string> q,
                                           std::function<void(Status)> done) {
    restored = std::move(q);
    done(Status::Ok());
  };
  Router rd;
  AddSnapshotRoutes(rd, *dst, d);
  Response put = testing::Dispatch(rd, "PUT", "/v1/snapshot", got.body);
  CHECK(put.status == 200);
  CHECK(put.body.empty());
  REQUIRE(restored.size() == 1);
  CHECK(restored[0] == R"({"ID":"q1","Name":"web"})");
  kv::Entry e;
  REQUIRE(dst->Get("b", &e, nullptr));
  CHECK(e.value == "2");
  CHECK(dst->Index() > parsed->header.index);

  SUBCASE("a bad file is 400 with the reason and changes nothing") {
    const uint64_t before = dst->Index();
    std::string bad = got.body;
    bad.resize(bad.size() - 1);
    Response r400 = testing::Dispatch(rd, "PUT", "/v1/snapshot", bad);
    CHECK(r400.status == 400);
    CHECK(r400.body.find("invalid snapshot") != std::string::npos);
    CHECK(testing::Dispatch(rd, "PUT", "/v1/snapshot").status == 400);  // empty body
    CHECK(dst->Index() == before);
  }
  SUBCASE("another datacenter -> 500 No path to datacenter") {
    Response other = testing::Dispatch(r, "GET", "/v1/snapshot", {}, {{"dc", "dc9"}});
    CHECK(other.status == 500);
    CHECK(other.body.find("No path to datacenter") != std::string::npos);
  }
}

// Prepared queries in snapshots, on the query API's side: QueryRecords (what GET /v1/snapshot
// saves) and the replacer AddQueryRoutes returns (what PUT /v1/snapshot restores with).
#include <doctest.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include "beacon/api/query_api.h"
#include "beacon/config/query_body.h"
#include "beacon/core/file.h"
#include "catalog_test_env.h"

using namespace beacon;
using namespace beacon::http;
using catalog::PreparedQuery;

namespace {

PreparedQuery Def(std::string id, std::string name, std::string service, uint64_t create,
                  uint64_t modify) {
  PreparedQuery q;
  q.id = std::move(id);
  q.name = std::move(name);
  q.service = std::move(service);
  q.create_index = create;
  q.modify_index = modify;
  return q;
}

std::string Record(const PreparedQuery& q) {
  core::JsonWriter w;
  config::WritePreparedQuery(w, q);
  return w.Take();
}

Status Replace(const ReplaceQueriesFn& replace, std::vector<std::string> records) {
  std::promise<Status> p;
  replace(std::move(records), [&p](Status st) { p.set_value(st); });
  return p.get_future().get();
}

// GET /v1/query: the definitions and X-Consul-Index.
std::pair<std::vector<PreparedQuery>, uint64_t> List(const Router& r) {
  Request req;
  req.method = "GET";
  req.path = "/v1/query";
  Response resp;
  r.Dispatch(req, resp);
  REQUIRE(resp.status == 200);
  auto defs = config::DecodePreparedQueryList(resp.body);
  REQUIRE(defs.ok());
  return {defs.value(), std::stoull(*resp.Header("X-Consul-Index"))};
}

}  // namespace

TEST_CASE("query api: a snapshot's records replace the whole set, persisted and published") {
  catalog::SnapshotHub hub;
  testing::WriterThread writer(hub);
  char dir[] = "/tmp/beacon-qsnap-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string file = std::string(dir) + "/prepared-queries.json";

  QueryApiOptions qo;
  qo.submit = writer.Submitter();
  qo.file = file;
  qo.persist = [](std::string path, std::string data, std::function<void(std::string)> done) {
    Status st = core::WriteFileDurable(path, data);
    done(st.ok() ? "" : st.message());
  };
  qo.initial = {Def("11111111-1111-1111-1111-111111111111", "old", "web", 2, 5)};
  qo.initial_index = 7;
  Router r;
  ReplaceQueriesFn replace = AddQueryRoutes(r, hub, qo);
  REQUIRE(replace);

  const std::vector<PreparedQuery> saved = {
      Def("22222222-2222-2222-2222-222222222222", "web", "web", 3, 9),
      Def("33333333-3333-3333-3333-333333333333", "db", "db", 4, 4)};
  REQUIRE(Replace(replace, {Record(saved[0]), Record(saved[1])}).ok());

  // GET /v1/query: exactly the records, and the index moved past both the old one and theirs.
  auto [listed, index] = List(r);
  CHECK(listed == saved);
  CHECK(index == 10);
  // Published before done: the catalog's set is the records (what the next save writes).
  std::vector<std::string> records = QueryRecords(*hub.Current());
  std::vector<std::string> want = {Record(saved[0]), Record(saved[1])};
  std::sort(records.begin(), records.end());
  std::sort(want.begin(), want.end());
  CHECK(records == want);
  // Persisted: a restart loads the same set at the same index.
  uint64_t file_index = 0;
  auto loaded = LoadQueryFile(file, &file_index);
  REQUIRE(loaded.ok());
  CHECK(loaded.value() == saved);
  CHECK(file_index == 10);

  SUBCASE("an older snapshot still moves the index forward") {
    REQUIRE(Replace(replace, {Record(Def("44444444-4444-4444-4444-444444444444", "a", "a", 1, 2))})
                .ok());
    auto [now, now_index] = List(r);
    CHECK(now.size() == 1);
    CHECK(now_index == 11);
  }
  SUBCASE("no records: the set becomes empty") {
    REQUIRE(Replace(replace, {}).ok());
    auto [now, now_index] = List(r);
    CHECK(now.empty());
    CHECK(now_index == 11);
    CHECK(QueryRecords(*hub.Current()).empty());
  }
  SUBCASE("bad records are refused with the reason and change nothing") {
    Status dup =
        Replace(replace, {Record(Def("55555555-5555-5555-5555-555555555555", "x", "x", 1, 1)),
                          Record(Def("66666666-6666-6666-6666-666666666666", "X", "y", 2, 2))});
    CHECK(dup.message() ==
          "invalid snapshot: prepared query: name 'X' aliases an existing query name");
    Status no_id = Replace(replace, {R"({"Name":"n","Service":{"Service":"s"}})"});
    CHECK(no_id.message() == "invalid snapshot: prepared query: missing ID");
    Status no_service = Replace(replace, {R"({"ID":"77777777-7777-7777-7777-777777777777"})"});
    CHECK(no_service.message().starts_with("invalid snapshot: prepared query: "));
    Status not_json = Replace(replace, {"{"});
    CHECK(not_json.message().starts_with("invalid snapshot: prepared query: "));
    auto [now, now_index] = List(r);
    CHECK(now == saved);
    CHECK(now_index == 10);
  }
  unlink(file.c_str());
  rmdir(dir);
}

// Prepared queries shared by servers on etcd, on the query API's side: writes go to the shared
// value with a compare on the revision the set came from; when another server wrote first, the
// write runs again on that server's set. The etcd value is faked in memory here (the real one:
// tests/integration/test_query_etcd.py).
#include <doctest.h>

#include "beacon/api/query_api.h"
#include "beacon/catalog/hub.h"
#include "beacon/config/query_body.h"
#include "beacon/core/json_writer.h"
#include "dispatch.h"

using namespace beacon;
using namespace beacon::http;
using catalog::PreparedQuery;

namespace {

// One etcd key: a value and its mod_revision, written only when the caller's revision matches.
struct FakeValue {
  std::string text;
  int64_t rev = 0;  // 0: absent
  int64_t next_rev = 1;
  int puts = 0, conflicts = 0;
  Status fail;  // answered instead when set

  void Put(std::string t, int64_t expected,
           const std::function<void(QueryApiOptions::SharedPut)>& done) {
    ++puts;
    QueryApiOptions::SharedPut r;
    if (!fail.ok()) {
      r.status = fail;
      return done(r);
    }
    if (expected != rev) {
      ++conflicts;
      r.conflict = true;
      r.exists = rev != 0;
      r.text = text;
      r.rev = rev;
      return done(r);
    }
    text = std::move(t);
    rev = next_rev++;
    r.exists = true;
    r.text = text;
    r.rev = rev;
    done(r);
  }
  // Another server's write, which this one has not heard of yet.
  void WriteBehind(const std::vector<PreparedQuery>& qs, uint64_t index) {
    text = QueryFileText(qs, index);
    rev = next_rev++;
  }
};

PreparedQuery Def(std::string id, std::string name) {
  PreparedQuery q;
  q.id = std::move(id);
  q.name = std::move(name);
  q.service = "web";
  q.create_index = q.modify_index = 3;
  return q;
}

std::vector<std::string> Names(const Router& r) {
  Response resp = testing::Dispatch(r, "GET", "/v1/query");
  REQUIRE(resp.status == 200);
  auto defs = config::DecodePreparedQueryList(resp.body);
  REQUIRE(defs.ok());
  std::vector<std::string> out;
  for (const PreparedQuery& q : defs.value()) out.push_back(q.name);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t Index(const Router& r) {
  return std::stoull(*testing::Dispatch(r, "GET", "/v1/query").Header("X-Consul-Index"));
}

std::vector<std::string> NamesIn(const std::string& text) {
  auto start = text.find("\"Queries\":");
  REQUIRE(start != std::string::npos);
  auto defs = config::DecodePreparedQueryList(text.substr(start + 10, text.size() - start - 11));
  REQUIRE(defs.ok());
  std::vector<std::string> out;
  for (const PreparedQuery& q : defs.value()) out.push_back(q.name);
  std::sort(out.begin(), out.end());
  return out;
}

const std::string kOtherId = "99999999-9999-9999-9999-999999999999";

}  // namespace

// A server on etcd with its own fake value; `before` sets etcd up before the watch's first
// report.
struct SharedServer {
  catalog::SnapshotHub hub;
  FakeValue v;
  Router r;
  QueryHooks hooks;
  int handed_over = 0;

  explicit SharedServer(std::vector<PreparedQuery> initial = {},
                        const std::function<void(FakeValue&)>& before = nullptr) {
    QueryApiOptions qo;
    qo.shared_put = [this](std::string text, int64_t expected,
                           std::function<void(QueryApiOptions::SharedPut)> done) {
      v.Put(std::move(text), expected, done);
    };
    qo.handed_over = [this] { ++handed_over; };
    qo.initial = std::move(initial);
    qo.initial_index = 4;
    REQUIRE(AddQueryRoutes(r, hub, qo, &hooks));
    if (before) before(v);
    hooks.shared_changed(v.rev != 0, v.text, v.rev);  // the watch's first read
  }
};

TEST_CASE("query api on etcd: the queries a server kept in its own file are handed over") {
  const PreparedQuery kept = Def("11111111-1111-1111-1111-111111111111", "kept");
  SUBCASE("etcd holds no set yet: the file's set becomes it") {
    SharedServer srv({kept});
    CHECK(srv.v.puts == 1);
    CHECK(NamesIn(srv.v.text) == std::vector<std::string>{"kept"});
    CHECK(srv.handed_over == 1);
    // A later "no value" (the key deleted by hand) writes nothing.
    srv.hooks.shared_changed(false, "", 0);
    CHECK(srv.v.puts == 1);
  }
  SUBCASE("etcd holds another server's set: the file's queries join it, a taken name does not") {
    const PreparedQuery clash = Def("22222222-2222-2222-2222-222222222222", "theirs");
    SharedServer srv({kept, clash}, [&](FakeValue& v) {
      v.WriteBehind({Def(kOtherId, "theirs"), Def("33333333-3333-3333-3333-333333333333", "more")},
                    40);
    });
    CHECK(srv.v.conflicts == 0);  // written on top of the value the watch reported
    CHECK(NamesIn(srv.v.text) == std::vector<std::string>{"kept", "more", "theirs"});
    CHECK(Names(srv.r) == std::vector<std::string>{"kept", "more", "theirs"});
    CHECK(Index(srv.r) == 41);
    CHECK(srv.handed_over == 1);
  }
  SUBCASE("every query of the file is in etcd already: nothing written, the file retired") {
    SharedServer srv({kept}, [&](FakeValue& v) { v.WriteBehind({kept}, 9); });
    CHECK(srv.v.puts == 0);
    CHECK(srv.handed_over == 1);
  }
  SUBCASE("etcd unreachable: the file stays for the next start") {
    SharedServer srv({kept}, [&](FakeValue& v) {
      v.fail = Status::Error("etcd txn on /beacon/~q/queries: no member answered");
    });
    CHECK(srv.handed_over == 0);
  }
  SUBCASE("no file: nothing to hand over") {
    SharedServer srv;
    CHECK(srv.v.puts == 0);
    CHECK(srv.handed_over == 0);
  }
}

TEST_CASE("query api on etcd: writes go to the shared value and lose races cleanly") {
  SharedServer srv;
  FakeValue& v = srv.v;
  Router& r = srv.r;
  QueryHooks& hooks = srv.hooks;

  SUBCASE("a create is written with the revision the set came from") {
    const int before = v.puts;
    Response resp =
        testing::Dispatch(r, "POST", "/v1/query", R"({"Name":"mine","Service":{"Service":"web"}})");
    CHECK(resp.status == 200);
    CHECK(v.puts == before + 1);
    CHECK(v.conflicts == 0);
    CHECK(NamesIn(v.text) == Names(r));
  }
  SUBCASE("another server took the name first: 400 with Consul's text, its set adopted") {
    v.WriteBehind({Def(kOtherId, "taken")}, 40);
    Response resp = testing::Dispatch(r, "POST", "/v1/query",
                                      R"({"Name":"taken","Service":{"Service":"web"}})");
    CHECK(resp.status == 400);
    CHECK(resp.body == "name 'taken' aliases an existing query name\n");
    CHECK(v.conflicts == 1);
    CHECK(Names(r) == std::vector<std::string>{"taken"});
    CHECK(Index(r) == 40);
  }
  SUBCASE("another server wrote another query first: both kept, the index moves past its") {
    v.WriteBehind({Def(kOtherId, "theirs")}, 40);
    Response resp =
        testing::Dispatch(r, "POST", "/v1/query", R"({"Name":"mine","Service":{"Service":"web"}})");
    CHECK(resp.status == 200);
    CHECK(v.conflicts == 1);
    CHECK(Names(r) == std::vector<std::string>{"mine", "theirs"});
    CHECK(NamesIn(v.text) == std::vector<std::string>{"mine", "theirs"});
    CHECK(Index(r) == 41);
  }
  SUBCASE("a delete of a query another server already deleted: 400, nothing written") {
    v.WriteBehind({Def(kOtherId, "gone-soon")}, 40);
    hooks.shared_changed(true, v.text, v.rev);  // the watch brings it
    CHECK(Names(r) == std::vector<std::string>{"gone-soon"});
    v.WriteBehind({}, 41);  // deleted elsewhere; our watch has not said so yet
    const int puts = v.puts;
    Response resp = testing::Dispatch(r, "DELETE", "/v1/query/" + kOtherId);
    CHECK(resp.status == 400);
    CHECK(resp.body == "Cannot modify non-existent prepared query: '" + kOtherId + "'\n");
    CHECK(v.puts == puts + 1);  // the one attempt that lost; the re-run found nothing to do
    CHECK(Names(r).empty());
  }
  SUBCASE("the watch replaces the set; an older revision changes nothing") {
    v.WriteBehind({Def(kOtherId, "watched")}, 50);
    hooks.shared_changed(true, v.text, v.rev);
    CHECK(Names(r) == std::vector<std::string>{"watched"});
    CHECK(Index(r) == 50);
    hooks.shared_changed(true, QueryFileText({Def(kOtherId, "stale")}, 60), v.rev - 1);
    CHECK(Names(r) == std::vector<std::string>{"watched"});
  }
  SUBCASE("a set with a lower index than this server's still moves the index forward") {
    hooks.shared_changed(true, QueryFileText({Def(kOtherId, "low")}, 2), v.rev + 5);
    const uint64_t first = Index(r);
    CHECK(first > 4);  // past the index this server started at
    hooks.shared_changed(true, QueryFileText({Def(kOtherId, "lower")}, 3), v.rev + 6);
    CHECK(Index(r) == first + 1);
    CHECK(Names(r) == std::vector<std::string>{"lower"});
  }
  SUBCASE("etcd unreachable: 500 with the reason, the set unchanged") {
    const std::vector<std::string> before = Names(r);
    v.fail = Status::Error("etcd txn on /beacon/~q/queries: no member answered");
    Response resp =
        testing::Dispatch(r, "POST", "/v1/query", R"({"Name":"lost","Service":{"Service":"web"}})");
    CHECK(resp.status == 500);
    CHECK(resp.body ==
          "failed to persist prepared queries: etcd txn on /beacon/~q/queries: no member "
          "answered\n");
    CHECK(Names(r) == before);
  }
}

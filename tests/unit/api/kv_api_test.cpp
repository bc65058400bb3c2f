// /v1/kv, /v1/session and /v1/txn through a real HttpServer over an in-memory kv::Store.
#include <doctest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../http/test_client.h"
#include "beacon/api/json_in.h"
#include "beacon/api/kv_api.h"
#include "beacon/core/base64.h"
#include "beacon/http/server.h"
#include "beacon/kv/store.h"

using namespace beacon;
using namespace beacon::http;
using beacon::http::testing::Exchange;

namespace {

namespace dom = simdjson::dom;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  const std::string& H(const std::string& name) const {
    static const std::string kNone = "<none>";
    auto it = headers.find(name);
    return it == headers.end() ? kNone : it->second;
  }
  uint64_t Index() const {
    return headers.count("x-consul-index") ? std::stoull(H("x-consul-index")) : 0;
  }
};

Reply ParseReply(const std::string& raw) {
  Reply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  size_t at = raw.find("\r\n") + 2;
  while (at < end) {
    const size_t eol = raw.find("\r\n", at);
    const std::string line = raw.substr(at, eol - at);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(colon + 2);
    at = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

struct KvFixture {
  Logger log{LogLevel::kError};
  std::unique_ptr<kv::Store> store = kv::NewMemStore();
  std::unique_ptr<HttpServer> server;

  static KvApiOptions Options() {
    KvApiOptions o;
    o.node_name = "node1";
    return o;
  }
  explicit KvFixture(const KvApiOptions& opts = Options()) {
    Router r;
    AddKvRoutes(r, *store, opts);
    HttpServerOptions so;
    so.port = 0;
    server = std::make_unique<HttpServer>(log, std::move(r), so);
    HttpServer* srv = server.get();
    store->SetOnCommit([srv](bool kv, bool sessions) {
      if (kv) srv->Notify(Topic::kKv);
      if (sessions) srv->Notify(Topic::kSession);
    });
    REQUIRE(server->Start().ok());
  }
  ~KvFixture() { server->Stop(); }

  Reply Do(const std::string& method, const std::string& target, const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!body.empty() || method == "PUT")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return ParseReply(Exchange(server->port(), req));
  }
  std::string NewSession(const std::string& body = "") {
    Reply r = Do("PUT", "/v1/session/create", body);
    REQUIRE(r.status == 200);
    dom::parser p;
    dom::element doc = p.parse(r.body);
    return std::string(std::string_view(doc["ID"]));
  }
};

// Parses a reply body as JSON (the parser keeps the document).
dom::element Json(dom::parser& p, const Reply& r) {
  dom::element e;
  REQUIRE_MESSAGE(p.parse(r.body).get(e) == simdjson::SUCCESS, r.body);
  return e;
}

std::string Str(dom::element e) {
  return std::string(std::string_view(e));
}

void CheckIndexHeaders(const Reply& r) {
  CHECK(r.Index() >= 1);
  CHECK(r.H("x-consul-knownleader") == "true");
  CHECK(r.H("x-consul-lastcontact") == "0");
}

}  // namespace

TEST_CASE("kv: PUT then GET returns Consul's DirEntry with index headers") {
  KvFixture f;
  Reply put = f.Do("PUT", "/v1/kv/host/test", "test_data");
  CHECK(put.status == 200);
  CHECK(put.body == "true");
  CHECK(put.H("content-type") == "application/json");

  Reply get = f.Do("GET", "/v1/kv/host/test");
  REQUIRE(get.status == 200);
  CHECK(get.H("content-type") == "application/json");
  CheckIndexHeaders(get);
  dom::parser p;
  dom::array arr = Json(p, get);
  REQUIRE(arr.size() == 1);
  dom::element e = arr.at(0);
  CHECK(Str(e["Key"]) == "host/test");
  CHECK(Str(e["Value"]) == core::Base64Encode("test_data"));
  CHECK(uint64_t(e["Flags"]) == 0);
  CHECK(uint64_t(e["LockIndex"]) == 0);
  CHECK(e["Session"].error() == simdjson::NO_SUCH_FIELD);
  const uint64_t created = e["CreateIndex"];
  CHECK(uint64_t(e["ModifyIndex"]) == created);
  CHECK(get.Index() == created);
  CHECK(get.body.rfind("[{\"LockIndex\":0,\"Key\":\"host/test\",\"Flags\":0,\"Value\":", 0) == 0);

  // An update keeps CreateIndex, moves ModifyIndex; flags are set, then reset by a plain PUT.
  CHECK(f.Do("PUT", "/v1/kv/host/test?flags=42", "v2").body == "true");
  dom::parser p2;
  dom::element e2 = Json(p2, f.Do("GET", "/v1/kv/host/test")).at(0);
  CHECK(uint64_t(e2["CreateIndex"]) == created);
  CHECK(uint64_t(e2["ModifyIndex"]) > created);
  CHECK(uint64_t(e2["Flags"]) == 42);
  f.Do("PUT", "/v1/kv/host/test", "v3");
  dom::parser p3;
  CHECK(uint64_t(Json(p3, f.Do("GET", "/v1/kv/host/test")).at(0)["Flags"]) == 0);
}

TEST_CASE("kv: empty value is null, ?raw gives the bytes, ?pretty indents") {
  KvFixture f;
  CHECK(f.Do("PUT", "/v1/kv/empty").body == "true");
  Reply get = f.Do("GET", "/v1/kv/empty");
  CHECK(get.body.find("\"Value\":null") != std::string::npos);

  const std::string bin("a\0b\xff\n", 5);
  f.Do("PUT", "/v1/kv/bin", bin);
  Reply raw = f.Do("GET", "/v1/kv/bin?raw");
  CHECK(raw.status == 200);
  CHECK(raw.body == bin);
  CHECK(raw.H("content-type") == "text/plain");
  CHECK(raw.H("x-content-type-options") == "nosniff");
  CheckIndexHeaders(raw);
  CHECK(f.Do("GET", "/v1/kv/missing?raw").status == 404);

  Reply pretty = f.Do("GET", "/v1/kv/bin?pretty");
  CHECK(pretty.body.rfind("[\n    {\n        \"LockIndex\": 0,", 0) == 0);
  CHECK(pretty.body.back() == '\n');
}

TEST_CASE("kv: missing key is a 404 with index headers; bad keys are 400") {
  KvFixture f;
  Reply miss = f.Do("GET", "/v1/kv/nope");
  CHECK(miss.status == 404);
  CHECK(miss.body.empty());
  CheckIndexHeaders(miss);

  Reply nokey = f.Do("GET", "/v1/kv/");
  CHECK(nokey.status == 400);
  CHECK(nokey.body == "Missing key name\n");
  CheckIndexHeaders(nokey);
  CHECK(f.Do("PUT", "/v1/kv/", "x").body == "Missing key name\n");
  CHECK(f.Do("DELETE", "/v1/kv/").status == 400);

  Reply dots = f.Do("PUT", "/v1/kv/a/../b", "x");
  CHECK(dots.status == 400);
  CHECK(dots.body.find("..") != std::string::npos);
  CHECK(f.Do("PUT", "/v1/kv/..", "x").status == 400);
  CHECK(f.Do("GET", "/v1/kv/a/..").status == 400);
  CHECK(f.Do("PUT", "/v1/kv/a..b/.c", "x").status == 200);  // only a whole ".." segment

  const std::string k512(512, 'k');
  CHECK(f.Do("PUT", "/v1/kv/" + k512, "x").body == "true");
  CHECK(f.Do("GET", "/v1/kv/" + k512).status == 200);
  Reply longk = f.Do("PUT", "/v1/kv/" + k512 + "k", "x");
  CHECK(longk.status == 400);
  CHECK(longk.body == "Key too long (513 > 512 bytes)\n");
  CHECK(f.Do("GET", "/v1/kv/" + k512 + "k").status == 400);

  Reply method = f.Do("POST", "/v1/kv/x", "y");
  CHECK(method.status == 405);
  CHECK(method.H("allow") == "OPTIONS,GET,PUT,DELETE");
}

TEST_CASE("kv: values up to 512 KiB; larger is 413 and not stored") {
  KvFixture f;
  const std::string big(512 * 1024, 'v');
  CHECK(f.Do("PUT", "/v1/kv/big", big).body == "true");
  CHECK(f.Do("GET", "/v1/kv/big?raw").body == big);
  Reply too = f.Do("PUT", "/v1/kv/big2", big + "v");
  CHECK(too.status == 413);
  CHECK(f.Do("GET", "/v1/kv/big2").status == 404);
}

TEST_CASE("kv: ?recurse and ?keys with ?separator") {
  KvFixture f;
  for (const char* k : {"a/c/e", "a/b", "a/c/d", "b", "ab"})
    f.Do("PUT", std::string("/v1/kv/") + k, k);

  Reply rec = f.Do("GET", "/v1/kv/a/?recurse");
  REQUIRE(rec.status == 200);
  CheckIndexHeaders(rec);
  dom::parser p;
  dom::array arr = Json(p, rec);
  std::vector<std::string> keys;
  uint64_t max_modify = 0;
  for (dom::element e : arr) {
    keys.push_back(Str(e["Key"]));
    max_modify = std::max(max_modify, uint64_t(e["ModifyIndex"]));
  }
  CHECK(keys == std::vector<std::string>{"a/b", "a/c/d", "a/c/e"});
  CHECK(rec.Index() == max_modify);

  dom::parser p2;
  CHECK(Json(p2, f.Do("GET", "/v1/kv/?recurse=true")).get_array().size() == 5);

  Reply sep = f.Do("GET", "/v1/kv/a/?keys&separator=/");
  CHECK(sep.body == "[\"a/b\",\"a/c/\"]");
  CheckIndexHeaders(sep);
  CHECK(f.Do("GET", "/v1/kv/a?keys=True&seperator=/").body == "[\"a/\",\"ab\"]");
  CHECK(f.Do("GET", "/v1/kv/?keys").body == "[\"a/b\",\"a/c/d\",\"a/c/e\",\"ab\",\"b\"]");

  Reply none = f.Do("GET", "/v1/kv/zzz?keys");
  CHECK(none.status == 404);
  CheckIndexHeaders(none);
  Reply rnone = f.Do("GET", "/v1/kv/zzz/?recurse");
  CHECK(rnone.status == 404);
  CheckIndexHeaders(rnone);

  f.Do("DELETE", "/v1/kv/?recurse");
  CHECK(f.Do("GET", "/v1/kv/?keys").body == "[]");
  CHECK(f.Do("GET", "/v1/kv/?recurse").status == 404);
}

TEST_CASE("kv: check-and-set on PUT and DELETE") {
  KvFixture f;
  CHECK(f.Do("PUT", "/v1/kv/c?cas=0", "first").body == "true");
  CHECK(f.Do("PUT", "/v1/kv/c?cas=0", "second").body == "false");
  CHECK(f.Do("GET", "/v1/kv/c?raw").body == "first");
  const uint64_t idx = f.Do("GET", "/v1/kv/c").Index();
  CHECK(f.Do("PUT", "/v1/kv/c?cas=" + std::to_string(idx + 100), "x").body == "false");
  CHECK(f.Do("PUT", "/v1/kv/c?cas=" + std::to_string(idx), "third").body == "true");
  CHECK(f.Do("PUT", "/v1/kv/c?cas=" + std::to_string(idx), "fourth").body == "false");
  CHECK(f.Do("GET", "/v1/kv/c?raw").body == "third");

  const uint64_t idx2 = f.Do("GET", "/v1/kv/c").Index();
  CHECK(f.Do("DELETE", "/v1/kv/c?cas=" + std::to_string(idx2 + 1)).body == "false");
  CHECK(f.Do("GET", "/v1/kv/c").status == 200);
  CHECK(f.Do("DELETE", "/v1/kv/c?cas=" + std::to_string(idx2)).body == "true");
  CHECK(f.Do("GET", "/v1/kv/c").status == 404);

  Reply conflict = f.Do("PUT", "/v1/kv/c?cas=0&release=abc", "x");
  CHECK(conflict.status == 400);
  CHECK(conflict.body == "Conflicting flags: cas=0&release=abc\n");
  CHECK(f.Do("DELETE", "/v1/kv/c?recurse&cas=1").status == 400);
  CHECK(f.Do("PUT", "/v1/kv/c?flags=x", "x").status == 400);
  CHECK(f.Do("PUT", "/v1/kv/c?cas=-1", "x").status == 400);
  CHECK(f.Do("GET", "/v1/kv/c").status == 404);  // nothing stored by any of them
}

TEST_CASE("kv: DELETE plain, missing and recursive") {
  KvFixture f;
  for (const char* k : {"t/1", "t/2", "t/x/3", "u"}) f.Do("PUT", std::string("/v1/kv/") + k, "v");
  CHECK(f.Do("DELETE", "/v1/kv/t/1").body == "true");
  CHECK(f.Do("DELETE", "/v1/kv/t/1").body == "true");
  CHECK(f.Do("GET", "/v1/kv/t/1").status == 404);
  CHECK(f.Do("DELETE", "/v1/kv/t/?recurse").body == "true");
  CHECK(f.Do("GET", "/v1/kv/t/?keys").status == 404);
  CHECK(f.Do("GET", "/v1/kv/u").status == 200);
  Reply dc = f.Do("DELETE", "/v1/kv/u?dc=elsewhere");
  CHECK(dc.status == 500);
  CHECK(dc.body == "No path to datacenter\n");
  CHECK(f.Do("GET", "/v1/kv/u?dc=DC1").status == 200);
  CHECK(f.Do("GET", "/v1/kv/u?stale&consistent").status == 400);
}

TEST_CASE("sessions: create defaults, info, list, node, renew, destroy") {
  KvFixture f;
  const std::string id = f.NewSession();
  CHECK(id.size() == 36);

  Reply info = f.Do("GET", "/v1/session/info/" + id);
  REQUIRE(info.status == 200);
  CheckIndexHeaders(info);
  dom::parser p;
  dom::array arr = Json(p, info);
  REQUIRE(arr.size() == 1);
  dom::element s = arr.at(0);
  CHECK(Str(s["ID"]) == id);
  CHECK(Str(s["Name"]).empty());
  CHECK(Str(s["Node"]) == "node1");
  CHECK(uint64_t(s["LockDelay"]) == 15000000000ULL);
  CHECK(Str(s["Behavior"]) == "release");
  CHECK(Str(s["TTL"]).empty());
  CHECK(dom::array(s["NodeChecks"]).size() == 1);
  CHECK(Str(dom::array(s["NodeChecks"]).at(0)) == "serfHealth");
  CHECK(s["ServiceChecks"].is_null());
  CHECK(s["Checks"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(uint64_t(s["CreateIndex"]) >= 1);
  CHECK(info.body.rfind("[{\"ID\":", 0) == 0);

  // python-consul's lower-case body, snake_case, a LockDelay number under 1000 (seconds).
  const std::string py = f.NewSession(
      R"({"name":"py","node":"other","lockdelay":"5s","behavior":"delete","ttl":"30s"})");
  const std::string snake = f.NewSession(R"({"Name":"sn","lock_delay":3,"Checks":[],"unknown":1})");
  dom::parser p2;
  dom::element ps = Json(p2, f.Do("GET", "/v1/session/info/" + py)).at(0);
  CHECK(Str(ps["Name"]) == "py");
  CHECK(Str(ps["Node"]) == "other");
  CHECK(uint64_t(ps["LockDelay"]) == 5000000000ULL);
  CHECK(Str(ps["Behavior"]) == "delete");
  CHECK(Str(ps["TTL"]) == "30s");
  dom::parser p3;
  dom::element ss = Json(p3, f.Do("GET", "/v1/session/info/" + snake)).at(0);
  CHECK(uint64_t(ss["LockDelay"]) == 3000000000ULL);
  CHECK(dom::array(ss["NodeChecks"]).size() == 0);

  dom::parser p4;
  Reply list = f.Do("GET", "/v1/session/list");
  CheckIndexHeaders(list);
  CHECK(Json(p4, list).get_array().size() == 3);
  dom::parser p5;
  Reply node = f.Do("GET", "/v1/session/node/other");
  CheckIndexHeaders(node);
  dom::array on = Json(p5, node);
  REQUIRE(on.size() == 1);
  CHECK(Str(on.at(0)["ID"]) == py);

  Reply renew = f.Do("PUT", "/v1/session/renew/" + py);
  CHECK(renew.status == 200);
  dom::parser p6;
  CHECK(Str(Json(p6, renew).at(0)["ID"]) == py);
  Reply renew404 = f.Do("PUT", "/v1/session/renew/nope");
  CHECK(renew404.status == 404);
  CHECK(renew404.body == "Session id 'nope' not found\n");

  CHECK(f.Do("PUT", "/v1/session/destroy/" + py).body == "true");
  CHECK(f.Do("PUT", "/v1/session/destroy/nope").body == "true");
  Reply gone = f.Do("GET", "/v1/session/info/" + py);
  CHECK(gone.status == 200);
  CHECK(gone.body == "[]");
  CheckIndexHeaders(gone);
  CHECK(f.Do("GET", "/v1/session/node/other").body == "[]");
  CHECK(f.Do("GET", "/v1/session/info/").status == 400);
  CHECK(f.Do("PUT", "/v1/session/destroy/").body == "Missing session\n");
  CHECK(f.Do("GET", "/v1/session/create").status == 405);
}

TEST_CASE("sessions: invalid create requests store nothing") {
  KvApiOptions o = KvFixture::Options();
  o.validate_session = [](const kv::Session& s) {
    return s.node == "ghost" ? std::string("Missing node registration") : std::string();
  };
  KvFixture f(o);
  Reply bad = f.Do("PUT", "/v1/session/create", "{\"Name\": ");
  CHECK(bad.status == 400);
  CHECK(bad.body.rfind("Request decode failed: ", 0) == 0);
  CHECK(f.Do("PUT", "/v1/session/create", "[1]").status == 400);
  Reply type = f.Do("PUT", "/v1/session/create", R"({"Name": 5})");
  CHECK(type.status == 400);
  CHECK(type.body == "Request decode failed: Name: expected a string\n");
  CHECK(f.Do("PUT", "/v1/session/create", R"({"LockDelay": "soon"})").status == 400);

  Reply beh = f.Do("PUT", "/v1/session/create", R"({"Behavior": "explode"})");
  CHECK(beh.status == 500);
  CHECK(beh.body == "Invalid Behavior setting 'explode'\n");
  Reply ttl = f.Do("PUT", "/v1/session/create", R"({"TTL": "5s"})");
  CHECK(ttl.status == 500);
  CHECK(ttl.body.rfind("Invalid Session TTL '5000000000'", 0) == 0);
  CHECK(f.Do("PUT", "/v1/session/create", R"({"TTL": "86401s"})").status == 500);
  CHECK(f.Do("PUT", "/v1/session/create", R"({"TTL": "forever"})").status == 500);
  Reply ghost = f.Do("PUT", "/v1/session/create", R"({"Node": "ghost"})");
  CHECK(ghost.status == 500);
  CHECK(ghost.body == "Missing node registration\n");

  CHECK(f.Do("GET", "/v1/session/list").body == "[]");
  CHECK(f.Do("PUT", "/v1/session/create", R"({"TTL": "10s"})").status == 200);
  CHECK(f.Do("PUT", "/v1/session/create", R"({"TTL": "86400s"})").status == 200);
}

TEST_CASE("kv: acquire and release locks with sessions") {
  KvFixture f;
  const std::string s1 = f.NewSession(R"({"LockDelay":"0s"})");
  const std::string s2 = f.NewSession();

  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s1, "mine").body == "true");
  dom::parser p;
  dom::element e = Json(p, f.Do("GET", "/v1/kv/lock")).at(0);
  CHECK(Str(e["Session"]) == s1);
  CHECK(uint64_t(e["LockIndex"]) == 1);
  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s1, "again").body == "true");
  dom::parser p2;
  e = Json(p2, f.Do("GET", "/v1/kv/lock")).at(0);
  CHECK(uint64_t(e["LockIndex"]) == 1);
  CHECK(f.Do("GET", "/v1/kv/lock?raw").body == "again");

  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s2, "theirs").body == "false");
  CHECK(f.Do("PUT", "/v1/kv/lock?release=" + s2, "theirs").body == "false");
  CHECK(f.Do("GET", "/v1/kv/lock?raw").body == "again");
  CHECK(f.Do("PUT", "/v1/kv/lock?release=" + s1, "free").body == "true");
  Reply after = f.Do("GET", "/v1/kv/lock");
  CHECK(after.body.find("\"Session\"") == std::string::npos);

  Reply unknown = f.Do("PUT", "/v1/kv/lock?acquire=00000000-0000-0000-0000-000000000000", "x");
  CHECK(unknown.status == 500);
  CHECK(unknown.body.find("invalid session") != std::string::npos);

  // Destroying the holder releases the lock (behavior release), then s2 can take it.
  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s1, "x").body == "true");
  CHECK(f.Do("PUT", "/v1/session/destroy/" + s1).body == "true");
  CHECK(f.Do("GET", "/v1/kv/lock").body.find("\"Session\"") == std::string::npos);
  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s2, "y").body == "true");
  // s2 has the default 15 s lock-delay: after its destruction nobody may take the key at once.
  const std::string s3 = f.NewSession();
  CHECK(f.Do("PUT", "/v1/session/destroy/" + s2).body == "true");
  CHECK(f.Do("PUT", "/v1/kv/lock?acquire=" + s3, "z").body == "false");
}

TEST_CASE("txn: KV operations, results and rollback") {
  KvFixture f;
  const std::string set = R"([{"KV":{"Verb":"set","Key":"t/a","Value":")" +
                          core::Base64Encode("A") + R"(","Flags":7}},)" +
                          R"({"kv":{"verb":"set","key":"t/b","value":null}},)" +
                          R"({"KV":{"Verb":"get","Key":"t/a"}}])";
  Reply ok = f.Do("PUT", "/v1/txn", set);
  REQUIRE(ok.status == 200);
  CHECK(ok.H("content-type") == "application/json");
  dom::parser p;
  dom::element doc = Json(p, ok);
  CHECK(doc["Errors"].is_null());
  dom::array results = doc["Results"];
  REQUIRE(results.size() == 3);
  CHECK(Str(results.at(0)["KV"]["Key"]) == "t/a");
  CHECK(results.at(0)["KV"]["Value"].is_null());  // only get/get-tree fill Value
  CHECK(uint64_t(results.at(0)["KV"]["Flags"]) == 7);
  CHECK(Str(results.at(2)["KV"]["Value"]) == core::Base64Encode("A"));
  CHECK(f.Do("GET", "/v1/kv/t/a?raw").body == "A");

  // A failing check rolls everything back: 409, Results null, nothing stored.
  const std::string fail = R"([{"KV":{"Verb":"set","Key":"t/c","Value":"Qw=="}},)"
                           R"({"KV":{"Verb":"cas","Key":"t/a","Value":"Qw==","Index":999999}}])";
  Reply conflict = f.Do("PUT", "/v1/txn", fail);
  CHECK(conflict.status == 409);
  dom::parser p2;
  dom::element cd = Json(p2, conflict);
  CHECK(cd["Results"].is_null());
  dom::array errs = cd["Errors"];
  REQUIRE(errs.size() == 1);
  CHECK(uint64_t(errs.at(0)["OpIndex"]) == 1);
  CHECK(Str(errs.at(0)["What"]).find("t/a") != std::string::npos);
  CHECK(f.Do("GET", "/v1/kv/t/c").status == 404);

  Reply verb = f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"frobnicate","Key":"k"}}])");
  CHECK(verb.status == 409);
  CHECK(verb.body.find("unknown KV verb") != std::string::npos);
  Reply nokey = f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"set","Key":""}}])");
  CHECK(nokey.status == 409);
  CHECK(nokey.body.find("Must provide key") != std::string::npos);

  // Read-only transactions report an index; deletes give no result.
  Reply ro = f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"get-tree","Key":"t/"}}])");
  CHECK(ro.status == 200);
  CheckIndexHeaders(ro);
  dom::parser p3;
  CHECK(dom::array(Json(p3, ro)["Results"]).size() == 2);
  Reply del = f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"delete-tree","Key":"t/"}}])");
  CHECK(del.body == "{\"Results\":null,\"Errors\":null}");
  CHECK(f.Do("GET", "/v1/kv/t/?keys").status == 404);
}

TEST_CASE("txn: malformed and oversized requests are rejected before the store") {
  KvFixture f;
  Reply bad = f.Do("PUT", "/v1/txn", "[{");
  CHECK(bad.status == 400);
  CHECK(bad.body.rfind("Failed to parse body: ", 0) == 0);
  CHECK(f.Do("PUT", "/v1/txn", R"({"KV":{}})").status == 400);
  Reply b64 = f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"set","Key":"k","Value":"!!!"}}])");
  CHECK(b64.status == 400);
  CHECK(b64.body.find("illegal base64 data at input byte 0") != std::string::npos);
  CHECK(f.Do("PUT", "/v1/txn", R"([{"KV":{"Verb":"set","Key":"k","Flags":"x"}}])").status == 400);
  CHECK(f.Do("PUT", "/v1/txn", R"([{"Node":{"Verb":"set"}}])").status == 400);

  std::string many = "[";
  for (int i = 0; i < 65; ++i) {
    if (i > 0) many += ",";
    many += R"({"KV":{"Verb":"set","Key":"k)" + std::to_string(i) + R"("}})";
  }
  many += "]";
  Reply too = f.Do("PUT", "/v1/txn", many);
  CHECK(too.status == 413);
  CHECK(too.body == "Transaction contains too many operations (65 > 64)\n");
  CHECK(f.Do("GET", "/v1/kv/?keys").body == "[]");
  many = many.substr(0, many.rfind(",{")) + "]";  // 64 ops
  CHECK(f.Do("PUT", "/v1/txn", many).status == 200);
}

TEST_CASE("blocking: a KV GET parked on ?index returns when another client writes") {
  KvFixture f;
  f.Do("PUT", "/v1/kv/watch/me", "one");
  const uint64_t idx = f.Do("GET", "/v1/kv/watch/me").Index();

  // Timeout without a change: the same index after about the wait.
  auto t0 = std::chrono::steady_clock::now();
  Reply same = f.Do("GET", "/v1/kv/watch/me?index=" + std::to_string(idx) + "&wait=200ms");
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  CHECK(same.status == 200);
  CHECK(same.Index() == idx);
  CHECK(ms >= 190);

  Reply woke;
  std::atomic<bool> done{false};
  t0 = std::chrono::steady_clock::now();
  std::thread waiter([&] {
    woke = f.Do("GET", "/v1/kv/watch/me?raw&index=" + std::to_string(idx) + "&wait=4s");
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK_FALSE(done.load());
  f.Do("PUT", "/v1/kv/watch/other", "unrelated key: no wake-up for watch/me's answer");
  f.Do("PUT", "/v1/kv/watch/me", "two");
  waiter.join();
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
           .count();
  CHECK(ms < 3000);
  CHECK(woke.status == 200);
  CHECK(woke.body == "two");
  CHECK(woke.Index() > idx);

  // A recursive list wakes for a new key under its prefix; a missing key for its creation.
  const uint64_t lidx = f.Do("GET", "/v1/kv/watch/?recurse").Index();
  Reply list;
  std::thread lw(
      [&] { list = f.Do("GET", "/v1/kv/watch/?keys&index=" + std::to_string(lidx) + "&wait=4s"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.Do("PUT", "/v1/kv/watch/new", "x");
  lw.join();
  CHECK(list.body == "[\"watch/me\",\"watch/new\",\"watch/other\"]");
  CHECK(list.Index() > lidx);
}

TEST_CASE("blocking: session list wakes on session create; bad ?index is 400") {
  KvFixture f;
  Reply first = f.Do("GET", "/v1/session/list");
  CHECK(first.body == "[]");
  CheckIndexHeaders(first);
  Reply woke;
  std::thread w([&] {
    woke = f.Do("GET", "/v1/session/list?index=" + std::to_string(first.Index()) + "&wait=4s");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string id = f.NewSession();
  w.join();
  CHECK(woke.body.find(id) != std::string::npos);
  CHECK(woke.Index() > first.Index());

  Reply bad = f.Do("GET", "/v1/kv/x?index=abc");
  CHECK(bad.status == 400);
  CHECK(bad.body == "Invalid index\n");
  CheckIndexHeaders(bad);
  CHECK(f.Do("GET", "/v1/session/list?wait=never").status == 400);
}

TEST_CASE("kv: -dev pretty output and answers without a server (Router::Dispatch)") {
  std::unique_ptr<kv::Store> store = kv::NewMemStore();
  KvApiOptions o = KvFixture::Options();
  o.pretty = true;
  Router r;
  AddKvRoutes(r, *store, o);
  Request put;
  put.method = "PUT";
  put.path = "/v1/kv/dev";
  put.body = "x";
  Response pr;
  r.Dispatch(put, pr);
  CHECK(pr.status == 200);
  CHECK(pr.body == "true\n");
  Request get;
  get.method = "GET";
  get.path = "/v1/session/list";
  Response gr;
  r.Dispatch(get, gr);
  CHECK(gr.body == "[]\n");
  CHECK(*gr.Header("X-Consul-Index") != "0");
}

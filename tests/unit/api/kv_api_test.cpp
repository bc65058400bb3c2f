// /v1/kv through a real HttpServer over an in-memory kv::Store.
#include "kv_test_env.h"

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

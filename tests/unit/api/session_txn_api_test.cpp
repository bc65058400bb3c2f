// Sessions, txn and blocking KV/session reads through the HTTP API.
#include "kv_test_env.h"

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

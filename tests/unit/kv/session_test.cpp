// kv::Store sessions (spec 2.7): create/info/list/renew/destroy, TTL expiry, behaviors,
// lock-delay and invalidation by predicate, run against both implementations.
#include <doctest.h>

#include "fixtures.h"

using namespace kvtest;

TEST_CASE_TEMPLATE("session: create, info, list, node, renew, destroy", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  Session in;
  in.name = "web-lock";
  in.node = "n1";
  in.node_checks = {"serfHealth", "disk"};
  in.service_checks = {{"svc:web", ""}};
  in.lock_delay_ms = 5000;
  in.behavior = Session::Behavior::kDelete;
  in.ttl_ms = 30000;
  SessionResult r = SessionCall([&](auto cb) { s.CreateSession(in, cb); });
  REQUIRE(r.status.ok());
  REQUIRE(r.found);
  const std::string id = r.session.id;
  CHECK(id.size() == 36);
  CHECK(id[8] == '-');
  CHECK(id[14] == '4');
  CHECK(r.session.create_index == r.index);
  CHECK(r.session.modify_index == r.index);
  CHECK(s.SessionsIndex() == r.index);

  const std::string other = NewSession(s, "n2");
  std::vector<Session> out;
  s.SessionInfo(id, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].name == "web-lock");
  CHECK(out[0].node == "n1");
  CHECK(out[0].node_checks == std::vector<std::string>{"serfHealth", "disk"});
  REQUIRE(out[0].service_checks.size() == 1);
  CHECK(out[0].service_checks[0].id == "svc:web");
  CHECK(out[0].lock_delay_ms == 5000);
  CHECK(out[0].behavior == Session::Behavior::kDelete);
  CHECK(out[0].ttl_ms == 30000);

  s.Sessions(&out);
  CHECK(out.size() == 2);
  s.NodeSessions("n2", &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == other);
  s.SessionInfo("no-such-session", &out);
  CHECK(out.empty());

  const uint64_t before = s.SessionsIndex();
  r = SessionCall([&](auto cb) { s.RenewSession(id, cb); });
  CHECK(r.found);
  CHECK(r.session.id == id);
  CHECK(s.SessionsIndex() == before);  // renew is not a write of the table
  r = SessionCall([&](auto cb) { s.RenewSession("nope", cb); });
  CHECK_FALSE(r.found);

  r = SessionCall([&](auto cb) { s.DestroySession(id, cb); });
  CHECK(r.found);
  CHECK(s.SessionsIndex() > before);
  s.SessionInfo(id, &out);
  CHECK(out.empty());
  r = SessionCall([&](auto cb) { s.DestroySession(id, cb); });
  CHECK(r.status.ok());
  CHECK_FALSE(r.found);
}

TEST_CASE_TEMPLATE("session: destroy releases locks, keeps LockIndex, starts lock-delay", F,
                   KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string a = NewSession(s, "n1", Session::Behavior::kRelease, 0, 15000);
  const std::string b = NewSession(s, "n1");
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "l/1", "v1", 0, a)}).ok);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "l/2", "v2", 0, a)}).ok);
  REQUIRE(Set(s, "l/free", "f").ok);

  SessionResult r = SessionCall([&](auto cb) { s.DestroySession(a, cb); });
  REQUIRE(r.found);
  for (const char* k : {"l/1", "l/2"}) {
    Entry e = MustGet(s, k);
    CHECK(e.session.empty());
    CHECK(e.lock_index == 1);
    CHECK(e.modify_index == r.index);
  }
  CHECK(MustGet(s, "l/1").value == "v1");
  CHECK(s.KvIndex() == r.index);
  CHECK(s.PrefixIndex("l/") == r.index);

  // Lock-delay: b cannot take the released keys for 15 s; other keys are free.
  WriteResult w = Do(s, {MakeOp(Verb::kLock, "l/1", "b", 0, b)});
  CHECK_FALSE(w.ok);
  CHECK(w.errors.at(0).what == "failed to lock key \"l/1\" due to lock delay");
  CHECK(Do(s, {MakeOp(Verb::kLock, "l/free", "b", 0, b)}).ok);
  fx.clock->fetch_add(14999);
  CHECK_FALSE(Do(s, {MakeOp(Verb::kLock, "l/2", "b", 0, b)}).ok);
  fx.clock->fetch_add(1);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "l/2", "b", 0, b)}).ok);
  CHECK(MustGet(s, "l/2").lock_index == 2);
}

TEST_CASE_TEMPLATE("session: behavior delete removes the held keys", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string a = NewSession(s, "n1", Session::Behavior::kDelete, 0, 0);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "d/1", "v", 0, a)}).ok);
  REQUIRE(Set(s, "d/2", "kept").ok);
  SessionResult r = SessionCall([&](auto cb) { s.DestroySession(a, cb); });
  CHECK_FALSE(Has(s, "d/1"));
  CHECK(Has(s, "d/2"));
  CHECK(s.PrefixIndex("d/") == r.index);  // a tombstone, not a step back
  // lock_delay 0: the key can be locked again at once.
  const std::string b = NewSession(s);
  CHECK(Do(s, {MakeOp(Verb::kLock, "d/1", "v", 0, b)}).ok);
}

TEST_CASE_TEMPLATE("session: TTL expiry happens at 2*TTL after the last renew", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string a = NewSession(s, "n1", Session::Behavior::kRelease, 10000);  // at 1000
  const std::string forever = NewSession(s, "n1");                                // no TTL
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "t/k", "v", 0, a)}).ok);

  CHECK(Expire(s, 1000 + 15000) == 0);  // between TTL and 2*TTL: grace
  fx.clock->store(16000);
  REQUIRE(SessionCall([&](auto cb) { s.RenewSession(a, cb); }).found);
  CHECK(Expire(s, 16000 + 19999) == 0);
  CHECK(Expire(s, 16000 + 20000) == 1);
  std::vector<Session> out;
  s.SessionInfo(a, &out);
  CHECK(out.empty());
  CHECK(MustGet(s, "t/k").session.empty());
  s.SessionInfo(forever, &out);
  CHECK(out.size() == 1);
  CHECK(Expire(s, 1ULL << 40) == 0);
}

TEST_CASE_TEMPLATE("session: InvalidateSessions applies the agent's predicate", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string on1 = NewSession(s, "n1");
  const std::string on2 = NewSession(s, "n2");
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "i/k", "v", 0, on1)}).ok);
  std::atomic<int> sessions_changed{0};
  s.SetOnCommit([&](bool, bool ss) { sessions_changed += ss; });

  std::promise<size_t> p;
  auto f = p.get_future();
  s.InvalidateSessions([](const Session& x) { return x.node == "n1"; },
                       [&p](size_t n) { p.set_value(n); });
  CHECK(f.get() == 1);
  CHECK(sessions_changed == 1);
  std::vector<Session> out;
  s.Sessions(&out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == on2);
  CHECK(MustGet(s, "i/k").session.empty());
}

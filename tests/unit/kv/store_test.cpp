// kv::Store KV behaviour (spec 2.2, 2.3, 2.8 txn), run against both implementations.
#include <doctest.h>

#include <thread>
#include <type_traits>

#include "fixtures.h"

using namespace kvtest;
using beacon::kv::OpError;

TEST_CASE_TEMPLATE("kv: set and get keep CreateIndex, move ModifyIndex only on change", F,
                   KV_STORES) {
  F fx;
  Store& s = *fx.s;
  CHECK(s.Index() == 1);  // never 0, even when empty
  Entry e;
  uint64_t idx = 0;
  CHECK_FALSE(s.Get("a", &e, &idx));
  CHECK(idx == 1);

  WriteResult r = Set(s, "a", "one", 42);
  REQUIRE(r.ok);
  const uint64_t first = r.index;
  CHECK(first > idx);  // a client blocking on the empty store's index sees the first write
  REQUIRE(r.results.size() == 1);
  CHECK(r.results[0].modify_index == first);
  CHECK(r.results[0].value.empty());  // set results carry no value

  REQUIRE(s.Get("a", &e, &idx));
  CHECK(e.value == "one");
  CHECK(e.flags == 42);
  CHECK(e.create_index == first);
  CHECK(e.modify_index == first);
  CHECK(e.lock_index == 0);
  CHECK(e.session.empty());
  CHECK(idx == first);

  r = Set(s, "a", "two");  // no flags: reset to 0
  REQUIRE(r.ok);
  e = MustGet(s, "a");
  CHECK(e.flags == 0);
  CHECK(e.create_index == first);
  CHECK(e.modify_index == r.index);
  CHECK(r.index > first);

  const uint64_t before = s.Index();
  r = Set(s, "a", "two");  // nothing changed: no new index
  REQUIRE(r.ok);
  CHECK(MustGet(s, "a").modify_index == e.modify_index);
  CHECK(s.Index() == before);

  CHECK_FALSE(s.Get("missing", &e, &idx));
  CHECK(idx == s.KvIndex());
}

TEST_CASE_TEMPLATE("kv: cas 0 creates only, cas N matches ModifyIndex", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  WriteResult r = Do(s, {MakeOp(Verb::kCas, "k", "v1", 0)});
  REQUIRE(r.ok);
  const uint64_t m = MustGet(s, "k").modify_index;

  r = Do(s, {MakeOp(Verb::kCas, "k", "v2", 0)});
  CHECK_FALSE(r.ok);
  CHECK(r.status.ok());  // a CAS miss is a `false`, not a store error
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].kind == OpError::Kind::kConflict);
  CHECK(r.errors[0].what == "failed to set key \"k\", index is stale");

  CHECK_FALSE(Do(s, {MakeOp(Verb::kCas, "k", "v2", m + 100)}).ok);
  CHECK_FALSE(Do(s, {MakeOp(Verb::kCas, "nokey", "v2", 5)}).ok);
  CHECK_FALSE(Has(s, "nokey"));
  CHECK(MustGet(s, "k").value == "v1");

  r = Do(s, {MakeOp(Verb::kCas, "k", "v2", m)});
  REQUIRE(r.ok);
  CHECK(MustGet(s, "k").value == "v2");
}

TEST_CASE_TEMPLATE("kv: acquire and release follow Consul's LockIndex rules", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string a = NewSession(s, "n1");
  const std::string b = NewSession(s, "n1");
  REQUIRE(a.size() == 36);
  REQUIRE(a != b);

  WriteResult r = Do(s, {MakeOp(Verb::kLock, "lk", "x", 0, a)});
  REQUIRE(r.ok);
  Entry e = MustGet(s, "lk");
  CHECK(e.lock_index == 1);
  CHECK(e.session == a);
  CHECK(e.create_index == r.index);

  // Same session again: true, LockIndex unchanged, value updated.
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "lk", "y", 0, a)}).ok);
  e = MustGet(s, "lk");
  CHECK(e.lock_index == 1);
  CHECK(e.value == "y");

  // Another session: false; release by a non-holder: false.
  r = Do(s, {MakeOp(Verb::kLock, "lk", "z", 0, b)});
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).kind == OpError::Kind::kConflict);
  CHECK_FALSE(Do(s, {MakeOp(Verb::kUnlock, "lk", "z", 0, b)}).ok);
  CHECK_FALSE(Do(s, {MakeOp(Verb::kUnlock, "nokey", "z", 0, a)}).ok);
  CHECK(MustGet(s, "lk").value == "y");

  // A plain set keeps the holder (and, as Consul's kvsSetTxn does, writes LockIndex 0).
  REQUIRE(Set(s, "lk", "plain").ok);
  CHECK(MustGet(s, "lk").session == a);
  CHECK(MustGet(s, "lk").lock_index == 0);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "lk", "y", 0, a)}).ok);  // re-acquire: unchanged
  CHECK(MustGet(s, "lk").lock_index == 0);

  // Release by the holder: Session cleared, value updated, LockIndex kept.
  r = Do(s, {MakeOp(Verb::kUnlock, "lk", "released", 0, a)});
  REQUIRE(r.ok);
  e = MustGet(s, "lk");
  CHECK(e.session.empty());
  CHECK(e.value == "released");
  CHECK(e.modify_index == r.index);

  // A new acquisition by b counts.
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "lk", "b", 0, b)}).ok);
  e = MustGet(s, "lk");
  CHECK(e.session == b);
  CHECK(e.lock_index == 1);

  // Unknown or missing session: an error, not a `false`.
  r = Do(s, {MakeOp(Verb::kLock, "other", "v", 0, "00000000-0000-0000-0000-000000000000")});
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).kind == OpError::Kind::kInvalid);
  CHECK(r.errors.at(0).what.find("invalid session") == 0);
  r = Do(s, {MakeOp(Verb::kLock, "other", "v", 0, "")});
  CHECK(r.errors.at(0).what == "missing session");
  CHECK_FALSE(Has(s, "other"));
}

TEST_CASE_TEMPLATE("kv: acquire after release increments LockIndex", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string a = NewSession(s);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "k", "", 0, a)}).ok);
  REQUIRE(Do(s, {MakeOp(Verb::kUnlock, "k", "", 0, a)}).ok);
  CHECK(MustGet(s, "k").lock_index == 1);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "k", "", 0, a)}).ok);
  CHECK(MustGet(s, "k").lock_index == 2);
}

TEST_CASE_TEMPLATE("kv: delete, delete-cas and delete-tree", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  for (const char* k : {"p/a", "p/b", "p/c/d", "q"}) REQUIRE(Set(s, k, "v").ok);

  CHECK(Do(s, {MakeOp(Verb::kDelete, "missing")}).ok);
  CHECK(Do(s, {MakeOp(Verb::kDeleteCas, "missing", "", 77)}).ok);  // Consul: true

  const uint64_t m = MustGet(s, "q").modify_index;
  WriteResult r = Do(s, {MakeOp(Verb::kDeleteCas, "q", "", m + 1)});
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).kind == OpError::Kind::kConflict);
  CHECK(Has(s, "q"));
  CHECK(Do(s, {MakeOp(Verb::kDeleteCas, "q", "", m)}).ok);
  CHECK_FALSE(Has(s, "q"));

  REQUIRE(Do(s, {MakeOp(Verb::kDelete, "p/a")}).ok);
  CHECK_FALSE(Has(s, "p/a"));
  REQUIRE(Do(s, {MakeOp(Verb::kDeleteTree, "p/")}).ok);
  std::vector<Entry> all;
  s.List("", &all);
  CHECK(all.empty());

  for (const char* k : {"x/1", "y/2"}) REQUIRE(Set(s, k, "v").ok);
  REQUIRE(Do(s, {MakeOp(Verb::kDeleteTree, "")}).ok);  // empty prefix: everything
  s.List("", &all);
  CHECK(all.empty());
}

TEST_CASE_TEMPLATE("kv: list and keys with a separator", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  for (const char* k : {"a/b/c", "a/d", "a/e/f", "a/e/g", "a0", "b"}) REQUIRE(Set(s, k, k).ok);

  std::vector<std::string> keys;
  s.Keys("a/", "/", &keys);
  CHECK(keys == std::vector<std::string>{"a/b/", "a/d", "a/e/"});
  s.Keys("", "/", &keys);
  CHECK(keys == std::vector<std::string>{"a/", "a0", "b"});
  s.Keys("a/", "", &keys);
  CHECK(keys == std::vector<std::string>{"a/b/c", "a/d", "a/e/f", "a/e/g"});
  s.Keys("zz", "/", &keys);
  CHECK(keys.empty());

  std::vector<Entry> list;
  s.List("a/e/", &list);
  REQUIRE(list.size() == 2);
  CHECK(list[0].key == "a/e/f");
  CHECK(list[0].value == "a/e/f");
  CHECK(list[1].key == "a/e/g");
}

TEST_CASE_TEMPLATE("kv: list index counts tombstones and never goes backwards", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  REQUIRE(Set(s, "p/a", "1").ok);
  const uint64_t ib = Set(s, "p/b", "2").index;
  REQUIRE(Set(s, "q/x", "3").ok);

  std::vector<Entry> list;
  CHECK(s.List("p/", &list) == ib);
  CHECK(s.PrefixIndex("p/") == ib);
  CHECK(s.KeyIndex("p/b") == ib);

  const uint64_t del = Do(s, {MakeOp(Verb::kDelete, "p/b")}).index;
  CHECK(del > ib);
  CHECK(s.List("p/", &list) == del);  // the tombstone keeps the index
  CHECK(list.size() == 1);
  CHECK(s.KeyIndex("p/b") == s.KvIndex());

  REQUIRE(Set(s, "q/y", "4").ok);  // unrelated change
  CHECK(s.PrefixIndex("p/") == del);
  std::vector<std::string> keys;
  CHECK(s.Keys("p/", "", &keys) == del);

  CHECK(s.PrefixIndex("nothing/") == s.KvIndex());
  CHECK(s.PrefixIndex("") == s.KvIndex());
  CHECK(s.List("", &list) == s.KvIndex());

  const uint64_t again = Set(s, "p/b", "5").index;
  CHECK(s.PrefixIndex("p/") == again);

  // delete-tree leaves a tombstone per key.
  const uint64_t tree = Do(s, {MakeOp(Verb::kDeleteTree, "p/")}).index;
  CHECK(s.PrefixIndex("p/") == tree);
  CHECK(s.PrefixIndex("p/a") == tree);
  CHECK(s.KvIndex() >= tree);
}

TEST_CASE_TEMPLATE("txn: a failing op rolls back everything", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  REQUIRE(Set(s, "keep", "old").ok);
  const uint64_t before = s.Index();

  WriteResult r = Do(s, {SetOp("x", "1"), SetOp("keep", "new"), MakeOp(Verb::kDelete, "keep"),
                         MakeOp(Verb::kCheckIndex, "z", "", 99), MakeOp(Verb::kGet, "nope")});
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 2);  // every failing op is reported
  CHECK(r.errors[0].op_index == 3);
  CHECK(r.errors[0].what == "failed to check index, key \"z\" doesn't exist");
  CHECK(r.errors[1].op_index == 4);
  CHECK(r.errors[1].what == "key \"nope\" doesn't exist");
  CHECK(r.results.empty());
  CHECK_FALSE(Has(s, "x"));
  CHECK(MustGet(s, "keep").value == "old");
  CHECK(s.Index() == before);

  const uint64_t keep_idx = MustGet(s, "keep").modify_index;
  r = Do(s, {SetOp("t/a", "A", 7), MakeOp(Verb::kCas, "t/b", "B", 0),
             MakeOp(Verb::kCheckIndex, "keep", "", keep_idx), MakeOp(Verb::kGet, "t/a"),
             MakeOp(Verb::kGetTree, "t/"), MakeOp(Verb::kCheckNotExists, "t/c"),
             MakeOp(Verb::kDelete, "keep")});
  REQUIRE(r.ok);
  // set, cas, check-index, get, get-tree x2; check-not-exists and delete give nothing.
  REQUIRE(r.results.size() == 6);
  CHECK(r.results[0].key == "t/a");
  CHECK(r.results[0].value.empty());
  CHECK(r.results[0].flags == 7);
  CHECK(r.results[2].key == "keep");
  CHECK(r.results[3].value == "A");  // get carries the value
  CHECK(r.results[3].modify_index == r.index);
  CHECK(r.results[4].key == "t/a");
  CHECK(r.results[5].value == "B");
  CHECK_FALSE(Has(s, "keep"));
  CHECK(MustGet(s, "t/b").create_index == r.index);  // all ops share one index

  const std::string sess = NewSession(s);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "t/a", "L", 0, sess)}).ok);
  CHECK(Do(s, {MakeOp(Verb::kCheckSession, "t/a", "", 0, sess)}).ok);
  r = Do(s, {MakeOp(Verb::kCheckSession, "t/a", "", 0, "")});
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).what.find("failed session check for key \"t/a\"") == 0);
}

TEST_CASE_TEMPLATE("kv: 512-byte keys and 512 KiB values are the limits", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  const std::string k511(511, 'k');
  const std::string k512a = k511 + "a";
  const std::string k512b = k511 + "b";
  const std::string big(beacon::kv::kMaxValueBytes, 'v');
  REQUIRE(Set(s, k512b, "B").ok);
  REQUIRE(Set(s, k511, "mid").ok);
  REQUIRE(Set(s, k512a, big).ok);
  CHECK(MustGet(s, k512a).value == big);
  CHECK(MustGet(s, k512b).value == "B");
  CHECK(MustGet(s, k511).value == "mid");

  std::vector<Entry> list;
  s.List(k511, &list);
  REQUIRE(list.size() == 3);
  CHECK(list[0].key == k511);
  CHECK(list[1].key == k512a);
  CHECK(list[2].key == k512b);
  s.List(k512b, &list);
  REQUIRE(list.size() == 1);

  REQUIRE(Do(s, {MakeOp(Verb::kDelete, k512a)}).ok);
  CHECK_FALSE(Has(s, k512a));
  CHECK(Has(s, k512b));
  CHECK(Has(s, k511));

  WriteResult r = Set(s, k512a + "x", "v");
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).kind == OpError::Kind::kInvalid);
  CHECK(r.errors.at(0).what == "key too long (513 bytes, max 512)");
  r = Set(s, "v", big + "x");
  CHECK_FALSE(r.ok);
  CHECK(r.errors.at(0).what == "value too large (524289 bytes, max 524288)");
  CHECK_FALSE(Has(s, "v"));
  r = Set(s, "", "v");
  CHECK(r.errors.at(0).what == "missing key name");
}

TEST_CASE_TEMPLATE("kv: concurrent applies are all acknowledged and stored", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  constexpr uint64_t kThreads = 4, kPerThread = 150;
  const uint64_t start = s.Index();
  std::atomic<int> acked{0}, failed{0};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> waits;
      waits.reserve(kPerThread);
      for (uint64_t i = 0; i < kPerThread; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        waits.push_back(p->get_future());
        s.Apply({SetOp("c/" + std::to_string(t) + "/" + std::to_string(i), "v")},
                [&, p](const WriteResult& r) {
                  (r.ok ? acked : failed)++;
                  p->set_value();
                });
      }
      for (auto& w : waits) w.wait();
    });
  }
  for (auto& th : threads) th.join();
  CHECK(acked == kThreads * kPerThread);
  CHECK(failed == 0);
  std::vector<std::string> keys;
  s.Keys("c/", "", &keys);
  CHECK(keys.size() == kThreads * kPerThread);
  if constexpr (std::is_same_v<F, kvtest::EtcdFx>) {
    // Writes that reach etcd together commit as one txn (group commit, etcd_group.h) and share
    // its revision, as the writes of one Consul txn share an index.
    CHECK(s.Index() > start);
    CHECK(s.Index() < start + kThreads * kPerThread);  // 8 writers, 600 writes: some grouped
    for (const std::string& k : keys) {
      Entry e;
      REQUIRE(s.Get(k, &e, nullptr));
      CHECK(e.modify_index > start);
      CHECK(e.modify_index <= s.Index());
    }
  } else {
    CHECK(s.Index() == start + kThreads * kPerThread);  // one index per write
  }
}

TEST_CASE_TEMPLATE("kv: OnCommit reports KV and session changes", F, KV_STORES) {
  F fx;
  Store& s = *fx.s;
  std::atomic<int> kv{0}, sess{0};
  s.SetOnCommit([&](bool k, bool ss) {
    kv += k;
    sess += ss;
  });
  REQUIRE(Set(s, "a", "1").ok);
  CHECK(kv == 1);
  CHECK(sess == 0);
  CHECK_FALSE(Do(s, {MakeOp(Verb::kCas, "a", "2", 0)}).ok);
  REQUIRE(Set(s, "a", "1").ok);  // no change, no wake-up
  CHECK(kv == 1);
  NewSession(s);
  CHECK(sess == 1);
  CHECK(kv == 1);
}

TEST_CASE("kv: LMDB store keeps everything across a reopen, index monotonic") {
  LmdbFx fx;
  const std::string sess = NewSession(*fx.s, "n1", Session::Behavior::kRelease, 10000);
  REQUIRE(Set(*fx.s, "r/a", "A", 3).ok);
  REQUIRE(Do(*fx.s, {MakeOp(Verb::kLock, "r/l", "L", 0, sess)}).ok);
  REQUIRE(Set(*fx.s, "r/gone", "x").ok);
  const uint64_t del = Do(*fx.s, {MakeOp(Verb::kDelete, "r/gone")}).index;
  REQUIRE(Set(*fx.s, "s/x", "x").ok);
  const uint64_t idx = fx.s->Index();
  const uint64_t kvidx = fx.s->KvIndex();
  const uint64_t sidx = fx.s->SessionsIndex();

  fx.Reopen();
  Store& s = *fx.s;
  CHECK(s.Index() == idx);
  CHECK(s.KvIndex() == kvidx);
  CHECK(s.SessionsIndex() == sidx);
  CHECK(s.PrefixIndex("r/") == del);  // tombstones persist
  Entry e = MustGet(s, "r/a");
  CHECK(e.value == "A");
  CHECK(e.flags == 3);
  e = MustGet(s, "r/l");
  CHECK(e.session == sess);
  CHECK(e.lock_index == 1);
  std::vector<Session> info;
  s.SessionInfo(sess, &info);
  REQUIRE(info.size() == 1);
  CHECK(info[0].ttl_ms == 10000);
  CHECK(info[0].node_checks == std::vector<std::string>{"serfHealth"});

  // The TTL clock restarted at open (fake clock 1000): not expired at 1000 + 2*TTL - 1.
  CHECK(Expire(s, 1000 + 19999) == 0);
  CHECK(Expire(s, 1000 + 20000) == 1);
  CHECK(MustGet(s, "r/l").session.empty());  // the lock holder index survived the reopen

  WriteResult r = Set(s, "after", "x");
  CHECK(r.index > idx);
}

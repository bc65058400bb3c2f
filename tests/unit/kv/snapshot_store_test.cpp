// Store::SaveSnapshot / RestoreSnapshot on the in-memory, the LMDB and the etcd store.
#include <doctest/doctest.h>

#include <atomic>
#include <future>

#include "beacon/kv/snapshot.h"
#include "fixtures.h"

using namespace kvtest;
using beacon::Status;

namespace {

std::string Save(Store& s, uint64_t* index = nullptr) {
  std::string out;
  Status st = s.SaveSnapshot(
      [&](std::string_view c) {
        out.append(c);
        return Status::Ok();
      },
      index);
  REQUIRE(st.ok());
  return out;
}

std::pair<Status, uint64_t> Restore(Store& s, std::string file) {
  std::promise<std::pair<Status, uint64_t>> p;
  auto f = p.get_future();
  s.RestoreSnapshot(std::move(file), [&p](Status st, uint64_t i) { p.set_value({st, i}); });
  return f.get();
}

std::vector<Entry> All(Store& s) {
  std::vector<Entry> out;
  s.List("", &out);
  return out;
}

}  // namespace

#ifdef BEACON_HAVE_ETCD
#define RESTORE_STORES MemFx, LmdbFx, EtcdFx
#else
#define RESTORE_STORES MemFx, LmdbFx
#endif

TEST_CASE_TEMPLATE("snapshot: restore brings back the saved state; indexes never go back", F,
                   RESTORE_STORES) {
  F fx;
  Store& s = *fx.s;
  REQUIRE(Set(s, "app/a", "one", 3).ok);
  REQUIRE(Set(s, "app/b", "two").ok);
  REQUIRE(Set(s, "app/gone", "x").ok);
  REQUIRE(Do(s, {MakeOp(Verb::kDelete, "app/gone")}).ok);
  std::string sid = NewSession(s);
  REQUIRE(Do(s, {MakeOp(Verb::kLock, "app/lock", "held", 0, sid)}).ok);
  uint64_t saved_index = 0;
  std::string file = Save(s, &saved_index);
  CHECK(saved_index == s.Index());
  const std::vector<Entry> saved = All(s);

  // Diverge: new keys, changed values, a deleted key, another session.
  REQUIRE(Set(s, "app/a", "changed").ok);
  REQUIRE(Set(s, "new/key", "n").ok);
  REQUIRE(Do(s, {MakeOp(Verb::kDelete, "app/b")}).ok);
  std::string other = NewSession(s, "n2");
  const uint64_t before = s.Index();
  const uint64_t key_before = s.KeyIndex("app/a");
  const uint64_t new_prefix_before = s.PrefixIndex("new/");

  std::atomic<int> commits{0};
  s.SetOnCommit([&](bool kv, bool sessions) {
    if (kv && sessions) commits++;
  });
  auto [st, index] = Restore(s, file);
  REQUIRE(st.ok());
  CHECK(index == before + 1);  // max(current, snapshot) + 1
  CHECK(s.Index() == index);
  CHECK(commits.load() == 1);

  std::vector<Entry> now = All(s);
  REQUIRE(now.size() == saved.size());
  for (size_t i = 0; i < now.size(); ++i) {
    CAPTURE(now[i].key);
    CHECK(now[i].key == saved[i].key);
    CHECK(now[i].value == saved[i].value);
    CHECK(now[i].flags == saved[i].flags);
    CHECK(now[i].session == saved[i].session);
    CHECK(now[i].lock_index == saved[i].lock_index);
    CHECK(now[i].modify_index == index);  // all were at or below the old index: moved to R
  }
  CHECK_FALSE(Has(s, "new/key"));
  CHECK(s.KeyIndex("app/a") > key_before);
  CHECK(s.PrefixIndex("new/") > new_prefix_before);  // the dropped key left a tombstone
  CHECK(s.KvIndex() >= before);
  std::vector<beacon::kv::Session> sessions;
  s.Sessions(&sessions);
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].id == sid);

  // The restored lock holder is live: destroying it releases the lock.
  auto d = SessionCall([&](auto cb) { s.DestroySession(sid, cb); });
  CHECK(d.found);
  CHECK(MustGet(s, "app/lock").session.empty());
  // And writes go on above the restore's index.
  auto w = Set(s, "after", "x");
  REQUIRE(w.ok);
  CHECK(w.index > index);
  if constexpr (F::kDurable) {
    fx.Reopen();
    CHECK(MustGet(*fx.s, "app/a").value == "one");
    CHECK_FALSE(Has(*fx.s, "new/key"));
    CHECK(fx.s->Index() == w.index);
  }
}

TEST_CASE_TEMPLATE("snapshot: restore into an empty store keeps every index", F, RESTORE_STORES) {
  F src;
  REQUIRE(Set(*src.s, "a", "1").ok);
  std::string sid = NewSession(*src.s);
  REQUIRE(Do(*src.s, {MakeOp(Verb::kLock, "b", "2", 0, sid)}).ok);
  REQUIRE(Set(*src.s, "c", "3").ok);
  REQUIRE(Do(*src.s, {MakeOp(Verb::kDelete, "c")}).ok);
  const std::vector<Entry> saved = All(*src.s);
  const uint64_t prefix_c = src.s->PrefixIndex("c");
  uint64_t saved_index = 0;
  std::string file = Save(*src.s, &saved_index);

  F dst;
  auto [st, index] = Restore(*dst.s, file);
  REQUIRE(st.ok());
  CHECK(index == saved_index + 1);
  std::vector<Entry> now = All(*dst.s);
  REQUIRE(now.size() == saved.size());
  for (size_t i = 0; i < now.size(); ++i) {
    CHECK(now[i].key == saved[i].key);
    CHECK(now[i].create_index == saved[i].create_index);
    CHECK(now[i].modify_index == saved[i].modify_index);
  }
  CHECK(dst.s->PrefixIndex("c") == prefix_c);  // the tombstone came along
  std::vector<beacon::kv::Session> info;
  dst.s->SessionInfo(sid, &info);
  REQUIRE(info.size() == 1);
  CHECK(info[0].node == "n1");
}

TEST_CASE_TEMPLATE("snapshot: a corrupt or truncated file changes nothing", F, RESTORE_STORES) {
  F fx;
  Store& s = *fx.s;
  REQUIRE(Set(s, "keep", "me").ok);
  std::string file = Save(s);
  REQUIRE(Set(s, "later", "x").ok);
  const uint64_t before = s.Index();
  std::string corrupt = file;
  corrupt[60] ^= 0x40;
  for (const std::string& bad : {corrupt, file.substr(0, file.size() - 5), std::string("junk")}) {
    auto [st, index] = Restore(s, bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("invalid snapshot") != std::string::npos);
    CHECK(index == 0);
  }
  CHECK(s.Index() == before);
  CHECK(Has(s, "later"));
}

#ifdef BEACON_HAVE_ETCD
#define SAVE_STORES MemFx, LmdbFx, EtcdFx
#else
#define SAVE_STORES MemFx, LmdbFx
#endif
TEST_CASE_TEMPLATE("snapshot: save is a point-in-time copy while writes go on", F, SAVE_STORES) {
  F fx;
  Store& s = *fx.s;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) Set(s, "w/" + std::to_string(100000 + i), "v");
  });
  std::string file;
  for (int round = 0; round < 5; ++round) {
    file = Save(s);
    auto r = beacon::kv::ParseSnapshot(file);
    REQUIRE(r.ok());
    // Every key written at or below the snapshot's index is in it, nothing above.
    for (const Entry& e : r->entries) CHECK(e.modify_index <= r->header.index);
    CHECK(r->entries.size() + 1 == r->header.index);  // one key per index since the first (2)
  }
  stop = true;
  writer.join();
}

#ifdef BEACON_HAVE_ETCD
// Two agents' stores on one etcd prefix: a restore through A of more keys than one etcd txn
// takes, while B writes and reads. B's readers see the old state or the restored one, never a
// mix; B's writes after the restore land in the new generation above its index; an updated
// restored key keeps its CreateIndex; the store reopens onto the restored generation.
TEST_CASE("snapshot: an etcd restore is atomic for another agent writing and reading") {
  EtcdFx src;
  constexpr int kKeys = 1000;  // ~16 staging txns of 64 ops
  for (int i = 0; i < kKeys; i += 100) {
    std::vector<Op> ops;
    for (int j = i; j < i + 100; ++j) ops.push_back(MakeOp(Verb::kSet, "r/" + std::to_string(j)));
    REQUIRE(Do(*src.s, ops).ok);
  }
  const std::string sid = NewSession(*src.s);
  REQUIRE(Do(*src.s, {MakeOp(Verb::kLock, "r/lock", "held", 0, sid)}).ok);
  uint64_t saved_index = 0;
  const std::string file = Save(*src.s, &saved_index);
  const Entry saved0 = MustGet(*src.s, "r/0");

  EtcdFx a;
  EtcdFx b(a.eo.endpoints);
  b.eo.prefix = a.eo.prefix;
  b.Reopen();
  REQUIRE(Set(*a.s, "old/key", "x").ok);
  std::atomic<bool> stop{false}, mixed{false};
  std::atomic<int> acked_after{0};
  std::atomic<bool> restored{false};
  std::thread reader([&] {
    std::vector<Entry> out;
    while (!stop.load()) {
      b.s->List("r/", &out);
      if (!out.empty() && out.size() != kKeys + 1) mixed = true;
    }
  });
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const bool after = restored.load();
      if (Set(*b.s, "b/" + std::to_string(i), "v").ok && after) acked_after++;
    }
  });
  auto [st, index] = Restore(*a.s, file);
  restored = true;
  REQUIRE(st.ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acked_after.load() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  reader.join();
  writer.join();
  CHECK_FALSE(mixed.load());
  CHECK(index > saved_index);
  for (Store* s : {a.s.get(), b.s.get()}) {
    std::vector<Entry> now;
    s->List("r/", &now);
    REQUIRE(now.size() == kKeys + 1);
    // Kept when above the index B's writes had reached at the flip, else the restore's.
    const uint64_t m = MustGet(*s, "r/0").modify_index;
    CHECK((m == saved0.modify_index || m == index));
    CHECK(MustGet(*s, "r/lock").session == sid);
    CHECK_FALSE(Has(*s, "old/key"));
    CHECK(s->PrefixIndex("old/") >= index);  // the dropped key's tombstone
  }
  // B's writes acknowledged after the restore are there, above its index.
  std::vector<Entry> bs;
  b.s->List("b/", &bs);
  CHECK(bs.size() >= 20);
  for (const Entry& e : bs) CHECK(e.modify_index > index);
  // An update keeps the restored CreateIndex; a CAS on the restored index works.
  const Entry restored0 = MustGet(*b.s, "r/0");
  auto w = Do(*b.s, {MakeOp(Verb::kCas, "r/0", "new", restored0.modify_index)});
  REQUIRE(w.ok);
  const Entry up = MustGet(*b.s, "r/0");
  CHECK(up.create_index == std::min(saved0.create_index, restored0.modify_index));
  CHECK(up.modify_index > index);
  // A reopened store (a resync from etcd) finds the same state and indexes.
  a.Reopen();
  const Entry again = MustGet(*a.s, "r/0");
  CHECK(again.create_index == up.create_index);
  CHECK(again.modify_index == up.modify_index);
  CHECK(MustGet(*a.s, "r/1").modify_index == MustGet(*b.s, "r/1").modify_index);
  CHECK(a.s->Index() == b.s->Index());
  // A second restore goes on above the first.
  auto [st2, index2] = Restore(*b.s, file);
  REQUIRE(st2.ok());
  CHECK(index2 > w.index);
  CHECK(MustGet(*b.s, "r/0").value == saved0.value);
}
#endif

// Store::SaveSnapshot / RestoreSnapshot on the in-memory and the LMDB store.
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

TEST_CASE_TEMPLATE("snapshot: restore brings back the saved state; indexes never go back", F, MemFx,
                   LmdbFx) {
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

TEST_CASE_TEMPLATE("snapshot: restore into an empty store keeps every index", F, MemFx, LmdbFx) {
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

TEST_CASE_TEMPLATE("snapshot: a corrupt or truncated file changes nothing", F, MemFx, LmdbFx) {
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
#define SAVE_STORES MemFx, LmdbFx, EtcdFx  // etcd saves (from its mirror); it cannot restore
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
TEST_CASE("snapshot: the etcd store refuses a restore and changes nothing") {
  EtcdFx fx;
  REQUIRE(Set(*fx.s, "k", "v").ok);
  uint64_t index = 0;
  const std::string file = Save(*fx.s, &index);
  CHECK(index == fx.s->Index());
  REQUIRE(Set(*fx.s, "k", "v2").ok);
  auto [st, idx] = Restore(*fx.s, file);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "snapshots are not supported by this KV backend");
  CHECK(MustGet(*fx.s, "k").value == "v2");
}
#endif

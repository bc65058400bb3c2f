// In-memory kv::Store for -dev mode: sorted maps under one SharedMutex (readers shared, writers
// exclusive for the few microseconds a unit takes). Writes complete on the calling thread.
#include <chrono>
#include <map>
#include <type_traits>

#include "beacon/core/thread_annotations.h"
#include "engine.h"
#include "snapshot_internal.h"

namespace beacon::kv {
namespace {

using internal::Backend;
using internal::Effects;
using internal::Engine;
using internal::Meta;

template <typename V>
using SortedMap = std::map<std::string, V, std::less<>>;

class MemTables final : public Backend {
 public:
  bool GetEntry(std::string_view key, Entry* out) override {
    auto it = entries.find(key);
    if (it == entries.end()) return false;
    *out = it->second;
    return true;
  }
  void ScanEntries(std::string_view prefix, const std::function<bool(const Entry&)>& fn) override {
    for (auto it = entries.lower_bound(prefix); it != entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix) || !fn(it->second)) break;
    }
  }
  void PutEntry(const Entry& e) override { entries[e.key] = e; }
  void DelEntry(std::string_view key) override {
    auto it = entries.find(key);
    if (it != entries.end()) entries.erase(it);
  }
  void PutTombstone(std::string_view key, uint64_t index) override {
    tombs[std::string(key)] = index;
  }
  void DelTombstone(std::string_view key) override {
    auto it = tombs.find(key);
    if (it != tombs.end()) tombs.erase(it);
  }
  bool GetSession(std::string_view id, Session* out) override {
    auto it = sessions.find(id);
    if (it == sessions.end()) return false;
    *out = it->second;
    return true;
  }
  void ScanSessions(const std::function<void(const Session&)>& fn) override {
    for (const auto& [id, s] : sessions) fn(s);
  }
  void PutSession(const Session& s) override { sessions[s.id] = s; }
  void DelSession(std::string_view id) override {
    auto it = sessions.find(id);
    if (it != sessions.end()) sessions.erase(it);
  }
  void PutMeta(const Meta& m) override { meta = m; }

  // Max ModifyIndex / tombstone index under prefix (0 when nothing).
  uint64_t SubIndex(std::string_view prefix) const {
    uint64_t idx = 0;
    for (auto it = entries.lower_bound(prefix); it != entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      idx = std::max(idx, it->second.modify_index);
    }
    for (auto it = tombs.lower_bound(prefix); it != tombs.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      idx = std::max(idx, it->second);
    }
    return idx;
  }

  SortedMap<Entry> entries;
  SortedMap<uint64_t> tombs;
  SortedMap<Session> sessions;
  Meta meta;
};

class MemStore final : public Store {
 public:
  explicit MemStore(StoreOptions opts) : wall_ms_(opts.wall_ms), engine_(std::move(opts)) {
    t_.meta = internal::kInitialMeta;
    engine_.Load(t_, t_.meta);
  }

  bool Get(std::string_view key, Entry* out, uint64_t* index) const override {
    ReaderLock lock(&mu_);
    auto it = t_.entries.find(key);
    bool found = it != t_.entries.end();
    if (found) *out = it->second;
    if (index) *index = found ? it->second.modify_index : internal::AtLeastOne(t_.meta.kv_index);
    return found;
  }
  uint64_t List(std::string_view prefix, std::vector<Entry>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    for (auto it = t_.entries.lower_bound(prefix); it != t_.entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      out->push_back(it->second);
    }
    return internal::ListIndex(prefix, t_.SubIndex(prefix), t_.meta.kv_index);
  }
  uint64_t Keys(std::string_view prefix, std::string_view separator,
                std::vector<std::string>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    for (auto it = t_.entries.lower_bound(prefix); it != t_.entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      internal::AppendKeyName(it->first, prefix, separator, out);
    }
    return internal::ListIndex(prefix, t_.SubIndex(prefix), t_.meta.kv_index);
  }
  uint64_t KeyIndex(std::string_view key) const override {
    ReaderLock lock(&mu_);
    auto it = t_.entries.find(key);
    return it != t_.entries.end() ? it->second.modify_index
                                  : internal::AtLeastOne(t_.meta.kv_index);
  }
  uint64_t PrefixIndex(std::string_view prefix) const override {
    ReaderLock lock(&mu_);
    return internal::ListIndex(prefix, t_.SubIndex(prefix), t_.meta.kv_index);
  }
  uint64_t Index() const override {
    ReaderLock lock(&mu_);
    return internal::AtLeastOne(t_.meta.index);
  }
  uint64_t KvIndex() const override {
    ReaderLock lock(&mu_);
    return internal::AtLeastOne(t_.meta.kv_index);
  }
  uint64_t SessionsIndex() const override {
    ReaderLock lock(&mu_);
    return internal::AtLeastOne(t_.meta.sessions_index);
  }
  uint64_t SessionInfo(std::string_view id, std::vector<Session>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    auto it = t_.sessions.find(id);
    if (it != t_.sessions.end()) out->push_back(it->second);
    return internal::AtLeastOne(t_.meta.sessions_index);
  }
  uint64_t Sessions(std::vector<Session>* out) const override {
    return NodeSessionsImpl(nullptr, out);
  }
  uint64_t NodeSessions(std::string_view node, std::vector<Session>* out) const override {
    return NodeSessionsImpl(&node, out);
  }

  void Apply(std::vector<Op> ops, WriteCallback done) override {
    done(Write([&](Engine& e, MemTables& t, Effects* fx) {
      CountOps(ops);
      return e.Apply(t, ops, fx);
    }));
  }
  void CreateSession(Session s, SessionCallback done) override {
    done(Write([&](Engine& e, MemTables& t, Effects* fx) {
      return e.CreateSession(t, std::move(s), fx);
    }));
  }
  void DestroySession(std::string id, SessionCallback done) override {
    done(Write([&](Engine& e, MemTables& t, Effects* fx) { return e.DestroySession(t, id, fx); }));
  }
  void RenewSession(std::string id, SessionCallback done) override {
    done(Write([&](Engine& e, MemTables& t, Effects* fx) { return e.RenewSession(t, id, fx); }));
  }
  void ExpireSessions(uint64_t now_ms, std::function<void(size_t)> done) override {
    size_t n = Write(
        [&](Engine& e, MemTables& t, Effects* fx) { return e.ExpireSessions(t, now_ms, fx); });
    if (done) done(n);
  }
  void InvalidateSessions(std::function<bool(const Session&)> dead,
                          std::function<void(size_t)> done) override {
    size_t n = Write(
        [&](Engine& e, MemTables& t, Effects* fx) { return e.InvalidateSessions(t, dead, fx); });
    if (done) done(n);
  }
  void SetOnCommit(std::function<void(bool kv, bool sessions)> fn) override {
    WriterLock lock(&mu_);
    on_commit_ = std::move(fn);
  }

  // The tables are copied under the read lock (writers wait only for the copy), then encoded.
  Status SaveSnapshot(const SnapshotSink& sink, uint64_t* index) const override {
    SortedMap<Entry> entries;
    SortedMap<uint64_t> tombs;
    SortedMap<Session> sessions;
    Meta meta;
    {
      ReaderLock lock(&mu_);
      entries = t_.entries;
      tombs = t_.tombs;
      sessions = t_.sessions;
      meta = t_.meta;
    }
    internal::SnapshotSource src;
    src.meta = meta;
    src.entries = [&](const auto& fn) {
      for (const auto& [k, e] : entries) fn(e);
    };
    src.tombstones = [&](const auto& fn) {
      for (const auto& [k, i] : tombs) fn(Tombstone{k, i});
    };
    src.sessions = [&](const auto& fn) {
      for (const auto& [id, s] : sessions) fn(s);
    };
    if (index) *index = internal::AtLeastOne(meta.index);
    return internal::WriteSnapshot(src, internal::WallMs(wall_ms_), sink);
  }

  void RestoreSnapshot(std::string file, RestoreCallback done) override {
    Result<SnapshotData> snap = ParseSnapshot(file);
    if (!snap.ok()) {
      done(snap.status(), 0);
      return;
    }
    uint64_t index = Write([&](Engine& e, MemTables& t, Effects* fx) {
      std::vector<std::string> tombs;
      for (const auto& [k, i] : t.tombs) tombs.push_back(k);
      Meta m = internal::RestoreTables(t, *snap, t.meta, tombs);
      e.Load(t, m);
      fx->meta = m;
      fx->kv = fx->sessions = true;
      return m.index;
    });
    done(Status::Ok(), index);
  }

 private:
  // Runs unit(engine, tables, effects) under the writer lock, then the commit callback outside.
  template <typename F>
  std::invoke_result_t<F&, Engine&, MemTables&, Effects*> Write(F&& unit) {
    Effects fx;
    std::function<void(bool, bool)> notify;
    WriterLock lock(&mu_);
    const auto t0 = std::chrono::steady_clock::now();
    auto result = unit(engine_, t_, &fx);
    engine_.Finish(fx);
    stats_.commit.Observe(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count()));
    notify = on_commit_;
    lock.Unlock();
    if ((fx.kv || fx.sessions) && notify) notify(fx.kv, fx.sessions);
    return result;
  }

  uint64_t NodeSessionsImpl(const std::string_view* node, std::vector<Session>* out) const {
    out->clear();
    ReaderLock lock(&mu_);
    for (const auto& [id, s] : t_.sessions) {
      if (!node || s.node == *node) out->push_back(s);
    }
    return internal::AtLeastOne(t_.meta.sessions_index);
  }

  std::function<uint64_t()> wall_ms_;
  mutable SharedMutex mu_;
  MemTables t_ GUARDED_BY(mu_);
  Engine engine_ GUARDED_BY(mu_);  // used only under the writer lock
  std::function<void(bool, bool)> on_commit_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Store> NewMemStore(StoreOptions opts) {
  return std::make_unique<MemStore>(std::move(opts));
}

}  // namespace beacon::kv

// Internal: EtcdStore, kv::Store on etcd (contract and key layout: include/beacon/kv/etcd.h).
//
// Threads: readers use the mirror under mu_ (shared). The watch thread owns one watch stream on
// the prefix and applies its events to the mirror (exclusive mu_), then runs OnCommit and
// advances applied_. kWriters writer threads take units from one queue: each runs the engine
// (engine_mu_, microseconds) against the mirror (shared mu_) with an EtcdRecorder collecting the
// writes and the reads, then sends ONE etcd txn whose compares say that what the unit read is
// unchanged (etcd_mirror.h), so units on disjoint keys commit concurrently and conflicting ones
// serialize exactly: a lost race re-runs the unit on the newer state. Each txn also writes a
// fresh request id into its writer's slot key and reads it back in its failure branch, so a
// retry after an ambiguous failure (the first attempt committed but its answer was lost in a
// leader change) recognises its own commit. A writer acknowledges once the watch has applied
// the txn's revision (read-your-writes; OnCommit has run by then).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <random>
#include <thread>
#include <unordered_set>

#include "beacon/core/thread_annotations.h"
#include "beacon/kv/etcd.h"
#include "beacon/kv/snapshot.h"
#include "engine.h"
#include "etcd_conn.h"
#include "etcd_group.h"
#include "etcd_mirror.h"

namespace beacon::kv::internal {

constexpr int kMaxAttempts = 100;
// Units in flight at once (each writer thread has its own connection); units on disjoint keys
// commit concurrently, so etcd can batch their fsyncs.
constexpr int kWriters = 8;

// One writer thread's own state.
struct EtcdWriter {
  EtcdConn conn;
  std::mt19937_64 rng;
  std::string slot;  // <prefix>~w/<store id>/<n>: request id of this writer's last txn
};

// What the writer learned about a unit's commit.
struct Commit {
  Status status;
  uint64_t predicted = 0;  // the index the engine assigned (its meta.index + 1)
  uint64_t rev = 0;        // the etcd revision it got (0: nothing written)
  uint64_t Fix(uint64_t i) const { return rev != 0 && i == predicted ? rev : i; }
};

class EtcdStore final : public Store {
 public:
  EtcdStore(const EtcdOptions& eo, const Logger& log, const StoreOptions& so);
  // Finishes every queued write, then stops the watch.
  ~EtcdStore() override;
  // Reads the whole prefix (dial_timeout) and starts the writer and watch threads.
  Status Start();

  // ---- reads ----
  bool Get(std::string_view key, Entry* out, uint64_t* index) const override {
    ReaderLock lock(&mu_);
    auto it = m_.entries.find(key);
    bool found = it != m_.entries.end();
    if (found) *out = it->second;
    if (index) *index = found ? it->second.modify_index : m_.meta().kv_index;
    return found;
  }
  uint64_t List(std::string_view prefix, std::vector<Entry>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    for (auto it = m_.entries.lower_bound(prefix); it != m_.entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      out->push_back(it->second);
    }
    return internal::ListIndex(prefix, m_.SubIndex(prefix), m_.kv_index);
  }
  uint64_t Keys(std::string_view prefix, std::string_view separator,
                std::vector<std::string>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    for (auto it = m_.entries.lower_bound(prefix); it != m_.entries.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      internal::AppendKeyName(it->first, prefix, separator, out);
    }
    return internal::ListIndex(prefix, m_.SubIndex(prefix), m_.kv_index);
  }
  uint64_t KeyIndex(std::string_view key) const override {
    ReaderLock lock(&mu_);
    auto it = m_.entries.find(key);
    return it != m_.entries.end() ? it->second.modify_index : m_.meta().kv_index;
  }
  uint64_t PrefixIndex(std::string_view prefix) const override {
    ReaderLock lock(&mu_);
    return internal::ListIndex(prefix, m_.SubIndex(prefix), m_.kv_index);
  }
  uint64_t Index() const override {
    ReaderLock lock(&mu_);
    return m_.meta().index;
  }
  uint64_t KvIndex() const override {
    ReaderLock lock(&mu_);
    return m_.meta().kv_index;
  }
  uint64_t SessionsIndex() const override {
    ReaderLock lock(&mu_);
    return m_.meta().sessions_index;
  }
  uint64_t SessionInfo(std::string_view id, std::vector<Session>* out) const override {
    out->clear();
    ReaderLock lock(&mu_);
    auto it = m_.sessions.find(id);
    if (it != m_.sessions.end()) out->push_back(it->second);
    return m_.meta().sessions_index;
  }
  uint64_t Sessions(std::vector<Session>* out) const override { return NodeImpl(nullptr, out); }
  uint64_t NodeSessions(std::string_view node, std::vector<Session>* out) const override {
    return NodeImpl(&node, out);
  }

  Status Ready() const override;

  // ---- writes (queued to the writer threads; etcd_store.cpp) ----
  void Apply(std::vector<Op> ops, WriteCallback done) override;
  void CreateSession(Session s, SessionCallback done) override;
  void DestroySession(std::string id, SessionCallback done) override;
  void RenewSession(std::string id, SessionCallback done) override;
  void ExpireSessions(uint64_t now_ms, std::function<void(size_t)> done) override;
  void InvalidateSessions(std::function<bool(const Session&)> dead,
                          std::function<void(size_t)> done) override;
  void SetOnCommit(std::function<void(bool kv, bool sessions)> fn) override;
  // Snapshots (etcd_snapshot.cpp): save copies the mirror once it holds every Beacon change up
  // to etcd's latest (one revision); restore writes a new generation and flips the pointer in
  // one txn (etcd_generation.h).
  Status SaveSnapshot(const SnapshotSink& sink, uint64_t* index) const override;
  void RestoreSnapshot(std::string file, RestoreCallback done) override;

 private:
  static SessionResult FixSession(SessionResult r, const Commit& c);
  // Runs `pass` (ExpireSessions / InvalidateSessions with a limit) in bounded groups, one txn
  // each (etcd_store.cpp); returns how many sessions it invalidated.
  size_t InvalidateInGroups(
      EtcdWriter& w, const char* what,
      const std::function<size_t(Engine&, EtcdRecorder&, Effects*, size_t)>& pass,
      const std::function<bool(const Session&)>& eligible);
  // A TTL session whose lease etcd expired (watch thread): destroyed on a writer; a failure is
  // logged and retried by the next ExpireSessions pass (RetryLapsed).
  void DestroyLapsed(const std::string& id);
  void RetryLapsed(EtcdWriter& w);
  // Store metrics (store.h): Apply's ops by verb, and the time from the unit's start to its ack.
  void Record(const std::vector<Op>* ops, std::chrono::steady_clock::time_point t0);
  uint64_t NodeImpl(const std::string_view* node, std::vector<Session>* out) const {
    out->clear();
    ReaderLock lock(&mu_);
    for (const auto& [id, s] : m_.sessions) {
      if (!node || s.node == *node) out->push_back(s);
    }
    return m_.meta().sessions_index;
  }

  int64_t LeaseOf(const std::string& id) const NO_THREAD_SAFETY_ANALYSIS {  // under mu_ (shared)
    auto it = m_.leases.find(id);
    return it == m_.leases.end() ? 0 : it->second;
  }

  // Writer side: etcd_store.cpp; watch side: etcd_watch.cpp.
  template <typename R, typename Body>
  R RunUnit(EtcdWriter& w, Body&& body, const std::function<bool(const Session&)>& filter,
            Commit* c, bool validate = true);
  void SyncEngine(EtcdRecorder& view) REQUIRES(engine_mu_) REQUIRES_SHARED(mu_);
  bool WaitApplied(int64_t rev) const;
  // Sets applied_ (never lowers it) and wakes the waiters it satisfies; all of them if stopping.
  void SetApplied(int64_t rev);
  // Restore steps (etcd_snapshot.cpp), on a writer thread.
  // On success, *cleanup removes the replaced generation (run it after answering).
  Status Restore(EtcdConn& conn, const SnapshotData& snap, uint64_t* index,
                 std::function<void()>* cleanup);
  Status Stage(EtcdConn& conn, const std::vector<TxnWrite>& ops);
  void DeleteChunked(EtcdConn& conn, const std::string& prefix);
  void KeepAlive(EtcdWriter& w, int64_t lease);
  void Enqueue(std::function<void(EtcdWriter&)> unit);
  void WriterLoop(int n);
  static void JsonDelete(EtcdConn& c, const std::string& prefix);
  void WatchLoop();
  // The current generation's keys at one revision (etcd_snapshot.cpp).
  Status RangeGeneration(EtcdConn& conn, int64_t timeout_ms, std::vector<EtcdKv>* kvs,
                         int64_t* rev);
  // Rebuilds the mirror from a range read of the current generation (start, after compaction,
  // after a restore's flip).
  Status Resync(EtcdConn& conn, int64_t timeout_ms);
  void ApplyEvents(const std::vector<EtcdKv>& events);
  // The watch's events (etcd_snapshot.cpp): also follows restores' staging, and at a flip swaps
  // the mirror to the staged generation in memory. False: a flip to a generation whose staging
  // this watch did not see whole; the caller reloads with a range read.
  bool ApplyWatched(const std::vector<EtcdKv>& events);
  // After a mirror change: OnCommit, lapsed leases -> DestroySession, then applied_ = rev.
  void Publish(const MirrorChanges& ch, const std::function<void(bool, bool)>& notify, int64_t rev);

  const EtcdOptions eo_;
  const Logger& log_;
  mutable SharedMutex mu_;
  EtcdMirror m_ GUARDED_BY(mu_);
  std::function<void(bool, bool)> on_commit_ GUARDED_BY(mu_);
  // The mirror holds a full read of etcd (false only while a store opened with no member
  // answering waits for one; see EtcdOptions::start_unreachable); why not, until then.
  std::atomic<bool> loaded_{false};
  std::string load_error_ GUARDED_BY(mu_);

  Mutex pend_mu_ ACQUIRED_AFTER(mu_);
  std::vector<Effects::LockMove> pending_ GUARDED_BY(pend_mu_);  // holder moves for the engine
  // Lock-delays (key -> ms) of invalidations the watch saw, started by the next unit.
  std::vector<std::pair<std::string, uint64_t>> pending_delays_ GUARDED_BY(pend_mu_);
  bool reload_ GUARDED_BY(pend_mu_) = false;

  // Threads waiting for the watch to apply a revision, each on its own condition variable, so
  // that an applied revision wakes only the writers it acknowledges (one shared notify_all woke
  // every waiting writer for every commit: kWriters context switches per PUT under load).
  mutable Mutex applied_mu_;
  int64_t applied_ GUARDED_BY(applied_mu_) = 0;
  mutable std::multimap<int64_t, std::condition_variable*> waiters_ GUARDED_BY(applied_mu_);

  EtcdGroup group_;  // group commit of the writers' units
  Mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<std::function<void(EtcdWriter&)>> queue_ GUARDED_BY(q_mu_);
  bool closing_ GUARDED_BY(q_mu_) = false;

  // The engine runs one unit at a time (microseconds); the etcd round trips run outside.
  Mutex engine_mu_ ACQUIRED_BEFORE(mu_);
  Engine engine_ GUARDED_BY(engine_mu_);
  // Sessions created or renewed here: their TTL is expired here.
  std::unordered_set<std::string> local_ GUARDED_BY(engine_mu_);
  // Lapsed sessions whose invalidation failed (retried each ExpireSessions pass), and the
  // sessions etcd refused to invalidate already reported in the log (one line each).
  std::set<std::string, std::less<>> lapsed_ GUARDED_BY(engine_mu_);
  std::set<std::string, std::less<>> reported_ GUARDED_BY(engine_mu_);
  std::string id_;                     // this store's id (writer slot keys)
  std::function<uint64_t()> wall_ms_;  // StoreOptions::wall_ms (snapshot times)
  std::function<uint64_t()> now_ms_;   // the engine's clock (StoreOptions::now_ms)

  EtcdConn watch_conn_;  // watch thread only
  // Watch thread only: the keys of each generation being staged whose start (<gen>m/begin) this
  // watch saw; cleared by every resync.
  std::map<std::string, EtcdSortedMap<EtcdKv>> staging_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> writers_;
  std::thread watcher_;
};

}  // namespace beacon::kv::internal

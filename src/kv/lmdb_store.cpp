// Durable kv::Store on LMDB, in <data-dir>/kv/.
//
// Why LMDB (not SQLite): the store is a sorted map with prefix scans, which is exactly LMDB's
// single-file copy-on-write B+tree. Its MVCC readers never block on (or get blocked by) the
// writer and read values in place from the memory map (zero-copy until we copy into an Entry),
// so HTTP reads need no lock of ours and no SQL layer. Its durable commit costs two fsyncs (data,
// then the meta page), so LMDB runs unsynced behind a redo log that costs one (below); open
// restores the last checkpoint and replays the log, and a kill -9 or power loss leaves every
// acknowledged write. It is small, in Debian (liblmdb-dev), and used by OpenLDAP, Knot DNS and
// PowerDNS for the same reasons.
//
// Writes: every write is a job on one writer thread. The thread takes every queued job, runs
// each in its own nested transaction (an LMDB error undoes only that job), commits the group
// once, and only then runs the callbacks: group commit, so N concurrent clients cost one sync,
// not N. Durability comes from the redo log (wal.h): the group's changes are appended to
// <dir>/wal.<0|1>.log and fdatasync'd (one fsync) before the LMDB commit (MDB_NOSYNC) and before
// any callback; a checkpoint (data.mdb synced by a background thread, then the log rotated)
// starts every ~1 s of writes or 64 MiB of log.
// With WalOptions::enabled = false, LMDB runs in its durable sync mode instead (two fsyncs).
// Reads: a read-only txn per call on the calling thread (MDB_NOTLS: any thread).
#include <lmdb.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"
#include "engine.h"
#include "lmdb_tables.h"
#include "snapshot_internal.h"
#include "wal_writer.h"

namespace beacon::kv {
namespace {

using internal::Backend;
using internal::Dbis;
using internal::Effects;
using internal::Engine;
using internal::Meta;
using internal::Tables;
using internal::WalOptions;
using internal::WalWriter;

constexpr uint64_t kDefaultMapBytes = 16ULL << 30;

Status LmdbError(const std::string& what, int rc) {
  return Status::Error("kv store: " + what + ": " + mdb_strerror(rc));
}

// One unit of work for the writer: run() inside the group txn, finish() after the commit.
struct Job {
  std::function<void(Backend&, Effects*)> run;
  std::function<void(const Status&)> finish;
};

class ReadTxn {
 public:
  ReadTxn(MDB_env* env, const Dbis& d) {
    rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_);
    if (rc_ != 0) txn_ = nullptr;
    t_.emplace(txn_, d, rc_);
  }
  ~ReadTxn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  bool ok() const { return rc_ == 0; }
  Tables& t() { return *t_; }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
  std::optional<Tables> t_;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(MDB_env* env, Dbis d, const Logger& log, StoreOptions opts, WalOptions wal)
      : env_(env), d_(d), log_(log), wall_ms_(opts.wall_ms), engine_(std::move(opts)) {
    if (wal.enabled) {
      wal_ = std::make_unique<WalWriter>(env, log, std::move(wal), [this] {
        MutexLock lock(&mu_);
        cv_.notify_all();
      });
    }
  }

  ~LmdbStore() override {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    wal_.reset();  // releases its pins
    mdb_env_close(env_);
  }

  Status Start(const std::string& dir, const internal::WalContents& recovered) {
    if (wal_) {
      Status st = wal_->Start(dir, recovered);  // replayed groups are in LMDB: checkpoint
      if (!st.ok()) return st;
    }
    ReadTxn r(env_, d_);
    if (!r.ok()) return LmdbError("cannot read " + dir, r.t().rc());
    Meta m = r.t().GetMeta();
    engine_.Load(r.t(), m);
    if (r.t().failed()) return LmdbError("cannot load " + dir, r.t().rc());
    writer_ = std::thread([this] {
      core::SetThreadName("beacon-kv");
      WriterLoop();
    });
    return Status::Ok();
  }

  // ---- reads ----
  bool Get(std::string_view key, Entry* out, uint64_t* index) const override {
    ReadTxn r(env_, d_);
    bool found = r.ok() && r.t().GetEntry(key, out);
    if (index) *index = found ? out->modify_index : KvIndexIn(r);
    Report(r);
    return found;
  }
  uint64_t List(std::string_view prefix, std::vector<Entry>* out) const override {
    out->clear();
    ReadTxn r(env_, d_);
    r.t().ScanEntries(prefix, [&](const Entry& e) {
      out->push_back(e);
      return true;
    });
    return PrefixIndexIn(r, prefix);
  }
  uint64_t Keys(std::string_view prefix, std::string_view separator,
                std::vector<std::string>* out) const override {
    out->clear();
    ReadTxn r(env_, d_);
    r.t().ScanKeys(prefix, [&](std::string_view key) {
      internal::AppendKeyName(key, prefix, separator, out);
      return true;
    });
    return PrefixIndexIn(r, prefix);
  }
  uint64_t KeyIndex(std::string_view key) const override {
    ReadTxn r(env_, d_);
    uint64_t modify = 0;
    if (r.ok() && r.t().GetModifyIndex(key, &modify)) return modify;
    return KvIndexIn(r);
  }
  uint64_t PrefixIndex(std::string_view prefix) const override {
    ReadTxn r(env_, d_);
    return PrefixIndexIn(r, prefix);
  }
  uint64_t Index() const override {
    ReadTxn r(env_, d_);
    uint64_t i = r.t().GetMeta().index;
    Report(r);
    return internal::AtLeastOne(i);
  }
  uint64_t KvIndex() const override {
    ReadTxn r(env_, d_);
    return KvIndexIn(r);
  }
  uint64_t SessionsIndex() const override {
    ReadTxn r(env_, d_);
    return SessionsIndexIn(r);
  }
  uint64_t SessionInfo(std::string_view id, std::vector<Session>* out) const override {
    out->clear();
    ReadTxn r(env_, d_);
    Session s;
    if (r.t().GetSession(id, &s)) out->push_back(std::move(s));
    return SessionsIndexIn(r);
  }
  uint64_t Sessions(std::vector<Session>* out) const override {
    out->clear();
    ReadTxn r(env_, d_);
    r.t().ScanSessions([&](const Session& s) { out->push_back(s); });
    return SessionsIndexIn(r);
  }
  uint64_t NodeSessions(std::string_view node, std::vector<Session>* out) const override {
    out->clear();
    ReadTxn r(env_, d_);
    r.t().ScanSessions([&](const Session& s) {
      if (s.node == node) out->push_back(s);
    });
    return SessionsIndexIn(r);
  }

  // ---- writes ----
  void Apply(std::vector<Op> ops, WriteCallback done) override {
    struct State {
      std::vector<Op> ops;
      WriteCallback done;
      WriteResult r;
    };
    auto st = std::make_shared<State>(State{std::move(ops), std::move(done), {}});
    Enqueue(Job{[this, st](Backend& b, Effects* fx) {
                  CountOps(st->ops);
                  st->r = engine_.Apply(b, st->ops, fx);
                },
                [st](const Status& s) {
                  if (!s.ok()) {
                    st->r = WriteResult{};
                    st->r.status = s;
                  }
                  st->done(std::move(st->r));
                }});
  }
  void CreateSession(Session s, SessionCallback done) override {
    SessionJob(std::move(done), [this, s = std::move(s)](Backend& b, Effects* fx) mutable {
      return engine_.CreateSession(b, std::move(s), fx);
    });
  }
  void DestroySession(std::string id, SessionCallback done) override {
    SessionJob(std::move(done), [this, id = std::move(id)](Backend& b, Effects* fx) {
      return engine_.DestroySession(b, id, fx);
    });
  }
  void RenewSession(std::string id, SessionCallback done) override {
    SessionJob(std::move(done), [this, id = std::move(id)](Backend& b, Effects* fx) {
      return engine_.RenewSession(b, id, fx);
    });
  }
  void ExpireSessions(uint64_t now_ms, std::function<void(size_t)> done) override {
    CountJob(std::move(done), [this, now_ms](Backend& b, Effects* fx) {
      return engine_.ExpireSessions(b, now_ms, fx);
    });
  }
  void InvalidateSessions(std::function<bool(const Session&)> dead,
                          std::function<void(size_t)> done) override {
    CountJob(std::move(done), [this, dead = std::move(dead)](Backend& b, Effects* fx) {
      return engine_.InvalidateSessions(b, dead, fx);
    });
  }
  void SetOnCommit(std::function<void(bool kv, bool sessions)> fn) override {
    MutexLock lock(&mu_);
    on_commit_ = std::move(fn);
  }

  // ---- snapshots: one read txn is the point-in-time view; writers go on meanwhile ----
  Status SaveSnapshot(const SnapshotSink& sink, uint64_t* index) const override {
    ReadTxn r(env_, d_);
    if (!r.ok()) return LmdbError("cannot read for a snapshot", r.t().rc());
    Tables& t = r.t();
    internal::SnapshotSource src;
    src.meta = t.GetMeta();
    src.entries = [&](const auto& fn) {
      t.ScanEntries("", [&](const Entry& e) {
        fn(e);
        return true;
      });
    };
    src.tombstones = [&](const auto& fn) {
      t.ScanTombstones("", [&](std::string_view k, uint64_t i) {
        fn(Tombstone{std::string(k), i});
        return true;
      });
    };
    src.sessions = [&](const auto& fn) { t.ScanSessions(fn); };
    if (index) *index = internal::AtLeastOne(src.meta.index);
    Status st = internal::WriteSnapshot(src, internal::WallMs(wall_ms_), sink);
    if (t.failed()) return LmdbError("snapshot read failed", t.rc());
    return st;
  }

  void RestoreSnapshot(std::string file, RestoreCallback done) override {
    auto snap = std::make_shared<Result<SnapshotData>>(ParseSnapshot(file));
    if (!snap->ok()) {
      done(snap->status(), 0);
      return;
    }
    auto index = std::make_shared<uint64_t>(0);
    Enqueue(Job{[this, snap, index](Backend& b, Effects* fx) {
                  auto& t = static_cast<Tables&>(b);
                  std::vector<std::string> tombs;
                  t.ScanTombstones("", [&](std::string_view k, uint64_t) {
                    tombs.emplace_back(k);
                    return true;
                  });
                  Meta m = internal::RestoreTables(t, snap->value(), t.GetMeta(), tombs);
                  if (t.failed()) return;  // the job is undone; the engine keeps its state
                  engine_.Load(t, m);
                  fx->meta = m;
                  fx->kv = fx->sessions = true;
                  *index = m.index;
                },
                [this, index, done = std::move(done)](const Status& s) {
                  if (!s.ok()) Reload();  // the engine may have followed an undone restore
                  done(s, s.ok() ? *index : 0);
                }});
  }

 private:
  void SessionJob(SessionCallback done, std::function<SessionResult(Backend&, Effects*)> fn) {
    auto r = std::make_shared<SessionResult>();
    Enqueue(Job{[r, fn = std::move(fn)](Backend& b, Effects* fx) { *r = fn(b, fx); },
                [r, done = std::move(done)](const Status& s) {
                  if (!s.ok()) {
                    *r = SessionResult{};
                    r->status = s;
                  }
                  done(std::move(*r));
                }});
  }
  void CountJob(std::function<void(size_t)> done, std::function<size_t(Backend&, Effects*)> fn) {
    auto n = std::make_shared<size_t>(0);
    Enqueue(Job{[n, fn = std::move(fn)](Backend& b, Effects* fx) { *n = fn(b, fx); },
                [n, done = std::move(done)](const Status& s) {
                  if (done) done(s.ok() ? *n : 0);
                }});
  }

  void Enqueue(Job job) {
    {
      MutexLock lock(&mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  void WriterLoop() {
    std::deque<Job> batch;
    for (;;) {
      std::function<void(bool, bool)> notify;
      {
        UniqueLock lock(&mu_);
        auto ready = [&]() REQUIRES(mu_) {
          return stop_ || !queue_.empty() || (wal_ && wal_->SyncDone());
        };
        WalWriter::Clock::time_point due;
        if (wal_ && wal_->Deadline(&due)) {
          if (!cv_.wait_until(lock.native(), due, ready)) {
            lock.Unlock();
            wal_->BeginCheckpoint();  // idle: the log's oldest group is due
            continue;
          }
        } else {
          cv_.wait(lock.native(), ready);
        }
        if (wal_ && wal_->SyncDone()) {
          lock.Unlock();
          wal_->FinishCheckpoint();
          continue;
        }
        if (queue_.empty()) break;  // stop_ and drained
        batch.swap(queue_);
        notify = on_commit_;
      }
      bool kv = false, sessions = false;
      std::vector<Status> status(batch.size());
      const auto t0 = std::chrono::steady_clock::now();
      Status group = CommitGroup(batch, &status, &kv, &sessions);
      stats_.commit.Observe(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count()));
      if (group.ok() && (kv || sessions) && notify) notify(kv, sessions);
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].finish(group.ok() ? status[i] : group);
      }
      batch.clear();
      if (wal_ && wal_->Due()) wal_->BeginCheckpoint();
    }
    if (wal_ && wal_->NeedsFinal()) wal_->CheckpointNow();
  }

  // Runs every job of the batch in one write txn (each in a nested txn) and commits once.
  Status CommitGroup(std::deque<Job>& batch, std::vector<Status>* status, bool* kv,
                     bool* sessions) {
    if (wal_ && !wal_->ok() && !wal_->CheckpointNow().ok()) {
      return Status::Error("kv store: the write-ahead log is unavailable");
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return LmdbError("cannot begin a write", rc);
    for (size_t i = 0; i < batch.size(); ++i) {
      MDB_txn* child = nullptr;
      rc = mdb_txn_begin(env_, txn, 0, &child);
      if (rc != 0) {
        (*status)[i] = LmdbError("cannot begin a write", rc);
        continue;
      }
      Tables t(child, d_);
      std::string child_ops;
      if (wal_) t.Record(&child_ops);
      Effects fx;
      batch[i].run(t, &fx);
      if (t.failed()) {
        mdb_txn_abort(child);
        (*status)[i] = WriteError(t.rc());
        continue;
      }
      rc = mdb_txn_commit(child);
      if (rc != 0) {
        (*status)[i] = WriteError(rc);
        continue;
      }
      ops_.append(child_ops);
      engine_.Finish(fx);
      *kv |= fx.kv;
      *sessions |= fx.sessions;
    }
    Status st = AppendGroup(txn);
    if (!st.ok()) {
      mdb_txn_abort(txn);
      BEACON_LOG(log_, kError, "kv", "%s", st.message().c_str());
      Reload();
      return st;
    }
    rc = mdb_txn_commit(txn);  // durable: the log is synced, or LMDB fsyncs (no log)
    if (rc == 0) return Status::Ok();
    BEACON_LOG(log_, kError, "kv", "commit failed: %s", mdb_strerror(rc));
    if (wal_) wal_->Undo();
    Reload();
    return WriteError(rc);
  }

  // Appends the group's changes (ops_) to the log and syncs it: then the group is durable.
  Status AppendGroup(MDB_txn* txn) {
    std::string ops;
    ops.swap(ops_);
    if (!wal_ || ops.empty()) return Status::Ok();
    Tables t(txn, d_);
    uint64_t index = t.GetMeta().index;
    return wal_->Append(index, ops);
  }

  void Reload() {
    ReadTxn r(env_, d_);  // the in-memory state followed the lost txn: reload it
    engine_.Load(r.t(), r.t().GetMeta());
  }

  Status WriteError(int rc) const {
    if (rc == MDB_MAP_FULL) {
      return Status::Error("kv store full: LMDB map size reached (" +
                           std::string(mdb_strerror(rc)) + ")");
    }
    return LmdbError("write failed", rc);
  }

  uint64_t KvIndexIn(ReadTxn& r) const {
    uint64_t i = r.t().GetMeta().kv_index;
    Report(r);
    return internal::AtLeastOne(i);
  }
  uint64_t SessionsIndexIn(ReadTxn& r) const {
    uint64_t i = r.t().GetMeta().sessions_index;
    Report(r);
    return internal::AtLeastOne(i);
  }
  uint64_t PrefixIndexIn(ReadTxn& r, std::string_view prefix) const {
    uint64_t sub = prefix.empty() ? 0 : r.t().SubIndex(prefix);
    uint64_t table = r.t().GetMeta().kv_index;
    Report(r);
    return internal::ListIndex(prefix, sub, table);
  }
  void Report(ReadTxn& r) const {
    if (r.t().failed()) BEACON_LOG(log_, kError, "kv", "read failed: %s", mdb_strerror(r.t().rc()));
  }

  MDB_env* env_;
  Dbis d_;
  const Logger& log_;
  std::function<uint64_t()> wall_ms_;
  Engine engine_;  // writer thread only (after Start)
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::function<void(bool, bool)> on_commit_ GUARDED_BY(mu_);
  std::thread writer_;
  std::string ops_;                 // the current group's changes (writer thread)
  std::unique_ptr<WalWriter> wal_;  // null when the log is disabled
};

Result<std::unique_ptr<Store>> Open(const std::string& dir, const Logger& log, StoreOptions opts,
                                    WalOptions wal) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error("kv store: cannot create " + dir + ": " + ec.message());
  // Recovery, before LMDB reads its meta pages: back to the last checkpoint (see wal.h).
  internal::WalContents w;
  Status rst = internal::RecoverLog(dir, log, &w);
  if (!rst.ok()) return rst;
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbError("cannot open " + dir, rc);
  auto fail = [&](const std::string& what, int code) {
    mdb_env_close(env);
    return LmdbError(what + " " + dir, code);
  };
  uint64_t map = opts.lmdb_map_bytes ? opts.lmdb_map_bytes : kDefaultMapBytes;
  if ((rc = mdb_env_set_mapsize(env, map)) != 0 || (rc = mdb_env_set_maxdbs(env, 8)) != 0 ||
      (rc = mdb_env_set_maxreaders(env, 1024)) != 0) {
    return fail("cannot configure", rc);
  }
  // Without the log: durable sync mode. With it, the log makes each commit durable and a
  // checkpoint syncs LMDB (never MDB_WRITEMAP: a stray write could then reach a pinned page).
  unsigned flags = MDB_NOTLS | (wal.enabled ? MDB_NOSYNC | MDB_NOMETASYNC : 0);
  rc = mdb_env_open(env, dir.c_str(), flags, 0640);
  if (rc != 0) return fail("cannot open", rc);
  int dead = 0;
  mdb_reader_check(env, &dead);  // slots left by a killed process
  Dbis d;
  d.max_key = static_cast<size_t>(mdb_env_get_maxkeysize(env));
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env, nullptr, 0, &txn)) != 0) return fail("cannot open", rc);
  if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &d.kv)) != 0 ||
      (rc = mdb_dbi_open(txn, "tomb", MDB_CREATE, &d.tomb)) != 0 ||
      (rc = mdb_dbi_open(txn, "sess", MDB_CREATE, &d.sess)) != 0 ||
      (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &d.meta)) != 0) {
    mdb_txn_abort(txn);
    return fail("cannot open databases in", rc);
  }
  {
    Tables t(txn, d);
    MDB_val k{4, const_cast<char*>("meta")}, v;
    if (mdb_get(txn, d.meta, &k, &v) == MDB_NOTFOUND) t.PutMeta(internal::kInitialMeta);
    if (t.failed()) {
      mdb_txn_abort(txn);
      return fail("cannot initialise", t.rc());
    }
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return fail("cannot initialise", rc);
  if (!w.groups.empty()) {
    rst = internal::ReplayLog(env, d, w);
    if (!rst.ok()) {
      mdb_env_close(env);
      return rst;
    }
    BEACON_LOG(log, kInfo, "kv", "%s: replayed %zu groups",
               internal::WalPath(dir, w.active).c_str(), w.groups.size());
  }
  if (!wal.enabled) {  // the log is not used: sync, then drop it
    if ((rc = mdb_env_sync(env, 1)) != 0) return fail("cannot sync", rc);
    for (int i = 0; i < 2; ++i) {
      std::string path = internal::WalPath(dir, i);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail("cannot remove", errno);
    }
  }
  auto store = std::make_unique<LmdbStore>(env, d, log, std::move(opts), std::move(wal));
  Status st = store->Start(dir, w);
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& dir, const Logger& log,
                                             StoreOptions opts) {
  return Open(dir, log, std::move(opts), WalOptions{});
}

namespace internal {
Result<std::unique_ptr<Store>> OpenLmdbStoreWith(const std::string& dir, const Logger& log,
                                                 StoreOptions opts, WalOptions wal) {
  return Open(dir, log, std::move(opts), std::move(wal));
}
}  // namespace internal

}  // namespace beacon::kv

// Durable kv::Store on LMDB, in <data-dir>/kv/.
//
// Why LMDB (not SQLite): the store is a sorted map with prefix scans, which is exactly LMDB's
// single-file copy-on-write B+tree. Its MVCC readers never block on (or get blocked by) the
// writer and read values in place from the memory map (zero-copy until we copy into an Entry),
// so HTTP reads need no lock of ours and no SQL layer. A commit is crash-safe by construction
// (two meta pages, fsync before the meta flip): there is no journal replay or recovery step on
// open, and a kill -9 or power loss leaves the last committed state. It is small, in Debian
// (liblmdb-dev), and used by OpenLDAP, Knot DNS and PowerDNS for the same reasons.
//
// Writes: every write is a job on one writer thread. The thread takes every queued job, runs
// each in its own nested transaction (an LMDB error undoes only that job), commits the group
// once (one fsync, durable sync mode), and only then runs the callbacks: group commit, so N
// concurrent clients cost one fsync, not N.
// Reads: a read-only txn per call on the calling thread (MDB_NOTLS: any thread).
#include <lmdb.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "engine.h"
#include "lmdb_tables.h"

namespace beacon::kv {
namespace {

using internal::Backend;
using internal::Dbis;
using internal::Effects;
using internal::Engine;
using internal::Meta;
using internal::Tables;

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
  LmdbStore(MDB_env* env, Dbis d, const Logger& log, StoreOptions opts)
      : env_(env), d_(d), log_(log), engine_(std::move(opts)) {}

  ~LmdbStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    mdb_env_close(env_);
  }

  Status Start(const std::string& dir) {
    ReadTxn r(env_, d_);
    if (!r.ok()) return LmdbError("cannot read " + dir, r.t().rc());
    Meta m = r.t().GetMeta();
    engine_.Load(r.t(), m);
    if (r.t().failed()) return LmdbError("cannot load " + dir, r.t().rc());
    writer_ = std::thread([this] { WriterLoop(); });
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
    Enqueue(Job{[this, st](Backend& b, Effects* fx) { st->r = engine_.Apply(b, st->ops, fx); },
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
    std::lock_guard<std::mutex> lock(mu_);
    on_commit_ = std::move(fn);
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
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  void WriterLoop() {
    std::deque<Job> batch;
    for (;;) {
      std::function<void(bool, bool)> notify;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_ and drained
        batch.swap(queue_);
        notify = on_commit_;
      }
      bool kv = false, sessions = false;
      std::vector<Status> status(batch.size());
      Status group = CommitGroup(batch, &status, &kv, &sessions);
      if (group.ok() && (kv || sessions) && notify) notify(kv, sessions);
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].finish(group.ok() ? status[i] : group);
      }
      batch.clear();
    }
  }

  // Runs every job of the batch in one write txn (each in a nested txn) and commits once.
  Status CommitGroup(std::deque<Job>& batch, std::vector<Status>* status, bool* kv,
                     bool* sessions) {
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
      engine_.Finish(fx);
      *kv |= fx.kv;
      *sessions |= fx.sessions;
    }
    rc = mdb_txn_commit(txn);  // durable: fsync before returning
    if (rc == 0) return Status::Ok();
    BEACON_LOG(log_, kError, "kv", "commit failed: %s", mdb_strerror(rc));
    ReadTxn r(env_, d_);  // the in-memory state followed the lost txn: reload it
    engine_.Load(r.t(), r.t().GetMeta());
    return WriteError(rc);
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
  Engine engine_;  // writer thread only (after Start)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                      // guarded by mu_
  bool stop_ = false;                          // guarded by mu_
  std::function<void(bool, bool)> on_commit_;  // guarded by mu_
  std::thread writer_;
};

Result<std::unique_ptr<Store>> Open(const std::string& dir, const Logger& log, StoreOptions opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error("kv store: cannot create " + dir + ": " + ec.message());
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
  // Durable sync mode: no MDB_NOSYNC / MDB_NOMETASYNC / MDB_WRITEMAP.
  rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0640);
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
  auto store = std::make_unique<LmdbStore>(env, d, log, std::move(opts));
  Status st = store->Start(dir);
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& dir, const Logger& log,
                                             StoreOptions opts) {
  return Open(dir, log, std::move(opts));
}

}  // namespace beacon::kv

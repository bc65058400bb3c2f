// EtcdStore, writer side: the queue, kWriters writer threads, one etcd txn per unit with the
// unit's reads as compares, commit detection and retries (see etcd_store.h), plus OpenEtcdStore.
#include "etcd_store.h"

#include <algorithm>

#include "beacon/core/thread_name.h"
#include "beacon/core/uuid.h"

namespace beacon::kv {
namespace internal {

EtcdStore::EtcdStore(const EtcdOptions& eo, const Logger& log, const StoreOptions& so)
    : eo_(eo), log_(log), m_(eo.prefix), engine_(so), watch_conn_(eo, [this] {
        return stopping_.load();
      }) {
  std::mt19937_64 rng(std::random_device{}());
  id_ = core::NewUuidV4(rng);
  wall_ms_ = so.wall_ms;
  now_ms_ = engine_.clock();  // the constructor runs before any thread shares engine_
}

EtcdStore::~EtcdStore() {
  {
    MutexLock l(&q_mu_);
    closing_ = true;
  }
  q_cv_.notify_all();
  for (std::thread& t : writers_) t.join();
  stopping_ = true;
  SetApplied(0);
  if (watcher_.joinable()) watcher_.join();
  // The writers' request-id keys are of no use once this store is gone.
  EtcdConn c(eo_);
  JsonDelete(c, SlotPrefix(eo_.prefix, id_));
}

void EtcdStore::JsonDelete(EtcdConn& c, const std::string& prefix) {
  (void)c.Call("/v3/kv/deleterange", RangeRequest(prefix, PrefixEnd(prefix)), 2000);
}

Status EtcdStore::Ready() const {
  if (loaded_.load(std::memory_order_acquire)) return Status::Ok();
  ReaderLock l(&mu_);
  return Status::Error("KV store unavailable: nothing loaded from etcd yet (" + load_error_ + ")");
}

Status EtcdStore::Start() {
  if (eo_.endpoints.empty()) return Status::Error("etcd: no endpoints configured");
  Status st = Resync(watch_conn_, eo_.dial_timeout_ms);
  if (!st.ok()) {
    if (!eo_.start_unreachable) return st;
    BEACON_LOG(log_, kWarn, "kv",
               "etcd: no member answered at start (%s); KV, sessions and txn answer 500 until "
               "the store loads, DNS and the catalog serve meanwhile",
               st.message().c_str());
    WriterLock l(&mu_);
    load_error_ = st.message();
  }
  for (int n = 0; n < kWriters; ++n) writers_.emplace_back([this, n] { WriterLoop(n); });
  watcher_ = std::thread([this] { WatchLoop(); });
  return Status::Ok();
}

void EtcdStore::Apply(std::vector<Op> ops, WriteCallback done) {
  Enqueue([this, ops = std::move(ops), done = std::move(done)](EtcdWriter& w) mutable {
    const auto t0 = std::chrono::steady_clock::now();
    Commit c;
    WriteResult r = RunUnit<WriteResult>(
        w,
        [&](Engine& e, EtcdRecorder& b, Effects* fx) {
          std::vector<Op> copy = ops;  // a retried unit starts from the request again
          return e.Apply(b, copy, fx);
        },
        {}, &c);
    if (!c.status.ok()) {
      r = WriteResult{};
      r.status = c.status;
    }
    for (Entry& e : r.results) {
      e.create_index = c.Fix(e.create_index);
      e.modify_index = c.Fix(e.modify_index);
    }
    r.index = c.Fix(r.index);
    Record(&ops, t0);
    done(std::move(r));
  });
}

void EtcdStore::Record(const std::vector<Op>* ops, std::chrono::steady_clock::time_point t0) {
  MutexLock l(&engine_mu_);  // the write side: stats cells have one writer at a time
  if (ops != nullptr) CountOps(*ops);
  stats_.commit.Observe(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count()));
}

void EtcdStore::CreateSession(Session s, SessionCallback done) {
  Enqueue([this, s = std::move(s), done = std::move(done)](EtcdWriter& w) mutable {
    Commit c;
    SessionResult r = RunUnit<SessionResult>(
        w, [&](Engine& e, EtcdRecorder& b, Effects* fx) { return e.CreateSession(b, s, fx); }, {},
        &c);
    if (c.status.ok() && r.found) {
      MutexLock l(&engine_mu_);
      local_.insert(r.session.id);
    }
    done(FixSession(std::move(r), c));
  });
}

void EtcdStore::DestroySession(std::string id, SessionCallback done) {
  Enqueue([this, id = std::move(id), done = std::move(done)](EtcdWriter& w) mutable {
    Commit c;
    SessionResult r = RunUnit<SessionResult>(
        w, [&](Engine& e, EtcdRecorder& b, Effects* fx) { return e.DestroySession(b, id, fx); }, {},
        &c);
    done(FixSession(std::move(r), c));
  });
}

void EtcdStore::RenewSession(std::string id, SessionCallback done) {
  Enqueue([this, id = std::move(id), done = std::move(done)](EtcdWriter& w) mutable {
    Commit c;
    int64_t lease = 0;
    SessionResult r = RunUnit<SessionResult>(
        w,
        [&](Engine& e, EtcdRecorder& b, Effects* fx) {
          lease = LeaseOf(id);
          return e.RenewSession(b, id, fx);
        },
        {}, &c);
    if (r.found) {
      {
        MutexLock l(&engine_mu_);
        local_.insert(id);
      }
      if (lease != 0) KeepAlive(w, lease);
    }
    done(FixSession(std::move(r), c));
  });
}

namespace {

// Invalidating a session is one txn of 2-3 operations plus one or two per key it holds, and etcd
// bounds a txn (--max-txn-ops, 128 by default): sessions expire and die kSessionsPerTxn at a time.
// When etcd still refuses a group, they go one by one, and a session refused alone (it holds
// too many keys) is reported and skipped, so it cannot hold up the others.
constexpr size_t kSessionsPerTxn = 8;

bool TooManyOps(const Status& st) {
  return st.message().find("too many operations") != std::string::npos;
}

}  // namespace

size_t EtcdStore::InvalidateInGroups(
    EtcdWriter& w, const char* what,
    const std::function<size_t(Engine&, EtcdRecorder&, Effects*, size_t)>& pass,
    const std::function<bool(const Session&)>& eligible) {
  std::set<std::string, std::less<>> refused;
  size_t total = 0, group = kSessionsPerTxn;
  for (;;) {
    Commit c;
    std::vector<std::string> ids;
    const size_t n = RunUnit<size_t>(
        w,
        [&](Engine& e, EtcdRecorder& b, Effects* fx) {
          const size_t k = pass(e, b, fx, group);
          ids = fx->dropped;
          return k;
        },
        // Runs inside RunUnit, under engine_mu_.
        [&](const Session& s) { return !refused.contains(s.id) && (!eligible || eligible(s)); }, &c,
        /*validate=*/false);  // nothing to do now: the next pass looks again
    if (c.status.ok()) {
      total += n;
      if (n < group) return total;
      continue;
    }
    if (!TooManyOps(c.status) || ids.empty()) {
      // etcd unreachable or busy: the next pass (a second later) tries again; the cluster view
      // and the watch already report an unreachable etcd.
      BEACON_LOG(log_, kDebug, "kv", "etcd: %s failed: %s", what, c.status.message().c_str());
      return total;
    }
    if (group > 1) {
      group = 1;
      continue;
    }
    refused.insert(ids.begin(), ids.end());
    MutexLock l(&engine_mu_);
    if (reported_.insert(ids.front()).second) {
      BEACON_LOG(log_, kWarn, "kv", "etcd: %s: session %s left in place: %s", what,
                 ids.front().c_str(), c.status.message().c_str());
    }
  }
}

void EtcdStore::ExpireSessions(uint64_t now_ms, std::function<void(size_t)> done) {
  Enqueue([this, now_ms, done = std::move(done)](EtcdWriter& w) {
    RetryLapsed(w);
    const size_t n = InvalidateInGroups(
        w, "expiring TTL sessions",
        [now_ms](Engine& e, EtcdRecorder& b, Effects* fx, size_t max) {
          return e.ExpireSessions(b, now_ms, fx, max);
        },
        [this](const Session& s) NO_THREAD_SAFETY_ANALYSIS { return local_.contains(s.id); });
    if (done) done(n);
  });
}

void EtcdStore::InvalidateSessions(std::function<bool(const Session&)> dead,
                                   std::function<void(size_t)> done) {
  Enqueue([this, dead = std::move(dead), done = std::move(done)](EtcdWriter& w) {
    const size_t n =
        InvalidateInGroups(w, "invalidating the sessions of failed nodes",
                           [&dead](Engine& e, EtcdRecorder& b, Effects* fx, size_t max) {
                             return e.InvalidateSessions(b, dead, fx, max);
                           },
                           {});
    if (done) done(n);
  });
}

void EtcdStore::DestroyLapsed(const std::string& id) {
  DestroySession(id, [this, id](const SessionResult& r) {
    if (r.status.ok()) return;
    BEACON_LOG(log_, kWarn, "kv",
               "etcd: invalidating session %s (its lease expired) failed, retrying: %s", id.c_str(),
               r.status.message().c_str());
    MutexLock l(&engine_mu_);
    lapsed_.insert(id);
  });
}

void EtcdStore::RetryLapsed(EtcdWriter& w) {
  std::set<std::string, std::less<>> ids;
  {
    MutexLock l(&engine_mu_);
    ids.swap(lapsed_);
  }
  for (const std::string& id : ids) {
    Commit c;
    RunUnit<SessionResult>(
        w, [&](Engine& e, EtcdRecorder& b, Effects* fx) { return e.DestroySession(b, id, fx); }, {},
        &c);
    if (c.status.ok()) continue;
    MutexLock l(&engine_mu_);
    lapsed_.insert(id);  // reported once, when it first failed
  }
}

void EtcdStore::SetOnCommit(std::function<void(bool kv, bool sessions)> fn) {
  WriterLock lock(&mu_);
  on_commit_ = std::move(fn);
}

SessionResult EtcdStore::FixSession(SessionResult r, const Commit& c) {
  if (!c.status.ok()) {
    SessionResult e;
    e.status = c.status;
    return e;
  }
  r.session.create_index = c.Fix(r.session.create_index);
  r.session.modify_index = c.Fix(r.session.modify_index);
  r.index = c.Fix(r.index);
  return r;
}

template <typename R, typename Body>
R EtcdStore::RunUnit(EtcdWriter& w, Body&& body, const std::function<bool(const Session&)>& filter,
                     Commit* c, bool validate) {
  if (!loaded_.load(std::memory_order_acquire)) {
    c->status = Ready();
    return R{};
  }
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Effects fx;
    std::optional<R> result;
    std::optional<EtcdRecorder> rec;
    std::vector<std::pair<std::string, int64_t>> compares;
    std::string kv_meta, sessions_meta;
    int64_t base = 0;  // Consul index = etcd revision + base (etcd_generation.h)
    {
      MutexLock e(&engine_mu_);
      ReaderLock l(&mu_);
      rec.emplace(m_);
      SyncEngine(*rec);
      rec->scan_filter = filter;
      result.emplace(body(engine_, *rec, &fx));
      compares = rec->Compares();
      kv_meta = m_.KvMetaKey();
      sessions_meta = m_.SessionsMetaKey();
      base = m_.gen.base;
      c->predicted = engine_.meta().index + 1;
      if (rec->empty() && (!validate || compares.empty())) {
        fx.moves.clear();
        engine_.Finish(fx);
        return std::move(*result);
      }
      if (rec->empty()) fx.moves.clear();
      // Lock-delays start before the txn is sent: a lock racing this invalidation re-runs after
      // it (its compare on the key fails) and must find the delay already in place.
      Effects early;
      early.meta = engine_.meta();
      early.delays.swap(fx.delays);
      engine_.Finish(early);
    }
    EtcdSortedMap<int64_t> leases;
    for (const auto& [id, s] : rec->new_sessions()) {
      if (s.ttl_ms == 0) continue;
      const uint64_t ttl_s = (2 * s.ttl_ms + 999) / 1000;
      auto g = w.conn.Call("/v3/lease/grant", "{\"TTL\":\"" + std::to_string(ttl_s) + "\"}");
      int64_t id_out = 0, ttl_out = 0;
      std::string err;
      if (!g.ok() || !ParseLease(g.value(), &id_out, &ttl_out, &err) || id_out == 0) {
        c->status = Status::Error("etcd lease grant: " + (g.ok() ? err : g.status().message()));
        return std::move(*result);
      }
      leases[id] = id_out;
    }
    TxnUnit unit;
    unit.success = rec->Ops(leases);
    // Nothing to write (a failed op, a no-op set, a renew): a txn of compares only checks that
    // the mirror the decision was made on is current (a CAS on this agent with an index from
    // another agent's write must not fail because our watch lags).
    const bool check_only = rec->empty();
    const std::string req = core::NewUuidV4(w.rng);
    std::vector<TxnWrite> index_keys;  // put after the unit's own writes (once per group)
    if (rec->kv_changed()) index_keys.push_back(TxnWrite{kv_meta, false, {}, 0});
    if (rec->sessions_changed()) index_keys.push_back(TxnWrite{sessions_meta, false, {}, 0});
    if (!check_only) unit.success.push_back(TxnWrite{w.slot, false, req, 0});
    unit.failure_reads = {kv_meta, sessions_meta, w.slot};
    for (const auto& [k, rev] : compares) unit.failure_reads.push_back(k);
    // A unit that compares an index key (it scanned a prefix) sees every other write as a
    // conflict: it goes alone, as do check-only units (etcd_group.h).
    const bool alone =
        check_only || std::any_of(compares.begin(), compares.end(), [&](const auto& c) {
          return c.first == kv_meta || c.first == sessions_meta;
        });
    const size_t n_ops = unit.success.size() + index_keys.size();
    unit.compares = std::move(compares);
    // Attempts are bounded (a member following a dead leader holds the txn for ~7 s); a retry
    // on another member carries the same request id, so at most one attempt commits.
    auto resp = group_.Send(w.conn, unit, index_keys, alone,
                            std::max<int64_t>(1000, eo_.request_timeout_ms / 4));
    if (!resp.ok()) {
      std::string why = "etcd txn: " + resp.status().message();
      if (TooManyOps(resp.status())) {
        why += " (this write needs " + std::to_string(n_ops) +
               " operations in one etcd txn: raise --max-txn-ops, 128 by default, on every etcd "
               "member)";
      }
      c->status = Status::Error(why);
      return std::move(*result);
    }
    bool ok = resp.value().succeeded;
    int64_t rev = resp.value().rev;
    std::vector<EtcdKv>& now = resp.value().kvs;
    // Failed: our own earlier attempt may have committed (its answer lost in a leader change;
    // the slot holds its request id), else a newer Beacon write changed what we read: wait for
    // the watch to bring it (its revision, not the header's: etcd writes outside the prefix
    // never reach the watch), then run the unit again.
    int64_t newer = 0;
    if (!ok) {
      for (const EtcdKv& kv : now) {
        if (kv.key == w.slot) {
          if (kv.value == req) {
            ok = true;
            rev = kv.mod_rev;
          }
          continue;
        }
        newer = std::max(newer, kv.mod_rev);
      }
    }
    if (!ok) {
      WaitApplied(newer);
      continue;
    }
    if (check_only) {
      MutexLock e(&engine_mu_);
      engine_.Finish(fx);
      return std::move(*result);
    }
    WaitApplied(rev);  // read-your-writes: the mirror holds this txn when the caller hears back
    for (int64_t lease : rec->RevokedLeases()) {
      (void)w.conn.Call("/v3/lease/revoke", "{\"ID\":\"" + std::to_string(lease) + "\"}");
    }
    {
      MutexLock e(&engine_mu_);
      for (const std::string& id : fx.dropped) local_.erase(id);
      fx.moves.clear();  // the watch reports holder moves (ours and other agents')
      engine_.Finish(fx);
    }
    c->rev = static_cast<uint64_t>(rev + base);
    return std::move(*result);
  }
  c->status = Status::Error("etcd: too many concurrent writers, gave up after " +
                            std::to_string(kMaxAttempts) + " attempts");
  return R{};
}

void EtcdStore::SyncEngine(EtcdRecorder& view) {
  Effects sync;
  bool reload = false;
  {
    MutexLock p(&pend_mu_);
    sync.moves.swap(pending_);
    sync.delays.swap(pending_delays_);
    std::swap(reload, reload_);
  }
  sync.meta = m_.meta();
  if (reload) {
    engine_.Load(view, sync.meta);
    sync.moves.clear();
  }
  engine_.Finish(sync);
}

bool EtcdStore::WaitApplied(int64_t rev) const {
  UniqueLock l(&applied_mu_);
  auto done = [&]() NO_THREAD_SAFETY_ANALYSIS { return applied_ >= rev || stopping_.load(); };
  if (done()) return true;
  std::condition_variable cv;
  auto it = waiters_.emplace(rev, &cv);
  const bool ok = cv.wait_for(l.native(), std::chrono::milliseconds(eo_.request_timeout_ms), done);
  waiters_.erase(it);
  return ok;
}

void EtcdStore::SetApplied(int64_t rev) {
  MutexLock l(&applied_mu_);
  applied_ = std::max(applied_, rev);
  const auto end = stopping_.load() ? waiters_.end() : waiters_.upper_bound(applied_);
  for (auto it = waiters_.begin(); it != end; ++it) it->second->notify_one();
}

void EtcdStore::KeepAlive(EtcdWriter& w, int64_t lease) {
  auto r = w.conn.Call("/v3/lease/keepalive", "{\"ID\":\"" + std::to_string(lease) + "\"}");
  if (!r.ok()) {
    log_.Log(LogLevel::kWarn, "kv", "etcd lease keepalive: %s", r.status().message().c_str());
  }
}

void EtcdStore::Enqueue(std::function<void(EtcdWriter&)> unit) {
  {
    MutexLock l(&q_mu_);
    queue_.push_back(std::move(unit));
  }
  q_cv_.notify_one();
}

void EtcdStore::WriterLoop(int n) {
  core::SetThreadName("beacon-etcdw" + std::to_string(n));
  EtcdWriter w{EtcdConn(eo_, [this] { return stopping_.load(); }),
               std::mt19937_64(std::random_device{}()),
               SlotPrefix(eo_.prefix, id_) + std::to_string(n)};
  for (;;) {
    std::function<void(EtcdWriter&)> unit;
    {
      UniqueLock l(&q_mu_);
      q_cv_.wait(l.native(),
                 [&]() NO_THREAD_SAFETY_ANALYSIS { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing and drained
      unit = std::move(queue_.front());
      queue_.pop_front();
    }
    unit(w);
  }
}

}  // namespace internal

Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& eopts, const Logger& log,
                                             const StoreOptions& opts) {
  auto s = std::make_unique<internal::EtcdStore>(eopts, log, opts);
  Status st = s->Start();
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace beacon::kv

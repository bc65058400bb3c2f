// EtcdStore snapshots: save from the mirror at one etcd revision, restore as a new generation
// flipped in one txn (etcd_generation.h, etcd_store.h).
#include <chrono>
#include <cstdio>
#include <map>
#include <unordered_set>

#include "etcd_store.h"
#include "snapshot_internal.h"

namespace beacon::kv::internal {
namespace {

// Staging txns stay well under etcd's defaults: --max-txn-ops 128, --max-request-bytes 1.5 MiB
// (counted on the JSON body: base64 makes values 4/3 larger).
constexpr size_t kStageOps = 64;
constexpr size_t kStageBytes = size_t{1} << 20;
constexpr int kDeleteChunk = 1000;

Status EtcdError(const std::string& what, const Result<std::string>& r, const std::string& err) {
  return Status::Error("etcd " + what + ": " + (r.ok() ? err : r.status().message()));
}

}  // namespace

Status EtcdStore::RangeGeneration(EtcdConn& conn, int64_t timeout_ms, std::vector<EtcdKv>* kvs,
                                  int64_t* rev) {
  // The pointer first (its header revision is the read's), then at that same revision the
  // generation it names and the previous one's meta keys (FindGeneration). Before any restore,
  // the whole prefix. Other generations (a restore's staging, leftovers) are not read.
  const std::string pointer = PointerKey(eo_.prefix);
  auto p = conn.Call("/v3/kv/range", RangeRequest(pointer, ""), timeout_ms);
  std::string err;
  if (!p.ok() || !ParseRange(p.value(), kvs, rev, &err)) return EtcdError("range", p, err);
  const Generation g = FindGeneration(*kvs, eo_.prefix);
  std::vector<std::string> prefixes = {eo_.prefix};
  if (g.pointer_rev != 0) prefixes = {eo_.prefix + g.path, eo_.prefix + g.prev + "m/"};
  for (const std::string& k : prefixes) {
    auto r = conn.Call("/v3/kv/range", RangeAtRequest(k, PrefixEnd(k), *rev), timeout_ms);
    int64_t at = 0;
    if (!r.ok() || !ParseRange(r.value(), kvs, &at, &err)) return EtcdError("range", r, err);
  }
  return Status::Ok();
}

bool EtcdStore::ApplyWatched(const std::vector<EtcdKv>& events) {
  const std::string pointer = PointerKey(eo_.prefix);
  const std::string groot = eo_.prefix + "g/";
  std::string cur;
  {
    ReaderLock l(&mu_);
    cur = m_.prefix();
  }
  std::vector<EtcdKv> normal;
  for (size_t i = 0; i < events.size(); ++i) {
    const EtcdKv& ev = events[i];
    if (ev.key != pointer) {
      const bool other = cur == eo_.prefix || !ev.key.starts_with(cur);
      if (ev.key.starts_with(groot) && other) {  // a restore's staging
        const size_t slash = ev.key.find('/', groot.size());
        const std::string gen = ev.key.substr(0, slash == std::string::npos ? 0 : slash + 1);
        if (!gen.empty() && ev.key == gen + "m/begin" && !ev.deleted) staging_[gen].clear();
        auto it = gen.empty() ? staging_.end() : staging_.find(gen);
        if (it != staging_.end()) {
          if (ev.deleted) {
            it->second.erase(ev.key);
          } else {
            it->second[ev.key] = ev;
          }
        }
      }
      normal.push_back(ev);  // the mirror ignores other generations but counts the revision
      continue;
    }
    // The flip: everything before it first, then the staged generation plus the flip's own
    // keys, with the old generation's meta keys as they are now (the index before the flip).
    if (!normal.empty()) ApplyEvents(normal);
    normal.clear();
    const Generation g = FindGeneration({ev}, eo_.prefix);
    auto staged = staging_.find(eo_.prefix + g.path);
    if (g.pointer_rev == 0 || staged == staging_.end()) return false;
    std::vector<EtcdKv> kvs = {ev};
    for (auto& [k, kv] : staged->second) kvs.push_back(std::move(kv));
    for (size_t j = i + 1; j < events.size(); ++j) {
      if (events[j].mod_rev == ev.mod_rev && events[j].key.starts_with(eo_.prefix + g.path)) {
        kvs.push_back(events[j]);
      }
    }
    staging_.clear();
    MirrorChanges ch;
    std::function<void(bool, bool)> notify;
    {
      WriterLock l(&mu_);
      for (const auto& [key, rev] : {std::pair{m_.KvMetaKey(), m_.kv_rev},
                                     std::pair{m_.SessionsMetaKey(), m_.sessions_rev}}) {
        if (rev != 0) kvs.push_back(EtcdKv{key, {}, rev, rev, 0, false});
      }
      m_.Reset(kvs, ev.mod_rev, &ch);
      cur = m_.prefix();
      notify = on_commit_;
      MutexLock p(&pend_mu_);
      pending_.clear();
      reload_ = true;
    }
    log_.Log(LogLevel::kInfo, "kv", "etcd: a snapshot restore switched the data generation to %s",
             g.path.c_str());
    Publish(ch, notify, ev.mod_rev);
  }
  if (!normal.empty()) ApplyEvents(normal);
  return true;
}

Status EtcdStore::SaveSnapshot(const SnapshotSink& sink, uint64_t* index) const {
  // Linearizable: the newest revision under the prefix, then a mirror that holds it, so every
  // write acknowledged anywhere before the save is in the file.
  EtcdConn conn(eo_);
  auto body = conn.Call("/v3/kv/range", LatestRequest(eo_.prefix));
  int64_t latest = 0;
  uint64_t term = 1;
  std::string err;
  if (!body.ok() || !ParseLatest(body.value(), &latest, &term, &err)) {
    return EtcdError("range", body, err);
  }
  if (!WaitApplied(latest) || stopping_) {
    return Status::Error("etcd: the watch did not reach revision " + std::to_string(latest) +
                         " in time; snapshot not taken");
  }
  EtcdSortedMap<Entry> entries;
  EtcdSortedMap<uint64_t> tombs;
  EtcdSortedMap<Session> sessions;
  Meta meta;
  {
    ReaderLock lock(&mu_);
    entries = m_.entries;
    tombs = m_.tombs;
    sessions = m_.sessions;
    meta = m_.meta();
  }
  SnapshotSource src;
  src.meta = meta;
  src.term = term == 0 ? 1 : term;
  src.entries = [&](const auto& fn) {
    for (const auto& [k, e] : entries) fn(e);
  };
  src.tombstones = [&](const auto& fn) {
    for (const auto& [k, i] : tombs) fn(Tombstone{k, i});
  };
  src.sessions = [&](const auto& fn) {
    for (const auto& [id, s] : sessions) fn(s);
  };
  if (index) *index = meta.index;
  return WriteSnapshot(src, WallMs(wall_ms_), sink);
}

void EtcdStore::RestoreSnapshot(std::string file, RestoreCallback done) {
  auto snap = std::make_shared<Result<SnapshotData>>(ParseSnapshot(file));
  if (!snap->ok()) {
    done(snap->status(), 0);  // verified before anything is written
    return;
  }
  Enqueue([this, snap, done = std::move(done)](EtcdWriter& w) {
    uint64_t index = 0;
    std::function<void()> cleanup;
    Status st = Restore(w.conn, snap->value(), &index, &cleanup);
    done(st, index);
    if (cleanup) cleanup();
  });
}

Status EtcdStore::Stage(EtcdConn& conn, const std::vector<TxnWrite>& ops) {
  std::vector<TxnWrite> batch;
  size_t bytes = 0;
  auto flush = [&]() {
    if (batch.empty()) return Status::Ok();
    auto r = conn.Txn({}, batch, {});
    if (!r.ok()) return Status::Error("etcd txn: " + r.status().message());
    const int64_t rev = r.value().rev;
    batch.clear();
    bytes = 0;
    // Paced by this agent's watch, which sees every staged key: its backlog (which every
    // write's acknowledgement waits behind) stays one batch.
    WaitApplied(rev);
    return Status::Ok();
  };
  for (const TxnWrite& op : ops) {
    const size_t size = (op.key.size() + op.value.size()) * 4 / 3 + 96;
    if (!batch.empty() && (batch.size() >= kStageOps || bytes + size > kStageBytes)) {
      Status st = flush();
      if (!st.ok()) return st;
    }
    batch.push_back(op);
    bytes += size;
  }
  return flush();
}

void EtcdStore::DeleteChunked(EtcdConn& conn, const std::string& prefix) {
  // Chunks keep each delete's watch message small.
  for (;;) {
    auto r = conn.Call("/v3/kv/range", KeysRequest(prefix, PrefixEnd(prefix), kDeleteChunk));
    std::vector<EtcdKv> kvs;
    int64_t rev = 0;
    std::string err;
    if (!r.ok() || !ParseRange(r.value(), &kvs, &rev, &err)) {
      log_.Log(LogLevel::kWarn, "kv", "etcd cleanup of %s: %s", prefix.c_str(),
               EtcdError("range", r, err).message().c_str());
      return;
    }
    if (kvs.empty()) return;
    std::string end = kvs.back().key;
    end.push_back('\0');
    auto d = conn.Call("/v3/kv/deleterange", RangeRequest(kvs.front().key, end));
    if (!d.ok()) {
      log_.Log(LogLevel::kWarn, "kv", "etcd cleanup of %s: %s", prefix.c_str(),
               d.status().message().c_str());
      return;
    }
    if (kvs.size() < static_cast<size_t>(kDeleteChunk)) return;
  }
}

Status EtcdStore::Restore(EtcdConn& conn, const SnapshotData& snap, uint64_t* index,
                          std::function<void()>* cleanup) {
  const auto t0 = std::chrono::steady_clock::now();
  // The mirror up to date: the flip compares the pointer it holds, and the keys it holds now
  // are the ones the restore drops (tombstones at R).
  auto latest = conn.Call("/v3/kv/range", LatestRequest(eo_.prefix));
  int64_t rev = 0;
  uint64_t term = 0;
  std::string err;
  if (!latest.ok() || !ParseLatest(latest.value(), &rev, &term, &err)) {
    return EtcdError("range", latest, err);
  }
  if (!WaitApplied(rev) || stopping_) return Status::Error("etcd: the watch is behind; try again");
  Generation old;
  std::vector<std::string> old_keys;
  std::vector<int64_t> old_leases;
  {
    ReaderLock l(&mu_);
    old = m_.gen;
    for (const auto& [k, e] : m_.entries) old_keys.push_back(k);
    for (const auto& [id, lease] : m_.leases) {
      if (lease != 0) old_leases.push_back(lease);
    }
  }
  Generation next;
  {
    std::mt19937_64 rng(std::random_device{}());
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng()));
    next.path = "g/" + std::string(id) + "/";
  }
  next.prev = old.path;
  next.prev_base = old.base;
  next.snapshot = snap.header.index;
  const std::string gp = eo_.prefix + next.path;

  // Stage the snapshot under the new generation (invisible until the flip). Its first key tells
  // watches to follow the staging, so they can swap at the flip without reading it back.
  Status st = Stage(conn, {TxnWrite{gp + "m/begin", false, {}, 0}});
  if (!st.ok()) return st;
  std::vector<TxnWrite> ops;
  std::unordered_set<std::string_view> keys;
  for (const Entry& e : snap.entries) {
    keys.insert(e.key);
    ops.push_back(TxnWrite{gp + "e/" + e.key, false, EncodeEntryV2(e, kRestored), 0});
  }
  std::map<std::string, uint64_t> tombs;  // raw index; 0: dropped by the restore (index R)
  for (const std::string& k : old_keys) {
    if (!keys.contains(k)) tombs[k] = 0;
  }
  for (const Tombstone& t : snap.tombstones) {
    if (!keys.contains(t.key)) tombs[t.key] = t.index;
  }
  for (const auto& [k, raw] : tombs) {
    std::string key = gp;
    key.append("t/").append(k);
    ops.push_back(TxnWrite{std::move(key), false, EncodeRestoredTomb(raw), 0});
  }
  std::vector<int64_t> granted;
  auto abandon = [&](Status why) {
    DeleteChunked(conn, gp);
    for (int64_t lease : granted) {
      (void)conn.Call("/v3/lease/revoke", "{\"ID\":\"" + std::to_string(lease) + "\"}");
    }
    return why;
  };
  // Sessions last, just before the flip: their new leases start now.
  std::vector<TxnWrite> session_ops;
  for (const Session& s : snap.sessions) {
    int64_t lease = 0;
    if (s.ttl_ms != 0) {
      const uint64_t ttl_s = (2 * s.ttl_ms + 999) / 1000;
      auto g = conn.Call("/v3/lease/grant", "{\"TTL\":\"" + std::to_string(ttl_s) + "\"}");
      int64_t ttl_out = 0;
      if (!g.ok() || !ParseLease(g.value(), &lease, &ttl_out, &err) || lease == 0) {
        return abandon(EtcdError("lease grant", g, err));
      }
      granted.push_back(lease);
    }
    session_ops.push_back(TxnWrite{gp + "s/" + s.id, false, EncodeRestoredSession(s, lease), 0});
    if (lease != 0) session_ops.push_back(TxnWrite{gp + "l/" + s.id, false, {}, lease});
  }
  auto since = [t0] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  };
  st = Stage(conn, ops);
  if (st.ok()) st = Stage(conn, session_ops);
  if (!st.ok()) return abandon(st);

  // The flip: one txn, only if no other restore flipped since the mirror's view.
  const std::string pointer = PointerKey(eo_.prefix);
  std::vector<TxnWrite> flip = {TxnWrite{pointer, false, EncodeGeneration(next), 0},
                                TxnWrite{gp + "m/kv", false, {}, 0},
                                TxnWrite{gp + "m/sessions", false, {}, 0}};
  auto r = conn.Txn({{pointer, old.pointer_rev}}, flip, {pointer});
  if (!r.ok()) return abandon(Status::Error("etcd txn: " + r.status().message()));
  const int64_t flipped = r.value().rev;
  if (!r.value().succeeded) {
    return abandon(
        Status::Error("another snapshot restore replaced the data meanwhile; this "
                      "one changed nothing"));
  }
  // Read-your-writes: the watch has swapped the mirror (and woken blocking queries).
  const long long staged_ms = since();
  const bool caught_up = WaitApplied(flipped);
  const long long swapped_ms = since();
  {
    ReaderLock l(&mu_);
    *index = m_.gen.pointer_rev == flipped ? m_.gen.r : m_.meta().index;
  }
  for (int64_t lease : granted) {  // restored TTLs run from the flip
    (void)conn.Call("/v3/lease/keepalive", "{\"ID\":\"" + std::to_string(lease) + "\"}");
  }
  // After the answer: the old generation goes, except its m/ keys (a resync derives R from
  // them); the one before it is no longer needed at all.
  *cleanup = [this, &conn, old, old_leases, since, staged_ms, swapped_ms, flipped,
              keys = snap.entries.size(), sessions = snap.sessions.size(), path = next.path,
              index = *index] {
    for (int64_t lease : old_leases) {
      (void)conn.Call("/v3/lease/revoke", "{\"ID\":\"" + std::to_string(lease) + "\"}");
    }
    for (const char* kind : {"e/", "t/", "s/", "l/"}) {
      DeleteChunked(conn, eo_.prefix + old.path + kind);
    }
    if (old.pointer_rev != 0) DeleteChunked(conn, eo_.prefix + old.prev + "m/");
    log_.Log(LogLevel::kInfo, "kv",
             "snapshot restored on etcd: %zu keys, %zu sessions, index %llu, generation %s, "
             "flip at revision %lld; staged in %lld ms, mirror swapped at %lld ms, old "
             "generation removed at %lld ms",
             keys, sessions, static_cast<unsigned long long>(index), path.c_str(),
             static_cast<long long>(flipped), staged_ms, swapped_ms, since());
  };
  if (!caught_up) {
    return Status::Error("etcd: the restore committed at revision " + std::to_string(flipped) +
                         " but this agent's watch has not caught up yet");
  }
  return Status::Ok();
}

}  // namespace beacon::kv::internal

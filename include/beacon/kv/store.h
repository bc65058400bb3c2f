// kv::Store: the KV and session store behind /v1/kv, /v1/session and /v1/txn.
//
// Contract (what every implementation promises; spec sections 2.2, 2.3, 2.7, 2.8):
// - Indexes. One store-wide index, starting at 1 (empty store) and only growing (persisted by
//   durable stores, so it is monotonic across restarts). Every write that changes something
//   takes a new index; all changes of one Apply (or one session call) share it. On etcd, writes
//   committed in one group (etcd_group.h: units that touch disjoint keys, sent together) share
//   one index as the changes of one Apply do, and a reader sees all of them or none; every
//   other store gives each write the next index. Entries carry CreateIndex (kept
//   across updates), ModifyIndex (moves only when the entry actually changes), LockIndex (number
//   of acquisitions by a new session) and Session (the holder, "" when unlocked), exactly as
//   Consul. A plain set/cas keeps the holder Session and, exactly like Consul's kvsSetTxn, writes
//   LockIndex 0 (the request carries none); acquire/release write value and flags too.
// - Reads (Get/List/Keys/*Index/Session*) may be called from any thread, run concurrently, never
//   wait on a writer or on fsync, and see only committed writes. Each returns the index the HTTP
//   layer reports (spec 2.2): it is >= 1 and never goes backwards for the same question.
//   Deleted keys leave tombstones (kept until the key is written again) so a prefix's index does
//   not drop when its newest key is deleted.
// - Writes are asynchronous: the callback runs once the write is committed (durable stores: after
//   fsync), on a store thread or, for the in-memory store, on the calling thread before Apply
//   returns. Callbacks must not block and must not call back into the store synchronously
//   waiting for another write. An acknowledged write survives kill -9 and power loss (durable).
// - All ops of one Apply are atomic: either every op succeeds and all changes are committed, or
//   nothing changes and WriteResult lists the failing ops.
// - Limits enforced here too (the HTTP layer checks first): key 1..512 bytes, value <= 512 KiB.
// - OnCommit: after each commit that changed KV entries and/or sessions, the callback set with
//   SetOnCommit runs (any thread) with which of the two changed, so the agent can call
//   HttpServer::Notify(Topic::kKv / Topic::kSession). It runs before that commit's write
//   callbacks. An empty store reports index 1; its first write gets index 2.
// - Metrics: stats() counts the ops of every Apply by verb and times every commit (a durable
//   store's group commit, from its first job to durable; the in-memory store's write under its
//   lock). Single-writer cells updated by whoever holds the write side; read from any thread.
// - Sessions: Node/check existence and check health at creation are the HTTP layer's job (it has
//   the catalog); the store keeps what it is given. TTL renew times and lock-delays live in
//   memory only: after a restart every TTL starts again from "now" (Consul does the same).
//
// Ownership: the Store owns its data and threads; destroying it finishes (commits and
// acknowledges) every queued write first. Callers keep the Store alive while using it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/metrics.h"
#include "beacon/core/status.h"

namespace beacon::kv {

inline constexpr size_t kMaxKeyBytes = 512;
inline constexpr size_t kMaxValueBytes = size_t{512} * 1024;

// One KV entry (Consul DirEntry). An empty value is Consul's `Value: null`.
struct Entry {
  std::string key;
  std::string value;
  uint64_t flags = 0;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t lock_index = 0;
  std::string session;  // holder of the lock, "" when unlocked
};

struct ServiceCheckRef {
  std::string id;
  std::string ns;  // namespace ("" in CE)
};

struct Session {
  enum class Behavior : uint8_t { kRelease = 0, kDelete = 1 };
  std::string id;  // UUID, assigned by CreateSession
  std::string name;
  std::string node;
  std::vector<std::string> node_checks;
  std::vector<ServiceCheckRef> service_checks;
  uint64_t lock_delay_ms = 15000;
  Behavior behavior = Behavior::kRelease;
  uint64_t ttl_ms = 0;  // 0 = no TTL
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

// Consul txn verbs; a plain PUT/DELETE is a one-op Apply.
enum class Verb : uint8_t {
  kSet,             // key, value, flags
  kCas,             // + index: 0 = only if missing, else only if ModifyIndex == index
  kLock,            // + session: acquire (PUT ?acquire=)
  kUnlock,          // + session: release (PUT ?release=)
  kGet,             // fails when the key is missing
  kGetTree,         // every entry under key (prefix)
  kCheckIndex,      // fails unless the key exists with ModifyIndex == index
  kCheckSession,    // fails unless the key exists and is held by session
  kCheckNotExists,  // fails when the key exists
  kDelete,          // succeeds also when missing
  kDeleteTree,      // every entry under key (prefix; "" = everything)
  kDeleteCas,       // only if ModifyIndex == index (a missing key succeeds, as Consul)
};

struct Op {
  Verb verb = Verb::kSet;
  std::string key;
  std::string value;
  uint64_t flags = 0;
  uint64_t index = 0;
  std::string session;
};

struct OpError {
  enum class Kind : uint8_t {
    kConflict,  // CAS/index mismatch, lock held, not the holder, key missing/exists, lock-delay:
                // a plain PUT/DELETE replies `false`
    kInvalid,   // bad input: unknown session, missing session, key/value too long: a plain PUT
                // replies 500 (invalid session) or 400/413 (limits)
  };
  size_t op_index = 0;
  Kind kind = Kind::kConflict;
  std::string what;  // Consul's wording, e.g. `failed to set key "a", index is stale`
};

struct WriteResult {
  // false when any op failed (then nothing changed and `errors` says why) or on a store failure.
  bool ok = false;
  // The store itself failed (disk full, I/O error): HTTP 500. ok is false.
  Status status;
  // Txn results in op order, Consul style: set/cas/lock/unlock/check-index/check-session give
  // the entry after the op without its value; get gives the entry with its value; get-tree gives
  // every matched entry with values; delete*, check-not-exists give nothing.
  std::vector<Entry> results;
  std::vector<OpError> errors;
  // The store index after the write (the write's own index if it changed something).
  uint64_t index = 0;
};
using WriteCallback = std::function<void(WriteResult)>;

struct SessionResult {
  Status status;       // store failure (HTTP 500); other fields meaningless then
  bool found = false;  // Renew: false -> 404; Create: always true on success
  Session session;     // Create/Renew: the session as stored
  uint64_t index = 0;  // store index after the write
};
using SessionCallback = std::function<void(SessionResult)>;

// Receives a snapshot file (kv/snapshot.h) in order, chunk by chunk; an error stops the save.
using SnapshotSink = std::function<Status(std::string_view chunk)>;
// Restore result: the store index after the restore.
using RestoreCallback = std::function<void(Status status, uint64_t index)>;

// Options for every implementation. now_ms is a monotonic clock in milliseconds (default: the
// steady clock); tests inject a fake one. It drives TTLs and lock-delays.
struct StoreOptions {
  std::function<uint64_t()> now_ms;
  // Wall clock, Unix ms (default: the system clock): the created time of saved snapshots.
  std::function<uint64_t()> wall_ms;
  // LMDB only: the map size (address space reserved; the file grows only as data is written).
  // 0 = 16 GiB. A write that would pass it fails with a "store full" status.
  uint64_t lmdb_map_bytes = 0;
};

// Write metrics (see the contract). ops[] is indexed by Verb.
struct StoreStats {
  static constexpr int kVerbs = 12;
  metrics::Counter ops[kVerbs];
  metrics::Histogram commit;
};
// Consul's txn verb name ("set", "get-tree", ...).
const char* VerbName(Verb v);

class Store {
 public:
  virtual ~Store() = default;

  const StoreStats& stats() const { return stats_; }

  // Ok once the store holds its data. An etcd store opened while no member answered (see
  // EtcdOptions::start_unreachable) says why it has nothing yet: its reads would be empty, not
  // true, so the KV, session and txn endpoints answer 500 with this message until it loads.
  virtual Status Ready() const { return Status::Ok(); }

  // ---- reads (any thread) ----
  // Copies the entry into *out and returns true when the key exists. *index (if not null) gets
  // the index to report: the entry's ModifyIndex, or KvIndex() when missing.
  virtual bool Get(std::string_view key, Entry* out, uint64_t* index) const = 0;
  // Every entry whose key starts with prefix, sorted by key (out is replaced). Returns the index:
  // max ModifyIndex over matched entries and tombstones under prefix; KvIndex() when prefix is
  // empty or nothing (not even a tombstone) matched.
  virtual uint64_t List(std::string_view prefix, std::vector<Entry>* out) const = 0;
  // Sorted key names under prefix; with a non-empty separator each key is cut just after the
  // first separator following the prefix and duplicates are dropped. Index as List.
  virtual uint64_t Keys(std::string_view prefix, std::string_view separator,
                        std::vector<std::string>* out) const = 0;
  // Blocking-query probes (no value copies): the same index Get / List would report.
  virtual uint64_t KeyIndex(std::string_view key) const = 0;
  virtual uint64_t PrefixIndex(std::string_view prefix) const = 0;
  // Store-wide index (>= 1); KV table index (max over KV changes incl. deletions, >= 1);
  // sessions table index (>= 1).
  virtual uint64_t Index() const = 0;
  virtual uint64_t KvIndex() const = 0;
  virtual uint64_t SessionsIndex() const = 0;

  // Session reads; each returns SessionsIndex() (the index Consul reports for them).
  virtual uint64_t SessionInfo(std::string_view id, std::vector<Session>* out) const = 0;
  virtual uint64_t Sessions(std::vector<Session>* out) const = 0;
  virtual uint64_t NodeSessions(std::string_view node, std::vector<Session>* out) const = 0;

  // ---- writes (any thread; see the contract above) ----
  virtual void Apply(std::vector<Op> ops, WriteCallback done) = 0;
  // s.id and indexes are ignored; a fresh UUID is assigned. The TTL clock starts now.
  virtual void CreateSession(Session s, SessionCallback done) = 0;
  // Invalidates the session (release/delete its locks per behavior, start lock-delays).
  // found=false for an unknown id (HTTP still replies true).
  virtual void DestroySession(std::string id, SessionCallback done) = 0;
  // Restarts the TTL. found=false for an unknown id (HTTP 404).
  virtual void RenewSession(std::string id, SessionCallback done) = 0;
  // Invalidates every session with a TTL whose last renew (or creation, or store open) is at
  // least 2*TTL before now_ms (now_ms on the StoreOptions::now_ms clock). done (optional) gets
  // the number invalidated after the commit. The agent calls this from a timer (e.g. 1 s).
  virtual void ExpireSessions(uint64_t now_ms, std::function<void(size_t)> done = {}) = 0;
  // Invalidates every session for which dead(session) is true. dead runs on a store thread
  // (possibly concurrently with readers), once per session, while the store holds its write
  // side: it must be thread-safe (e.g. read a captured catalog snapshot) and must not call the
  // store. The agent calls it after each catalog publish.
  virtual void InvalidateSessions(std::function<bool(const Session&)> dead,
                                  std::function<void(size_t)> done = {}) = 0;

  // Called after every commit that changed KV entries (kv=true) and/or sessions (sessions=true);
  // any thread, must not block. Set it once, before the first write.
  virtual void SetOnCommit(std::function<void(bool kv, bool sessions)> fn) = 0;

  // ---- snapshots (kv/snapshot.h; defaults: "not supported by this KV backend") ----
  // Writes a consistent point-in-time copy (KV entries, tombstones, sessions, the indexes) to
  // sink while writes go on; *index (if not null) gets the store index it holds. Any thread;
  // it runs on the calling thread.
  virtual Status SaveSnapshot(const SnapshotSink& sink, uint64_t* index) const {
    (void)sink;
    (void)index;
    return Status::Error("snapshots are not supported by this KV backend");
  }
  // Verifies `file` completely first (a bad file changes nothing: done gets the error), then
  // replaces every KV entry, tombstone and session with the snapshot's in one atomic write.
  // Indexes never go backwards: with C the store index before and S the snapshot's, the
  // restore commits at R = max(C, S) + 1; restored entries and tombstones keep their indexes
  // when above C and take R otherwise; keys dropped by the restore leave tombstones at R; the
  // store, KV and sessions indexes become R. Lock holders and TTL clocks restart from the
  // restored sessions (TTLs from now); OnCommit reports kv and sessions. done runs like a write
  // callback (after the commit).
  // By value: an override keeps both (its restore runs after this returns).
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void RestoreSnapshot(std::string file, RestoreCallback done) {
    (void)file;
    done(Status::Error("snapshots are not supported by this KV backend"), 0);
  }

 protected:
  // Write side only.
  void CountOps(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      const auto v = static_cast<size_t>(op.verb);
      if (v < StoreStats::kVerbs) stats_.ops[v].Add();
    }
  }
  StoreStats stats_;
};

// In-memory store for -dev mode.
std::unique_ptr<Store> NewMemStore(StoreOptions opts = {});

// Durable store in dir (created if missing): LMDB files data.mdb/lock.mdb plus the redo log
// wal.0.log/wal.1.log. A group commit costs one fdatasync of the log (LMDB itself commits without
// syncing and is checkpointed about every second in the background); open restores the last
// checkpoint and replays the log, so every acknowledged write survives kill -9 and power loss.
// See src/kv/wal.h. The error names the path and the LMDB error.
Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& dir, const Logger& log,
                                             StoreOptions opts = {});

}  // namespace beacon::kv

// Internal: the local mirror of Beacon's keys on etcd (layout in include/beacon/kv/etcd.h).
//
// Contract: a plain value type, not thread-safe (EtcdStore guards it with its SharedMutex). It is
// rebuilt from a full range read (Reset) and then follows the watch (Apply); each call reports
// what changed: whether KV entries and/or sessions changed, the lock holder moves (for the
// engine's holder map) and the TTL sessions whose lease etcd expired (l/<id> deleted while the
// session record remains). It also serves as the engine's read view (Backend reads; the writes
// of a unit go to an EtcdRecorder, never here).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "etcd_codec.h"
#include "etcd_generation.h"

namespace beacon::kv::internal {

template <typename V>
using EtcdSortedMap = std::map<std::string, V, std::less<>>;

struct MirrorChanges {
  bool kv = false;
  bool sessions = false;
  bool reset = false;  // rebuilt from a range: the engine reloads its holder map
  std::vector<Effects::LockMove> moves;
  std::vector<std::string> lapsed;  // session ids whose lease expired
  // Lock-delays to start here: key -> the session's LockDelay (ms), for each lock freed by the
  // invalidation of its session (the lock moved in the revision that deleted the session, on
  // whichever agent did it), so a server enforces the delay of an invalidation on another.
  std::vector<std::pair<std::string, uint64_t>> delays;
};

class EtcdMirror {
 public:
  explicit EtcdMirror(std::string prefix) : root_(prefix), prefix_(std::move(prefix)) {}

  // The store's prefix; the current generation's (root + gen.path; etcd_generation.h).
  const std::string& root() const { return root_; }
  const std::string& prefix() const { return prefix_; }
  std::string PointerKey() const { return internal::PointerKey(root_); }
  std::string EntryKey(std::string_view key) const { return prefix_ + "e/" + std::string(key); }
  std::string TombKey(std::string_view key) const { return prefix_ + "t/" + std::string(key); }
  std::string SessionKey(std::string_view id) const { return prefix_ + "s/" + std::string(id); }
  std::string LeaseKey(std::string_view id) const { return prefix_ + "l/" + std::string(id); }
  std::string KvMetaKey() const { return prefix_ + "m/kv"; }
  std::string SessionsMetaKey() const { return prefix_ + "m/sessions"; }

  // Reset also reads the generation pointer (Apply never sees it move: the watch resyncs).
  void Reset(const std::vector<EtcdKv>& kvs, int64_t rev, MirrorChanges* ch);
  void Apply(const std::vector<EtcdKv>& events, MirrorChanges* ch);

  // Max ModifyIndex / tombstone index under prefix (0 when nothing).
  uint64_t SubIndex(std::string_view prefix) const;
  Meta meta() const;

  EtcdSortedMap<Entry> entries;
  EtcdSortedMap<uint64_t> tombs;
  EtcdSortedMap<Session> sessions;
  EtcdSortedMap<int64_t> leases;            // session id -> etcd lease (TTL sessions)
  std::set<std::string, std::less<>> live;  // l/<id> keys present
  uint64_t kv_index = 0;                    // m/kv mod_revision + base (0 = never written)
  uint64_t sessions_index = 0;              // m/sessions mod_revision + base
  int64_t kv_rev = 0, sessions_rev = 0;     // their etcd mod_revisions
  int64_t rev = 0;                          // highest etcd revision applied
  Generation gen;                           // the current generation
  // Records whose indexes are not their etcd revisions + base (written by a restore):
  EtcdSortedMap<int64_t> pinned;                     // entry key -> etcd mod_revision
  std::set<std::string, std::less<>> pinned_create;  // entries carrying their CreateIndex
  EtcdSortedMap<int64_t> pinned_sessions;            // session id -> etcd mod_revision

  // The etcd mod_revision behind an entry's / session's ModifyIndex (for txn compares).
  int64_t EntryRev(const std::string& key, const Entry& e) const {
    auto it = pinned.find(key);
    return it != pinned.end() ? it->second : static_cast<int64_t>(e.modify_index) - gen.base;
  }
  int64_t SessionRev(const std::string& id, const Session& s) const {
    auto it = pinned_sessions.find(id);
    return it != pinned_sessions.end() ? it->second
                                       : static_cast<int64_t>(s.modify_index) - gen.base;
  }

 private:
  void One(const EtcdKv& kv, MirrorChanges* ch, std::vector<std::string>* gone_leases);

  std::string root_;
  std::string prefix_;
};

// The engine's Backend for one unit: reads the mirror (plus the unit's own pending writes),
// records writes as etcd txn ops and what it read as txn compares: each entry or session read
// must still have the mod_revision seen (0 = still missing); a scan of entries (sessions) must
// see m/kv (m/sessions) unchanged, since every KV (session) change rewrites it. The txn then
// commits only if the unit's view was still current: optimistic concurrency, so units on
// disjoint keys run concurrently. Meta writes are ignored (etcd revisions are the indexes).
class EtcdRecorder final : public Backend {
 public:
  explicit EtcdRecorder(const EtcdMirror& m) : m_(m) {}

  bool GetEntry(std::string_view key, Entry* out) override;
  void ScanEntries(std::string_view prefix, const std::function<bool(const Entry&)>& fn) override;
  void PutEntry(const Entry& e) override;
  void DelEntry(std::string_view key) override;
  void PutTombstone(std::string_view key, uint64_t index) override;
  void DelTombstone(std::string_view key) override;
  bool GetSession(std::string_view id, Session* out) override;
  void ScanSessions(const std::function<void(const Session&)>& fn) override;
  void PutSession(const Session& s) override;
  void DelSession(std::string_view id) override;
  void PutMeta(const Meta&) override {}

  // Only sessions passing this filter are visible to ScanSessions (TTL expiry by this agent).
  std::function<bool(const Session&)> scan_filter;

  bool empty() const { return writes_.empty() && new_sessions_.empty(); }
  // etcd key -> required mod_revision.
  std::vector<std::pair<std::string, int64_t>> Compares() const;
  bool kv_changed() const { return kv_changed_; }
  bool sessions_changed() const { return sessions_changed_; }
  // New TTL sessions need a lease before the txn: id -> TTL ms.
  const EtcdSortedMap<Session>& new_sessions() const { return new_sessions_; }
  // The txn's success ops; leases: new session id -> granted lease.
  std::vector<TxnWrite> Ops(const EtcdSortedMap<int64_t>& leases) const;
  // Session ids deleted by this unit with their lease (to revoke after the commit).
  std::vector<int64_t> RevokedLeases() const;

 private:
  const EtcdMirror& m_;
  EtcdSortedMap<TxnWrite> writes_;  // etcd key -> last write
  EtcdSortedMap<std::optional<Entry>> entries_;
  EtcdSortedMap<std::optional<Session>> sessions_;
  EtcdSortedMap<Session> new_sessions_;
  bool kv_changed_ = false;
  bool sessions_changed_ = false;
  EtcdSortedMap<int64_t> reads_;  // etcd key -> mod_revision seen (0 = missing)
  bool scan_kv_ = false;
  bool scan_sessions_ = false;
};

}  // namespace beacon::kv::internal

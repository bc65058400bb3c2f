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

namespace beacon::kv::internal {

template <typename V>
using EtcdSortedMap = std::map<std::string, V, std::less<>>;

struct MirrorChanges {
  bool kv = false;
  bool sessions = false;
  bool reset = false;  // rebuilt from a range: the engine reloads its holder map
  std::vector<Effects::LockMove> moves;
  std::vector<std::string> lapsed;  // session ids whose lease expired
};

class EtcdMirror {
 public:
  explicit EtcdMirror(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string EntryKey(std::string_view key) const { return prefix_ + "e/" + std::string(key); }
  std::string TombKey(std::string_view key) const { return prefix_ + "t/" + std::string(key); }
  std::string SessionKey(std::string_view id) const { return prefix_ + "s/" + std::string(id); }
  std::string LeaseKey(std::string_view id) const { return prefix_ + "l/" + std::string(id); }
  std::string KvMetaKey() const { return prefix_ + "m/kv"; }
  std::string SessionsMetaKey() const { return prefix_ + "m/sessions"; }

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
  uint64_t kv_index = 0;                    // m/kv mod_revision (0 = never written)
  uint64_t sessions_index = 0;              // m/sessions mod_revision
  int64_t rev = 0;                          // highest etcd revision applied

 private:
  void One(const EtcdKv& kv, MirrorChanges* ch, std::vector<std::string>* gone_leases);

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

// Internal: the Consul KV/session semantics shared by every kv::Store implementation.
//
// A Backend is one write transaction's view of the stored tables (the in-memory maps, or an LMDB
// write txn). The Engine runs one "unit" (an Apply, a session create/destroy/renew, an expiry
// pass) against a Backend and records its in-memory side effects in Effects; the store commits
// the backend's changes and then calls Engine::Finish(effects). If the backend fails mid-unit the
// store discards the unit's backend changes and its Effects. Engine is writer-only: one thread
// (or one exclusive lock holder) at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "beacon/kv/store.h"

namespace beacon::kv::internal {

struct Meta {
  uint64_t index = 0;           // store-wide
  uint64_t kv_index = 0;        // KV table (incl. deletions)
  uint64_t sessions_index = 0;  // sessions table
};
// An empty store reports index 1 (never 0), so its first write must take 2: a client blocking
// on index=1 has to see it.
inline constexpr Meta kInitialMeta{1, 1, 1};

// Reads and writes of one write transaction. Implementations never throw; an LMDB backend keeps
// its first error (failed()) and turns every later call into a no-op / not-found.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual bool GetEntry(std::string_view key, Entry* out) = 0;
  // Entries whose key starts with prefix, in key order, until fn returns false.
  virtual void ScanEntries(std::string_view prefix,
                           const std::function<bool(const Entry&)>& fn) = 0;
  virtual void PutEntry(const Entry& e) = 0;
  virtual void DelEntry(std::string_view key) = 0;
  virtual void PutTombstone(std::string_view key, uint64_t index) = 0;
  virtual void DelTombstone(std::string_view key) = 0;
  virtual bool GetSession(std::string_view id, Session* out) = 0;
  virtual void ScanSessions(const std::function<void(const Session&)>& fn) = 0;
  virtual void PutSession(const Session& s) = 0;
  virtual void DelSession(std::string_view id) = 0;
  virtual void PutMeta(const Meta& m) = 0;
};

// In-memory consequences of a unit, applied by Engine::Finish after the backend committed it.
struct Effects {
  struct LockMove {
    std::string key, from, to;  // session "" = none
  };
  std::vector<LockMove> moves;
  std::vector<std::pair<std::string, uint64_t>> delays;  // key -> lock-delay end (ms)
  std::vector<std::pair<std::string, uint64_t>> renews;  // session -> renewed at (ms)
  std::vector<std::string> dropped;                      // sessions removed
  bool kv = false;
  bool sessions = false;
  Meta meta;
};

class Engine {
 public:
  explicit Engine(StoreOptions opts);

  uint64_t Now() const { return opts_.now_ms(); }
  // The clock Now() reads (StoreOptions::now_ms, else the steady clock); set at construction.
  const std::function<uint64_t()>& clock() const { return opts_.now_ms; }
  const Meta& meta() const { return meta_; }

  // Rebuilds the in-memory state (lock holders, TTL clocks from now) from committed tables.
  void Load(Backend& b, const Meta& m);

  WriteResult Apply(Backend& b, std::vector<Op>& ops, Effects* fx);
  SessionResult CreateSession(Backend& b, Session s, Effects* fx);
  SessionResult DestroySession(Backend& b, const std::string& id, Effects* fx);
  SessionResult RenewSession(Backend& b, const std::string& id, Effects* fx);
  // Both invalidate at most `max` sessions (a store whose commits are bounded, etcd's
  // --max-txn-ops, runs them again while they return `max`).
  size_t ExpireSessions(Backend& b, uint64_t now_ms, Effects* fx, size_t max = SIZE_MAX);
  size_t InvalidateSessions(Backend& b, const std::function<bool(const Session&)>& dead,
                            Effects* fx, size_t max = SIZE_MAX);

  void Finish(const Effects& fx);

 private:
  void Invalidate(Backend& b, const Session& s, uint64_t idx, Effects* fx);

  StoreOptions opts_;
  Meta meta_;
  std::unordered_map<std::string, std::set<std::string>> held_;  // session -> keys it holds
  std::unordered_map<std::string, uint64_t> lock_delay_;         // key -> until (ms)
  std::unordered_map<std::string, uint64_t> renewed_;            // session -> last renew (ms)
  std::mt19937_64 rng_;
};

// Shared read helpers.
// Cuts keys for ?keys&separator= (sorted input -> sorted, de-duplicated output).
void AppendKeyName(std::string_view key, std::string_view prefix, std::string_view sep,
                   std::vector<std::string>* out);
// Index rule for list/keys: sub = max over matched entries and tombstones (0 if none).
inline uint64_t ListIndex(std::string_view prefix, uint64_t sub, uint64_t kv_index) {
  uint64_t table = kv_index == 0 ? 1 : kv_index;
  return prefix.empty() || sub == 0 ? table : sub;
}
inline uint64_t AtLeastOne(uint64_t i) {
  return i == 0 ? 1 : i;
}

}  // namespace beacon::kv::internal

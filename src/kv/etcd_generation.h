// Internal: data generations on etcd, how a snapshot restore replaces the whole store atomically
// (layout in include/beacon/kv/etcd.h).
//
// etcd assigns revisions and bounds a txn (--max-txn-ops, default 128; --max-request-bytes,
// default 1.5 MiB), so a restore cannot rewrite the store in one txn nor keep the snapshot's
// indexes as etcd revisions. Instead it writes the snapshot under a fresh generation prefix
// `<prefix>g/<id>/` in as many txns as it takes (invisible: every mirror reads only the current
// generation), then flips the pointer key `<prefix>gen` in ONE txn. Every Beacon write compares
// the pointer's mod_revision, so no write lands in the old generation after the flip, and each
// agent's watch, seeing the pointer move, reloads the mirror in one swap (readers see the old
// state or the new one, never a mix) and wakes blocking queries.
//
// Indexes in a generation: Consul index = etcd revision + base. With F the flip's revision, C
// the Consul index of the old generation at the flip (its m/kv, m/sessions, which stay until the
// next restore) and S the snapshot's index, the restore's index is R = max(C, S) + 1 and
// base = R - F, so later writes (revision > F) get indexes above R. Records written by the
// restore carry the snapshot's indexes in their values and keep them when above C, else take R
// (store.h's rule). An entry whose CreateIndex is not its create_revision + base carries it.
//
// Contract: pure functions on values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/kv/store.h"
#include "etcd_codec.h"

namespace beacon::kv::internal {

struct Generation {
  std::string path;         // "" (the keys right under the prefix) or "g/<id>/"
  std::string prev;         // the generation this one replaced
  int64_t prev_base = 0;    // its base
  uint64_t snapshot = 0;    // S
  int64_t pointer_rev = 0;  // F: mod_revision of <prefix>gen (0: no restore ever)
  int64_t base = 0;         // Consul index = etcd revision + base
  uint64_t c = 0, r = 0;    // the old generation's index at the flip; the restore's index
  uint64_t Keep(uint64_t raw) const { return raw > c ? raw : r; }
  uint64_t Index(int64_t rev) const { return static_cast<uint64_t>(rev + base); }
};

inline std::string PointerKey(const std::string& root) {
  return root + "gen";
}
std::string EncodeGeneration(const Generation& g);
// From a range of the whole prefix: the pointer and the previous generation's meta keys.
Generation FindGeneration(const std::vector<EtcdKv>& kvs, const std::string& root);

// Entry envelope version 2 (version 1 plus, after the session, u8 mask and the indexes it names):
//   kPinnedCreate: u64 CreateIndex (an entry updated after being restored keeps its CreateIndex)
//   kRestored:     u64 raw CreateIndex, u64 raw ModifyIndex from the snapshot (see Keep)
inline constexpr uint8_t kPinnedCreate = 1;
inline constexpr uint8_t kRestored = 2;
std::string EncodeEntryV2(const Entry& e, uint8_t mask);
// Decodes version 1 (mask 0) or 2; the indexes the mask names go to e->create/modify_index.
bool DecodeEntryAny(std::string_view raw, Entry* e, uint8_t* mask);
// A restored tombstone's value: its raw index (0: a key the restore dropped, index R).
std::string EncodeRestoredTomb(uint64_t raw);
bool DecodeRestoredTomb(std::string_view value, uint64_t* raw);
// A restored session's value: EncodeSession + its snapshot indexes (kept as they are).
std::string EncodeRestoredSession(const Session& s, int64_t lease);
bool DecodeRestoredSession(std::string_view value, uint64_t* create, uint64_t* modify);

// Requests and answers of the snapshot paths.
// The key with the highest mod_revision (linearizable) in the range the store's watch follows,
// [prefix, WatchEnd(prefix)): Beacon's latest revision, one the watch is sure to deliver.
std::string LatestRequest(std::string_view prefix);
bool ParseLatest(std::string_view body, int64_t* rev, uint64_t* term, std::string* err);
// [key, end) as of revision rev.
std::string RangeAtRequest(std::string_view key, std::string_view end, int64_t rev);
// Up to limit keys (no values) of [key, end).
std::string KeysRequest(std::string_view key, std::string_view end, int limit);

}  // namespace beacon::kv::internal

// Internal: the snapshot steps every Engine-based store shares (kv/snapshot.h, store.h):
// writing a snapshot from one consistent read view, and replacing a write transaction's tables
// with a snapshot's under the index rules of Store::RestoreSnapshot.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "beacon/kv/snapshot.h"
#include "engine.h"

namespace beacon::kv::internal {

// One consistent read view of a store's tables (an LMDB read txn, the maps under a read lock).
struct SnapshotSource {
  Meta meta;
  uint64_t term = 1;  // the header's term (a consensus backend's)
  std::function<void(const std::function<void(const Entry&)>&)> entries;
  std::function<void(const std::function<void(const Tombstone&)>&)> tombstones;
  std::function<void(const std::function<void(const Session&)>&)> sessions;
};
Status WriteSnapshot(const SnapshotSource& src, uint64_t created_ms, const SnapshotSink& sink);

// Unix ms from wall (StoreOptions::wall_ms), or the system clock when it is empty.
uint64_t WallMs(const std::function<uint64_t()>& wall);

// Replaces every entry, tombstone and session of b with snap's (cur: the meta before;
// cur_tombs: the keys of b's tombstones). Writes and returns the new meta (all three = R).
Meta RestoreTables(Backend& b, const SnapshotData& snap, const Meta& cur,
                   const std::vector<std::string>& cur_tombs);

}  // namespace beacon::kv::internal

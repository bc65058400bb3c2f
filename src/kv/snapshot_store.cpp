// Snapshot save and restore steps shared by the Engine-based stores. See snapshot_internal.h.
#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "snapshot_internal.h"

namespace beacon::kv::internal {

uint64_t WallMs(const std::function<uint64_t()>& wall) {
  if (wall) return wall();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Status WriteSnapshot(const SnapshotSource& src, uint64_t created_ms, const SnapshotSink& sink) {
  SnapshotHeader h;
  h.index = AtLeastOne(src.meta.index);
  h.created_ms = created_ms;
  h.term = src.term;
  SnapshotWriter w(h, sink);
  Status st = w.AddIndex(AtLeastOne(src.meta.kv_index), AtLeastOne(src.meta.sessions_index));
  // Sessions first: a reader meets every lock holder before the keys it holds.
  src.sessions([&](const Session& s) {
    if (st.ok()) st = w.Add(s);
  });
  src.entries([&](const Entry& e) {
    if (st.ok()) st = w.Add(e);
  });
  src.tombstones([&](const Tombstone& t) {
    if (st.ok()) st = w.Add(t);
  });
  if (!st.ok()) return st;
  return w.Finish();
}

Meta RestoreTables(Backend& b, const SnapshotData& snap, const Meta& cur,
                   const std::vector<std::string>& cur_tombs) {
  const uint64_t c = cur.index;
  const uint64_t r = std::max(c, snap.header.index) + 1;
  auto keep = [&](uint64_t i) { return i > c ? i : r; };  // never at or below what was reported

  std::unordered_set<std::string_view> keys;
  for (const Entry& e : snap.entries) keys.insert(e.key);
  std::vector<std::string> dropped;
  b.ScanEntries("", [&](const Entry& e) {
    if (keys.count(e.key) == 0) dropped.push_back(e.key);
    return true;
  });
  for (const std::string& k : cur_tombs) b.DelTombstone(k);
  for (const std::string& k : dropped) {
    b.DelEntry(k);
    b.PutTombstone(k, r);
  }
  for (const Tombstone& t : snap.tombstones) {
    if (keys.count(t.key) == 0) b.PutTombstone(t.key, keep(t.index));
  }
  std::vector<std::string> sessions;
  b.ScanSessions([&](const Session& s) { sessions.push_back(s.id); });
  for (const std::string& id : sessions) b.DelSession(id);
  for (const Session& s : snap.sessions) b.PutSession(s);
  for (const Entry& e : snap.entries) {
    Entry copy = e;
    copy.modify_index = keep(e.modify_index);
    copy.create_index = std::min(copy.create_index, copy.modify_index);
    b.PutEntry(copy);  // every old tombstone is gone, the snapshot's skip its keys
  }
  Meta m{r, r, r};
  b.PutMeta(m);
  return m;
}

}  // namespace beacon::kv::internal

// Beacon snapshot files: one file holding the KV store's state at one index (KV entries with all
// their indexes, tombstones, sessions, prepared queries when present), written by
// `beacon snapshot save` / GET /v1/snapshot and read back by restore and inspect.
//
// Format, version 1. All integers little-endian; str = u32 length + bytes.
//   Header, 48 bytes:
//      0  magic "BCNSNAP\n" (8 bytes; the newline catches text-mode transfers)
//      8  u32 format version (1)    12  u32 reserved (0)
//     16  u64 index           the store-wide index the snapshot holds (every write up to it)
//     24  u64 term            1 for the embedded store; a consensus backend writes its term
//     32  u64 created         Unix time of the save, ms
//     40  u64 reserved (0)
//   Body: records, each u8 type + u32 payload length + payload:
//      1 KVS            u64 create, modify, lock, flags; str key; str session; value (the rest)
//      2 Tombstone      u64 delete index; key (the rest)
//      3 Session        u64 create, modify, lock_delay_ms, ttl_ms; u8 behavior (0 release,
//                       1 delete); str id, name, node; u32 n + n str node checks;
//                       u32 n + n (str id, str namespace) service checks
//      4 PreparedQuery  one prepared query as JSON (the object GET /v1/query/<id> returns)
//      5 Index          u64 kv_index, sessions_index (the table indexes at the save)
//      0 End            u64 number of records before it; must be the last record
//   Trailer: SHA-256 (32 bytes) over header + body.
// A reader verifies the magic, the version, the digest and every record (lengths, an End record
// exactly before the digest, key/value limits, locks held only by sessions in the file) before
// anything uses the contents: a corrupt, truncated or foreign file is refused with an error
// that says which check failed, and nothing is changed. Unknown record types are refused
// (a newer format bumps the version).
//
// Thread-safety: plain values and functions; a SnapshotWriter is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/kv/store.h"

namespace beacon::kv {

inline constexpr uint32_t kSnapshotVersion = 1;
inline constexpr size_t kSnapshotHeaderBytes = 48;
inline constexpr size_t kSnapshotDigestBytes = 32;

enum class SnapshotRecord : uint8_t {
  kEnd = 0,
  kKvs = 1,
  kTombstone = 2,
  kSession = 3,
  kPreparedQuery = 4,
  kIndex = 5,
};
// Consul's names for inspect: "KVS", "Tombstone", "Session", "PreparedQuery", "Index", "End".
std::string_view SnapshotRecordName(SnapshotRecord t);

struct SnapshotHeader {
  uint32_t version = kSnapshotVersion;
  uint64_t index = 0;
  uint64_t term = 1;
  uint64_t created_ms = 0;
};

struct Tombstone {
  std::string key;
  uint64_t index = 0;
};

struct SnapshotData {
  SnapshotHeader header;
  uint64_t kv_index = 0;
  uint64_t sessions_index = 0;
  std::vector<Entry> entries;  // in file order (saved in key order)
  std::vector<Tombstone> tombstones;
  std::vector<Session> sessions;
  std::vector<std::string> prepared_queries;  // JSON objects
};

// Streams a snapshot to a sink in chunks of about 1 MiB. The first sink error stops the writer:
// every later call returns it.
class SnapshotWriter {
 public:
  SnapshotWriter(const SnapshotHeader& h, SnapshotSink sink);
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  Status Add(const Entry& e);
  Status Add(const Tombstone& t);
  Status Add(const Session& s);
  Status AddPreparedQuery(std::string_view json);
  Status AddIndex(uint64_t kv_index, uint64_t sessions_index);
  // End record + digest, then flushes. Call once.
  Status Finish();

 private:
  Status Record(SnapshotRecord type, std::string_view payload);
  Status Flush();
  struct Digest;
  std::unique_ptr<Digest> digest_;
  SnapshotSink sink_;
  std::string buf_;
  std::string scratch_;
  uint64_t records_ = 0;
  Status status_;
};

// Verifies the whole file (see above) and decodes it.
Result<SnapshotData> ParseSnapshot(std::string_view file);

// What `beacon snapshot inspect` prints (Consul's layout). Sizes are record bytes (type, length
// and payload), sorted by size descending, then by name.
struct SnapshotTypeStats {
  std::string name;
  uint64_t count = 0;
  uint64_t bytes = 0;
};
struct SnapshotStats {
  SnapshotHeader header;
  uint64_t size = 0;  // file size
  std::vector<SnapshotTypeStats> types;
  uint64_t total = 0;                 // sum of record bytes
  std::vector<SnapshotTypeStats> kv;  // with kv_depth > 0: KV bytes by key prefix
  uint64_t kv_total = 0;
};
// Verifies like ParseSnapshot. kv_depth > 0 also groups KVS records by their first kv_depth
// '/'-separated key parts, counting only keys starting with kv_filter.
Result<SnapshotStats> InspectSnapshot(std::string_view file, int kv_depth = 0,
                                      std::string_view kv_filter = {});
// Consul's snapshot ID: "<term>-<index>-<created ms>".
std::string SnapshotId(const SnapshotHeader& h);

}  // namespace beacon::kv

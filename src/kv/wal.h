// Internal: the redo write-ahead log of the LMDB store, <dir>/wal.0.log and <dir>/wal.1.log.
//
// Why: a durable LMDB commit costs two fsyncs (data pages, then the meta page). With the log,
// LMDB runs with MDB_NOSYNC | MDB_NOMETASYNC and a group commit costs ONE fdatasync: the group's
// physical changes (every mdb_put / mdb_del of the child txns that committed) are appended as
// one checksummed record and synced before the LMDB commit and before any callback.
//
// Why power loss cannot corrupt the base: after a crash LMDB's unsynced file may hold a newer
// meta page whose data pages never reached the disk. So a checkpoint pins snapshot C with a read
// txn (no later commit may reuse a page of C), copies C's two meta pages, syncs data.mdb (on a
// background thread: writes go on meanwhile), then writes a header record into the OTHER log
// file: [generation + 1][C's meta pages][the group records appended since C], synced, and
// appends there from then on. Recovery takes the file whose header is intact with the highest
// generation, writes its meta pages back into data.mdb (LMDB is back at C, intact), replays its
// groups in order (puts and deletes of whole records are idempotent), stops at the first torn or
// corrupt record (a torn tail is expected after a crash), then checkpoints. A crash during a
// checkpoint leaves the new header torn or absent: the older file still holds every group.
//
// Record: [u32 magic][u32 payload len][u32 crc32(payload)][payload]. Header payload: [u8 0]
// [u64 generation][u32 page size][2 * page size bytes: meta pages][group records]. Group
// payload: [u8 1][u64 store index after the group][ops]; op: [u8 1 put | 2 del][u8 db][u32 len]
// [key]([u32 len][value]). No file with an intact header: LMDB was synced at the last
// checkpoint (or the log was never used) and is opened as is.
//
// Threads: a WalLog belongs to the store's writer thread (and to Open before it starts).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/kv/store.h"

namespace beacon::kv::internal {

struct WalOptions {
  bool enabled = true;                     // false: LMDB in its own durable sync mode, no log
  uint64_t max_bytes = 64 << 20;           // checkpoint when the log grows past this
  uint64_t interval_ms = 1000;             // ... or when its first record is this old
  std::function<void()> after_checkpoint;  // tests: runs on the writer thread after each one
};

// OpenLmdbStore with explicit log options (OpenLmdbStore uses the defaults).
Result<std::unique_ptr<Store>> OpenLmdbStoreWith(const std::string& dir, const Logger& log,
                                                 StoreOptions opts, WalOptions wal);

// Table codes in the log (stable on disk).
enum WalDb : uint8_t { kWalKv = 0, kWalTomb = 1, kWalSess = 2, kWalMeta = 3 };

uint32_t Crc32(std::string_view data);

// Appends one op to an ops buffer.
void WalPut(std::string* ops, uint8_t db, std::string_view key, std::string_view value);
void WalDel(std::string* ops, uint8_t db, std::string_view key);
// fn(put, db, key, value) per op, in order; false if the buffer is malformed.
bool ForWalOps(std::string_view ops,
               const std::function<bool(bool, uint8_t, std::string_view, std::string_view)>& fn);

struct WalGroup {
  uint64_t index = 0;
  std::string ops;
};

struct WalContents {
  bool has_header = false;
  uint64_t generation = 0;
  int active = 0;  // the file (0 or 1) read
  uint32_t page_size = 0;
  std::string meta_pages;  // 2 * page_size bytes of data.mdb as of the last checkpoint
  std::vector<WalGroup> groups;
  uint64_t valid_bytes = 0;  // the intact prefix of the active file
  uint64_t file_bytes = 0;
};

std::string WalPath(const std::string& dir, int i);  // <dir>/wal.<i>.log
// Reads the log of dir: the intact prefix of the file with the newest intact header.
Status ReadWal(const std::string& dir, WalContents* out);
// Writes the header's meta pages back over the start of the LMDB data file and syncs it.
Status RestoreMetaPages(const std::string& data_file, const WalContents& w);

class WalLog {
 public:
  WalLog() = default;
  ~WalLog();
  WalLog(const WalLog&) = delete;
  WalLog& operator=(const WalLog&) = delete;

  // Opens both files; appends go to the recovered file until the first Rotate.
  Status Open(const std::string& dir, const WalContents& recovered);
  // Appends one group record and fdatasyncs it.
  Status Append(uint64_t index, std::string_view ops);
  // Drops the last record (its LMDB commit failed): back to bytes.
  Status TruncateTo(uint64_t bytes);
  // From now on appended records are also kept for the next Rotate (the checkpoint's start).
  void BeginTail();
  void DropTail();
  // Writes header(generation + 1, meta pages, kept records) into the other file, syncs it and
  // appends there from now on. On failure the current file stays in use (it holds everything).
  Status Rotate(uint32_t page_size, std::string_view meta_pages);
  uint64_t size() const { return size_; }
  bool has_groups() const { return dirty_; }

 private:
  Status Write(int i, std::string_view payload, uint64_t* size);
  std::string path_[2];
  int fd_[2] = {-1, -1};
  int active_ = 0;
  uint64_t generation_ = 0;
  uint64_t size_ = 0;
  bool dirty_ = false;  // groups since the last checkpoint's snapshot
  bool tracking_ = false;
  std::string tail_;
};

}  // namespace beacon::kv::internal

// Internal: the redo log as the LMDB store's writer thread drives it (format and recovery rules
// in wal.h): appends one record per group, and checkpoints (pin snapshot C, sync data.mdb on a
// syncer thread while groups go on, rotate the log to C). Also the recovery steps of Open.
//
// Threads: every method but the constructor's wake callback runs on the store's writer thread
// (or in Open before it starts). The syncer thread only calls mdb_env_sync and then wake(),
// which must lock the writer's mutex and notify it; SyncDone() is safe from any thread.
#pragma once

#include <lmdb.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "beacon/core/thread_annotations.h"
#include "lmdb_tables.h"
#include "wal.h"

namespace beacon::kv::internal {

class WalWriter {
 public:
  using Clock = std::chrono::steady_clock;
  WalWriter(MDB_env* env, const Logger& log, WalOptions opts, std::function<void()> wake);
  ~WalWriter();  // stops the syncer, releases the pins: before mdb_env_close
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Opens the files and checkpoints (the replayed groups are in LMDB), starts the syncer.
  Status Start(const std::string& dir, const WalContents& recovered);

  // False after an append error: the file may end in garbage, so CheckpointNow() first.
  bool ok() const { return ok_; }
  // Appends the group's record and syncs it: the group is durable.
  Status Append(uint64_t index, std::string_view ops);
  // The LMDB commit of the last appended group failed: drop its record.
  void Undo();

  // When the next checkpoint is due (false: none due, or one is under way).
  bool Deadline(Clock::time_point* at) const;
  bool Due() const;
  bool SyncDone() const;
  bool NeedsFinal() const { return pending_ || log_file_.has_groups() || !ok_; }
  void BeginCheckpoint();
  Status FinishCheckpoint();
  Status CheckpointNow();

 private:
  bool Begin();
  Status Failed(Status st);
  void SyncerLoop();

  MDB_env* env_;
  const Logger& log_;
  WalOptions opts_;
  std::function<void()> wake_;
  std::chrono::milliseconds interval_;
  WalLog log_file_;
  bool ok_ = true;
  uint64_t before_ = 0;          // log size before the last append
  MDB_txn* pin_ = nullptr;       // read txn on the last checkpoint's snapshot
  MDB_txn* next_pin_ = nullptr;  // ... on the snapshot of the checkpoint under way
  bool pending_ = false;         // Begin done, Finish not yet
  std::string next_meta_;        // its meta pages
  uint32_t page_size_ = 0;
  Clock::time_point first_group_, tail_start_;
  // Syncer handshake.
  mutable Mutex mu_;
  std::condition_variable cv_;  // syncer waits for a request; CheckpointNow for the result
  bool requested_ GUARDED_BY(mu_) = false;
  bool done_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  int sync_rc_ GUARDED_BY(mu_) = 0;
  std::thread syncer_;
};

// Recovery before mdb_env_open: reads the log of dir and writes its checkpoint's meta pages
// back into data.mdb. Fails if another process has the LMDB environment open.
Status RecoverLog(const std::string& dir, const Logger& log, WalContents* out);
// Replays the recovered groups (puts and deletes of whole records) in one write txn.
Status ReplayLog(MDB_env* env, const Dbis& d, const WalContents& w);

}  // namespace beacon::kv::internal

// The redo log driven by the LMDB store's writer thread (see wal_writer.h and wal.h).
#include "wal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include "beacon/core/thread_name.h"

namespace beacon::kv::internal {
namespace {

Status LmdbError(const std::string& what, int rc) {
  return Status::Error("kv store: " + what + ": " + mdb_strerror(rc));
}

// True if another process has the LMDB environment of dir open (LMDB holds a shared fcntl lock
// on byte 0 of lock.mdb while it is open). Only queried: no lock is taken.
bool InUse(const std::string& dir) {
  int fd = ::open((dir + "/lock.mdb").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  bool busy = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return busy;
}

}  // namespace

WalWriter::WalWriter(MDB_env* env, const Logger& log, WalOptions opts, std::function<void()> wake)
    : env_(env),
      log_(log),
      opts_(std::move(opts)),
      wake_(std::move(wake)),
      interval_(std::min<uint64_t>(opts_.interval_ms, 86400000)) {}

WalWriter::~WalWriter() {
  if (syncer_.joinable()) {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.notify_all();
    syncer_.join();
  }
  if (next_pin_) mdb_txn_abort(next_pin_);
  if (pin_) mdb_txn_abort(pin_);
}

Status WalWriter::Start(const std::string& dir, const WalContents& recovered) {
  Status st = log_file_.Open(dir, recovered);
  if (!st.ok()) return st;
  st = CheckpointNow();
  if (!st.ok()) return st;
  syncer_ = std::thread([this] {
    core::SetThreadName("beacon-wal");
    SyncerLoop();
  });
  return Status::Ok();
}

Status WalWriter::Append(uint64_t index, std::string_view ops) {
  before_ = log_file_.size();
  bool first = !log_file_.has_groups();
  Status st = log_file_.Append(index, ops);
  if (!st.ok()) {
    ok_ = false;  // a partial record may remain: nothing may follow it in this file
    return st;
  }
  if (first) first_group_ = Clock::now();
  return Status::Ok();
}

void WalWriter::Undo() {
  if (log_file_.size() != before_ && !log_file_.TruncateTo(before_).ok()) {
    ok_ = false;  // the lost group stays in the file: leave it at the next group
  }
}

bool WalWriter::Deadline(Clock::time_point* at) const {
  if (pending_ || !log_file_.has_groups()) return false;
  *at = first_group_ + interval_;
  return true;
}

bool WalWriter::Due() const {
  Clock::time_point at;
  return Deadline(&at) && (log_file_.size() >= opts_.max_bytes || Clock::now() >= at);
}

bool WalWriter::SyncDone() const {
  MutexLock lock(&mu_);
  return done_;
}

bool WalWriter::Begin() {
  if (pending_) return true;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &next_pin_);
  if (rc != 0) {
    next_pin_ = nullptr;
    Failed(LmdbError("cannot pin the checkpoint", rc));
    return false;
  }
  MDB_stat stat;
  mdb_env_stat(env_, &stat);
  int fd = -1;
  mdb_env_get_fd(env_, &fd);
  page_size_ = stat.ms_psize;
  next_meta_.assign(2 * size_t{page_size_}, '\0');
  if (::pread(fd, next_meta_.data(), next_meta_.size(), 0) !=
      static_cast<ssize_t>(next_meta_.size())) {
    mdb_txn_abort(next_pin_);
    next_pin_ = nullptr;
    Failed(Status::Error("kv store: cannot read the meta pages"));
    return false;
  }
  log_file_.BeginTail();
  pending_ = true;
  tail_start_ = Clock::now();
  return true;
}

void WalWriter::BeginCheckpoint() {
  if (pending_ || !Begin()) return;
  MutexLock lock(&mu_);
  requested_ = true;
  cv_.notify_all();
}

Status WalWriter::FinishCheckpoint() {
  int rc = 0;
  {
    MutexLock lock(&mu_);
    rc = sync_rc_;
    done_ = false;
  }
  pending_ = false;
  Status st = rc == 0 ? log_file_.Rotate(page_size_, next_meta_) : LmdbError("cannot sync", rc);
  if (!st.ok()) {
    log_file_.DropTail();
    mdb_txn_abort(next_pin_);
    next_pin_ = nullptr;
    return Failed(st);
  }
  if (pin_) mdb_txn_abort(pin_);
  pin_ = next_pin_;
  next_pin_ = nullptr;
  ok_ = true;  // appends go to a fresh file
  first_group_ = tail_start_;
  if (opts_.after_checkpoint) opts_.after_checkpoint();
  return Status::Ok();
}

Status WalWriter::CheckpointNow() {
  if (!pending_) {
    if (!Begin()) return Status::Error("kv store: cannot checkpoint (see the log)");
    int rc = mdb_env_sync(env_, 1);
    MutexLock lock(&mu_);
    sync_rc_ = rc;
    done_ = true;
  } else {
    UniqueLock lock(&mu_);
    cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return done_; });
  }
  return FinishCheckpoint();
}

Status WalWriter::Failed(Status st) {
  BEACON_LOG(log_, kError, "kv", "checkpoint failed: %s", st.message().c_str());
  return st;
}

void WalWriter::SyncerLoop() {
  UniqueLock lock(&mu_);
  for (;;) {
    cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return stop_ || requested_; });
    if (!requested_) return;
    requested_ = false;
    lock.Unlock();
    int rc = mdb_env_sync(env_, 1);  // only fdatasync: safe beside the writer's txns
    lock.Lock();
    sync_rc_ = rc;
    done_ = true;
    cv_.notify_all();
    lock.Unlock();
    wake_();
    lock.Lock();
  }
}

Status RecoverLog(const std::string& dir, const Logger& log, WalContents* w) {
  Status st = ReadWal(dir, w);
  if (!st.ok()) return st;
  if (!w->has_header) return Status::Ok();
  if (InUse(dir)) return Status::Error("kv store: " + dir + " is in use by another process");
  if (w->valid_bytes != w->file_bytes) {
    BEACON_LOG(log, kWarn, "kv", "%s: dropping a torn tail of %llu bytes",
               WalPath(dir, w->active).c_str(),
               static_cast<unsigned long long>(w->file_bytes - w->valid_bytes));
  }
  return RestoreMetaPages(dir + "/data.mdb", *w);
}

Status ReplayLog(MDB_env* env, const Dbis& d, const WalContents& w) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc != 0) return LmdbError("cannot replay the log", rc);
  const MDB_dbi dbis[] = {d.kv, d.tomb, d.sess, d.meta};
  for (const WalGroup& g : w.groups) {
    ForWalOps(g.ops, [&](bool put, uint8_t db, std::string_view k, std::string_view v) {
      MDB_val key{k.size(), const_cast<char*>(k.data())};
      MDB_val val{v.size(), const_cast<char*>(v.data())};
      rc = put ? mdb_put(txn, dbis[db], &key, &val, 0) : mdb_del(txn, dbis[db], &key, nullptr);
      if (rc == MDB_NOTFOUND) rc = 0;
      return rc == 0;
    });
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("cannot replay the log", rc);
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError("cannot replay the log", rc);
  return Status::Ok();
}

}  // namespace beacon::kv::internal

// Internal: the on-disk layout of the LMDB store and typed access inside one LMDB transaction.
//
// Databases (one env, <data-dir>/kv/data.mdb):
//   "kv"    record key = the KV key cut to LMDB's max key size (511 bytes in Debian's build);
//           record value = a bucket of items [u16 suffix len][suffix][u32 blob len][blob], sorted
//           by suffix, where key = record key + suffix. Keys shorter than the cut are a one-item
//           bucket with an empty suffix; only 512-byte keys can share a record. Entry blob:
//           u64 create, modify, lock, flags; u16 session len; session; value bytes.
//   "tomb"  same buckets, blob = u64 delete index (tombstones, spec 2.2).
//   "sess"  session id -> encoded Session.
//   "meta"  "meta" -> u32 version, u64 index, kv_index, sessions_index.
// All integers little-endian (host order on every platform we build for, checked at compile
// time). A Tables object wraps one txn (read or write) and keeps the first LMDB error; after an
// error reads return not-found and writes do nothing. With Record(ops), every mdb_put / mdb_del
// that succeeds is also appended to ops in the redo-log format (wal.h).
#pragma once

#include <lmdb.h>

#include <functional>
#include <string>
#include <string_view>

#include "engine.h"

namespace beacon::kv::internal {

struct Dbis {
  MDB_dbi kv = 0, tomb = 0, sess = 0, meta = 0;
  size_t max_key = 511;  // mdb_env_get_maxkeysize
};

class Tables final : public Backend {
 public:
  // rc != 0: the txn could not be begun; every call then fails.
  Tables(MDB_txn* txn, const Dbis& d, int rc = 0) : txn_(txn), d_(d), rc_(rc) {}

  int rc() const { return rc_; }
  // Appends each successful physical change to *ops (nullptr: stop recording).
  void Record(std::string* ops) { rec_ = ops; }
  bool failed() const { return rc_ != 0; }

  // Backend
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
  void PutMeta(const Meta& m) override;

  // Reads without value copies.
  Meta GetMeta();
  bool GetModifyIndex(std::string_view key, uint64_t* modify);
  // Max ModifyIndex over entries and tombstones under prefix (0 when none).
  uint64_t SubIndex(std::string_view prefix);
  // Keys under prefix in order (values not decoded), until fn returns false.
  void ScanKeys(std::string_view prefix, const std::function<bool(std::string_view)>& fn);
  // Tombstones under prefix in key order (key, delete index), until fn returns false.
  void ScanTombstones(std::string_view prefix,
                      const std::function<bool(std::string_view, uint64_t)>& fn);

 private:
  // fn(full key, blob) for each item under prefix in db, until fn returns false.
  void ScanItems(MDB_dbi db, std::string_view prefix,
                 const std::function<bool(std::string_view, std::string_view)>& fn);
  bool GetItem(MDB_dbi db, std::string_view key, std::string_view* blob);
  void PutItem(MDB_dbi db, std::string_view key, size_t blob_len,
               const std::function<void(char*)>& fill);
  void DelItem(MDB_dbi db, std::string_view key);
  void Put(MDB_dbi db, MDB_val k, std::string_view value);  // mdb_put + record + Check
  void Del(MDB_dbi db, MDB_val k);                          // mdb_del + record + Check
  uint8_t Code(MDB_dbi db) const;
  void RecPut(MDB_dbi db, const MDB_val& k, const MDB_val& v);
  void RecDel(MDB_dbi db, const MDB_val& k);
  void Check(int rc) {
    if (rc != 0 && rc != MDB_NOTFOUND && rc_ == 0) rc_ = rc;
  }

  MDB_txn* txn_;
  const Dbis& d_;
  int rc_ = 0;
  std::string* rec_ = nullptr;
};

}  // namespace beacon::kv::internal

// Internal: group commit for the etcd store's writers (etcd_store.cpp). Each write unit is one
// etcd txn; while one writer's txn is on its way to etcd, the units other writers finish join a
// queue, and the next of them to send takes every queued unit it can as ONE etcd txn whose
// success branch nests each unit's txn (etcd_proto.h, BatchTxnProto). etcd then spends one
// request, one raft entry and one apply on several units: its CPU per PUT drops by a third at
// three units a txn (bench/kv_etcd_bench.py; README "KV on etcd").
//
// Contract:
// - Send() blocks the calling writer until its unit's outcome is known, as EtcdConn::Txn.
// - Correctness: every nested txn's compares are evaluated against the state before the whole
//   txn, so a unit joins a group only when no unit already in it writes a key it reads or
//   writes, or reads a key it writes (then each unit sees exactly the state it would have seen
//   committing alone, first); units that compare an index key (a scan), write many keys, or
//   only compare (check-only) always go alone. The index keys (m/kv, m/sessions), which etcd
//   refuses to see put twice in one txn, are put once after the nested txns.
// - A group that fails at transport level fails each of its units with that error (the store
//   reports it like a single txn's; the request ids in the writer slots make retries safe).
// - Thread-safe; the gRPC transport only (EtcdConn::batching()); otherwise every unit is sent
//   alone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "beacon/core/thread_annotations.h"
#include "etcd_conn.h"
#include "etcd_proto.h"

namespace beacon::kv::internal {

class EtcdGroup {
 public:
  static constexpr size_t kMaxUnits = 16;    // nested txns in one group
  static constexpr size_t kMaxUnitOps = 16;  // a unit with more writes or compares goes alone

  // Sends u (its writes without the index keys) with `after` (the index keys it changes), alone
  // when `alone` or as part of a group. attempt_ms as EtcdConn::Txn.
  Result<EtcdConn::TxnAnswer> Send(EtcdConn& conn, const TxnUnit& u,
                                   const std::vector<TxnWrite>& after, bool alone,
                                   int64_t attempt_ms);

 private:
  struct Pending {
    const TxnUnit* unit = nullptr;
    const std::vector<TxnWrite>* after = nullptr;
    bool done = false;
    Status status;
    EtcdConn::TxnAnswer answer;
  };
  // Whether p can join the units already in `batch` (the key rules above).
  static bool Fits(const Pending& p, const std::vector<Pending*>& batch);
  // Sends one group (or a lone unit) on conn and fills in each one's outcome.
  static void SendGroup(EtcdConn& conn, const std::vector<Pending*>& batch, int64_t attempt_ms);

  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  bool sending_ GUARDED_BY(mu_) = false;  // a writer is sending groups
};

}  // namespace beacon::kv::internal

// Internal: etcd v3's protobuf messages for the gRPC transport (etcd_conn.cpp), the few that
// Beacon sends on its write path: TxnRequest in, TxnResponse out (etcd's rpc.proto and
// mvccpb/kv.proto, field numbers as there). Same arguments and results as the JSON forms in
// etcd_codec.h.
//
// Contract: pure functions, any thread. The parser skips fields it does not know (as protobuf
// does) and returns false (with *err) on a truncated or malformed message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "etcd_codec.h"

namespace beacon::kv::internal {

std::string TxnProto(const std::vector<std::pair<std::string, int64_t>>& compares,
                     const std::vector<TxnWrite>& success,
                     const std::vector<std::string>& failure_reads);
// As ParseTxn: on failure, *kvs gets the kvs of the failure branch's range reads.
bool ParseTxnProto(std::string_view msg, bool* succeeded, int64_t* rev, std::vector<EtcdKv>* kvs,
                   std::string* err);

// Group commit: several units' txns as one etcd txn whose success branch holds each unit's txn
// as a nested txn (RequestOp.request_txn, etcd >= 3.3), then `after` (puts every unit shares,
// e.g. the m/ index keys, which nested txns may not put twice). Every nested txn's compares
// are evaluated against the state before the whole txn, so the caller only groups units that
// neither write what another reads or writes.
struct TxnUnit {
  std::vector<std::pair<std::string, int64_t>> compares;
  std::vector<TxnWrite> success;
  std::vector<std::string> failure_reads;
};
std::string BatchTxnProto(const std::vector<const TxnUnit*>& units,
                          const std::vector<TxnWrite>& after);
struct UnitAnswer {
  bool succeeded = false;
  std::vector<EtcdKv> kvs;  // failed: its failure branch's range reads
};
// The outer txn's revision and each nested txn's outcome, in order.
bool ParseBatchTxnProto(std::string_view msg, int64_t* rev, std::vector<UnitAnswer>* units,
                        std::string* err);

std::string WatchProto(std::string_view key, std::string_view range_end, int64_t start_rev);
// As ParseWatch.
bool ParseWatchProto(std::string_view msg, std::vector<EtcdKv>* events, bool* created,
                     bool* canceled, int64_t* compact_rev, std::string* err);

}  // namespace beacon::kv::internal

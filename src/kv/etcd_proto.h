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

std::string WatchProto(std::string_view key, std::string_view range_end, int64_t start_rev);
// As ParseWatch.
bool ParseWatchProto(std::string_view msg, std::vector<EtcdKv>* events, bool* created,
                     bool* canceled, int64_t* compact_rev, std::string* err);

}  // namespace beacon::kv::internal

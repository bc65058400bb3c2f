// /v1/snapshot (Consul's snapshot endpoint) over a kv::Store, in Beacon's snapshot format
// (kv/snapshot.h) rather than Consul's gzipped Raft archive.
//
// Contract:
// - AddSnapshotRoutes registers on `router`:
//     GET /v1/snapshot   200, the snapshot file (application/octet-stream) with X-Consul-Index
//                        = the index it holds; ?dc naming another datacenter -> 500; ?stale is
//                        accepted (one server answers from its own store either way).
//     PUT /v1/snapshot   body = a snapshot file; verified completely, then restored atomically
//                        (Store::RestoreSnapshot): 200 with an empty body once committed, 400
//                        with the reason for a bad file (nothing changed), 500 on a store error.
//   The restore's commit goes through the store's OnCommit, so parked KV and session blocking
//   queries wake.
// - GET encodes on the HTTP loop thread from one consistent read view (the LMDB read txn does
//   not stop writers); PUT answers through Response::Defer after the commit.
// - The request body limit of PUT is HttpServerOptions::body_limits (the agent allows
//   kMaxSnapshotBytes on /v1/snapshot).
// - `store` must outlive the server the router goes to.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "beacon/http/server.h"
#include "beacon/kv/store.h"

namespace beacon::http {

inline constexpr size_t kMaxSnapshotBytes = size_t{1} << 30;

struct SnapshotApiOptions {
  std::string datacenter = "dc1";
  // Prepared queries, when the agent keeps them outside the KV store (the catalog writer):
  // GET adds one PreparedQuery record (a JSON object) per query returned here; PUT hands the
  // file's queries (possibly none) to restore_prepared_queries after the KV restore committed.
  // Both run on the HTTP loop thread or the store's thread and must not block.
  std::function<std::vector<std::string>()> prepared_queries;
  std::function<Status(std::vector<std::string>)> restore_prepared_queries;
};

void AddSnapshotRoutes(Router& router, kv::Store& store, const SnapshotApiOptions& opts);

}  // namespace beacon::http

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
#include <string>

#include "beacon/http/server.h"
#include "beacon/kv/store.h"

namespace beacon::http {

inline constexpr size_t kMaxSnapshotBytes = size_t{1} << 30;

struct SnapshotApiOptions {
  std::string datacenter = "dc1";
};

void AddSnapshotRoutes(Router& router, kv::Store& store, const SnapshotApiOptions& opts);

}  // namespace beacon::http

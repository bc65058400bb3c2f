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
//   queries wake. With the prepared-query hooks set (a server agent), GET adds the server's
//   queries and PUT answers only after restore_prepared_queries has replaced them too.
// - GET encodes from one consistent read view (the LMDB read txn does not stop writers) and PUT
//   verifies the file on the routes' own `beacon-snapshot` thread (one at a time, in arrival
//   order), never on the HTTP loop; both answer through Response::Defer (PUT after the commit).
//   The thread ends, after its queued jobs, when the router's handlers are destroyed: `store`
//   must outlive the server the router goes to.
// - The request body limit of PUT is HttpServerOptions::body_limits (the agent allows
//   kMaxSnapshotBytes on /v1/snapshot).
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
  // Prepared queries, when the agent keeps them outside the KV store (a server's query API):
  // GET adds one PreparedQuery record (a JSON object) per query returned here; PUT hands the
  // file's queries (possibly none: the set becomes empty) to restore_prepared_queries after the
  // KV restore committed, and answers once it called done (an error starting "invalid
  // snapshot" is a 400, any other a 500; the KV restore stays). Both are called on any thread
  // (the snapshot worker, the store's thread); done may be called on any thread.
  std::function<std::vector<std::string>()> prepared_queries;
  std::function<void(std::vector<std::string>, std::function<void(Status)> done)>
      restore_prepared_queries;
  // Run saves and restore verification on a `beacon-snapshot` thread owned by the routes (the
  // HTTP loop never waits for them). false: inline in the handler (unit tests calling Dispatch).
  bool background = true;
};

void AddSnapshotRoutes(Router& router, kv::Store& store, const SnapshotApiOptions& opts);

}  // namespace beacon::http

// Prepared-query endpoints (spec 2.8): POST/GET /v1/query, GET/PUT/DELETE /v1/query/<id>,
// GET /v1/query/<id-or-name>/execute and /explain.
//
// Contract:
// - A server agent keeps the definitions (opts.store = true): in memory on the HTTP loop thread,
//   and, with opts.file set, in that file (written whole, durably, through opts.persist, never on
//   the loop thread). Each write is validated first (catalog::CheckQuery, then the name/ID
//   conflicts Consul's state store checks) and refused with 400 and Consul's text; an accepted
//   one is persisted, then the whole set goes to the catalog writer (opts.submit →
//   Writer::SetPreparedQueries) and the client is answered once the snapshot holding it is
//   published, so a DNS lookup right after the answer sees it. Indexes (CreateIndex,
//   ModifyIndex, X-Consul-Index) come from the set's own counter, kept in the file.
// - GET /v1/query blocks (?index, ?wait) on Topic::kCatalog (every publish notifies it).
// - execute and explain run on every agent against the published snapshot's compiled set, the
//   same QuerySet and filter (catalog::QueryAccepts) DNS uses; execute shuffles, then with
//   ?near / Near ("_agent" = this agent) sorts by estimated RTT from that node's network
//   coordinate (opts.coordinates; nodes without one last) and puts the near node itself first,
//   and applies ?limit. Failover is stored and echoed; there is one datacenter, so Failovers: 0.
// - Client agents (opts.store = false) answer execute and explain themselves and hand the rest
//   to opts.forward (a server answers); the agent mirrors the server's set into its catalog.
// - Snapshots (api/snapshot_api.h): QueryRecords gives the published set (so every
//   acknowledged write), one JSON object per query exactly as GET /v1/query/<id> prints it; a
//   server's AddQueryRoutes returns the function that replaces the whole set with such records
//   (restore). It may be called on any thread: the records are decoded and validated (ID,
//   CheckQuery, the conflicts above) on the loop thread (opts.post), then the set and its index
//   (max(current, the records' highest index) + 1, so it never goes back) are swapped at once,
//   persisted and installed like a write; done(Status) once published, so DNS and a blocking
//   GET /v1/query see it. A bad record: done("invalid snapshot: prepared query: ..."), nothing
//   changed.
// - Servers on etcd share one set (opts.shared_put set, opts.file empty): it is one etcd value
//   (kv::EtcdValue) holding the file's text. A write runs on a copy of the set and is written
//   with a compare on the revision the set came from; when another server wrote first, the
//   write is run again on that server's set (so a name taken meanwhile is a 400, not a lost
//   update), and the answer waits for the set that holds it to be published here. Changes the
//   value's watch reports (QueryHooks::shared_changed: another server's write, a restore through
//   another server) replace the set here, install it and wake blocking lists, so every server,
//   and the clients mirroring it, answers the same set. A server that loaded queries from its
//   own file (opts.initial: moved from the embedded store, or a server of an older version that
//   kept one per server) adds those the shared set lacks, unless their name is taken there, at
//   the watch's first report, then calls opts.handed_over.
// - Handlers run on the HTTP loop thread; opts.persist's and opts.shared_put's callbacks may run
//   on any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "beacon/catalog/commands.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/prepared_query.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/http/server.h"

namespace beacon::http {

class CoordinateStore;  // coordinate_api.h

struct QueryApiOptions {
  std::string datacenter = "dc1";
  std::string node_name;  // "_agent"
  // Near sorting by estimated RTT; null: the near node is only put first. Outlives the server.
  const CoordinateStore* coordinates = nullptr;
  bool pretty = false;
  const Logger* log = nullptr;  // warnings (a shared set that does not parse); outlives the server
  bool store = true;            // a server: keeps the definitions and serves the writes
  std::string file;             // "" = memory only (-dev)
  // Writes `data` to `path` durably on a thread that may block, then calls done("" or error).
  std::function<void(std::string path, std::string data, std::function<void(std::string)> done)>
      persist;
  catalog::SubmitFn submit;  // runs a command on the writer; the callback after its publish
  // Whether a session exists (Session field); null: any session is accepted.
  std::function<bool(const std::string& id)> session_exists;
  // The definitions loaded at start (LoadQueryFile) and the index they were saved at.
  std::vector<catalog::PreparedQuery> initial;
  uint64_t initial_index = 1;
  // Runs a closure on the HTTP loop thread (HttpServer::Post); null: on the caller's thread.
  std::function<void(std::function<void()>)> post;
  // Client agents: relays a request to a server (everything but execute and explain).
  Handler forward;
  // Servers on etcd: writes the file's text as the shared value if its revision is still
  // `expected` (0: none yet); done (any thread) gets the outcome (kv::EtcdValue::Put).
  struct SharedPut {
    Status status;
    bool conflict = false;  // another server wrote first: `text`/`rev` are its set
    bool exists = false;
    std::string text;
    int64_t rev = 0;  // after a success: the revision of our write
  };
  std::function<void(std::string text, int64_t expected, std::function<void(SharedPut)> done)>
      shared_put;
  // Shared set: the definitions loaded from the server's own file (`initial`) are in etcd now
  // (loop thread); the agent retires the file so a later start does not bring deleted ones back.
  std::function<void()> handed_over;
};

// What a server's AddQueryRoutes hands back besides the replacer (any thread may call them).
struct QueryHooks {
  // Deletes, on the loop thread, every query whose Session no longer exists
  // (opts.session_exists), as Consul deletes a query with its session, and persists and installs
  // the set like a DELETE. Call after sessions change.
  std::function<void()> drop_orphans;
  // Shared set: the etcd value is now `text` at `rev` (exists = false: there is none).
  std::function<void(bool exists, std::string text, int64_t rev)> shared_changed;
};

// Replaces a server's whole set (see the contract); any thread.
using ReplaceQueriesFn =
    std::function<void(std::vector<std::string> records, std::function<void(Status)> done)>;

// Returns the replacer on a server (opts.store), null on a client agent. On a server, *hooks
// (when given) gets the functions above.
ReplaceQueriesFn AddQueryRoutes(Router& router, const catalog::SnapshotHub& hub,
                                QueryApiOptions opts, QueryHooks* hooks = nullptr);
// The published set as snapshot records (see the contract); any thread.
std::vector<std::string> QueryRecords(const catalog::Snapshot& snap);

// Reads the persisted set; a missing file is an empty set. *index gets the saved index (>= 1).
Result<std::vector<catalog::PreparedQuery>> LoadQueryFile(const std::string& path, uint64_t* index);
// The file's text for a set at `index`.
std::string QueryFileText(const std::vector<catalog::PreparedQuery>& queries, uint64_t index);

}  // namespace beacon::http

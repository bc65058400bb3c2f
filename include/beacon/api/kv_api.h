// KV, session and txn endpoints (spec 2.3, 2.7, 2.8) over a kv::Store.
//
// Contract:
// - AddKvRoutes registers on `router`:
//     GET/PUT/DELETE /v1/kv/<key>        (GET: ?recurse ?keys ?separator ?raw; PUT: ?flags ?cas
//                                          ?acquire ?release; DELETE: ?recurse ?cas)
//     PUT /v1/session/create, /v1/session/destroy/<id>, /v1/session/renew/<id>
//     GET /v1/session/info/<id>, /v1/session/node/<node>, /v1/session/list
//     PUT /v1/txn                        (KV operations only)
// - Every read (kv GET in all forms, session info/node/list) is a blocking query (spec 2.2,
//   http::Block on Topic::kKv / Topic::kSession) and sends X-Consul-Index (>= 1),
//   X-Consul-KnownLeader (true, or false while opts.cluster knows no leader; 400s always say
//   true) and X-Consul-LastContact (ms since opts.cluster last saw a leader, 0 while it knows
//   one), on 404 and 400 too; ?max_stale=<d> reads like ?consistent once LastContact passes
//   d (Consul: the read goes to the leader), else like ?stale. Someone must
//   call HttpServer::Notify(kKv / kSession) from the store's OnCommit for parked reads to wake.
// - Writes are answered after the store commits (Response::Defer; the store's callback may run
//   on any thread). Input is validated first: on any 4xx nothing is written.
// - Handlers run on the HTTP loop thread; `store` must outlive the server the router goes to.
// - JSON bodies are indented like Go's MarshalIndent when ?pretty is given or opts.pretty.
#pragma once

#include <functional>
#include <string>

#include "beacon/core/json_writer.h"
#include "beacon/http/server.h"
#include "beacon/kv/cluster.h"
#include "beacon/kv/store.h"

namespace beacon::http {

using core::JsonWriter;

struct KvApiOptions {
  // This agent's node name: the default Node of a new session.
  std::string node_name;
  // ?dc= naming another datacenter -> 500 "No path to datacenter" ("" accepts any).
  std::string datacenter = "dc1";
  // -dev mode: every JSON answer indented as with ?pretty.
  bool pretty = false;
  // Optional catalog check of a session about to be created (spec 2.7: its node must exist and
  // none of its checks may be critical). Returns "" to accept, else the error text (HTTP 500,
  // e.g. "Missing node registration"). Runs on the HTTP loop thread; must not block.
  std::function<std::string(const kv::Session&)> validate_session;
  // The KV backend's cluster (kv/cluster.h); null: a leader is always known, no barrier. With
  // it, KV and session reads answer X-Consul-KnownLeader from cluster->KnownLeader() (cached,
  // no round trip), and ?consistent reads wait for cluster->Barrier() and for the store to
  // reach the barrier's index (500 when etcd has no quorum). `wake` re-probes parked reads
  // (HttpServer::Notify(kKv) and (kSession)); any thread.
  kv::ClusterView* cluster = nullptr;
  std::function<void()> wake;
  // The store's Ready() (kv/store.h); null: always ready. Not ready: every KV, session and txn
  // request answers 500 with its message.
  std::function<Status()> ready;
};

void AddKvRoutes(Router& router, kv::Store& store, const KvApiOptions& opts);

// ---- pieces shared by kv_api.cpp, session_api.cpp and txn_api.cpp ----
namespace kvapi {

// "" when `key` may be used (<= 512 bytes, no ".." path segment); else the error text. An empty
// key is the caller's decision.
std::string KeyProblem(std::string_view key);
// Consul's DirEntry; Value is base64 or null when empty, Session only when set.
void DirEntryObject(JsonWriter& w, const kv::Entry& e);
// Puts the writer's JSON into resp (indented when pretty); 500 if the writer failed.
void SendJson(Response& resp, JsonWriter& w, bool pretty, int code = 200);
// ?pretty or opts.pretty.
bool Pretty(const Request& req, const KvApiOptions& opts);
// ?dc (or ?datacenter) naming another datacenter -> 500, a store not ready (opts.ready) -> 500,
// or, for reads, ?stale with ?consistent -> 400: fills resp and returns false.
bool CheckCommon(const Request& req, Response& resp, const KvApiOptions& opts, bool read);
// Block() for the KV and session reads, with opts.cluster's KnownLeader and ?consistent
// barrier (kv_consistency.cpp).
void ReadBlock(const Request& req, Response& resp, const KvApiOptions& opts, const kv::Store& store,
               Topic topic, std::function<uint64_t()> probe, const BlockingParams& bp,
               std::function<void(const Request&, Response&)> compute);
// A text/plain error response (for Deferred::Reply).
Response ErrorResponse(int code, std::string_view text);

void AddSessionRoutes(Router& router, kv::Store& store, const KvApiOptions& opts);
void AddTxnRoutes(Router& router, kv::Store& store, const KvApiOptions& opts);

}  // namespace kvapi

}  // namespace beacon::http

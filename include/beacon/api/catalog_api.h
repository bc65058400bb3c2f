// Catalog, health and status endpoints (spec 2.4, 2.5, 2.8), served from the newest catalog
// snapshot; catalog writes go through the catalog writer thread.
//
// Contract:
// - AddCatalogRoutes registers, on `router`:
//   GET /v1/status/leader, /v1/status/peers, /v1/catalog/datacenters,
//   GET (blocking) /v1/catalog/services, /v1/catalog/nodes, /v1/catalog/service/<name>,
//   /v1/catalog/node/<node>, /v1/health/service/<name>, /v1/health/node/<node>,
//   /v1/health/checks/<service>, /v1/health/state/<state>,
//   PUT /v1/catalog/register, /v1/catalog/deregister.
//   Any other GET under /v1/catalog/ or /v1/health/ is a 404 that still carries the index headers.
// - Reads run on the HTTP loop thread and read `hub.Current()` (a shared owner: the snapshot
//   stays valid for the whole request). `hub` must outlive the server the router is given to.
// - Every blocking read (spec 2.2) answers at once without ?index; with ?index=N it parks on
//   Topic::kCatalog until its own result index (not the catalog-wide one) passes N, or ?wait ends.
//   Whoever publishes catalog snapshots must call HttpServer::Notify(Topic::kCatalog) after each
//   publish. Result indexes: health|catalog/service -> that service's index (the services table's
//   when unknown); catalog/services -> services table; catalog/nodes -> nodes table;
//   catalog/node and health/node -> that node's index (nodes table when unknown);
//   health/checks -> the service's; health/state -> checks table. ?node-meta adds the nodes table
//   where the filter can change the answer. Never 0, never backwards.
// - Every blocking read sends X-Consul-Index, X-Consul-KnownLeader: true, X-Consul-LastContact: 0
//   and X-Consul-Effective-Consistency (leader | stale | consistent), on 404 and 400 too.
// - Errors: 400 for bad ?index/?wait/?passing, ?filter (not implemented), ?stale with
//   ?consistent, a missing name, an unknown health state, a body that does not decode
//   ("Request decode failed: ..."); 500 "No path to datacenter" for another ?dc or Datacenter;
//   500 with Consul's message for a register body Consul's RPC would refuse ("Must provide
//   node", ...) and for writes when `submit` is empty.
// - Writes: the change runs on the catalog writer thread through opts.submit; the client gets
//   `true` once the snapshot containing it is published (visible to DNS and HTTP readers), or at
//   once when nothing changed.
// - ?pretty (or opts.pretty_default) indents the JSON as Consul does (spec 2.1).
#pragma once

#include <cstdint>
#include <string>

#include "beacon/catalog/commands.h"
#include "beacon/catalog/hub.h"
#include "beacon/http/server.h"

namespace beacon::http {

class CoordinateStore;  // coordinate_api.h

struct CatalogApiOptions {
  std::string leader = "127.0.0.1:8300";  // advertise address and server port
  std::string datacenter = "dc1";         // this agent's datacenter (compared case-insensitively)
  std::string node_name;                  // this agent's node name
  catalog::SubmitFn submit;               // empty: catalog writes answer 500
  bool pretty_default = false;            // -dev: every JSON body indented
  // ?near=<node>|_agent on catalog/nodes, catalog/service and health/service sorts by estimated
  // RTT (coordinate_api.h SortNear); null: ?near is ignored. Must outlive the server.
  const CoordinateStore* coordinates = nullptr;
};

void AddCatalogRoutes(Router& router, const catalog::SnapshotHub& hub,
                      const CatalogApiOptions& opts);

}  // namespace beacon::http

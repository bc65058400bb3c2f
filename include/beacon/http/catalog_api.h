// Read-only catalog, health and status endpoints (spec 2.4, 2.5, 2.8), served from the newest
// catalog snapshot.
//
// Contract:
// - AddCatalogRoutes registers, on `router`: GET /v1/status/leader, /v1/status/peers,
//   /v1/catalog/services, /v1/catalog/nodes, /v1/catalog/service/<name>,
//   /v1/health/service/<name> (?passing, ?tag= repeated, AND, case-insensitive); any other GET
//   under /v1/catalog/ or /v1/health/ is a 404 that still carries the index headers.
// - Handlers run on the HTTP loop thread and read `hub.Current()` (a shared owner: the snapshot
//   stays valid for the whole request). `hub` must outlive the server the router is given to.
// - Every catalog/health read sends X-Consul-Index (>= 1), X-Consul-KnownLeader: true and
//   X-Consul-LastContact: 0, on 404 and 400 too. Blocking queries (spec 2.2) are not done yet:
//   ?index and ?wait are ignored and the answer is immediate.
// - ?pretty indents the JSON as Consul does (spec 2.1); otherwise it is compact.
// - `leader` is the advertise address and server port, "127.0.0.1:8300".
#pragma once

#include <string>

#include "beacon/catalog/hub.h"
#include "beacon/http/server.h"

namespace beacon::http {

void AddCatalogRoutes(Router& router, const catalog::SnapshotHub& hub, const std::string& leader);

// Go's time.Duration String() for whole milliseconds: "10s", "1m30s", "1.5s", "500ms"; "" for 0.
std::string GoDuration(uint64_t ms);

}  // namespace beacon::http

// Internals shared by the catalog, health and catalog-write endpoints (catalog_api.cpp,
// health_api.cpp, catalog_write_api.cpp): request preamble, blocking reads, JSON objects.
// Loop thread only, except where noted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/api/catalog_api.h"
#include "beacon/api/index_headers.h"
#include "beacon/catalog/snapshot.h"
#include "beacon/core/json_writer.h"

namespace beacon::http {
using core::JsonWriter;
}  // namespace beacon::http

namespace beacon::http::detail {

struct CatalogCtx {
  const catalog::SnapshotHub* hub;
  CatalogApiOptions opts;
  std::string dc_lower;  // opts.datacenter, lower-case
};
using CtxPtr = std::shared_ptr<const CatalogCtx>;

// What every blocking read accepts besides its own parameters.
struct ReadParams {
  BlockingParams block;
  std::vector<std::pair<std::string, std::string>> node_meta;  // ?node-meta=k:v, AND
  const char* consistency = "leader";                          // leader | stale | consistent
  bool pretty = false;
};

// The newest snapshot, or an empty one before the first publish (never null).
catalog::SnapshotPtr Current(const CatalogCtx& ctx);
// ?pretty, or the agent's default.
bool Pretty(const CatalogCtx& ctx, const Request& req);
// ?dc / ?datacenter naming another datacenter: fills resp with 500 "No path to datacenter".
bool ForeignDc(const CatalogCtx& ctx, std::string_view dc, Response& resp);
bool ForeignDcQuery(const CatalogCtx& ctx, const Request& req, Response& resp);
// Parses the common read parameters (consistency, ?index/?wait, ?filter, ?node-meta). False
// after filling resp with a 400 (with index headers). The dc is checked by BlockingRead.
bool ParseRead(const CatalogCtx& ctx, const Request& req, Response& resp, ReadParams* out);
// A 400 for a read, with index headers.
void ReadError(const CatalogCtx& ctx, Response& resp, int code, std::string_view msg);

// A blocking read (spec 2.2): `index_of` gives the result index of a snapshot (cheap: used as
// the parked query's probe); `render` writes the body from the same snapshot. Handles ?dc.
using IndexFn = std::function<uint64_t(const catalog::Snapshot&)>;
using RenderFn = std::function<void(const catalog::Snapshot&, JsonWriter&)>;
void BlockingRead(const CtxPtr& ctx, const Request& req, Response& resp, ReadParams params,
                  IndexFn index_of, RenderFn render);

// ?near=<node> ("_agent": this agent), or empty when absent or without coordinates.
std::string NearNode(const CatalogCtx& ctx, const Request& req);
// Sorts by estimated RTT from `near` (coordinate_api.h SortNear); nothing when near is empty.
void SortInstancesNear(const CatalogCtx& ctx, const std::string& near,
                       std::vector<const catalog::Instance*>& v);
void SortNodesNear(const CatalogCtx& ctx, const std::string& near,
                   std::vector<std::pair<std::string, const catalog::NodeEntry*>>& v);

// Filters.
bool NodeMetaMatches(const catalog::NodeEntry& n, const ReadParams& p);
std::vector<std::string> TagFilter(const Request& req);  // ?tag=..., lower-cased
bool HasTags(const catalog::Instance& in, const std::vector<std::string>& want);
// A service's instances that pass ?node-meta and the tags, ordered by node name then ID (as
// Consul's memdb iterates them).
std::vector<const catalog::Instance*> SelectInstances(const catalog::ServiceEntry* e,
                                                      const ReadParams& p,
                                                      const std::vector<std::string>& tags);

// JSON objects (spec 2.9).
void NodeObject(JsonWriter& w, const catalog::NodeEntry& n, std::string_view agent_dc);
void NodeServiceObject(JsonWriter& w, const catalog::Instance& in);
void HealthCheckObject(JsonWriter& w, const catalog::Check& c, std::string_view node,
                       const catalog::Instance* in);
// The same HealthCheck object from plain fields; with_indexes=false reports CreateIndex and
// ModifyIndex 0, as Consul's agent endpoints do.
void CheckJson(JsonWriter& w, const catalog::Check& c, std::string_view node,
               std::string_view service_id, std::string_view service_name,
               const std::vector<std::string>& tags, bool with_indexes);
const char* HealthText(catalog::Health h);

// Routes registered by the other files.
void AddHealthRoutes(Router& router, const CtxPtr& ctx);
void AddCatalogWriteRoutes(Router& router, const CtxPtr& ctx);

}  // namespace beacon::http::detail

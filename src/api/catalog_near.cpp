// ?near sorting for the catalog and health reads (see catalog_internal.h, coordinate_api.h).
#include "beacon/api/coordinate_api.h"
#include "catalog_internal.h"

namespace beacon::http::detail {

std::string NearNode(const CatalogCtx& ctx, const Request& req) {
  const std::string* near = req.Query("near");
  if (near == nullptr || near->empty() || ctx.opts.coordinates == nullptr) return {};
  return *near == "_agent" ? ctx.opts.node_name : *near;
}

void SortInstancesNear(const CatalogCtx& ctx, const std::string& near,
                       std::vector<const catalog::Instance*>& v) {
  if (near.empty()) return;
  SortNear(*ctx.opts.coordinates->Current(), near, v,
           [](const catalog::Instance* in) { return in->node->name(); });
}

void SortNodesNear(const CatalogCtx& ctx, const std::string& near,
                   std::vector<std::pair<std::string, const catalog::NodeEntry*>>& v) {
  if (near.empty()) return;
  SortNear(*ctx.opts.coordinates->Current(), near, v,
           [](const auto& kv) { return kv.second->name(); });
}

}  // namespace beacon::http::detail

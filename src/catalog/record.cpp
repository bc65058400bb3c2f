// NodeRecord: building one node's record from a snapshot, and the change that replaces it.
#include "beacon/catalog/record.h"

#include <algorithm>
#include <string>

#include "beacon/core/strings.h"

namespace beacon::catalog {
namespace {

std::vector<Check> Plain(const std::vector<Check>& checks) {
  std::vector<Check> out;
  out.reserve(checks.size());
  for (const Check& c : checks) {
    if (c.id == kSerfHealthId && c.service_id.empty()) continue;
    Check x = c;
    x.create_index = 0;
    x.modify_index = 0;
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace

std::optional<NodeRecord> RecordOf(const Snapshot& snap, std::string_view node_key) {
  const NodeEntry* n = snap.nodes.Find(node_key);
  if (n == nullptr) return std::nullopt;
  NodeRecord r;
  r.node = n->ToNode(snap.datacenter);
  r.node_checks = Plain(n->checks());
  if (const NodeServices* ns = snap.node_services.Find(node_key)) r.version = ns->version;
  std::vector<std::string> keys;
  snap.ForEachNodeService(node_key, [&](std::string_view k) { keys.emplace_back(k); });
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) {
    const ServiceEntry* se = snap.services.Find(k);
    if (se == nullptr) continue;
    std::vector<const Instance*> mine;
    for (const Instance& in : se->instances) {
      if (in.node->MatchesKey(node_key)) mine.push_back(&in);
    }
    // Instances are ordered by health in the snapshot; a record is ordered by id.
    std::sort(mine.begin(), mine.end(), [](const Instance* a, const Instance* b) {
      return a->service.id.view() < b->service.id.view();
    });
    for (const Instance* in : mine) r.services.emplace_back(in->ToService(), Plain(in->checks()));
  }
  return r;
}

Change ToChange(const NodeRecord& record) {
  Change c;
  c.origin = core::Lower(record.node.name);
  c.version = record.version;
  c.op = op::ReplaceNode{record.node, record.services, record.node_checks};
  return c;
}

}  // namespace beacon::catalog

// NodeRecord: one node's whole record as its origin owns it (spec cluster-design 3.2): the node,
// its services with their checks, its node-level checks and the record's version. Gossip's
// full-record repair sends these; a receiver applies ToChange(record) through its Writer.
//
// Contract:
// - Plain data built from a published Snapshot (any thread holding one). Check indexes
//   (create/modify) are local to each catalog and left at 0; the check "serfHealth" is the
//   observer's view, never part of a record.
// - Services come ordered by service key, then instance id, each with its checks
//   in stored order, so two catalogs holding the same record build equal NodeRecords.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/snapshot.h"
#include "beacon/catalog/types.h"

namespace beacon::catalog {

struct NodeRecord {
  Node node;
  std::vector<std::pair<Service, std::vector<Check>>> services;
  std::vector<Check> node_checks;  // serfHealth excluded
  uint64_t version = 0;
  bool operator==(const NodeRecord&) const = default;
};

// The record of the node with key `node_key` (lower-case name), or nullopt when the snapshot
// does not hold the node. Allocates; O(the node's services' instances).
std::optional<NodeRecord> RecordOf(const Snapshot& snap, std::string_view node_key);

// An op::ReplaceNode change of the record at the record's version (origin: the node's key).
Change ToChange(const NodeRecord& record);

}  // namespace beacon::catalog

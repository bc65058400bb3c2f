// Snapshot: one immutable, consistent view of the catalog, plus what DNS answers need,
// precomputed.
//
// Contract:
// - Built only by catalog::Writer; never modified after publication. Every pointer reachable from
//   a Snapshot stays valid for the Snapshot's lifetime.
// - Readers (DNS workers, HTTP handlers) on any thread may read it without locks, allocation or
//   atomic read-modify-write, as long as they hold it through a SnapshotHub reader slot.
// - Structure is shared between successive snapshots (PMap), so publishing a change to one
//   service costs in proportion to that service. Entry types live in entries.h.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/catalog/dns_settings.h"
#include "beacon/catalog/entries.h"
#include "beacon/catalog/pmap.h"
#include "beacon/catalog/prepared_query.h"
#include "beacon/catalog/types.h"

namespace beacon::catalog {

struct Snapshot {
  uint64_t generation = 0;  // strictly increasing per publish
  uint64_t index = 1;       // catalog-wide raft-style index (max of all modify indexes)
  // Table indexes (spec 2.2), each the last change of its kind, never 0:
  uint64_t services_index = 1;  // an instance registered, deregistered or redefined
  uint64_t nodes_index = 1;     // a node created, removed or changed
  uint64_t checks_index = 1;    // any check added, removed, redefined or changing status
  PMap<NodeEntry> nodes;        // key: lower-case node name
  // key: lower-case node name; exactly the nodes in `nodes`.
  PMap<NodeServices> node_services;
  PMap<ServiceEntry> services;  // key: lower-case service name
  // Reverse lookups (spec 1.7), key: 4- or 16-byte binary address. A node holding the address
  // wins: ptr_nodes maps it to the first node registered with it (the node entry itself, shared
  // with `nodes`); ptr holds the addresses of services registered with their own address.
  PMap<NodeEntry, NodeByAddr> ptr_nodes;
  PMap<PtrEntry> ptr;
  std::string self_node;        // this agent's node name (lower-case key)
  DnsSettings dns;              // the DNS config this snapshot was built with
  std::string domain_wire;      // dns.domain as wire labels (no terminating zero)
  std::string alt_domain_wire;  // dns.alt_domain likewise ("" when unset)
  std::string datacenter;       // lower-case
  std::string dc_wire;          // datacenter as wire labels
  uint32_t soa_serial = 0;      // unix time of publication
  // The prepared queries (spec 1.6), compiled; never null once published by a Writer.
  QuerySetPtr queries;

  // The node's blocking-query index (NodeServices::index), or 0 when the node is unknown.
  uint64_t NodeIndex(std::string_view node_key) const {
    const NodeServices* s = node_services.Find(node_key);
    return s != nullptr ? s->index : 0;
  }
  // Calls fn(std::string_view service_key) for each service with an instance on the node.
  template <typename Fn>
  void ForEachNodeService(std::string_view node_key, Fn&& fn) const {
    if (const NodeServices* s = node_services.Find(node_key)) s->service_keys.ForEach(fn);
  }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace beacon::catalog

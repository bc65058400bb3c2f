// Snapshot: one immutable, consistent view of the catalog, plus what DNS answers need,
// precomputed.
//
// Contract:
// - Built only by catalog::Writer; never modified after publication. Every pointer reachable from
//   a Snapshot stays valid for the Snapshot's lifetime.
// - Readers (DNS workers, HTTP handlers) on any thread may read it without locks, allocation or
//   atomic read-modify-write, as long as they hold it through a SnapshotHub reader slot.
// - Structure is shared between successive snapshots (PMap), so publishing a change to one
//   service costs in proportion to that service.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "beacon/catalog/pmap.h"
#include "beacon/catalog/types.h"
#include "beacon/config/config.h"

namespace beacon::catalog {

// An address chosen for one query family, precomputed. For kHost the name is the service
// address (from_service) or the node address, as registered.
struct AddrChoice {
  enum Kind : uint8_t { kNone = 0, kV4, kV6, kHost };
  Kind kind = kNone;
  bool from_service = false;  // true: the service address; false: the node address
  std::array<uint8_t, 16> ip{};
};

// Address choices per query family (spec 1.4.1 / 1.3).
enum Family : uint8_t { kFamA = 0, kFamAAAA = 1, kFamAny = 2 };

struct NodeEntry {
  Node node;
  std::vector<Check> checks;         // node-level checks
  Health health = Health::kPassing;  // worst of node checks (passing when none)
  // DNS, precomputed.
  std::array<AddrChoice, 3> addr;  // indexed by Family
  std::string name_wire;           // node name as wire labels, no terminating zero (dots split)
  std::string txt_rdata;           // each TXT rdata as [u16 length][rdata], concatenated
  uint16_t txt_count = 0;
  // Lower-case names of services with an instance here (for rebuilding on node change).
  std::vector<std::string> service_keys;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t stamp = 0;  // writer-private: the unpublished batch that created this copy
};

// One service instance. The fields the DNS answer path reads come first, so one cache line per
// instance serves an A/AAAA answer.
struct Instance {
  std::array<AddrChoice, 3> addr;    // indexed by Family
  Health health = Health::kPassing;  // node checks + own checks, worst of
  uint16_t port = 0;                 // copy of service.port
  uint32_t weight = 1;               // per health: passing or warning weight
  std::shared_ptr<const NodeEntry> node;
  Service service;
  std::vector<Check> checks;  // this instance's own checks
  std::vector<std::string> tags_lower;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

struct ServiceEntry {
  std::string name;  // as registered (first instance's spelling)
  // Ordered passing, then warning, then critical: the healthy sets are prefixes.
  std::vector<Instance> instances;
  uint32_t n_passing = 0;  // instances[0, n_passing) pass every check
  uint32_t n_ok = 0;       // instances[0, n_ok) have no critical check
  uint32_t ttl_s = 0;      // service_ttl applied
  std::string name_wire;   // service name as one wire label run (for PTR)
  uint64_t index = 0;      // raft-style modify index of this service's data
  uint64_t stamp = 0;      // writer-private, as NodeEntry::stamp
};

// Reverse-lookup entry: who holds this address, in registration order. A node match wins over
// a service match (spec 1.7).
struct PtrEntry {
  std::vector<std::string> nodes;     // node names
  std::vector<std::string> services;  // service names (instances whose own address this is)
};

struct Snapshot {
  uint64_t generation = 0;      // strictly increasing per publish
  uint64_t index = 1;           // catalog-wide raft-style index (max of all modify indexes)
  PMap<NodeEntry> nodes;        // key: lower-case node name
  PMap<ServiceEntry> services;  // key: lower-case service name
  PMap<PtrEntry> ptr;           // key: 4- or 16-byte binary address
  std::string self_node;        // this agent's node name (lower-case key)
  config::DnsConfig dns;        // the DNS config this snapshot was built with
  std::string domain_wire;      // dns.domain as wire labels (no terminating zero)
  std::string alt_domain_wire;  // dns.alt_domain likewise ("" when unset)
  std::string datacenter;       // lower-case
  std::string dc_wire;          // datacenter as wire labels
  uint32_t soa_serial = 0;      // unix time of publication
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace beacon::catalog

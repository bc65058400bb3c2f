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
#include <string_view>
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

// Case-insensitive (ASCII) equality of a name with an already lower-case key.
bool EqualsLowerKey(std::string_view name, std::string_view lower_key);

// A packed list of short strings (writer bookkeeping): [u16 length][bytes] per item, in one
// std::string, so one or two short keys cost no heap block.
class KeyList {
 public:
  bool empty() const { return buf_.empty(); }
  bool Contains(std::string_view k) const;
  void Add(std::string_view k);  // no-op when present
  void Remove(std::string_view k);
  std::vector<std::string> Items() const;

 private:
  std::string buf_;
};

// Node data that is usually absent, shared by every copy of a NodeEntry; null when all empty.
struct NodeExtras {
  std::string id;
  std::string datacenter;  // set only when it differs from the agent's datacenter
  std::map<std::string, std::string> tagged_addresses;  // lan, lan_ipv4, lan_ipv6, wan, ...
  std::map<std::string, std::string> meta;
  std::vector<Check> checks;  // node-level checks
  bool empty() const {
    return id.empty() && datacenter.empty() && tagged_addresses.empty() && meta.empty() &&
           checks.empty();
  }
};

// What DNS reads of a node's registration.
struct NodeCore {
  std::string name;     // as registered
  std::string address;  // IP or hostname
};

struct NodeEntry {
  // DNS, precomputed.
  std::array<AddrChoice, 3> addr;    // indexed by Family
  Health health = Health::kPassing;  // worst of node checks (passing when none)
  uint16_t txt_count = 0;
  NodeCore node;
  std::string name_wire;  // node name as wire labels, no terminating zero (dots split)
  std::string txt_rdata;  // each TXT rdata as [u16 length][rdata], concatenated
  std::shared_ptr<const NodeExtras> extras;  // null: no id, meta, tagged addresses or checks
  // Lower-case names of services with an instance here (for rebuilding on node change).
  KeyList service_keys;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t stamp = 0;  // writer-private: the unpublished batch that created this copy

  bool MatchesKey(std::string_view key) const { return EqualsLowerKey(node.name, key); }
  const std::vector<Check>& checks() const;
  // The full record as registered; `agent_dc` fills the datacenter when it is the agent's.
  Node ToNode(std::string_view agent_dc) const;
};

// Instance data that is usually absent, shared by every copy of an Instance; null when empty.
struct InstanceExtras {
  std::vector<std::string> tags;
  std::vector<std::string> tags_lower;  // derived from tags
  std::map<std::string, std::string> meta;
  std::map<std::string, TaggedAddress> tagged_addresses;
  Weights weights;
  bool enable_tag_override = false;
  std::string kind;
  std::vector<Check> checks;  // this instance's own checks
  bool empty() const {
    return tags.empty() && meta.empty() && tagged_addresses.empty() && weights.passing == 1 &&
           weights.warning == 1 && !enable_tag_override && kind.empty() && checks.empty();
  }
};

// What DNS reads of a service registration.
struct ServiceCore {
  std::string id;
  std::string name;     // as registered
  std::string address;  // may be empty (use the node address), an IP or a hostname
};

// One service instance. The fields the DNS answer path reads come first, so one cache line per
// instance serves an A/AAAA answer.
struct Instance {
  std::array<AddrChoice, 3> addr;    // indexed by Family
  Health health = Health::kPassing;  // node checks + own checks, worst of
  uint16_t port = 0;
  uint32_t weight = 1;  // per health: passing or warning weight
  std::shared_ptr<const NodeEntry> node;
  ServiceCore service;
  std::shared_ptr<const InstanceExtras> extras;  // null: no tags, meta, checks, ...
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  const std::vector<std::string>& tags_lower() const;
  const std::vector<Check>& checks() const;
  // The full record as registered.
  Service ToService() const;
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
  bool pending = false;    // writer-private: queued for rebuild before the next publish

  bool MatchesKey(std::string_view key) const { return EqualsLowerKey(name, key); }
};

// Every holder of one address, in registration order (writer bookkeeping, and tests).
struct PtrOwners {
  std::vector<std::string> nodes;     // node names
  std::vector<std::string> services;  // service names (instances whose own address this is)
};

// Reverse-lookup entry for one address. A node match wins over a service match (spec 1.7), so
// `name` is the first node holding the address, else the first service. The full lists are kept
// only when more than one holder shares the address.
struct PtrEntry {
  std::string key;  // 4- or 16-byte binary address
  std::string name;
  bool is_node = false;
  std::shared_ptr<const PtrOwners> more;  // null when `name` is the only holder

  bool MatchesKey(std::string_view k) const { return key == k; }
  PtrOwners Owners() const;
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

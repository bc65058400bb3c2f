// catalog::Writer: the one place the catalog changes.
//
// Contract:
// - Single-threaded: exactly one thread (the agent's control loop) calls any method. Producers
//   on other threads send their changes to that thread; they never call the Writer directly.
// - Mutations are staged; Publish() builds a new Snapshot that shares all unchanged structure with
//   the previous one and hands it to the SnapshotHub. The cost of a publish is proportional to what
//   changed since the last one (plus a constant 256-pointer root copy per map), not to the catalog.
// - Services touched by a mutation are re-derived (instance order, health, node pointers) once,
//   inside the next Publish(), so a bulk load of N instances costs O(N), and one check flip costs
//   O(that service).
// - Memory: entries are compact (see entries.h); roughly 290 bytes per instance at 100k services
//   x 3 instances on 300k nodes (bench/bench_publish).
// - Every mutation that changes what a reader could see bumps the catalog index; entries record
//   the index of their last change (ModifyIndex), so blocking queries can tell what moved.
//   Blocking-query indexes (spec 2.2), all >= 1 and never moving backwards:
//   - Snapshot::services_index: an instance registered, deregistered or redefined (not check
//     status changes); nodes_index: a node created, changed or removed; checks_index: any check
//     added, removed, redefined or changing status.
//   - ServiceEntry::index: a change to that service's instances, their checks, or the nodes they
//     run on (node record or node checks); never moved by other services.
//   - NodeServices::index (Snapshot::NodeIndex): a change to the node record, its checks, its
//     instances or their checks.
// - Registering or removing a service costs O(that service's instances): it changes the node's
//   small NodeServices entry, never the node record the node's other instances point at, and
//   looks checks up by id through a writer-private index, never by scanning the node.
//   - Check create/modify indexes; output-only updates (UpdateCheck with the same status) move
//     no index at all (spec 4.3). Re-registering something identical moves nothing either.
// - Errors (unknown node, unknown check) are reported as a false/Status result, never thrown.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/dns_settings.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/snapshot.h"
#include "beacon/catalog/types.h"
#include "beacon/core/status.h"

namespace beacon::catalog {

// A writer-private map from (node key, id) to a short name, held as a 64-bit hash of the pair and
// the name in one open-addressing table (24-byte slots, at most 3/4 full: about 40 bytes an
// entry, where string keys cost ~150, and one cache miss a lookup). Lookups yield candidates; the
// caller checks each against the catalog, so a hash collision costs one wasted look, never a
// wrong answer. Erase names the value, so only that candidate goes.
class HintIndex {
 public:
  void Set(std::string_view nkey, std::string_view id, std::string_view value);
  void Erase(std::string_view nkey, std::string_view id, std::string_view value);
  // Calls accept(std::string_view value) for each candidate until it returns true; whether one
  // did.
  // Memory hint for a later Set/Find of (nkey, id); changes nothing.
  void Prefetch(std::string_view nkey, std::string_view id) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Hash(nkey, id) & mask_]);
  }
  template <typename Fn>
  bool Find(std::string_view nkey, std::string_view id, Fn&& accept) const {
    if (slots_.empty()) return false;
    const uint64_t h = Hash(nkey, id);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == kEmpty) return false;
      if (s.hash == h && accept(s.value.view())) return true;
    }
  }

 private:
  static constexpr uint64_t kEmpty = 0, kErased = 1;  // never a Hash() value
  struct Slot {
    uint64_t hash = kEmpty;
    SmallStr value;
  };
  static uint64_t Hash(std::string_view nkey, std::string_view id);
  void Grow();
  std::vector<Slot> slots_;  // a power of two in size, or empty
  size_t mask_ = 0;
  size_t used_ = 0;  // live and erased slots
};

class Writer {
 public:
  // `self_node` is this agent's node name; `datacenter` its datacenter.
  // `version_base` is where local record versions start (see change.h): the agent passes its
  // boot wall-clock time in ms << 20, so versions outlive restarts; tests may leave it 0.
  Writer(SnapshotHub& hub, std::string_view self_node, std::string_view datacenter, DnsSettings dns,
         uint64_t version_base = 0);

  // Applies one change value (catalog/change.h): checks its origin, drops it when stale
  // (*stale set, Ok returned, nothing changes), stamps version 0 with the next local version,
  // applies the op and records the origin's version (NodeServices::version). An op that fails
  // changes nothing and records no version; a local op that changes nothing (re-registering
  // the same thing, a TTL update with the same status and output) takes no version either.
  // op::SetLiveness is applied with no version at all (never stale, never stamped); a remote
  // change (version != 0) never writes serfHealth (change.h).
  Status Apply(const Change& change, bool* stale = nullptr);
  // The version last applied for the node (0 when none), also after the node was removed
  // (by RemoveNode or by SetLiveness left). SetLiveness never changes it.
  uint64_t VersionOf(std::string_view node) const;

  // Applied-change feed (gossip's deltas): while on, every change applied with version 0 that
  // changed something is kept, with the version it was stamped with and the origin's version
  // before it, until TakeApplied(). SetLiveness is never in it. Off by default.
  void TrackApplied(bool on) { track_applied_ = on; }
  std::vector<AppliedChange> TakeApplied() { return std::exchange(applied_, {}); }

  // Creates the node or replaces its address, tagged addresses and meta (checks and services on
  // it are kept).
  void UpsertNode(const Node& node);
  // Removes the node with every service and check on it. False if unknown.
  bool RemoveNode(std::string_view name);

  // Registers (or replaces, by service id) a service instance on an existing node, with its own
  // checks (each check's service_id is set to the service id). Creates the node if missing, with
  // no address.
  Status UpsertService(std::string_view node, const Service& svc, std::vector<Check> checks);
  // Removes the instance and its checks. False if unknown.
  bool RemoveService(std::string_view node, std::string_view service_id);
  // The staged instance `service_id` on `node`, or null. O(instances of its service), whatever
  // the number of services on the node. The pointer is valid until the next change.
  const Instance* FindService(std::string_view node, std::string_view service_id) const;

  // Adds or replaces a check. A check with service_id attaches to that instance (error if the
  // instance does not exist on the node); otherwise it is a node-level check.
  Status UpsertCheck(std::string_view node, const Check& check);
  bool RemoveCheck(std::string_view node, std::string_view check_id);
  // Changes status/output. Output-only changes do not bump the index (spec 4.3). False if unknown.
  bool UpdateCheck(std::string_view node, std::string_view check_id, Health status,
                   std::string_view output);

  // Applies one /v1/catalog/register-style entry (see Registration). Everything is checked
  // first, so an error ("Must provide node", "Missing node registration", "Missing service
  // registration", ...) leaves the catalog unchanged.
  Status Apply(const Registration& reg);

  // Memory hint for a bulk load: touches what applying `reg` will read in the staged catalog
  // (stage 0: the map leaves its node, services and addresses hash to; stage 1: the entries in
  // them), so a loader that hints a few registrations ahead overlaps their cache misses with
  // the work of applying earlier ones. Changes nothing and never fails; any thread-unsafe use is
  // the caller's as for every other method (writer thread only).
  void Prefetch(const Registration& reg, int stage) const;

  // Replaces the DNS configuration; rebuilds the precomputed TTLs of every service (O(catalog),
  // reload only).
  void SetDnsConfig(const DnsSettings& dns);

  // Replaces the prepared-query set (a value: every definition, as stored by the server or
  // mirrored from it); compiles it once here (CompileQueries), so readers only execute. A
  // definition that does not compile is skipped and logged by the caller through *err.
  void SetPreparedQueries(const std::vector<PreparedQuery>& defs, std::string* err = nullptr);

  // Builds and publishes a snapshot if anything changed since the last publish (or always when
  // `force`). Returns the published generation.
  uint64_t Publish(bool force = false);

  // Change feed (the agent's health sync): while on, the keys of the services re-derived by each
  // Publish (registered, changed, removed, or on a node that changed) are collected until
  // TakeChangedServices(); possibly with repeats. Off by default: nobody would drain it.
  void TrackChanges(bool on) { track_changes_ = on; }
  std::vector<std::string> TakeChangedServices() { return std::exchange(changed_, {}); }

  bool dirty() const { return dirty_; }
  uint64_t index() const { return index_; }
  // The working copy. Services touched since the last publish are re-derived (instance order,
  // health, addresses; empty services dropped) only inside Publish(). Writer thread only.
  const Snapshot& staged() const { return staged_; }

 private:
  // UpsertNode for the node's lower-case key and its current entry (null when new).
  void UpsertNodeKeyed(const Node& node, const std::string& key, const NodeEntry* cur);
  // VersionOf for a lower-case key; *found (optional) gets the node's NodeServices or null.
  uint64_t VersionOfKey(const std::string& key, const NodeServices** found) const;
  // op::ReplaceNode and op::SetLiveness (writer_replace.cpp), called by Apply(Change).
  Status ReplaceNode(const op::ReplaceNode& r);
  Status ApplyLiveness(const op::SetLiveness& l);
  void SetSuspect(const std::string& nkey, bool suspect);
  NodeEntry* MutableNode(const std::string& key);
  // Copy-on-write access to the node's NodeServices; creates it when missing.
  NodeServices* MutableNodeServices(const std::string& nkey);
  // Copy-on-write access; creates the entry (named `create_as`) when missing and non-empty.
  ServiceEntry* MutableService(const std::string& key, std::string_view create_as = {});
  void RebuildService(const std::string& key);
  // Queues a service for RebuildService at Publish (e: its mutable entry, when at hand).
  void MarkPending(const std::string& key, ServiceEntry* e = nullptr);
  void MarkNodeServices(const std::string& nkey);
  static InstanceExtras ExtrasOf(const Instance& in);
  std::string DetachInstance(const std::string& nkey, std::string_view id, Instance* removed);
  void DropServiceKeyIfUnused(const std::string& nkey, const std::string& skey);
  template <typename Fn>
  bool MutateCheck(const std::string& nkey, std::string_view id, Fn&& fn);
  // The instance (node, service id) in the staged catalog, or null; *skey gets its service key
  // and *pos its position in that service's instances.
  const Instance* FindInstance(const std::string& nkey, std::string_view id,
                               std::string* skey = nullptr, size_t* pos = nullptr) const;
  // The check `id` on the node (node-level or on one of its instances), or null. O(checks on
  // the node record + instances of the owning service).
  const Check* FindCheck(const std::string& nkey, std::string_view id) const;
  // check_service_ upkeep for an instance's checks on node nkey.
  void IndexCheckOwners(const std::string& nkey, std::string_view service_id,
                        const std::vector<Check>& checks);
  void UnindexCheckOwners(const std::string& nkey, std::string_view service_id,
                          const std::vector<Check>& checks);
  // Blocking-query index bookkeeping (see the contract): set the entry's index to idx.
  void TouchService(const std::string& key, uint64_t idx);  // also queues it for rebuild
  void TouchNodeServices(const std::string& nkey, uint64_t idx);
  void TouchNode(const std::string& nkey, uint64_t idx);
  void AddPtr(std::string_view addr, std::string_view name);  // a service's own address
  void RemovePtr(std::string_view addr, std::string_view name);
  void AddNodePtr(const std::string& nkey);
  void RemoveNodePtr(std::string_view ip, const std::string& nkey);
  uint64_t Bump();

  SnapshotHub& hub_;
  Snapshot staged_;
  uint64_t index_ = 1;
  uint64_t batch_ = 1;  // stamp of entries created since the last publish
  // Services whose instances must be re-derived (node pointers, addresses, health, order) before
  // the next publish. Deferring this makes a bulk load O(instances), not O(instances^2).
  std::vector<std::string> pending_;  // each once: ServiceEntry::pending
  // Addresses held by more than one node: their node keys in registration order (the first is
  // the one Snapshot::ptr_nodes names). Writer-private; empty unless nodes share addresses.
  std::unordered_map<std::string, std::vector<std::string>> shared_node_addrs_;
  // Writer-private: where each instance lives (node key, service id) -> service key, and which
  // instance holds each service-level check (node key, check id) -> service id. They let a
  // registration or a check update find its target without scanning the node's services.
  HintIndex instance_service_;
  HintIndex check_service_;
  // Addresses held by more than one service instance: the service names in registration order
  // (by sequence number) and each name's sequence numbers. Snapshot::ptr names only the first;
  // this lets an add or remove cost O(log holders) instead of copying every holder.
  struct PtrOwners {
    uint64_t next = 0;
    std::map<uint64_t, std::string> order;
    std::unordered_map<std::string, std::set<uint64_t>> seqs;
    void Add(std::string_view name) {
      order.emplace(next, name);
      seqs[std::string(name)].insert(next++);
    }
  };
  std::unordered_map<std::string, PtrOwners> ptr_owners_;  // key: IpBytes
  bool dirty_ = true;
  bool track_changes_ = false;
  bool track_applied_ = false;
  std::vector<AppliedChange> applied_;  // see TakeApplied
  std::set<std::string> left_;  // removed by SetLiveness left; alive again lowers the version
  uint64_t local_version_ = 0;  // the last version stamped on a local change
  uint64_t changes_ = 0;        // counts every change a reader could see (Apply: no-op or not)
  // Versions of removed nodes, so a stale change cannot bring a node back. Writer-private.
  std::unordered_map<std::string, uint64_t> removed_versions_;
  std::vector<std::string> changed_;  // see TakeChangedServices
};

// Helpers shared with tests and the HTTP layer.
// Parses a textual IPv4/IPv6 address into 4 or 16 bytes; empty string if not an IP.
std::string IpBytes(std::string_view text);

}  // namespace beacon::catalog

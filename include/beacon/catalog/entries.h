// Snapshot entry types: what one node, service instance, service and reverse-lookup address look
// like inside a published catalog::Snapshot.
//
// Contract:
// - Built and mutated only by catalog::Writer (single writer thread) before publication; immutable
//   once reachable from a published Snapshot, then safe to read from any thread without locks.
// - Compact by design (hundreds of thousands of entries): rarely-set fields sit behind one shared
//   `extras` block that is null when empty and shared by every copy of the entry; names are
//   SmallStr (inline up to 15 bytes). Pointers inside an entry (AddrSet::per_family, TxtRef)
//   point into blocks the same entry owns a share of, so they stay valid as long as the entry
//   does.
// - Accessors never allocate, except ToNode/ToService/Owners, which build full records.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/catalog/ref_ptr.h"
#include "beacon/catalog/small_str.h"
#include "beacon/catalog/types.h"
#include "beacon/core/strings.h"

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

// The choices for every family. Usually one choice serves them all; with lan_ipv4/lan_ipv6
// tagged addresses `per_family` points at three, held by the owner's extras block.
struct AddrSet {
  AddrChoice one;
  const std::array<AddrChoice, 3>* per_family = nullptr;
  const AddrChoice& operator[](size_t f) const { return per_family ? (*per_family)[f] : one; }
};

// A set of short strings (writer bookkeeping: the services on a node), copy-on-write. While
// small it is one packed SmallStr ([u16 length][bytes] per item, in insertion order), so one
// short key costs no heap block; past kFlatMax bytes it becomes kBuckets shared buckets chosen
// by key hash, so adding or removing a key copies one bucket (about size/64 keys) and a table of
// 64 pointers, never the whole set. A copy of a KeyList shares the table. A key longer than
// kMaxKey is refused (Add returns false and changes nothing), never cut: the Writer checks names
// before it gets here. Iteration order: insertion order while small, bucket order once large.
class KeyList {
 public:
  static constexpr size_t kMaxKey = 0xffff;
  static constexpr size_t kFlatMax = 2048;
  static constexpr size_t kBuckets = 64;
  bool empty() const { return table_ ? false : flat_.empty(); }
  bool Contains(std::string_view k) const;
  // True when k is in the list afterwards (already present or added).
  [[nodiscard]] bool Add(std::string_view k);
  void Remove(std::string_view k);
  std::vector<std::string> Items() const;
  // Calls fn(std::string_view) for every key. No allocation.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (!table_) {
      ForEachIn(flat_.view(), fn);
      return;
    }
    for (const auto& b : table_->buckets) {
      if (b) ForEachIn(b->keys.view(), fn);
    }
  }

 private:
  struct Bucket {
    RefCount ref_count;  // owned by RefPtr
    SmallStr keys;       // packed as the flat form
  };
  struct Table {
    RefCount ref_count;  // owned by RefPtr
    size_t count = 0;    // keys in all buckets
    std::array<RefPtr<const Bucket>, kBuckets> buckets;
  };
  template <typename Fn>
  static void ForEachIn(std::string_view buf, Fn& fn) {
    for (size_t i = 0; i + 2 <= buf.size();) {
      const size_t n = static_cast<uint8_t>(buf[i]) << 8 | static_cast<uint8_t>(buf[i + 1]);
      fn(buf.substr(i + 2, n));
      i += 2 + n;
    }
  }
  static size_t BucketOf(std::string_view k);
  void Spill();  // flat -> table

  SmallStr flat_;              // the keys while small (table_ null)
  RefPtr<const Table> table_;  // the keys once large
};

// Node data that is usually absent, shared by every copy of a NodeEntry; null when all empty.
struct NodeExtras {
  using Ptr = RefPtr<const NodeExtras>;
  RefCount ref_count;  // owned by RefPtr
  // The node name as registered, kept only when name_wire cannot reproduce it (empty labels,
  // labels over 63 bytes).
  std::string name;
  // The node address as registered. Kept whenever the block exists or the text is not a
  // canonical IP (a hostname, "::FFFF:..."); a canonical IP alone is not kept: its bytes are.
  std::string address;
  std::string id;
  std::string datacenter;  // set only when it differs from the agent's datacenter
  std::map<std::string, std::string> tagged_addresses;  // lan, lan_ipv4, lan_ipv6, wan, ...
  std::map<std::string, std::string> meta;
  std::vector<Check> checks;  // node-level checks
  // Derived (by the writer, before sharing):
  std::string txt_rdata;                 // node meta as TXT rdata blocks, see NodeEntry::txt_rdata
  std::array<AddrChoice, 3> per_family;  // used when the node's AddrSet points here
  bool empty() const {
    return name.empty() && address.empty() && id.empty() && datacenter.empty() &&
           tagged_addresses.empty() && meta.empty() && checks.empty();
  }
};

// A reference to text held elsewhere (the node's extras) that reads as a const std::string&.
struct TxtRef {
  const std::string* s = nullptr;
  operator const std::string&() const;  // NOLINT: implicit by design; "" when unset
};

struct NodeEntry {
  using Ptr = RefPtr<const NodeEntry>;  // node entries are counted intrusively (8-byte owners)

  // DNS, precomputed.
  AddrSet addr;                      // indexed by Family
  Health health = Health::kPassing;  // worst of node checks (passing when none)
  // Gossip suspects the node (op::SetLiveness): DNS may prefer healthy alternatives. Cleared
  // when the node is seen alive or failed.
  bool suspect = false;
  uint16_t txt_count = 0;
  RefCount ref_count;  // owned by RefPtr
  // The node name as wire labels, no terminating zero (dots split): the only copy of the name
  // unless it does not round-trip (see name()).
  SmallStr name_wire;
  TxtRef txt_rdata;        // each TXT rdata as [u16 length][rdata], concatenated
  NodeExtras::Ptr extras;  // null: no id, meta, tagged addresses or checks
  uint64_t create_index = 0;
  uint64_t modify_index = 0;  // the node record (address, meta, tagged addresses, id)
  uint64_t stamp = 0;         // writer-private: the unpublished batch that created this copy

  bool MatchesKey(std::string_view key) const;
  // The name as registered: from name_wire, or extras->name when that cannot reproduce it.
  // Allocates (writer and control plane only).
  std::string name() const;
  // The node's address as 4 or 16 bytes; empty when it is a hostname or unset.
  std::string_view IpKey() const;
  // The address text as registered when it is kept (see NodeExtras::address): always for a
  // hostname, or whenever a family's choice is kHost. No allocation.
  std::string_view host() const {
    return extras ? std::string_view(extras->address) : std::string_view();
  }
  // The address text as registered (rebuilt from the bytes when not kept). Allocates.
  std::string AddressText() const;
  const std::vector<Check>& checks() const;
  // The full record as registered; `agent_dc` fills the datacenter when it is the agent's.
  Node ToNode(std::string_view agent_dc) const;
};

// What changes on a node with every registration, kept apart from the node record (NodeEntry)
// that every instance points at: registering or removing a service copies this small entry and
// leaves the node record, and so every other service on the node, untouched. One per node.
struct NodeServices {
  using Ptr = RefPtr<const NodeServices>;
  RefCount ref_count;  // owned by RefPtr
  SmallStr key;        // the node's key (lower-case name)
  // Lower-case names of the services with an instance on this node.
  KeyList service_keys;
  // Blocking-query index of catalog/node and health/node: the last change to the node record,
  // its checks, the service instances on it or their checks. Never below the node's
  // create_index.
  uint64_t index = 0;
  // The node record's version: the last Change applied for this origin (catalog/change.h).
  uint64_t version = 0;
  uint64_t stamp = 0;  // writer-private, as NodeEntry::stamp

  bool MatchesKey(std::string_view k) const { return key == k; }
};

// Instance data that is usually absent, shared by every copy of an Instance; null when empty.
struct InstanceExtras {
  using Ptr = RefPtr<const InstanceExtras>;
  RefCount ref_count;   // owned by RefPtr
  std::string address;  // may be empty (use the node address), an IP or a hostname
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  std::map<std::string, TaggedAddress> tagged_addresses;
  Weights weights;
  bool enable_tag_override = false;
  std::string kind;
  std::vector<Check> checks;  // this instance's own checks
  // Derived (by the writer, before sharing):
  std::vector<std::string> tags_lower;
  AddrSet addr;                          // choices for `address` (when set)
  std::array<AddrChoice, 3> per_family;  // used when `addr` points here
  bool empty() const {
    return address.empty() && tags.empty() && meta.empty() && tagged_addresses.empty() &&
           weights.passing == 1 && weights.warning == 1 && !enable_tag_override && kind.empty() &&
           checks.empty();
  }
};

// What DNS reads of a service registration.
struct ServiceCore {
  SmallStr id;
  SmallStr name;  // as registered
};

// One service instance. The fields the DNS answer path reads come first.
struct Instance {
  Health health = Health::kPassing;  // node checks + own checks, worst of
  uint16_t port = 0;
  uint32_t weight = 1;  // per health: passing or warning weight
  NodeEntry::Ptr node;
  ServiceCore service;
  InstanceExtras::Ptr extras;  // null: no address, tags, meta, checks, ...
  uint64_t create_index = 0;
  uint64_t modify_index = 0;  // the registration itself; check changes do not move it

  // The address choice for a Family: the service's own address (kept in extras) or the node's.
  // The reference stays valid as long as the instance. No allocation.
  const AddrChoice& addr(size_t family) const {
    return extras && !extras->address.empty() ? extras->addr[family] : node->addr[family];
  }
  // The service address as registered ("" when the node's address is used).
  std::string_view address() const;
  const std::vector<std::string>& tags() const;  // as registered
  const std::vector<std::string>& tags_lower() const;
  const std::vector<Check>& checks() const;
  // The full record as registered.
  Service ToService() const;
};

struct ServiceEntry {
  using Ptr = RefPtr<const ServiceEntry>;

  SmallStr name;  // as registered (first instance's spelling)
  // Ordered passing, then warning, then critical: the healthy sets are prefixes.
  std::vector<Instance> instances;
  uint32_t n_passing = 0;  // instances[0, n_passing) pass every check
  uint32_t n_ok = 0;       // instances[0, n_ok) have no critical check
  uint32_t ttl_s = 0;      // service_ttl applied
  // Blocking-query index of health/service and catalog/service: the last change to this
  // service's instances, their checks or the nodes they run on. Changes to other services never
  // move it.
  uint64_t index = 0;
  uint64_t stamp = 0;    // writer-private, as NodeEntry::stamp
  bool pending = false;  // writer-private: queued for rebuild before the next publish
  RefCount ref_count;    // owned by RefPtr

  bool MatchesKey(std::string_view key) const { return core::EqualsLower(name, key); }
};

// Key policy of Snapshot::ptr_nodes: a node entry is stored under its IP address.
struct NodeByAddr {
  bool operator()(const NodeEntry& n, std::string_view ip) const { return n.IpKey() == ip; }
};

// Reverse-lookup entry for an address services registered as their own (spec 1.7): `name` is
// the first such service. The full list is kept only when several instances share the address.
struct PtrEntry {
  SmallStr key;  // 4- or 16-byte binary address
  SmallStr name;
  std::unique_ptr<const std::vector<std::string>> more;  // null when `name` is the only holder

  bool MatchesKey(std::string_view k) const { return key == k; }
  // Service names holding the address, in registration order.
  std::vector<std::string> Owners() const;
};

}  // namespace beacon::catalog

// Change: one catalog change as a value — what changes, the node it belongs to (its origin) and
// that node's record version — so changes can be logged, coalesced, compared, sent over gossip
// and replayed in tests (spec/architecture.md). The Writer applies them (Writer::Apply).
//
// Contract:
// - Every op names its node; `origin` is that node's key (lower-case name). A change whose op
//   names another node is refused.
// - `version` is the origin's record version after the change: versions of one origin only go
//   up. A change with a version at or below the one the writer last applied for its origin is
//   stale: it is dropped (Apply returns Ok with `stale` set) and changes nothing. Version 0 asks
//   the writer to stamp the next local version (its own node and nodes registered through this
//   agent's catalog API); the stamped versions start from the boot time in ms << 20, so a
//   restarted agent's versions are above every version of its previous life.
// - Plain data: copyable, comparable, no pointers into a snapshot.
// - Two ops stand apart. ReplaceNode carries a node's whole record (what gossip's full-record
//   repair sends): it replaces everything on the node at one version. SetLiveness is this
//   observer's own view of a node from gossip membership, not the origin's data: it takes no
//   version and is never stale (see Writer::Apply).
// - The check "serfHealth" is the observer's view too: ReplaceNode keeps whatever serfHealth the
//   node has, and a remote change (version != 0) never writes it (the op still records the
//   version, so version chains stay contiguous).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "beacon/catalog/types.h"

namespace beacon::catalog {

// A node's liveness as gossip membership sees it.
enum class Liveness : uint8_t { kAlive = 0, kSuspect = 1, kFailed = 2, kLeft = 3 };

// The check id, name and outputs Consul uses for gossip liveness.
inline constexpr const char* kSerfHealthId = "serfHealth";

namespace op {
struct UpsertNode {
  Node node;
  bool operator==(const UpsertNode&) const = default;
};
struct RemoveNode {
  std::string node;
  bool operator==(const RemoveNode&) const = default;
};
struct UpsertService {
  std::string node;
  Service service;
  std::vector<Check> checks;
  bool operator==(const UpsertService&) const = default;
};
struct RemoveService {
  std::string node;
  std::string service_id;
  bool operator==(const RemoveService&) const = default;
};
struct UpsertCheck {
  std::string node;
  Check check;
  bool operator==(const UpsertCheck&) const = default;
};
struct RemoveCheck {
  std::string node;
  std::string check_id;
  bool operator==(const RemoveCheck&) const = default;
};
struct UpdateCheck {  // status and output only (a health result, a TTL update)
  std::string node;
  std::string check_id;
  Health status = Health::kCritical;
  std::string output;
  bool operator==(const UpdateCheck&) const = default;
};
struct Register {  // one /v1/catalog/register entry, applied whole or not at all
  Registration reg;
  bool operator==(const Register&) const = default;
};
// The node's whole record at one version: services and node checks not in it are removed, the
// rest upserted; what is identical moves no index. serfHealth is neither read from it nor removed.
struct ReplaceNode {
  Node node;
  std::vector<std::pair<Service, std::vector<Check>>> services;  // each with its own checks
  std::vector<Check> node_checks;
  bool operator==(const ReplaceNode&) const = default;
};
// Gossip's view of the node (no version; see the contract): alive -> serfHealth passing (created
// if missing), suspect -> NodeEntry::suspect, failed -> serfHealth critical, left -> the node and
// everything on it removed (its version is kept, so only a newer record brings it back).
// Nothing happens for a node the catalog does not hold (except nothing to remove for left).
struct SetLiveness {
  std::string node;
  Liveness state = Liveness::kAlive;
  bool operator==(const SetLiveness&) const = default;
};
}  // namespace op

using Op = std::variant<op::UpsertNode, op::RemoveNode, op::UpsertService, op::RemoveService,
                        op::UpsertCheck, op::RemoveCheck, op::UpdateCheck, op::Register,
                        op::ReplaceNode, op::SetLiveness>;

struct Change {
  std::string origin;    // the node's key (lower-case name)
  uint64_t version = 0;  // 0: stamped by the writer with the next local version
  Op op;
  bool operator==(const Change&) const = default;
};

// A local change the writer applied (Writer::TrackApplied): `change` carries the version it was
// stamped with; `from_version` is the origin's version before it. These are the deltas this
// agent originates for gossip.
struct AppliedChange {
  Change change;
  uint64_t from_version = 0;
  bool operator==(const AppliedChange&) const = default;
};

// The node an op names, as given.
const std::string& NodeOf(const Op& op);
// A change for `op`, its origin derived from the node it names, version 0 (local).
Change LocalChange(Op op);
// The op's kind as a short word for logs ("upsert-service", "update-check", ...).
const char* OpName(const Op& op);

}  // namespace beacon::catalog

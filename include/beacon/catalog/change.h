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
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "beacon/catalog/types.h"

namespace beacon::catalog {

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
}  // namespace op

using Op = std::variant<op::UpsertNode, op::RemoveNode, op::UpsertService, op::RemoveService,
                        op::UpsertCheck, op::RemoveCheck, op::UpdateCheck, op::Register>;

struct Change {
  std::string origin;    // the node's key (lower-case name)
  uint64_t version = 0;  // 0: stamped by the writer with the next local version
  Op op;
  bool operator==(const Change&) const = default;
};

// The node an op names, as given.
const std::string& NodeOf(const Op& op);
// A change for `op`, its origin derived from the node it names, version 0 (local).
Change LocalChange(Op op);
// The op's kind as a short word for logs ("upsert-service", "update-check", ...).
const char* OpName(const Op& op);

}  // namespace beacon::catalog

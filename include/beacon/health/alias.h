// Alias checks (alias_node / alias_service): the status of what they alias, computed from a
// catalog snapshot. Pure; any thread holding the snapshot.
#pragma once

#include <string>
#include <string_view>

#include "beacon/catalog/snapshot.h"
#include "beacon/catalog/types.h"

namespace beacon::health {

struct AliasResult {
  catalog::Health status = catalog::Health::kCritical;
  std::string output;
};

// As Consul's alias check: the node-level checks of the aliased node (alias_node, else
// `local_node`), plus, with alias_service, that service instance's checks on it. Worst of them
// wins (maintenance counts as critical); "No checks found." / "All checks passing." /
// "Aliased check \"<name>\" failing: <output>". A named service that is not on the node is
// critical. The alias check itself (`alias.id` on the local node) is left out.
AliasResult EvaluateAlias(const catalog::Snapshot& snap, std::string_view local_node,
                          const catalog::Check& alias);

}  // namespace beacon::health

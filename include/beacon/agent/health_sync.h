// HealthSync: keeps the health runner's checks equal to the runnable checks of this node in the
// published catalog, at a cost in proportion to what changed.
//
// Contract:
// - Agent loop only (the thread that publishes); not thread-safe.
// - Sync() after each publish, with the service keys the writer re-derived since the last call
//   (Writer::TakeChangedServices) and the script policy now in force. The first call, and any
//   call whose policy differs from the last one, hands the runner the whole set (Runner::Sync);
//   otherwise only the checks of the changed services, and the node-level checks when the node
//   record changed, go to the runner (Runner::Update), with the ids that disappeared. So one
//   registration costs O(that service's instances), whatever the number of local services.
// - A check runs when it has something to run (health::KindOf), is not a maintenance check, and
//   the policy lets a script run: any script with enable_script_checks; with only
//   enable_local_script_checks, a script whose id and args match a check of the config files.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "beacon/catalog/snapshot.h"
#include "beacon/health/runner.h"

namespace beacon::agent {

struct ScriptPolicy {
  bool enable_script_checks = false;
  bool enable_local_script_checks = false;
  std::vector<catalog::Check> config_scripts;  // the config files' script checks
  bool operator==(const ScriptPolicy&) const = default;
};

class HealthSync {
 public:
  HealthSync(health::Runner& runner, std::string node_key);

  void Sync(const catalog::Snapshot& snap, const std::vector<std::string>& changed,
            ScriptPolicy policy);
  // Whether an alias check is among those running (they re-evaluate on catalog changes).
  bool has_alias() const { return !alias_.empty(); }

 private:
  bool Runnable(const catalog::Check& c) const;
  // The runnable checks of this node's instances of service `skey`, or of the node record
  // itself when skey is empty.
  std::vector<catalog::Check> Collect(const catalog::Snapshot& snap, std::string_view skey) const;
  void FullSync(const catalog::Snapshot& snap);

  health::Runner& runner_;
  std::string nkey_;
  bool synced_ = false;
  ScriptPolicy policy_;
  catalog::NodeEntry::Ptr self_;  // the node record last synced
  // Runnable check ids handed to the runner, by service key ("" for node-level checks).
  std::unordered_map<std::string, std::vector<std::string>> ids_;
  std::unordered_set<std::string> alias_;  // ids of the alias checks among them
};

}  // namespace beacon::agent

#include "beacon/agent/health_sync.h"

#include <utility>

#include "local_agent_internal.h"

namespace beacon::agent {

HealthSync::HealthSync(health::Runner& runner, std::string node_key)
    : runner_(runner), nkey_(std::move(node_key)) {}

bool HealthSync::Runnable(const catalog::Check& c) const {
  const health::Kind kind = health::KindOf(c);
  if (kind == health::Kind::kNone || detail::IsMaintenance(c.id)) return false;
  if (kind != health::Kind::kScript || policy_.enable_script_checks) return true;
  if (!policy_.enable_local_script_checks) return false;
  for (const catalog::Check& d : policy_.config_scripts) {
    if (d.id == c.id && d.args == c.args) return true;
  }
  return false;
}

std::vector<catalog::Check> HealthSync::Collect(const catalog::Snapshot& snap,
                                                std::string_view skey) const {
  std::vector<catalog::Check> out;
  auto take = [&](const std::vector<catalog::Check>& checks) {
    for (const catalog::Check& c : checks) {  // copies only what runs (not TTL checks)
      if (Runnable(c)) out.push_back(c);
    }
  };
  if (skey.empty()) {
    if (const catalog::NodeEntry* n = snap.nodes.Find(nkey_)) take(n->checks());
    return out;
  }
  if (const catalog::ServiceEntry* e = snap.services.Find(skey)) {
    for (const catalog::Instance& in : e->instances) {
      if (in.node->MatchesKey(nkey_)) take(in.checks());
    }
  }
  return out;
}

void HealthSync::FullSync(const catalog::Snapshot& snap) {
  ids_.clear();
  alias_.clear();
  std::vector<catalog::Check> all;
  auto add = [&](std::string_view skey) {
    std::vector<catalog::Check> checks = Collect(snap, skey);
    if (checks.empty()) return;
    std::vector<std::string>& ids = ids_[std::string(skey)];
    for (catalog::Check& c : checks) {
      ids.push_back(c.id);
      if (health::KindOf(c) == health::Kind::kAlias) alias_.insert(c.id);
      all.push_back(std::move(c));
    }
  };
  add("");
  snap.ForEachNodeService(nkey_, add);
  runner_.Sync(std::move(all));
}

void HealthSync::Sync(const catalog::Snapshot& snap, const std::vector<std::string>& changed,
                      ScriptPolicy policy) {
  const catalog::NodeEntry::Ptr self = snap.nodes.FindShared(nkey_);
  if (!synced_ || !(policy == policy_)) {
    policy_ = std::move(policy);
    synced_ = true;
    self_ = self;
    FullSync(snap);
    return;
  }
  std::unordered_set<std::string> keys(changed.begin(), changed.end());
  if (self != self_) keys.insert("");  // the node record (and its checks) changed
  self_ = self;
  if (keys.empty()) return;
  std::unordered_set<std::string> was;
  std::unordered_set<std::string> now;
  std::vector<catalog::Check> upsert;
  for (const std::string& skey : keys) {
    auto it = ids_.find(skey);
    if (it != ids_.end()) {
      was.insert(it->second.begin(), it->second.end());
      ids_.erase(it);
    }
    std::vector<catalog::Check> checks = Collect(snap, skey);
    if (checks.empty()) continue;
    std::vector<std::string>& ids = ids_[skey];
    for (catalog::Check& c : checks) {
      ids.push_back(c.id);
      now.insert(c.id);
      upsert.push_back(std::move(c));
    }
  }
  std::vector<std::string> gone;
  for (const std::string& id : was) {  // a check that moved to another service is not gone
    if (now.count(id) == 0) {
      gone.push_back(id);
      alias_.erase(id);
    }
  }
  for (const catalog::Check& c : upsert) {
    if (health::KindOf(c) == health::Kind::kAlias) alias_.insert(c.id);
  }
  runner_.Update(std::move(gone), std::move(upsert));
}

}  // namespace beacon::agent

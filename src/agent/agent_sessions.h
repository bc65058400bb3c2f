// Internal: when a session lapses (spec 2.7), for the agent's KV routes and its session checks
// (agent_sessions.cpp).
#pragma once

#include <string>
#include <unordered_set>

#include "beacon/catalog/snapshot.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/kv/store.h"

namespace beacon::agent {

// Nodes of sessions that this agent has seen in its catalog (see SessionLapsed). Used by the
// store's writer threads.
class SessionNodes {
 public:
  void Add(const std::string& node) {
    MutexLock l(&mu_);
    names_.insert(node);
  }
  bool Contains(const std::string& node) {
    MutexLock l(&mu_);
    return names_.contains(node);
  }

 private:
  Mutex mu_;
  std::unordered_set<std::string> names_ GUARDED_BY(mu_);
};

// A session lapses when its node is gone or one of its checks is gone or critical (spec 2.7).
// With a shared store (seen != nullptr: etcd), a node missing from this agent's catalog only
// counts as gone once this agent has seen it: an agent that just started, or whose gossip has
// not delivered the cluster yet, would otherwise destroy every other node's session (and
// release its locks) cluster-wide. The agents that know the node decide for it.
bool SessionLapsed(const catalog::Snapshot& snap, const kv::Session& s,
                   SessionNodes* seen = nullptr);

}  // namespace beacon::agent

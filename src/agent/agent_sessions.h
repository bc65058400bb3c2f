// Internal: when a session lapses (spec 2.7), for the agent's KV routes and its session checks
// (agent_sessions.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
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

// Whether this agent's gossip view is fit to destroy sessions in a shared store (etcd). Every
// server invalidates sessions from its own view, so a server cut off from the rest would, the
// moment it reaches etcd again, destroy the sessions of every node it saw fail while cut off,
// though those nodes were healthy all along (tests/integration/test_kv_jepsen.py). Consul lets
// only its Raft leader do this; Beacon has no leader of its own, so a server invalidates only
// while it sees a strict majority of the known servers alive, and only after that has held for
// a settle period: a healed partition's first push/pull makes the servers alive again before
// the refutations of the nodes it marked failed arrive. The minority side never acts; the
// majority side, which kept seeing the truth, does.
// SetServers: the gossip thread, about once a second. MayInvalidate: the store's threads.
class ServerQuorum {
 public:
  explicit ServerQuorum(uint64_t settle_ms) : settle_ms_(settle_ms) {}
  // alive: servers (role=consul) seen alive; known: alive, leaving or failed (not left).
  void SetServers(uint64_t now_ms, size_t alive, size_t known) {
    MutexLock l(&mu_);
    reported_ = true;
    now_ms_ = now_ms;
    if (alive * 2 <= known) {
      majority_ = false;
    } else if (!majority_) {
      majority_ = true;
      since_ms_ = now_ms;
    }
  }
  // True when no gossip reports (gossip off: a single agent) or a majority has held long enough.
  bool MayInvalidate() const {
    MutexLock l(&mu_);
    return !reported_ || (majority_ && now_ms_ - since_ms_ >= settle_ms_);
  }

 private:
  const uint64_t settle_ms_;
  mutable Mutex mu_;
  bool reported_ GUARDED_BY(mu_) = false;
  bool majority_ GUARDED_BY(mu_) = false;
  uint64_t since_ms_ GUARDED_BY(mu_) = 0;
  uint64_t now_ms_ GUARDED_BY(mu_) = 0;
};

// A session lapses when its node is gone or one of its checks is gone or critical (spec 2.7).
// With a shared store (seen != nullptr: etcd), a node missing from this agent's catalog only
// counts as gone once this agent has seen it: an agent that just started, or whose gossip has
// not delivered the cluster yet, would otherwise destroy every other node's session (and
// release its locks) cluster-wide. The agents that know the node decide for it.
bool SessionLapsed(const catalog::Snapshot& snap, const kv::Session& s,
                   SessionNodes* seen = nullptr);

}  // namespace beacon::agent

// Internal: when a session lapses (spec 2.7), for the agent's KV routes and its session checks
// (agent_sessions.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "beacon/catalog/snapshot.h"
#include "beacon/core/clock.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/kv/store.h"

namespace beacon::agent {

// Nodes of sessions that this agent has seen in its catalog, and since when each node has
// looked lapsed (see SessionLapsed). Used by the store's writer threads.
class SessionNodes {
 public:
  // grace_ms: how long a node must look lapsed before its sessions go. The clock outlives this.
  SessionNodes(const core::Clock& clock, uint64_t grace_ms) : clock_(clock), grace_ms_(grace_ms) {}
  void Add(const std::string& node) {
    MutexLock l(&mu_);
    names_.insert(node);
  }
  bool Contains(const std::string& node) {
    MutexLock l(&mu_);
    return names_.contains(node);
  }
  // Called with each verdict on `node`: true once it has looked lapsed for grace_ms.
  bool LapsedFor(const std::string& node, bool lapsed) {
    MutexLock l(&mu_);
    if (!lapsed) {
      lapsed_since_.erase(node);
      return false;
    }
    const uint64_t now = clock_.MonotonicMs();
    const uint64_t since = lapsed_since_.try_emplace(node, now).first->second;
    return now - since >= grace_ms_;
  }

 private:
  const core::Clock& clock_;
  const uint64_t grace_ms_;
  Mutex mu_;
  std::unordered_set<std::string> names_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> lapsed_since_ GUARDED_BY(mu_);
};

// Whether this agent's gossip view is fit to destroy sessions in a shared store (etcd). Every
// server invalidates sessions from its own view, so a server cut off from the rest would, the
// moment it reaches etcd again, destroy the sessions of every node it saw fail while cut off,
// though those nodes were healthy all along (tests/integration/test_kv_jepsen.py). Consul lets
// only its Raft leader do this; Beacon has no leader of its own, so a server invalidates only
// while it sees a strict majority of the known servers alive and not suspect, and only after
// that has held for a settle period. Cut off, it finds every other member suspect within a few
// probe rounds, well before any suspicion times out into "failed", so the node that fails in
// its view fails while the gate is already closed; after the heal, the first push/pull makes
// the servers alive again before the refutations of the nodes it marked failed arrive, which
// the settle period waits out. The minority side never acts; the majority side, which kept
// seeing the truth, does. (A decision made just before the gate closed can still be committed
// for up to request_timeout, the etcd call's budget.)
// "Every other member turns suspect" needs this agent to probe each of them, and a cut-off agent
// probes slowly (Lifeguard stretches its interval up to 8x after its first failed probes) and,
// with ring probes, at a random member each round: in kv_jepsen it once went 25 s without
// probing s1, saw a client fail meanwhile with s1 still "alive", and destroyed that client's
// session at the heal. So the gate also closes while this agent's own health score (Lifeguard
// awareness: failed probes and missing nacks raise it, each acked probe lowers it by one) is at
// kUnhealthyScore or above: one failed probe with its nacks missing is enough, the occasional
// missed ack of a busy but connected agent is not. Only with other servers known: a lone server
// is the authority whatever its score (in a cluster of it and one client, the client's death
// alone raises the score, with no relay to nack, and nothing lowers it again).
// SetServers: the gossip thread, about once a second. MayInvalidate: the store's threads.
class ServerQuorum {
 public:
  static constexpr int kUnhealthyScore = 2;
  explicit ServerQuorum(uint64_t settle_ms) : settle_ms_(settle_ms) {}
  // alive: servers (role=consul) seen alive; known: alive, leaving or failed (not left);
  // health: this agent's gossip health score (0: healthy).
  void SetServers(uint64_t now_ms, size_t alive, size_t known, int health = 0) {
    MutexLock l(&mu_);
    reported_ = true;
    now_ms_ = now_ms;
    if (alive * 2 <= known || (health >= kUnhealthyScore && known > 1)) {
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
// release its locks) cluster-wide. The agents that know the node decide for it. With `seen`, a
// node must also look lapsed for the grace period (SessionNodes::LapsedFor): a partition's
// healed side still gossips the "dead" verdicts it reached while cut off, and a node declared
// dead by such a message refutes it within a round trip or two; without the grace, a server
// on the majority side invalidated that healthy node's sessions in the few ms between.
bool SessionLapsed(const catalog::Snapshot& snap, const kv::Session& s,
                   SessionNodes* seen = nullptr);

}  // namespace beacon::agent

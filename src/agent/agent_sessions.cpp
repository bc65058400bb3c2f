// Agent: session checks (see agent_sessions.h).
#include "agent_sessions.h"

#include "beacon/agent/agent.h"
#include "beacon/core/strings.h"

namespace beacon::agent {
namespace {

// True when a check with this id exists on the node (node-level or on one of its services) and
// is not critical.
bool CheckAlive(const catalog::Snapshot& snap, const catalog::NodeEntry& n, const std::string& nkey,
                std::string_view id) {
  auto alive = [&](const std::vector<catalog::Check>& checks) {
    for (const catalog::Check& c : checks) {
      if (c.id == id) return c.status != catalog::Health::kCritical;
    }
    return false;
  };
  if (alive(n.checks())) return true;
  bool found = false;
  snap.ForEachNodeService(nkey, [&](std::string_view key) {
    const catalog::ServiceEntry* e = found ? nullptr : snap.services.Find(key);
    if (e == nullptr) return;
    for (const catalog::Instance& in : e->instances) {
      if (in.node.get() == &n && alive(in.checks())) found = true;
    }
  });
  return found;
}

}  // namespace

namespace {

// The verdict now, from this snapshot alone.
bool LapsedNow(const catalog::Snapshot& snap, const kv::Session& s, const std::string& nkey,
               SessionNodes* seen) {
  const catalog::NodeEntry* n = snap.nodes.Find(nkey);
  if (n == nullptr) return seen == nullptr || seen->Contains(nkey);
  if (seen != nullptr) seen->Add(nkey);
  for (const std::string& id : s.node_checks) {
    if (!CheckAlive(snap, *n, nkey, id)) return true;
  }
  for (const kv::ServiceCheckRef& ref : s.service_checks) {
    if (!CheckAlive(snap, *n, nkey, ref.id)) return true;
  }
  return false;
}

}  // namespace

bool SessionLapsed(const catalog::Snapshot& snap, const kv::Session& s, SessionNodes* seen) {
  const std::string nkey = core::Lower(s.node);
  const bool lapsed = LapsedNow(snap, s, nkey, seen);
  return seen == nullptr ? lapsed : seen->LapsedFor(nkey, lapsed);
}

void Agent::InvalidateLapsedSessions() {
  if (!kv_) return;
  if (session_nodes_ == nullptr) {
    catalog::SnapshotPtr snap = hub_.Current();
    kv_->InvalidateSessions([snap](const kv::Session& s) { return SessionLapsed(*snap, s); });
  } else {
    // The view when the unit runs, not when it was queued (etcd may have been away meanwhile).
    const Logger* log = &log_;
    kv_->InvalidateSessions(
        [hub = &hub_, seen = session_nodes_, quorum = server_quorum_](const kv::Session& s) {
          return quorum->MayInvalidate() && SessionLapsed(*hub->Current(), s, seen.get());
        },
        [log](size_t n) {
          if (n > 0) BEACON_LOG(*log, kInfo, "kv", "invalidated %zu lapsed sessions", n);
        });
  }
}

}  // namespace beacon::agent

// Membership: the alive / suspect / dead rumours (memberlist's aliveNode, suspectNode,
// deadNode), refutation by incarnation, and Lifeguard suspicion timers.
#include <algorithm>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

namespace {
bool gone(NodeState s) {
  return s == NodeState::kDead || s == NodeState::kLeft;
}
}  // namespace

void Membership::AliveNode(std::uint64_t now, const Alive& a, bool bootstrap) {
  const bool is_local = a.node == name_;
  if (is_local && leaving_) return;  // a late echo must not undo our leave
  auto it = nodes_.find(a.node);
  const bool is_new = it == nodes_.end();
  bool updates = false;
  if (is_new) {
    Member m{a.node, a.addr, a.port, a.meta, a.incarnation, NodeState::kDead, a.vsn, now};
    it = nodes_.emplace(a.node, std::move(m)).first;
    // Insert at a random place in the probe order so new nodes are not probed in bulk.
    probe_list_.push_back(a.node);
    std::swap(probe_list_.back(), probe_list_[Rand(probe_list_.size())]);
  } else if (it->second.addr != a.addr || it->second.port != a.port) {
    const Member& m = it->second;
    const bool reclaim =
        cfg_.dead_node_reclaim_ms > 0 && now - m.state_change_ms > cfg_.dead_node_reclaim_ms;
    if (m.state == NodeState::kLeft || (m.state == NodeState::kDead && reclaim)) {
      updates = true;
    } else {
      Emit(MemberEvent::Kind::kConflict,
           Member{a.node, a.addr, a.port, a.meta, a.incarnation, NodeState::kAlive, a.vsn, now});
      return;
    }
  }
  Member& m = it->second;
  if (!is_new) {
    if (!is_local && !updates && a.incarnation <= m.incarnation) return;
    if (is_local && a.incarnation < m.incarnation) return;
  }
  suspicions_.erase(a.node);
  if (is_local) {
    if (a.incarnation == m.incarnation && a.meta == m.meta && a.addr == m.addr &&
        a.port == m.port) {
      return;  // our own alive message echoed back
    }
    Refute(now, a.incarnation);  // someone speaks for us with stale or foreign data
    return;
  }
  if (!bootstrap) queue_.Queue(a.node, Encode(a));
  const NodeState old_state = is_new ? NodeState::kDead : m.state;
  const bool changed = m.meta != a.meta || m.addr != a.addr || m.port != a.port;
  m.incarnation = a.incarnation;
  m.meta = a.meta;
  m.addr = a.addr;
  m.port = a.port;
  m.vsn = a.vsn;
  if (m.state != NodeState::kAlive) {
    m.state = NodeState::kAlive;
    m.state_change_ms = now;
  }
  if (is_new || gone(old_state)) {
    Emit(MemberEvent::Kind::kJoin, m);
  } else if (changed) {
    Emit(MemberEvent::Kind::kUpdate, m);
  } else if (old_state == NodeState::kSuspect) {
    Emit(MemberEvent::Kind::kAlive, m);
  }
}

void Membership::SuspectNode(std::uint64_t now, const Suspect& s) {
  auto it = nodes_.find(s.node);
  if (it == nodes_.end()) return;
  Member& m = it->second;
  if (s.incarnation < m.incarnation) return;  // old news
  if (auto sit = suspicions_.find(s.node); sit != suspicions_.end()) {
    // An independent accuser shortens the timer; spread the confirmation once.
    if (sit->second.Confirm(s.from)) queue_.Queue(s.node, Encode(s));
    return;
  }
  if (m.state != NodeState::kAlive) return;
  if (s.node == name_) {
    Refute(now, s.incarnation);
    return;
  }
  queue_.Queue(s.node, Encode(s));
  ++probe_stats_.suspicions;
  m.incarnation = s.incarnation;
  m.state = NodeState::kSuspect;
  m.state_change_ms = now;
  Emit(MemberEvent::Kind::kSuspect, m);
  const std::size_t n = nodes_.size();
  int k = cfg_.suspicion_mult - 2;
  if (static_cast<int>(n) - 2 < k) k = 0;
  Suspicion sp;
  sp.start_ms = now;
  sp.min_ms = SuspicionTimeoutMs(cfg_.suspicion_mult, n, cfg_.probe_interval_ms);
  sp.max_ms = static_cast<std::uint64_t>(cfg_.suspicion_max_timeout_mult) * sp.min_ms;
  sp.k = k;
  sp.confirmers.insert(s.from);  // the first accuser does not count as a confirmation
  suspicions_[s.node] = std::move(sp);
}

void Membership::SuspicionTimeouts(std::uint64_t now) {
  std::vector<std::string> expired;
  for (const auto& [n, s] : suspicions_) {
    if (s.Deadline() <= now) expired.push_back(n);
  }
  for (const std::string& n : expired) {
    suspicions_.erase(n);
    auto it = nodes_.find(n);
    if (it == nodes_.end() || it->second.state != NodeState::kSuspect) continue;
    DeadNode(now, Dead{it->second.incarnation, n, name_});
  }
}

void Membership::DeadNode(std::uint64_t now, const Dead& d) {
  auto it = nodes_.find(d.node);
  if (it == nodes_.end()) return;
  Member& m = it->second;
  if (d.incarnation < m.incarnation) return;
  suspicions_.erase(d.node);
  if (gone(m.state)) return;
  if (d.node == name_ && !leaving_) {
    Refute(now, d.incarnation);
    return;
  }
  queue_.Queue(d.node, Encode(d));
  m.incarnation = d.incarnation;
  m.state = d.node == d.from ? NodeState::kLeft : NodeState::kDead;
  m.state_change_ms = now;
  Emit(m.state == NodeState::kLeft ? MemberEvent::Kind::kLeft : MemberEvent::Kind::kDead, m);
}

void Membership::Refute(std::uint64_t now, std::uint32_t accused) {
  Member& me = nodes_.at(name_);
  me.incarnation = std::max(me.incarnation + 1, accused + 1);
  me.state_change_ms = now;
  ApplyAwareness(1);
  queue_.Queue(name_, Encode(SelfAlive()));
}

}  // namespace beacon::gossip

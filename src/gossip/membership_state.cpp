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
  std::uint32_t idx = nodes_.IndexOf(a.node);
  const bool is_new = idx == MemberTable::kNone;
  bool updates = false;
  if (is_new) {
    MemberEntry m;
    m.name = a.node;
    m.SetAddr(a.addr);
    m.port = a.port;
    m.meta = MakeMeta(a.meta);
    m.incarnation = a.incarnation;
    m.state = NodeState::kDead;
    m.vsn = a.vsn;
    m.state_change_ms = now;
    idx = nodes_.Add(std::move(m));
    // Insert at a random place in the probe order so new nodes are not probed in bulk.
    probe_list_.push_back(idx);
    std::swap(probe_list_.back(), probe_list_[Rand(probe_list_.size())]);
  } else if (!nodes_.at(idx).SameAddr(a.addr) || nodes_.at(idx).port != a.port) {
    const MemberEntry& m = nodes_.at(idx);
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
  MemberEntry& m = nodes_.at(idx);
  if (!is_new) {
    if (!is_local && !updates && a.incarnation <= m.incarnation) return;
    if (is_local && a.incarnation < m.incarnation) return;
  }
  DropSuspicion(a.node);
  if (is_local) {
    if (a.incarnation == m.incarnation && a.meta == *m.meta && m.SameAddr(a.addr) &&
        a.port == m.port) {
      return;  // our own alive message echoed back
    }
    Refute(now, a.incarnation);  // someone speaks for us with stale or foreign data
    return;
  }
  if (!bootstrap) queue_.Queue(a.node, Encode(a));
  const NodeState old_state = is_new ? NodeState::kDead : m.state;
  const bool meta_changed = *m.meta != a.meta;
  const bool changed = meta_changed || !m.SameAddr(a.addr) || m.port != a.port;
  m.incarnation = a.incarnation;
  if (meta_changed) m.meta = MakeMeta(a.meta);
  m.SetAddr(a.addr);
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
  MemberEntry* mp = nodes_.Find(s.node);
  if (mp == nullptr) return;
  MemberEntry& m = *mp;
  if (s.incarnation < m.incarnation) return;  // old news
  bool suspected = false;
  // An independent accuser shortens the timer; spread the confirmation once.
  if (ConfirmSuspicion(s.node, s.from, &suspected)) queue_.Queue(s.node, Encode(s));
  if (suspected) return;
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
  SetSuspicion(s.node, std::move(sp));
}

void Membership::SetSuspicion(const std::string& node, Suspicion s) {
  DropSuspicion(node);
  suspicion_deadlines_.emplace(s.Deadline(), node);
  suspicions_[node] = std::move(s);
}

bool Membership::ConfirmSuspicion(const std::string& node, const std::string& from, bool* exists) {
  auto it = suspicions_.find(node);
  *exists = it != suspicions_.end();
  if (!*exists) return false;
  const std::uint64_t before = it->second.Deadline();
  if (!it->second.Confirm(from)) return false;
  suspicion_deadlines_.erase({before, node});
  suspicion_deadlines_.emplace(it->second.Deadline(), node);
  return true;
}

void Membership::DropSuspicion(const std::string& node) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end()) return;
  suspicion_deadlines_.erase({it->second.Deadline(), node});
  suspicions_.erase(it);
}

void Membership::SuspicionTimeouts(std::uint64_t now) {
  std::vector<std::string> expired;
  for (const auto& [deadline, n] : suspicion_deadlines_) {
    if (deadline > now) break;
    expired.push_back(n);
  }
  for (const std::string& n : expired) {
    DropSuspicion(n);
    const MemberEntry* m = nodes_.Find(n);
    if (m == nullptr || m->state != NodeState::kSuspect) continue;
    DeadNode(now, Dead{m->incarnation, n, name_});
  }
}

void Membership::DeadNode(std::uint64_t now, const Dead& d) {
  MemberEntry* mp = nodes_.Find(d.node);
  if (mp == nullptr) return;
  MemberEntry& m = *mp;
  if (d.incarnation < m.incarnation) return;
  DropSuspicion(d.node);
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
  MemberEntry& me = Self();
  me.incarnation = std::max(me.incarnation + 1, accused + 1);
  me.state_change_ms = now;
  ApplyAwareness(1);
  queue_.Queue(name_, Encode(SelfAlive()));
}

}  // namespace beacon::gossip

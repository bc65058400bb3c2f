// Serf: the member table. Memberlist's join/update/leave notifications (Serf's event
// delegate), join and leave intents ordered by the Lamport clock (buffered for nodes not known
// yet), force-leave pruning, the reaper and reconnect attempts to failed members.
#include <algorithm>

#include "beacon/gossip/serf.h"

namespace beacon::gossip {

namespace {
SerfMemberInfo InfoOf(const Member& n, MemberStatus status) {
  auto tags = DecodeTags(n.meta);
  return SerfMemberInfo{n.name, n.addr, n.port, tags.ok() ? std::move(*tags) : Tags{},
                        status, n.vsn};
}
}  // namespace

void Serf::OnMemberEvent(const MemberEvent& e) {
  switch (e.kind) {
    case MemberEvent::Kind::kJoin:
      HandleNodeJoin(e.member);
      break;
    case MemberEvent::Kind::kUpdate:
      HandleNodeUpdate(e.member);
      break;
    case MemberEvent::Kind::kDead:
    case MemberEvent::Kind::kLeft:
      HandleNodeLeave(e.member);
      break;
    case MemberEvent::Kind::kConflict:
      Emit(SerfEvent::Kind::kConflict, InfoOf(e.member, MemberStatus::kAlive));
      break;
    case MemberEvent::Kind::kSuspect:
    case MemberEvent::Kind::kAlive:
      if (auto it = members_.find(e.member.name);
          it != members_.end() && it->second.info.status == MemberStatus::kAlive) {
        Emit(e.kind == MemberEvent::Kind::kSuspect ? SerfEvent::Kind::kMemberSuspect
                                                   : SerfEvent::Kind::kMemberUnsuspect,
             it->second.info);
      }
      break;
    case MemberEvent::Kind::kReaped:  // Serf keeps failed members until reconnect_timeout
      break;
  }
}

void Serf::HandleNodeJoin(const Member& n) {
  auto it = members_.find(n.name);
  if (it == members_.end()) {
    MemberState ms;
    ms.info = InfoOf(n, MemberStatus::kAlive);
    // A buffered intent (one per node, the latest) sets the status time.
    if (auto in = intents_.find(n.name); in != intents_.end()) {
      ms.status_ltime = in->second.ltime;
      if (in->second.type == SerfMsgType::kLeave) ms.info.status = MemberStatus::kLeaving;
    }
    it = members_.emplace(n.name, std::move(ms)).first;
  } else {
    MemberState& ms = it->second;
    ms.info = InfoOf(n, MemberStatus::kAlive);
    ms.leave_ms = 0;
    prunes_.erase(n.name);
  }
  Emit(SerfEvent::Kind::kMemberJoin, it->second.info);
}

void Serf::HandleNodeLeave(const Member& n) {
  auto it = members_.find(n.name);
  if (it == members_.end()) return;  // never heard of it
  MemberState& ms = it->second;
  switch (ms.info.status) {
    case MemberStatus::kLeaving:
      ms.info.status = MemberStatus::kLeft;
      break;
    case MemberStatus::kAlive:
      ms.info.status = MemberStatus::kFailed;
      break;
    default:
      return;
  }
  ms.leave_ms = now_;
  Emit(ms.info.status == MemberStatus::kLeft ? SerfEvent::Kind::kMemberLeave
                                             : SerfEvent::Kind::kMemberFailed,
       ms.info);
}

void Serf::HandleNodeUpdate(const Member& n) {
  auto it = members_.find(n.name);
  if (it == members_.end()) return;
  MemberState& ms = it->second;
  ms.info = InfoOf(n, ms.info.status);
  Emit(SerfEvent::Kind::kMemberUpdate, ms.info);
}

bool Serf::UpsertIntent(const std::string& node, SerfMsgType type, std::uint64_t ltime) {
  auto it = intents_.find(node);
  if (it != intents_.end() && ltime <= it->second.ltime) return false;
  intents_[node] = Intent{type, ltime, now_};
  return true;
}

bool Serf::HandleLeaveIntent(const SerfLeave& msg) {
  clock_.Witness(msg.ltime);
  auto it = members_.find(msg.node);
  if (it == members_.end()) return UpsertIntent(msg.node, SerfMsgType::kLeave, msg.ltime);
  MemberState& ms = it->second;
  if (msg.ltime <= ms.status_ltime) return false;  // old news
  if (msg.node == name_ && leave_phase_ == LeavePhase::kNone) {
    BroadcastJoin(clock_.t);  // refute an older leave intent about us
    return false;
  }
  // Always record the time, so a second leave intent for the same member is not rebroadcast
  // forever (hashicorp/consul#8179).
  ms.status_ltime = msg.ltime;
  switch (ms.info.status) {
    case MemberStatus::kAlive:
      ms.info.status = MemberStatus::kLeaving;
      break;
    case MemberStatus::kFailed:
      ms.info.status = MemberStatus::kLeft;
      Emit(SerfEvent::Kind::kMemberLeave, ms.info);  // forced
      break;
    case MemberStatus::kLeaving:
    case MemberStatus::kLeft:
      break;
    default:
      return false;
  }
  if (msg.prune) Prune(msg.node, ms.info.status == MemberStatus::kLeaving);
  return true;
}

void Serf::Prune(const std::string& node, bool leaving) {
  if (leaving) {
    // Serf lets a leaving node finish its leave first.
    prunes_[node] = now_ + cfg_.broadcast_timeout_ms + cfg_.leave_propagate_delay_ms;
    return;
  }
  Erase(node);
}

void Serf::Erase(const std::string& node) {
  auto it = members_.find(node);
  if (it == members_.end() || node == name_) return;
  Emit(SerfEvent::Kind::kMemberReap, it->second.info);
  members_.erase(it);
  prunes_.erase(node);
  ForgetCoordinate(node);
}

bool Serf::HandleJoinIntent(const SerfJoin& msg) {
  clock_.Witness(msg.ltime);
  auto it = members_.find(msg.node);
  if (it == members_.end()) return UpsertIntent(msg.node, SerfMsgType::kJoin, msg.ltime);
  MemberState& ms = it->second;
  if (msg.ltime <= ms.status_ltime) return false;
  ms.status_ltime = msg.ltime;
  // A leave intent older than this join no longer holds.
  if (ms.info.status == MemberStatus::kLeaving) ms.info.status = MemberStatus::kAlive;
  return true;
}

void Serf::BroadcastJoin(std::uint64_t ltime) {
  const SerfJoin msg{ltime, name_};
  clock_.Witness(ltime);
  HandleJoinIntent(msg);
  broadcasts_.Queue({}, EncodeSerf(msg));
}

void Serf::Reap(std::uint64_t now) {
  std::vector<std::string> gone;
  for (const auto& [n, m] : members_) {
    if (n == name_) continue;
    const std::uint64_t age = now - m.leave_ms;
    if ((m.info.status == MemberStatus::kFailed && age > cfg_.reconnect_timeout_ms) ||
        (m.info.status == MemberStatus::kLeft && age > cfg_.tombstone_timeout_ms)) {
      gone.push_back(n);
    }
  }
  for (const std::string& n : gone) Erase(n);
  std::erase_if(intents_, [&](const auto& kv) {
    return now - kv.second.at_ms > cfg_.recent_intent_timeout_ms;
  });
}

void Serf::Reconnect(std::uint64_t now) {
  if (leave_phase_ != LeavePhase::kNone) return;
  std::vector<const MemberState*> failed;
  std::size_t left = 0;
  for (const auto& [n, m] : members_) {
    if (m.info.status == MemberStatus::kFailed) failed.push_back(&m);
    if (m.info.status == MemberStatus::kLeft) ++left;
  }
  if (failed.empty()) return;
  // Each node tries with probability failed/alive, so the cluster as a whole tries each failed
  // member about once per interval.
  std::size_t alive = members_.size() - failed.size() - left;
  alive = std::max<std::size_t>(alive, 1);
  const double prob = static_cast<double>(failed.size()) / static_cast<double>(alive);
  const double draw = static_cast<double>(rng_() >> 11) / static_cast<double>(1ULL << 53);
  if (draw > prob) return;
  const MemberState* m = failed[rng_() % failed.size()];
  ml_->Join(now, {Endpoint{m->info.addr, m->info.port}});  // its result is not reported
}

}  // namespace beacon::gossip

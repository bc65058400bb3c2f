// Serf: construction, the I/O inputs (each forwarded to memberlist, then follow-ups), join,
// graceful leave, tags, user events to send, extension messages, and the member table views.
#include "beacon/gossip/serf.h"

#include <algorithm>
#include <utility>

namespace beacon::gossip {

namespace {
constexpr std::size_t kUserEventSizeLimit = 512;  // Serf's UserEventSizeLimit
constexpr std::uint8_t kSerfProtocolMin = 2, kSerfProtocolMax = 5;

Bytes MetaFor(const Tags& tags) {
  Bytes meta = EncodeTags(tags);
  return meta.size() <= kMetaMaxSize ? meta : EncodeTags({});
}

MembershipConfig WithSerfVersions(MembershipConfig c, std::uint8_t protocol) {
  c.vsn.dmin = kSerfProtocolMin;
  c.vsn.dmax = kSerfProtocolMax;
  c.vsn.dcur = protocol;
  return c;
}
}  // namespace

const char* to_string(MemberStatus s) {
  switch (s) {
    case MemberStatus::kNone:
      return "none";
    case MemberStatus::kAlive:
      return "alive";
    case MemberStatus::kLeaving:
      return "leaving";
    case MemberStatus::kLeft:
      return "left";
    case MemberStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

Serf::Serf(SerfConfig cfg, std::string name, Bytes addr, std::uint16_t port, Tags tags,
           std::uint64_t seed, std::uint64_t now_ms)
    : cfg_(std::move(cfg)), name_(std::move(name)), rng_(seed ^ 0x5e4f5e4f5e4f5e4fULL) {
  cfg_.memberlist = WithSerfVersions(cfg_.memberlist, cfg_.protocol_version);
  if (cfg_.event_buffer == 0) cfg_.event_buffer = 1;
  ml_ =
      std::make_unique<Membership>(cfg_.memberlist, name_, addr, port, MetaFor(tags), seed, now_ms);
  ml_->SetDelegate(&hooks_);
  coord_client_ = CoordinateClient(CoordinateConfig{}, seed ^ 0x7669'7661'6c64'6900ULL);
  if (!cfg_.disable_coordinates) coord_cache_[name_] = coord_client_.coordinate();
  now_ = now_ms;
  // Serf starts every clock at 1.
  clock_.t = event_clock_.t = query_clock_.t = 1;
  event_buffer_.resize(cfg_.event_buffer);
  query_buffer_.resize(std::max<std::size_t>(1, cfg_.query_buffer));
  MemberState self;
  self.info = {name_,           std::move(addr),      port,
               std::move(tags), MemberStatus::kAlive, cfg_.memberlist.vsn};
  members_.emplace(name_, self);
  Emit(SerfEvent::Kind::kMemberJoin, self.info);
  next_reap_ms_ = now_ms + cfg_.reap_interval_ms;
  next_reconnect_ms_ = now_ms + cfg_.reconnect_interval_ms;
}

Serf::~Serf() {
  ml_->SetDelegate(nullptr);
}

void Serf::Emit(SerfEvent::Kind kind, const SerfMemberInfo& m) {
  SerfEvent e;
  e.kind = kind;
  e.member = m;
  events_.push_back(std::move(e));
}

std::vector<SerfEvent> Serf::TakeEvents() {
  return std::exchange(events_, {});
}

int Serf::TransmitLimit() const {
  return RetransmitLimit(cfg_.memberlist.retransmit_mult, members_.size());
}

bool Serf::HasAliveMembers() const {
  for (const auto& [n, m] : members_) {
    if (n != name_ && m.info.status == MemberStatus::kAlive) return true;
  }
  return false;
}

// --- inputs

void Serf::Tick(std::uint64_t now) {
  now_ = now;
  ml_->Tick(now);
  if (now >= next_reap_ms_) {
    next_reap_ms_ = now + std::max<std::uint64_t>(1, cfg_.reap_interval_ms);
    Reap(now);
  }
  if (now >= next_reconnect_ms_) {
    next_reconnect_ms_ = now + std::max<std::uint64_t>(1, cfg_.reconnect_interval_ms);
    Reconnect(now);
  }
  for (auto it = prunes_.begin(); it != prunes_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const std::string node = it->first;
    it = prunes_.erase(it);
    Erase(node);
  }
  QueryTimeouts(now);
  AfterInput(now);
}

void Serf::OnPacket(std::uint64_t now, const Endpoint& from, ByteView bytes) {
  now_ = now;
  ml_->OnPacket(now, from, bytes);
  AfterInput(now);
}

Bytes Serf::OnStream(std::uint64_t now, const Endpoint& from, ByteView request) {
  now_ = now;
  Bytes reply = ml_->OnStream(now, from, request);
  AfterInput(now);
  return reply;
}

void Serf::OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> reply) {
  now_ = now;
  ml_->OnStreamReply(now, token, std::move(reply));
  AfterInput(now);
}

void Serf::OnStreamError(std::uint64_t now, std::uint64_t token, const std::string& error) {
  now_ = now;
  ml_->OnStreamError(now, token, error);
  AfterInput(now);
}

std::uint64_t Serf::NextDeadline() const {
  std::uint64_t d = std::min({ml_->NextDeadline(), next_reap_ms_, next_reconnect_ms_});
  for (const auto& [n, at] : prunes_) d = std::min(d, at);
  d = std::min(d, QueryDeadline());
  if (leave_phase_ != LeavePhase::kNone && leave_phase_ != LeavePhase::kDone) {
    d = std::min(d, leave_deadline_ms_);
  }
  return d;
}

void Serf::AfterInput(std::uint64_t now) {
  (void)ml_->TakeEvents();  // already handled through NotifyEvent
  for (JoinResult& r : ml_->TakeJoinResults()) {
    auto it = user_joins_.find(r.token);
    if (it == user_joins_.end()) continue;  // a reconnect attempt
    const UserJoin j = it->second;
    user_joins_.erase(it);
    if (j.ignore_old_events) --ignoring_joins_;
    if (j.refused) {
      r.joined = 0;
      r.error = "Serf can't Join after Leave or Shutdown";
    } else if (r.joined > 0) {
      BroadcastJoin(clock_.t);
    }
    join_results_.push_back(std::move(r));
  }
  AdvanceLeave(now);
}

// --- join and leave

std::uint64_t Serf::Join(std::uint64_t now, const std::vector<Endpoint>& seeds,
                         bool ignore_old_events) {
  now_ = now;
  const bool refused = leave_phase_ != LeavePhase::kNone;
  const std::uint64_t token = ml_->Join(now, refused ? std::vector<Endpoint>{} : seeds);
  user_joins_[token] = UserJoin{ignore_old_events, refused};
  if (ignore_old_events) ++ignoring_joins_;
  AfterInput(now);
  return token;
}

std::vector<JoinResult> Serf::TakeJoinResults() {
  return std::exchange(join_results_, {});
}

void Serf::Leave(std::uint64_t now) {
  if (leave_phase_ != LeavePhase::kNone) return;
  now_ = now;
  leave_phase_ = LeavePhase::kIntent;
  const SerfLeave msg{clock_.t, name_, false};
  ++clock_.t;
  HandleLeaveIntent(msg);
  if (HasAliveMembers()) {
    leave_intent_id_ = broadcasts_.Queue({}, EncodeSerf(msg));
    leave_deadline_ms_ = now + cfg_.broadcast_timeout_ms;
  } else {
    ml_->Leave(now);  // nobody to tell
    leave_phase_ = LeavePhase::kDone;
  }
  AfterInput(now);
}

void Serf::AdvanceLeave(std::uint64_t now) {
  if (leave_phase_ == LeavePhase::kIntent &&
      (!broadcasts_.Pending(leave_intent_id_) || now >= leave_deadline_ms_)) {
    ml_->Leave(now);
    leave_phase_ = LeavePhase::kMemberlist;
    leave_deadline_ms_ = now + cfg_.broadcast_timeout_ms;
  }
  if (leave_phase_ == LeavePhase::kMemberlist && (ml_->leave_sent() || now >= leave_deadline_ms_)) {
    leave_phase_ = LeavePhase::kPropagate;
    leave_deadline_ms_ = now + cfg_.leave_propagate_delay_ms;
  }
  if (leave_phase_ == LeavePhase::kPropagate && now >= leave_deadline_ms_) {
    leave_phase_ = LeavePhase::kDone;
  }
}

Status Serf::ForceLeave(std::uint64_t now, const std::string& node, bool prune) {
  now_ = now;
  const SerfLeave msg{clock_.t, node, prune};
  ++clock_.t;
  HandleLeaveIntent(msg);
  if (HasAliveMembers()) broadcasts_.Queue({}, EncodeSerf(msg));
  AfterInput(now);
  return Status::Ok();
}

// --- tags, events, extension messages

Status Serf::SetTags(std::uint64_t now, Tags tags) {
  now_ = now;
  Bytes meta = EncodeTags(tags);
  if (meta.size() > kMetaMaxSize) {
    return Status::Error("Encoded length of tags exceeds limit of " + std::to_string(kMetaMaxSize) +
                         " bytes");
  }
  MemberState& self = members_.at(name_);
  if (self.info.tags == tags) return Status::Ok();
  ml_->UpdateMeta(now, meta);
  self.info.tags = std::move(tags);
  Emit(SerfEvent::Kind::kMemberUpdate, self.info);  // memberlist's NotifyUpdate about us
  AfterInput(now);
  return Status::Ok();
}

Status Serf::UserEvent(std::uint64_t now, const std::string& name, Bytes payload, bool coalesce) {
  now_ = now;
  const std::string limit = std::to_string(kUserEventSizeLimit);
  if (name.size() + payload.size() > kUserEventSizeLimit) {
    return Status::Error("user event exceeds configured limit of " + limit +
                         " bytes before encoding");
  }
  const SerfUserEvent msg{event_clock_.t, name, std::move(payload), coalesce};
  Bytes raw = EncodeSerf(msg);
  if (raw.size() > kUserEventSizeLimit) {
    return Status::Error("encoded user event exceeds configured limit of " + limit +
                         " bytes after encoding");
  }
  ++event_clock_.t;
  HandleUserEvent(msg);
  event_broadcasts_.Queue({}, std::move(raw));
  return Status::Ok();
}

void Serf::SendToMember(std::uint64_t now, const std::string& node, Bytes msg, bool reliable) {
  now_ = now;
  const SerfMemberInfo* m = FindMember(node);
  if (m == nullptr) return;
  const Endpoint to{m->addr, m->port};
  if (reliable) {
    ml_->SendReliable(now, to, std::move(msg));
  } else {
    ml_->SendBestEffort(now, to, std::move(msg));
  }
}

// --- views

std::vector<SerfMemberInfo> Serf::Members() const {
  std::vector<SerfMemberInfo> out;
  out.reserve(members_.size());
  for (const auto& [n, m] : members_) out.push_back(m.info);
  return out;
}

const SerfMemberInfo* Serf::FindMember(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second.info;
}

}  // namespace beacon::gossip

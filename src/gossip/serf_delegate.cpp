// Serf: what memberlist asks of it (Serf's delegate.go). Incoming Serf messages and extension
// messages, the piggybacked broadcasts (Serf's and the extension's), the push-pull state, and
// user events with their ring buffer.
#include <algorithm>
#include <variant>

#include "beacon/gossip/serf.h"

namespace beacon::gossip {

void Serf::NotifyMsg(ByteView msg) {
  if (msg.empty()) return;
  if (msg[0] >= kExtensionTypeMin) {
    if (ext_ != nullptr) ext_->NotifyMsg(msg);
    return;
  }
  auto decoded = DecodeSerf(msg);
  if (!decoded.ok()) return;  // Serf logs and drops
  BroadcastQueue* rebroadcast = nullptr;
  if (auto* leave = std::get_if<SerfLeave>(&*decoded)) {
    if (HandleLeaveIntent(*leave)) rebroadcast = &broadcasts_;
  } else if (auto* join = std::get_if<SerfJoin>(&*decoded)) {
    if (HandleJoinIntent(*join)) rebroadcast = &broadcasts_;
  } else if (auto* ev = std::get_if<SerfUserEvent>(&*decoded)) {
    if (HandleUserEvent(*ev)) rebroadcast = &event_broadcasts_;
  } else if (auto* q = std::get_if<SerfQuery>(&*decoded)) {
    if (HandleQuery(*q)) rebroadcast = &query_broadcasts_;
  } else if (auto* r = std::get_if<SerfQueryResponse>(&*decoded)) {
    HandleQueryResponse(*r);
  }
  if (rebroadcast != nullptr) rebroadcast->Queue({}, Bytes(msg.begin(), msg.end()));
}

std::vector<Bytes> Serf::GetBroadcasts(std::size_t overhead, std::size_t limit) {
  std::vector<Bytes> out;
  std::size_t used = 0;
  if (ext_ != nullptr) {
    // The extension gets at least half the room while Serf has something to send, and all of
    // what Serf does not need.
    const std::size_t serf_wants = broadcasts_.PendingBytes(overhead) +
                                   query_broadcasts_.PendingBytes(overhead) +
                                   event_broadcasts_.PendingBytes(overhead);
    const std::size_t room =
        serf_wants == 0 ? limit : std::max(limit / 2, limit > serf_wants ? limit - serf_wants : 0);
    for (Bytes& b : ext_->GetBroadcasts(overhead, room)) {
      if (b.empty() || b[0] < kExtensionTypeMin || used + overhead + b.size() > room) continue;
      used += overhead + b.size();
      out.push_back(std::move(b));
    }
  }
  const int transmit_limit = TransmitLimit();
  for (BroadcastQueue* q : {&broadcasts_, &query_broadcasts_, &event_broadcasts_}) {
    for (Bytes& b : q->Get(overhead, limit - used, transmit_limit)) {
      used += overhead + b.size();
      out.push_back(std::move(b));
    }
  }
  return out;
}

Bytes Serf::LocalState() const {
  SerfPushPull pp;
  pp.ltime = clock_.t;
  for (const auto& [n, m] : members_) {
    pp.status_ltimes[n] = m.status_ltime;
    if (m.info.status == MemberStatus::kLeft) pp.left_members.push_back(n);
  }
  pp.event_ltime = event_clock_.t;
  // Only the filled slots of the event ring: Serf's MergeRemoteState skips nil slots, so the
  // up to 512 nils a stock Serf sends (one byte each before compression) carry nothing.
  for (const auto& e : event_buffer_) {
    if (e) pp.events.push_back(e);
  }
  pp.query_ltime = query_clock_.t;
  if (ext_ != nullptr) pp.ext = ext_->PushPullState();
  return EncodeSerf(pp);
}

void Serf::MergeRemoteState(ByteView state, bool join) {
  if (state.empty() || state[0] != static_cast<std::uint8_t>(SerfMsgType::kPushPull)) return;
  auto pp = DecodeSerfPushPull(state.subspan(1));
  if (!pp.ok()) return;
  // Minus one: no message with the peer's current time has been sent yet.
  if (pp->ltime > 0) clock_.Witness(pp->ltime - 1);
  if (pp->event_ltime > 0) event_clock_.Witness(pp->event_ltime - 1);
  if (pp->query_ltime > 0) query_clock_.Witness(pp->query_ltime - 1);
  // Left members first, one past their status time (the leave came after it).
  for (const std::string& n : pp->left_members) {
    auto t = pp->status_ltimes.find(n);
    HandleLeaveIntent(SerfLeave{(t == pp->status_ltimes.end() ? 0 : t->second) + 1, n, false});
  }
  for (const auto& [n, ltime] : pp->status_ltimes) {
    if (std::find(pp->left_members.begin(), pp->left_members.end(), n) != pp->left_members.end()) {
      continue;
    }
    HandleJoinIntent(SerfJoin{ltime, n});
  }
  // Joining with ignore_old_events: events the cluster already had are not ours to deliver.
  if (join && ignoring_joins_ > 0) event_min_time_ = std::max(event_min_time_, pp->event_ltime);
  for (const auto& slot : pp->events) {
    if (!slot) continue;
    for (const SerfEventEntry& e : slot->events) {
      HandleUserEvent(SerfUserEvent{slot->ltime, e.name, e.payload, false});
    }
  }
  if (ext_ != nullptr && !pp->ext.empty()) ext_->MergePushPullState(pp->ext, join);
}

bool Serf::HandleUserEvent(const SerfUserEvent& e) {
  event_clock_.Witness(e.ltime);
  if (e.ltime < event_min_time_) return false;
  const std::uint64_t size = event_buffer_.size();
  const std::uint64_t cur = event_clock_.t;
  if (cur > size && e.ltime < cur - size) return false;  // too old for the buffer
  auto& slot = event_buffer_[e.ltime % size];
  const SerfEventEntry entry{e.name, e.payload};
  if (slot && slot->ltime == e.ltime) {
    if (std::find(slot->events.begin(), slot->events.end(), entry) != slot->events.end()) {
      return false;  // seen
    }
  } else {
    slot = SerfEvents{e.ltime, {}};
  }
  slot->events.push_back(entry);
  SerfEvent ev;
  ev.kind = SerfEvent::Kind::kUser;
  ev.name = e.name;
  ev.payload = e.payload;
  ev.ltime = e.ltime;
  ev.coalesce = e.cc;
  events_.push_back(std::move(ev));
  return true;
}

}  // namespace beacon::gossip

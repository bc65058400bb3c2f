// Membership: the SWIM failure detector (direct, indirect and TCP fallback probes), serving
// pings and indirect pings for others, and Lifeguard's local health awareness.
#include <algorithm>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

std::uint64_t Membership::ScaledProbeInterval() const {
  return cfg_.probe_interval_ms * static_cast<std::uint64_t>(awareness_ + 1);
}

void Membership::ApplyAwareness(int delta) {
  awareness_ = std::clamp(awareness_ + delta, 0, std::max(0, cfg_.awareness_max_multiplier - 1));
}

void Membership::ReapDead(std::uint64_t now) {
  for (std::uint32_t i = 0; i < nodes_.size();) {
    const MemberEntry& m = nodes_.at(i);
    const bool gone = m.state == NodeState::kDead || m.state == NodeState::kLeft;
    if (m.name != name_ && gone && now - m.state_change_ms > cfg_.gossip_to_the_dead_ms) {
      Emit(MemberEvent::Kind::kReaped, m);
      DropSuspicion(m.name);
      nodes_.Remove(i);  // the last entry moves to i: look at i again
    } else {
      ++i;
    }
  }
}

void Membership::ResetProbeList(std::uint64_t now) {
  ReapDead(now);
  probe_list_.clear();
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) probe_list_.push_back(i);
  for (std::size_t i = probe_list_.size(); i > 1; --i)
    std::swap(probe_list_[i - 1], probe_list_[Rand(i)]);
  probe_index_ = 0;
}

const MemberEntry* Membership::RingTarget(std::uint64_t now) {
  if (++probes_since_reap_ >= nodes_.size()) {  // as often as a shuffled round reaps
    probes_since_reap_ = 0;
    ReapDead(now);
  }
  if (ring_changes_ != nodes_.changes()) {
    ring_.resize(nodes_.size());
    for (std::uint32_t i = 0; i < ring_.size(); ++i) ring_[i] = i;
    std::sort(ring_.begin(), ring_.end(), [&](std::uint32_t a, std::uint32_t b) {
      return nodes_.at(a).name < nodes_.at(b).name;
    });
    ring_changes_ = nodes_.changes();
  }
  const std::size_t m = ring_.size();
  if (m < 2) return nullptr;
  const auto self = std::lower_bound(
      ring_.begin(), ring_.end(), name_,
      [&](std::uint32_t i, const std::string& n) { return nodes_.at(i).name < n; });
  const auto p = static_cast<std::size_t>(self - ring_.begin());
  // Round k: this node's probes are one interval apart at its own phase, so the round is the
  // nearest multiple of the interval (half an interval of timer jitter changes nothing).
  const std::uint64_t iv = std::max<std::uint64_t>(1, cfg_.probe_interval_ms);
  const std::uint64_t wall = cfg_.round_clock_ms ? cfg_.round_clock_ms() : now;
  if (ring_phase_ms_ == ~std::uint64_t{0} || ring_phase_ms_ > wall) ring_phase_ms_ = wall % iv;
  const std::uint64_t k = (wall - ring_phase_ms_ + iv / 2) / iv;
  // The shift is a hash of k, the same on every node: a member's prober changes at random from
  // one round to the next (with a shift of k itself its probers would be its neighbours in name
  // order, one after another, and a partition along name order, such as racks named by prefix,
  // would go unnoticed for as many rounds as the block is long).
  std::uint64_t h = k + 0x9e3779b97f4a7c15ULL;  // splitmix64
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  const std::size_t off = 1 + static_cast<std::size_t>(h % (m - 1));
  for (std::size_t step = 0; step + 1 < m; ++step) {
    const MemberEntry& e = nodes_.at(ring_[(p + off + step) % m]);
    if (e.name != name_ && e.state != NodeState::kDead && e.state != NodeState::kLeft) return &e;
  }
  return nullptr;
}

const MemberEntry* Membership::ShuffledTarget(std::uint64_t now) {
  const MemberEntry* target = nullptr;
  for (std::size_t checked = 0; checked <= probe_list_.size() && target == nullptr;) {
    if (probe_index_ >= probe_list_.size()) {
      ResetProbeList(now);
      ++checked;
      continue;
    }
    const std::uint32_t i = probe_list_[probe_index_++];
    const MemberEntry* m = i < nodes_.size() ? &nodes_.at(i) : nullptr;
    if (m != nullptr && m->name != name_ && m->state != NodeState::kDead &&
        m->state != NodeState::kLeft) {
      target = m;
    } else {
      ++checked;
    }
  }
  return target;
}

void Membership::StartProbe(std::uint64_t now) {
  const MemberEntry* target = cfg_.ring_probes ? RingTarget(now) : ShuffledTarget(now);
  if (target == nullptr) {
    next_probe_ms_ = now + cfg_.probe_interval_ms;
    return;
  }
  const MemberEntry& me = Self();
  Probe p;
  p.seq = ++seq_;
  p.target = target->name;
  p.sent_ms = now;
  p.sent_us = cfg_.clock_us ? cfg_.clock_us() : now * 1000;
  p.timeout_ms = now + cfg_.probe_timeout_ms;
  p.end_ms = now + ScaledProbeInterval();
  Bytes ping = Encode(Ping{p.seq, target->name, me.Addr(), me.port, name_});
  if (target->state == NodeState::kAlive) {
    SendMsg(EndpointOf(*target), std::move(ping));
  } else {
    // The buddy system: tell a suspect it is suspected, so it can refute at once.
    SendRaw(EndpointOf(*target),
            {std::move(ping), Encode(Suspect{target->incarnation, target->name, name_})});
  }
  probe_ = std::move(p);
}

void Membership::ProbeTimeouts(std::uint64_t now) {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    if (it->second.nack) SendMsg(it->second.origin, Encode(Nack{it->second.their_seq}));
    it = relays_.erase(it);
  }
  if (!probe_) return;
  if (!probe_->indirect_sent && now >= probe_->timeout_ms) {
    probe_->indirect_sent = true;
    const MemberEntry* tp = nodes_.Find(probe_->target);
    if (tp == nullptr) {
      FinishProbe(now, false);
      return;
    }
    const MemberEntry& t = *tp;
    const MemberEntry& me = Self();
    for (const std::uint32_t peer : RandomNodes(now, cfg_.indirect_checks, t.name, false)) {
      const MemberEntry& pm = nodes_.at(peer);
      const bool nack = pm.vsn.pmax >= 4;
      if (nack) ++probe_->expected_nacks;
      SendMsg(EndpointOf(pm), Encode(IndirectPing{probe_->seq, t.Addr(), t.port, t.name, nack,
                                                  me.Addr(), me.port, name_}));
    }
    if (cfg_.tcp_pings && t.vsn.pmax >= 3) {
      const std::uint64_t token = next_token_++;
      streams_[token] = PendingStream{OutStream::Kind::kPing, false, probe_->seq};
      probe_->tcp_token = token;
      out_streams_.push_back(
          {token, OutStream::Kind::kPing, EndpointOf(t),
           SealStream(Encode(Ping{probe_->seq, t.name, me.Addr(), me.port, name_}))});
    }
  }
  if (probe_ && now >= probe_->end_ms) FinishProbe(now, false);
}

void Membership::FinishProbe(std::uint64_t now, bool acked) {
  Probe p = std::move(*probe_);
  probe_.reset();
  if (p.tcp_token) streams_.erase(*p.tcp_token);
  next_probe_ms_ = std::max(p.sent_ms + cfg_.probe_interval_ms, now);
  ++probe_stats_.probes;
  if (!acked && !p.tcp_ok) ++probe_stats_.probe_failures;
  if (acked) {
    ApplyAwareness(-1);
    return;
  }
  if (p.tcp_ok) return;  // UDP is failing but the node is up: memberlist only warns
  // Missing nacks point at ourselves rather than at the target (Lifeguard).
  ApplyAwareness(p.expected_nacks > 0 ? std::max(0, p.expected_nacks - p.nacks) : 1);
  const MemberEntry* t = nodes_.Find(p.target);
  if (t == nullptr) return;
  SuspectNode(now, Suspect{t->incarnation, p.target, name_});
}

void Membership::OnPing(const Endpoint& from, const Ping& p) {
  if (!p.node.empty() && p.node != name_) return;  // meant for a node that was here before
  Endpoint to = from;
  if (!p.source_addr.empty() && p.source_port != 0) to = Endpoint{p.source_addr, p.source_port};
  SendMsg(to, Encode(Ack{p.seq_no, delegate_ != nullptr ? delegate_->AckPayload() : Bytes{}}));
}

void Membership::OnIndirectPing(std::uint64_t now, const Endpoint& from, const IndirectPing& p) {
  const MemberEntry& me = Self();
  const std::uint32_t seq = ++seq_;
  Endpoint origin = from;
  if (!p.source_addr.empty() && p.source_port != 0) origin = Endpoint{p.source_addr, p.source_port};
  relays_[seq] = Relay{p.seq_no, origin, p.nack, now + cfg_.probe_timeout_ms};
  SendMsg(Endpoint{p.target, p.port}, Encode(Ping{seq, p.node, me.Addr(), me.port, name_}));
}

void Membership::OnAck(std::uint64_t now, const Ack& a) {
  if (auto it = relays_.find(a.seq_no); it != relays_.end()) {
    SendMsg(it->second.origin, Encode(Ack{it->second.their_seq, a.payload}));
    relays_.erase(it);
    return;
  }
  if (!probe_ || probe_->seq != a.seq_no) return;
  if (delegate_ != nullptr) {
    if (const MemberEntry* t = nodes_.Find(probe_->target)) {
      const std::uint64_t at_us = cfg_.clock_us ? cfg_.clock_us() : now * 1000;
      const std::uint64_t rtt_us = at_us > probe_->sent_us ? at_us - probe_->sent_us : 0;
      delegate_->NotifyPingComplete(ToMember(*t), rtt_us, a.payload);
    }
  }
  FinishProbe(now, true);
}

void Membership::OnNack(const Nack& n) {
  if (probe_ && probe_->seq == n.seq_no) ++probe_->nacks;
}

}  // namespace beacon::gossip

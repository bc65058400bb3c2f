// Membership: construction, input dispatch, packet assembly, gossip and the output queues.
#include <algorithm>
#include <cstdio>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

namespace {
constexpr std::size_t kCompoundHeader = 2;    // type + count
constexpr std::size_t kCompoundPerPart = 2;   // uint16 length
constexpr std::size_t kEncryptOverhead = 29;  // version + nonce + tag (version 1)

template <typename T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  for (auto& x : from) to.push_back(std::move(x));
}
}  // namespace

std::string to_string(const Endpoint& e) {
  std::string s;
  char buf[8];
  if (e.ip.size() == 4) {
    for (std::size_t i = 0; i < 4; ++i) s += (i ? "." : "") + std::to_string(e.ip[i]);
  } else {
    s = "[";
    for (std::size_t i = 0; i + 1 < e.ip.size(); i += 2) {
      std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (e.ip[i] << 8) | e.ip[i + 1]);
      s += buf;
    }
    s += "]";
  }
  return s + ":" + std::to_string(e.port);
}

Membership::Membership(MembershipConfig cfg, std::string name, const Bytes& addr,
                       std::uint16_t port, const Bytes& meta, std::uint64_t seed,
                       std::uint64_t now_ms)
    : cfg_(std::move(cfg)), name_(std::move(name)), rng_(seed) {
  MemberEntry self;
  self.name = name_;
  self.SetAddr(addr);
  self.port = port;
  self.meta = MakeMeta(meta);
  self.incarnation = 1;
  self.vsn = cfg_.vsn;
  self.state_change_ms = now_ms;
  probe_list_.push_back(nodes_.Add(std::move(self)));
  // memberlist's setAlive: our own alive message is gossiped once we know someone.
  queue_.Queue(name_, Encode(SelfAlive()));
  // Stagger the timers like memberlist does, so nodes started together do not move in step.
  next_probe_ms_ = now_ms + Rand(cfg_.probe_interval_ms);
  next_gossip_ms_ = now_ms + Rand(cfg_.gossip_interval_ms);
  // memberlist's pushPullTrigger waits a stagger in [0, interval) and then a whole (scaled)
  // interval before its first periodic push-pull: a join already exchanged full state, so the
  // next exchange is not due before one interval has passed.
  next_push_pull_ms_ = now_ms + Rand(PushPullInterval()) + PushPullInterval();
}

MetaPtr Membership::MakeMeta(const Bytes& meta) {
  return cfg_.meta_pool ? cfg_.meta_pool->Intern(meta) : std::make_shared<const Bytes>(meta);
}

Member Membership::ToMember(const MemberEntry& e) {
  return Member{e.name,        e.Addr(), e.port, *e.meta,
                e.incarnation, e.state,  e.vsn,  e.state_change_ms};
}

void Membership::Emit(MemberEvent::Kind kind, const Member& m) {
  events_.push_back({kind, m});
  if (delegate_ != nullptr) delegate_->NotifyEvent(events_.back());
}

Alive Membership::SelfAlive() const {
  const MemberEntry& me = Self();
  return Alive{me.incarnation, me.name, me.Addr(), me.port, *me.meta, me.vsn};
}

void Membership::UpdateMeta(std::uint64_t now_ms, const Bytes& meta) {
  MemberEntry& me = Self();
  me.meta = MakeMeta(meta);
  ++me.incarnation;
  me.state_change_ms = now_ms;
  queue_.Queue(name_, Encode(SelfAlive()));
}

void Membership::Tick(std::uint64_t now) {
  ProbeTimeouts(now);
  SuspicionTimeouts(now);
  if (!leaving_ && !probe_ && now >= next_probe_ms_) StartProbe(now);
  Gossip(now);
  if (cfg_.push_pull_interval_ms > 0 && !leaving_ && now >= next_push_pull_ms_) {
    next_push_pull_ms_ = now + PushPullInterval();
    auto peer = RandomNodes(now, 1, {}, false);
    if (!peer.empty()) StartPushPull(now, EndpointOf(nodes_.at(peer[0])), false);
  }
}

void Membership::OnPacket(std::uint64_t now, const Endpoint& from, ByteView bytes) {
  auto msgs = UnpackPacket(bytes, RxKeyring(), cfg_.label, cfg_.verify_incoming);
  if (!msgs.ok()) return;  // memberlist logs and drops
  for (const Bytes& m : *msgs) HandleMessage(now, from, m);
}

void Membership::HandleMessage(std::uint64_t now, const Endpoint& from, ByteView msg) {
  auto decoded = DecodeMessage(msg);
  if (!decoded.ok()) return;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Ping>) OnPing(from, m);
        if constexpr (std::is_same_v<T, IndirectPing>) OnIndirectPing(now, from, m);
        if constexpr (std::is_same_v<T, Ack>) OnAck(now, m);
        if constexpr (std::is_same_v<T, Nack>) OnNack(m);
        if constexpr (std::is_same_v<T, Suspect>) SuspectNode(now, m);
        if constexpr (std::is_same_v<T, Alive>) AliveNode(now, m, false);
        if constexpr (std::is_same_v<T, Dead>) DeadNode(now, m);
        if constexpr (std::is_same_v<T, UserMsg>) {
          if (delegate_ != nullptr) delegate_->NotifyMsg(m.payload);
        }
      },
      *decoded);
}

Bytes Membership::Nonce() {
  Bytes n(kNonceSize);
  for (auto& b : n) b = static_cast<std::uint8_t>(rng_());
  return n;
}

void Membership::SendRaw(const Endpoint& to, const std::vector<Bytes>& msgs) {
  PacketOptions opt;
  Bytes nonce;
  if (const Keyring* ring = TxKeyring()) {
    nonce = Nonce();
    opt.keyring = ring;
    opt.nonce = nonce;
  }
  opt.label = cfg_.label;
  std::vector<Bytes> one;
  if (cfg_.compress) {
    // memberlist compresses only when that makes the packet smaller.
    Bytes plain;
    if (msgs.size() == 1) {
      plain = msgs.front();
    } else if (auto c = MakeCompound(msgs); c.ok()) {
      plain = std::move(*c);
    } else {
      return;
    }
    Bytes packed = compress(plain);
    one.push_back(packed.size() < plain.size() ? std::move(packed) : std::move(plain));
  }
  auto packet = PackPacket(cfg_.compress ? one : msgs, opt);
  if (packet.ok()) packets_.push_back({to, std::move(*packet)});
}

void Membership::SendMsg(const Endpoint& to, Bytes msg) {
  std::size_t overhead = kCompoundHeader + kCompoundPerPart + msg.size();
  if (!cfg_.label.empty()) overhead += 2 + cfg_.label.size();
  if (TxKeyring() != nullptr) overhead += kEncryptOverhead;
  std::vector<Bytes> msgs{std::move(msg)};
  if (overhead < cfg_.udp_buffer_size) {
    append(msgs, GetBroadcasts(kCompoundPerPart, cfg_.udp_buffer_size - overhead));
  }
  SendRaw(to, msgs);
}

std::vector<Bytes> Membership::GetBroadcasts(std::size_t overhead, std::size_t limit) {
  std::vector<Bytes> out = queue_.Get(overhead, limit, TransmitLimit());
  if (delegate_ == nullptr) return out;
  std::size_t used = 0;
  for (const Bytes& b : out) used += overhead + b.size();
  if (used + overhead + 2 > limit) return out;
  // A user message is its type byte plus the payload.
  for (Bytes& p : delegate_->GetBroadcasts(overhead + 1, limit - used)) {
    out.push_back(Encode(UserMsg{std::move(p)}));
  }
  return out;
}

Bytes Membership::SealStream(const Bytes& msg) {
  Bytes body = cfg_.compress ? compress(msg) : msg;
  Bytes nonce = TxKeyring() != nullptr ? Nonce() : Bytes{};
  auto sealed = gossip::SealStream(body, TxKeyring(), nonce, 1, cfg_.label);
  return sealed.ok() ? std::move(*sealed) : Bytes{};
}

std::vector<std::uint32_t> Membership::RandomNodes(std::uint64_t now, int k,
                                                   const std::string& exclude, bool for_gossip) {
  auto ok = [&](const MemberEntry& m) {
    if (m.name == name_ || m.name == exclude) return false;
    return m.state == NodeState::kAlive || (for_gossip && m.state == NodeState::kSuspect) ||
           (for_gossip && m.state == NodeState::kDead &&
            now - m.state_change_ms <= cfg_.gossip_to_the_dead_ms);
  };
  std::vector<std::uint32_t> out;
  const std::size_t n = nodes_.size();
  const auto want = static_cast<std::size_t>(std::max(k, 0));
  if (n > 32) {
    // Uniform over the qualifying members, without replacement: draw indices, skip misses.
    for (std::size_t tries = 0; out.size() < want && tries < 8 * want + 32; ++tries) {
      const auto i = static_cast<std::uint32_t>(Rand(n));
      if (ok(nodes_.at(i)) && std::find(out.begin(), out.end(), i) == out.end()) {
        out.push_back(i);
      }
    }
    if (out.size() == want) return out;
    out.clear();  // most members do not qualify: scan
  }
  std::vector<std::uint32_t> pool;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (ok(nodes_.at(i))) pool.push_back(i);
  }
  while (out.size() < want && !pool.empty()) {
    const std::size_t i = Rand(pool.size());
    out.push_back(pool[i]);
    pool[i] = pool.back();
    pool.pop_back();
  }
  return out;
}

std::uint64_t Membership::QueuedTotal() const {
  return queue_.queued() + (delegate_ != nullptr ? delegate_->BroadcastsQueued() : 0);
}

void Membership::Gossip(std::uint64_t now) {
  const bool early = EagerDue() && now >= last_gossip_ms_ + cfg_.eager_gossip_gap_ms;
  if (now < next_gossip_ms_ && !early) return;
  if (early) next_gossip_ms_ = now;  // this round replaces the next tick's
  while (next_gossip_ms_ <= now)
    next_gossip_ms_ += std::max<std::uint64_t>(1, cfg_.gossip_interval_ms);
  last_gossip_ms_ = now;
  gossiped_queued_ = QueuedTotal();
  bursting_ = false;
  if (queue_.size() == 0 && delegate_ == nullptr) return;  // idle gossip is free
  std::size_t budget = cfg_.udp_buffer_size - kCompoundHeader;
  if (!cfg_.label.empty()) budget -= 2 + cfg_.label.size();
  if (cfg_.keyring) budget -= kEncryptOverhead;
  for (const std::uint32_t n : RandomNodes(now, cfg_.gossip_nodes, {}, true)) {
    auto msgs = GetBroadcasts(kCompoundPerPart, budget);
    if (msgs.empty()) return;
    SendRaw(EndpointOf(nodes_.at(n)), msgs);
    // Broadcasts went out: the next round comes after the gap while they last (each round
    // spends transmits, so the same packets leave, sooner).
    bursting_ = cfg_.eager_gossip_gap_ms > 0;
  }
}

std::vector<OutPacket> Membership::TakePackets() {
  return std::exchange(packets_, {});
}
std::vector<OutStream> Membership::TakeStreams() {
  return std::exchange(out_streams_, {});
}
std::vector<MemberEvent> Membership::TakeEvents() {
  return std::exchange(events_, {});
}

std::uint64_t Membership::NextDeadline() const {
  std::uint64_t d = next_gossip_ms_;
  if (EagerDue()) d = std::min(d, last_gossip_ms_ + cfg_.eager_gossip_gap_ms);
  if (!leaving_ && !probe_) d = std::min(d, next_probe_ms_);
  if (probe_) d = std::min(d, probe_->indirect_sent ? probe_->end_ms : probe_->timeout_ms);
  for (const auto& [seq, r] : relays_) d = std::min(d, r.deadline_ms);
  if (!suspicion_deadlines_.empty()) d = std::min(d, suspicion_deadlines_.begin()->first);
  if (cfg_.push_pull_interval_ms > 0 && !leaving_) d = std::min(d, next_push_pull_ms_);
  return d;
}

std::vector<Member> Membership::Members() const {
  std::vector<Member> out;
  out.reserve(nodes_.size());
  for (const MemberEntry& m : nodes_) out.push_back(ToMember(m));
  std::sort(out.begin(), out.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  return out;
}

std::size_t Membership::NumAlive() const {
  std::size_t n = 0;
  for (const MemberEntry& m : nodes_)
    n += (m.state == NodeState::kDead || m.state == NodeState::kLeft) ? 0 : 1;
  return n;
}

std::optional<Member> Membership::Find(const std::string& name) const {
  const MemberEntry* m = nodes_.Find(name);
  if (m == nullptr) return std::nullopt;
  return ToMember(*m);
}

}  // namespace beacon::gossip

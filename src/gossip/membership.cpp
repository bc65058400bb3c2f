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

Membership::Membership(MembershipConfig cfg, std::string name, Bytes addr, std::uint16_t port,
                       Bytes meta, std::uint64_t seed, std::uint64_t now_ms)
    : cfg_(std::move(cfg)), name_(std::move(name)), rng_(seed) {
  Member self{name_, std::move(addr),   port,     std::move(meta),
              1,     NodeState::kAlive, cfg_.vsn, now_ms};
  nodes_.emplace(name_, std::move(self));
  probe_list_.push_back(name_);
  // memberlist's setAlive: our own alive message is gossiped once we know someone.
  queue_.Queue(name_, Encode(SelfAlive()));
  // Stagger the timers like memberlist does, so nodes started together do not move in step.
  next_probe_ms_ = now_ms + Rand(cfg_.probe_interval_ms);
  next_gossip_ms_ = now_ms + Rand(cfg_.gossip_interval_ms);
  next_push_pull_ms_ = now_ms + Rand(PushPullInterval());  // memberlist: stagger in [0, interval)
}

void Membership::Emit(MemberEvent::Kind kind, const Member& m) {
  events_.push_back({kind, m});
  if (delegate_ != nullptr) delegate_->NotifyEvent(events_.back());
}

Alive Membership::SelfAlive() const {
  const Member& me = nodes_.at(name_);
  return Alive{me.incarnation, me.name, me.addr, me.port, me.meta, me.vsn};
}

void Membership::UpdateMeta(std::uint64_t now_ms, Bytes meta) {
  Member& me = nodes_.at(name_);
  me.meta = std::move(meta);
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
    if (!peer.empty()) StartPushPull(now, nodes_.at(peer[0]).endpoint(), false);
  }
}

void Membership::OnPacket(std::uint64_t now, const Endpoint& from, ByteView bytes) {
  const Keyring* ring = cfg_.keyring ? &*cfg_.keyring : nullptr;
  auto msgs = UnpackPacket(bytes, ring, cfg_.label);
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
  if (cfg_.keyring) {
    nonce = Nonce();
    opt.keyring = &*cfg_.keyring;
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
  if (cfg_.keyring) overhead += kEncryptOverhead;
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
  Bytes nonce = cfg_.keyring ? Nonce() : Bytes{};
  auto sealed =
      gossip::SealStream(body, cfg_.keyring ? &*cfg_.keyring : nullptr, nonce, 1, cfg_.label);
  return sealed.ok() ? std::move(*sealed) : Bytes{};
}

std::vector<std::string> Membership::RandomNodes(std::uint64_t now, int k,
                                                 const std::string& exclude, bool for_gossip) {
  std::vector<std::string> pool;
  for (const auto& [n, m] : nodes_) {
    if (n == name_ || n == exclude) continue;
    const bool ok = m.state == NodeState::kAlive ||
                    (for_gossip && m.state == NodeState::kSuspect) ||
                    (for_gossip && m.state == NodeState::kDead &&
                     now - m.state_change_ms <= cfg_.gossip_to_the_dead_ms);
    if (ok) pool.push_back(n);
  }
  std::vector<std::string> out;
  while (static_cast<int>(out.size()) < k && !pool.empty()) {
    const std::size_t i = Rand(pool.size());
    out.push_back(std::move(pool[i]));
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return out;
}

void Membership::Gossip(std::uint64_t now) {
  if (now < next_gossip_ms_) return;
  while (next_gossip_ms_ <= now)
    next_gossip_ms_ += std::max<std::uint64_t>(1, cfg_.gossip_interval_ms);
  if (queue_.size() == 0 && delegate_ == nullptr) return;  // idle gossip is free
  std::size_t budget = cfg_.udp_buffer_size - kCompoundHeader;
  if (!cfg_.label.empty()) budget -= 2 + cfg_.label.size();
  if (cfg_.keyring) budget -= kEncryptOverhead;
  for (const std::string& n : RandomNodes(now, cfg_.gossip_nodes, {}, true)) {
    auto msgs = GetBroadcasts(kCompoundPerPart, budget);
    if (msgs.empty()) return;
    SendRaw(nodes_.at(n).endpoint(), msgs);
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
  if (!leaving_ && !probe_) d = std::min(d, next_probe_ms_);
  if (probe_) d = std::min(d, probe_->indirect_sent ? probe_->end_ms : probe_->timeout_ms);
  for (const auto& [seq, r] : relays_) d = std::min(d, r.deadline_ms);
  for (const auto& [n, s] : suspicions_) d = std::min(d, s.Deadline());
  if (cfg_.push_pull_interval_ms > 0 && !leaving_) d = std::min(d, next_push_pull_ms_);
  return d;
}

std::vector<Member> Membership::Members() const {
  std::vector<Member> out;
  out.reserve(nodes_.size());
  for (const auto& [n, m] : nodes_) out.push_back(m);
  return out;
}

std::size_t Membership::NumAlive() const {
  std::size_t n = 0;
  for (const auto& [name, m] : nodes_)
    n += (m.state == NodeState::kDead || m.state == NodeState::kLeft) ? 0 : 1;
  return n;
}

const Member* Membership::Find(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace beacon::gossip

// A discrete-event simulator for sans-I/O gossip nodes: N nodes in one process on a virtual
// clock, over a virtual network with seeded per-link loss, delay and jitter, partitions, killed
// nodes and stalled nodes.
//
// Contract:
// - `World<Node>` owns its nodes. `Node` is any type with memberlist's sans-I/O surface:
//   Tick(now), OnPacket(now, from, bytes), OnStream(now, from, request) -> reply,
//   OnStreamReply(now, token, optional reply), TakePackets(), TakeStreams(), TakeEvents(),
//   NextDeadline() (gossip::Membership today; gossip::Serf later). Events a node emits go to the
//   observer callback, with the node's index and the virtual time.
// - Time only moves inside Run*(): events pop from a priority queue ordered by (time, sequence
//   number), so the same seed and the same calls give the same run, byte for byte; trace_hash()
//   folds every delivered input and every node event (via SimDigest(event)) to prove it.
// - Network model: UDP datagrams are lost with the link's probability, else delivered after
//   delay + uniform jitter (so they may reorder). A datagram is dropped when sender and receiver
//   are in different partition groups at send or at delivery time, or when the receiver is dead.
//   Streams (TCP) are reliable and take the link's delay each way; across a partition they time
//   out (no reply after stream_timeout_ms); to a dead node they are refused after one delay.
// - A stalled node (CPU starvation) handles nothing until its stall ends: inputs and timers due
//   during the stall queue up and are delivered, in order, at the stall's end. A lagging node
//   handles each datagram and stream message a fixed lag after it arrives, but its timers fire
//   on time (a node too slow to read its socket: its probes time out before it sees the acks).
// - Single-threaded; nothing global. Inputs from the test (Join, UpdateMeta...) go through Do().
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "beacon/gossip/membership.h"

namespace beacon::sim {

using gossip::Bytes;
using gossip::ByteView;
using gossip::Endpoint;

struct LinkSpec {
  double loss = 0;              // probability a datagram is dropped
  std::uint64_t delay_ms = 1;   // one-way base delay
  std::uint64_t jitter_ms = 1;  // plus uniform [0, jitter] ms
};

struct NodeTraffic {
  std::uint64_t udp_bytes = 0, udp_packets = 0;  // datagrams sent (before loss)
  std::uint64_t tcp_bytes = 0, tcp_streams = 0;  // stream requests made and replies served
  std::uint64_t total_bytes() const { return udp_bytes + tcp_bytes; }
};

inline std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a, 64 bits.
inline std::uint64_t Fold(std::uint64_t h, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}
inline std::uint64_t Fold(std::uint64_t h, std::uint64_t v) {
  return Fold(h, &v, sizeof v);
}

// Node i's address: 10.(i>>16).(i>>8).(i&255):7946, so the index comes back without a lookup.
inline Endpoint SimEndpoint(std::size_t i) {
  return {{10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
           static_cast<std::uint8_t>(i)},
          7946};
}

// A node event's contribution to the trace hash (overload for other node types' events).
inline std::uint64_t SimDigest(const gossip::MemberEvent& e) {
  std::uint64_t h = Fold(0xcbf29ce484222325ULL, static_cast<std::uint64_t>(e.kind));
  h = Fold(h, e.member.name.data(), e.member.name.size());
  return Fold(Fold(h, e.member.incarnation), static_cast<std::uint64_t>(e.member.state));
}

template <class Node>
class World {
 public:
  using Event = typename decltype(std::declval<Node&>().TakeEvents())::value_type;
  using Observer = std::function<void(std::size_t observer, std::uint64_t now, const Event&)>;

  World(std::uint64_t seed, LinkSpec defaults)
      : seed_(seed), rng_(SplitMix(seed)), link_(defaults) {}
  // A deep copy of the whole simulation (nodes, packets in flight, clock, random state), to run
  // several scenarios from one formed cluster; the observer is not copied. Needs a copyable Node.
  World(const World& o)
      : seed_(o.seed_),
        rng_(o.rng_),
        link_(o.link_),
        queue_(o.queue_),
        seq_(o.seq_),
        now_(o.now_),
        hash_(o.hash_),
        delivered_(o.delivered_),
        stream_timeout_ms_(o.stream_timeout_ms_) {
    slots_.reserve(o.slots_.size());
    for (const Slot& s : o.slots_) {
      Slot c{std::make_unique<Node>(*s.node)};
      c.group = s.group;
      c.dead = s.dead;
      c.stall_until = s.stall_until;
      c.lag_ms = s.lag_ms;
      c.lag_until = s.lag_until;
      c.armed = s.armed;
      c.links = s.links;
      c.pending = s.pending;
      c.traffic = s.traffic;
      slots_.push_back(std::move(c));
    }
  }
  World& operator=(const World&) = delete;

  // A seed for the node about to be added (the caller constructs it with NodeSeed(size())).
  std::uint64_t NodeSeed(std::size_t i) const { return SplitMix(seed_ ^ SplitMix(i + 1)); }
  std::size_t Add(std::unique_ptr<Node> n) {
    slots_.push_back(Slot{std::move(n)});
    Rearm(slots_.size() - 1);
    return slots_.size() - 1;
  }
  std::size_t size() const { return slots_.size(); }
  Node& node(std::size_t i) { return *slots_[i].node; }
  std::uint64_t now() const { return now_; }
  std::uint64_t trace_hash() const { return hash_; }
  std::uint64_t delivered() const { return delivered_; }
  const NodeTraffic& traffic(std::size_t i) const { return slots_[i].traffic; }
  void set_observer(Observer o) { observer_ = std::move(o); }
  void set_stream_timeout_ms(std::uint64_t t) { stream_timeout_ms_ = t; }

  // Network faults. Links default to the constructor's spec; SetLink overrides one direction.
  void SetDefaultLink(LinkSpec s) { link_ = s; }
  void SetLink(std::size_t from, std::size_t to, LinkSpec s) {
    slots_[from].links.emplace_back(to, s);
  }
  // Nodes in different groups cannot reach each other; Heal() puts everyone back in group 0.
  void Partition(const std::vector<int>& group_of) {
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].group = group_of.at(i);
  }
  void Heal() {
    for (Slot& s : slots_) s.group = 0;
  }
  // Crash: the node never handles anything again; streams to it are refused.
  void Kill(std::size_t i) { slots_[i].dead = true; }
  bool dead(std::size_t i) const { return slots_[i].dead; }
  // The node handles nothing before `until`; what arrives meanwhile waits for it.
  void Stall(std::size_t i, std::uint64_t until) {
    slots_[i].stall_until = std::max(slots_[i].stall_until, until);
  }

  // Until `until`, every datagram and stream message to node i waits `lag_ms` before the node
  // handles it, while its timers stay on time: a node too slow to read its socket, so its own
  // probes time out before it sees the acks (Lifeguard's local-health case).
  void Lag(std::size_t i, std::uint64_t lag_ms, std::uint64_t until) {
    slots_[i].lag_ms = lag_ms;
    slots_[i].lag_until = until;
  }

  // Runs `f(node, now)` on node i (an input from outside: Join, UpdateMeta, Leave...), then
  // collects what it produced.
  template <class F>
  void Do(std::size_t i, F&& f) {
    f(*slots_[i].node, now_);
    Drain(i);
  }

  // Handles every event due up to `until`, then sets the clock to `until`.
  void RunUntil(std::uint64_t until) {
    while (!queue_.empty() && queue_.front().at <= until) Step();
    now_ = std::max(now_, until);
  }
  // Runs until pred() holds (checked every `every_ms`) or `until`; returns whether it held.
  template <class Pred>
  bool RunUntil(std::uint64_t until, std::uint64_t every_ms, Pred pred) {
    while (!pred()) {
      if (now_ >= until) return false;
      RunUntil(std::min(until, now_ + every_ms));
    }
    return true;
  }

 private:
  enum class Kind : std::uint8_t { kTimer, kPacket, kStreamRequest, kStreamReply, kTimeout };
  struct Ev {
    std::uint64_t at = 0, seq = 0;
    Kind kind = Kind::kTimer;
    std::uint32_t from = 0, to = 0;
    std::uint64_t token = 0;
    std::optional<Bytes> bytes;
    bool lagged = false;  // already held back by Lag()
  };
  struct Later {
    bool operator()(const Ev& a, const Ev& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  struct Slot {
    std::unique_ptr<Node> node;
    int group = 0;
    bool dead = false;
    std::uint64_t stall_until = 0;
    std::uint64_t lag_ms = 0, lag_until = 0;
    std::uint64_t armed = std::numeric_limits<std::uint64_t>::max();  // earliest queued timer
    std::vector<std::pair<std::size_t, LinkSpec>> links;              // overrides, by target
    std::set<std::uint64_t> pending;  // our stream tokens still waiting for a reply
    NodeTraffic traffic;
  };

  const LinkSpec& Link(std::size_t from, std::size_t to) const {
    for (const auto& [t, s] : slots_[from].links) {
      if (t == to) return s;
    }
    return link_;
  }
  bool Reachable(std::size_t a, std::size_t b) const { return slots_[a].group == slots_[b].group; }
  std::uint64_t Delay(std::size_t from, std::size_t to) {
    const LinkSpec& l = Link(from, to);
    return std::max<std::uint64_t>(1, l.delay_ms + (l.jitter_ms ? rng_() % (l.jitter_ms + 1) : 0));
  }
  std::optional<std::size_t> IndexOf(const Endpoint& ep) const {
    if (ep.ip.size() != 4 || ep.ip[0] != 10 || ep.port != 7946) return std::nullopt;
    const std::size_t i = (std::size_t{ep.ip[1]} << 16) | (std::size_t{ep.ip[2]} << 8) | ep.ip[3];
    if (i >= slots_.size()) return std::nullopt;
    return i;
  }

  void Push(Ev e) {
    e.seq = seq_++;
    queue_.push_back(std::move(e));
    std::push_heap(queue_.begin(), queue_.end(), Later{});
  }
  void Rearm(std::size_t i) {
    Slot& s = slots_[i];
    if (s.dead) return;
    const std::uint64_t d = std::max(s.node->NextDeadline(), now_ + 1);
    if (d >= s.armed) return;
    s.armed = d;
    Push(Ev{d, 0, Kind::kTimer, 0, static_cast<std::uint32_t>(i), 0, std::nullopt});
  }

  void Step() {
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    Ev e = std::move(queue_.back());
    queue_.pop_back();
    now_ = std::max(now_, e.at);
    Slot& s = slots_[e.to];
    if (s.dead) {
      if (e.kind == Kind::kStreamRequest) {  // refused: the requester hears so after a delay
        Push(Ev{now_ + Delay(e.to, e.from), 0, Kind::kStreamReply, e.to, e.from, e.token,
                std::nullopt});
      }
      return;
    }
    if (e.kind == Kind::kTimer && e.at != s.armed) return;  // superseded by an earlier timer
    if (e.kind != Kind::kTimer && e.kind != Kind::kTimeout && !e.lagged && s.lag_until > now_) {
      e.lagged = true;  // a slow reader: it handles this lag_ms later
      e.at = now_ + s.lag_ms;
      Push(std::move(e));
      return;
    }
    if (s.stall_until > now_) {  // starved: handle it later
      if (e.kind == Kind::kTimer) s.armed = s.stall_until;
      e.at = s.stall_until;
      Push(std::move(e));
      return;
    }
    ++delivered_;
    hash_ = Fold(Fold(Fold(Fold(hash_, now_), static_cast<std::uint64_t>(e.kind)), e.from), e.to);
    if (e.bytes) hash_ = Fold(hash_, e.bytes->data(), e.bytes->size());
    switch (e.kind) {
      case Kind::kTimer:
        s.armed = std::numeric_limits<std::uint64_t>::max();
        s.node->Tick(now_);
        break;
      case Kind::kPacket:
        if (!Reachable(e.from, e.to)) return;
        s.node->OnPacket(now_, SimEndpoint(e.from), *e.bytes);
        break;
      case Kind::kStreamRequest: {
        if (!Reachable(e.from, e.to)) return;  // the requester times out
        Bytes reply = s.node->OnStream(now_, SimEndpoint(e.from), *e.bytes);
        s.traffic.tcp_bytes += reply.size();
        std::optional<Bytes> r;
        if (!reply.empty()) r = std::move(reply);
        Push(Ev{now_ + Delay(e.to, e.from), 0, Kind::kStreamReply, e.to, e.from, e.token,
                std::move(r)});
        break;
      }
      case Kind::kStreamReply:
        if (!Reachable(e.from, e.to) && e.bytes) return;  // the reply is lost; time out
        [[fallthrough]];
      case Kind::kTimeout:
        if (s.pending.erase(e.token) == 0) return;  // already answered or timed out
        s.node->OnStreamReply(now_, e.token, std::move(e.bytes));
        break;
    }
    Drain(e.to);
  }

  // Collects node i's events, datagrams and stream requests, and rearms its timer.
  void Drain(std::size_t i) {
    Slot& s = slots_[i];
    for (Event& ev : s.node->TakeEvents()) {
      hash_ = Fold(hash_, SimDigest(ev));
      if (observer_) observer_(i, now_, ev);
    }
    for (gossip::OutPacket& p : s.node->TakePackets()) {
      s.traffic.udp_bytes += p.bytes.size();
      ++s.traffic.udp_packets;
      const auto to = IndexOf(p.to);
      if (!to || !Reachable(i, *to)) continue;
      const LinkSpec& l = Link(i, *to);
      if (l.loss > 0 && static_cast<double>(rng_() % 1000000) < l.loss * 1e6) continue;
      Push(Ev{now_ + Delay(i, *to), 0, Kind::kPacket, static_cast<std::uint32_t>(i),
              static_cast<std::uint32_t>(*to), 0, std::move(p.bytes)});
    }
    for (gossip::OutStream& st : s.node->TakeStreams()) {
      s.traffic.tcp_bytes += st.bytes.size();
      ++s.traffic.tcp_streams;
      s.pending.insert(st.token);
      const auto me = static_cast<std::uint32_t>(i);
      Push(Ev{now_ + stream_timeout_ms_, 0, Kind::kTimeout, me, me, st.token, std::nullopt});
      const auto to = IndexOf(st.to);
      if (!to) {  // nobody there: refused
        Push(Ev{now_ + 1, 0, Kind::kStreamReply, me, me, st.token, std::nullopt});
        continue;
      }
      if (!Reachable(i, *to)) continue;  // the SYN is lost: time out
      Push(Ev{now_ + Delay(i, *to), 0, Kind::kStreamRequest, me, static_cast<std::uint32_t>(*to),
              st.token, std::move(st.bytes)});
    }
    Rearm(i);
  }

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  LinkSpec link_;
  std::vector<Slot> slots_;
  std::vector<Ev> queue_;  // a heap under Later
  Observer observer_;
  std::uint64_t seq_ = 0, now_ = 0, hash_ = 0xcbf29ce484222325ULL, delivered_ = 0;
  std::uint64_t stream_timeout_ms_ = 10000;
};

}  // namespace beacon::sim

// An in-process network of Membership instances on a virtual clock, for the membership tests.
// Packets get a seeded random delay and loss; streams (TCP) are reliable but refused by a
// stopped node. No sockets, threads or real time: RunUntil() advances `now` from one deadline or
// packet arrival to the next.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "beacon/gossip/membership.h"

namespace gossiptest {

using namespace beacon::gossip;

struct LoggedEvent {
  std::uint64_t at = 0;
  std::string observer;
  MemberEvent::Kind kind;
  std::string node;
  std::uint32_t incarnation = 0;
  bool operator==(const LoggedEvent&) const = default;
};

class SimNetwork {
 public:
  explicit SimNetwork(std::uint64_t seed, MembershipConfig cfg = {}) : rng_(seed), cfg_(cfg) {}

  std::size_t Add(const std::string& name, const std::optional<MembershipConfig>& cfg = {}) {
    const std::size_t i = nodes_.size();
    Endpoint ep{
        {127, 0, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250 + 1)}, 7946};
    nodes_.push_back({std::make_unique<Membership>(cfg ? *cfg : cfg_, name, ep.ip, ep.port,
                                                   Bytes{'m'}, rng_(), now_),
                      ep, true});
    by_ep_[ep] = i;
    return i;
  }
  Membership& operator[](std::size_t i) { return *nodes_[i].m; }
  const Endpoint& endpoint(std::size_t i) const { return nodes_[i].ep; }
  std::size_t size() const { return nodes_.size(); }
  std::uint64_t now() const { return now_; }
  const std::vector<LoggedEvent>& log() const { return log_; }
  void set_loss(double p) { loss_ = p; }
  std::size_t max_packet() const { return max_packet_; }
  std::uint64_t packets() const { return packets_; }
  void Stop(std::size_t i) { nodes_[i].up = false; }
  // Drops every datagram to or from node i; its streams still get through.
  void BlockUdp(std::size_t i) { nodes_[i].udp = false; }

  void Join(std::size_t i, std::size_t seed) {
    nodes_[i].m->Join(now_, {nodes_[seed].ep});
    Drain(i);
  }
  void Leave(std::size_t i) {
    nodes_[i].m->Leave(now_);
    Drain(i);
  }
  // Delivers a datagram to node `to` as if `from` sent it.
  void Inject(std::size_t to, const Endpoint& from, const Bytes& packet) {
    nodes_[to].m->OnPacket(now_, from, packet);
    Drain(to);
  }

  void RunUntil(std::uint64_t until) {
    while (now_ < until) {
      std::uint64_t next = until;
      if (!flight_.empty()) next = std::min(next, flight_.begin()->first.first);
      for (const Node& n : nodes_) {
        if (n.up) next = std::min(next, n.m->NextDeadline());
      }
      now_ = std::max(next, now_ + 1);
      while (!flight_.empty() && flight_.begin()->first.first <= now_) {
        Flight f = std::move(flight_.begin()->second);
        flight_.erase(flight_.begin());
        Deliver(f);
      }
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].up && nodes_[i].m->NextDeadline() <= now_) {
          nodes_[i].m->Tick(now_);
          Drain(i);
        }
      }
    }
  }

  // How many nodes `observer` lists in `state`.
  std::size_t Count(std::size_t observer, NodeState state) {
    std::size_t c = 0;
    for (const Member& m : nodes_[observer].m->Members()) c += m.state == state;
    return c;
  }

 private:
  struct Node {
    std::unique_ptr<Membership> m;
    Endpoint ep;
    bool up = true;
    bool udp = true;
  };
  struct Flight {
    std::size_t from = 0, to = 0;
    bool stream = false, reply = false;
    std::uint64_t token = 0;
    std::optional<Bytes> bytes;
  };

  void Schedule(Flight f) {
    const std::uint64_t delay = 1 + rng_() % 5;
    flight_.emplace(std::make_pair(now_ + delay, seq_++), std::move(f));
  }

  void Drain(std::size_t i) {
    Node& n = nodes_[i];
    for (MemberEvent& e : n.m->TakeEvents()) {
      log_.push_back({now_, n.m->name(), e.kind, e.member.name, e.member.incarnation});
    }
    for (OutPacket& p : n.m->TakePackets()) {
      max_packet_ = std::max(max_packet_, p.bytes.size());
      ++packets_;
      auto it = by_ep_.find(p.to);
      if (it == by_ep_.end() || (loss_ > 0 && static_cast<double>(rng_() % 10000) < loss_ * 1e4)) {
        continue;
      }
      Schedule({i, it->second, false, false, 0, std::move(p.bytes)});
    }
    for (OutStream& s : n.m->TakeStreams()) {
      auto it = by_ep_.find(s.to);
      if (it == by_ep_.end()) {
        Schedule({i, i, true, true, s.token, std::nullopt});
        continue;
      }
      Schedule({i, it->second, true, false, s.token, std::move(s.bytes)});
    }
  }

  void Deliver(Flight& f) {
    Node& to = nodes_[f.to];
    if (f.stream && f.reply) {  // the reply (or refusal) comes back to the requester
      if (!to.up) return;
      to.m->OnStreamReply(now_, f.token, std::move(f.bytes));
      Drain(f.to);
      return;
    }
    if (f.stream) {
      std::optional<Bytes> reply;
      if (to.up) {
        Bytes r = to.m->OnStream(now_, nodes_[f.from].ep, *f.bytes);
        Drain(f.to);
        if (!r.empty()) reply = std::move(r);
      }
      Schedule({f.to, f.from, true, true, f.token, std::move(reply)});
      return;
    }
    if (!to.up || !nodes_[f.from].up || !to.udp || !nodes_[f.from].udp) return;
    to.m->OnPacket(now_, nodes_[f.from].ep, *f.bytes);
    Drain(f.to);
  }

  std::mt19937_64 rng_;
  MembershipConfig cfg_;
  std::vector<Node> nodes_;
  std::map<Endpoint, std::size_t> by_ep_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Flight> flight_;
  std::uint64_t seq_ = 0, now_ = 0;
  double loss_ = 0;
  std::size_t max_packet_ = 0;
  std::uint64_t packets_ = 0;
  std::vector<LoggedEvent> log_;
};

}  // namespace gossiptest

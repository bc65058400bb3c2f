// The virtual network under the gossip unit tests (sim_network.h for Membership, serf_sim.h for
// Serf): any sans-I/O core with memberlist's I/O methods (TakePackets, TakeStreams, OnPacket,
// OnStream, OnStreamReply, Tick, NextDeadline) on a virtual clock. Packets get a seeded delay of
// 1-5 ms and optional loss; streams are reliable but refused by a stopped node or an unknown
// address. No sockets, threads or real time: RunUntil() advances `now` from one deadline or
// arrival to the next.
//
// CRTP: Derived provides OnDrain(i), called before a node's output is routed (to log its
// events), and owns what is specific to its core; nodes are added with AddCore.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "beacon/gossip/membership.h"

namespace gossiptest {

template <typename Derived, typename Core>
class VirtualNet {
 public:
  explicit VirtualNet(std::uint64_t seed) : rng_(seed) {}

  Core& operator[](std::size_t i) { return *nodes_[i].core; }
  const beacon::gossip::Endpoint& endpoint(std::size_t i) const { return nodes_[i].ep; }
  std::size_t size() const { return nodes_.size(); }
  std::uint64_t now() const { return now_; }
  void set_loss(double p) { loss_ = p; }
  std::size_t max_packet() const { return max_packet_; }
  std::uint64_t packets() const { return packets_; }
  void Stop(std::size_t i) { nodes_[i].up = false; }
  void Start(std::size_t i) { nodes_[i].up = true; }  // back, with the state it had
  // Drops every datagram to or from node i; its streams still get through.
  void BlockUdp(std::size_t i) { nodes_[i].udp = false; }

  void RunUntil(std::uint64_t until) {
    while (now_ < until) {
      std::uint64_t next = until;
      if (!flight_.empty()) next = std::min(next, flight_.begin()->first.first);
      for (const Node& n : nodes_) {
        if (n.up) next = std::min(next, n.core->NextDeadline());
      }
      now_ = std::max(next, now_ + 1);
      while (!flight_.empty() && flight_.begin()->first.first <= now_) {
        Flight f = std::move(flight_.begin()->second);
        flight_.erase(flight_.begin());
        Deliver(f);
      }
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].up && nodes_[i].core->NextDeadline() <= now_) {
          nodes_[i].core->Tick(now_);
          Drain(i);
        }
      }
    }
  }

  // Runs in 100 ms steps until `pred()` holds (true) or `timeout_ms` passed (false).
  template <typename P>
  bool RunUntilTrue(P pred, std::uint64_t timeout_ms) {
    const std::uint64_t end = now_ + timeout_ms;
    while (!pred()) {
      if (now_ >= end) return false;
      RunUntil(std::min(end, now_ + 100));
    }
    return true;
  }

 protected:
  // The address of the next node: 127.0.x.y:7946.
  beacon::gossip::Endpoint NextEndpoint() const {
    const std::size_t i = nodes_.size();
    return {{127, 0, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250 + 1)},
            7946};
  }
  std::size_t AddCore(std::unique_ptr<Core> core, const beacon::gossip::Endpoint& ep) {
    const std::size_t i = nodes_.size();
    nodes_.push_back({std::move(core), ep});
    by_ep_[ep] = i;
    return i;
  }
  std::uint64_t NextSeed() { return rng_(); }

  // Logs what node i produced (Derived::OnDrain), then routes its packets and streams.
  void Drain(std::size_t i) {
    static_cast<Derived*>(this)->OnDrain(i);
    Node& n = nodes_[i];
    for (beacon::gossip::OutPacket& p : n.core->TakePackets()) {
      max_packet_ = std::max(max_packet_, p.bytes.size());
      ++packets_;
      auto it = by_ep_.find(p.to);
      if (it == by_ep_.end() || (loss_ > 0 && static_cast<double>(rng_() % 10000) < loss_ * 1e4)) {
        continue;
      }
      Schedule({i, it->second, false, false, 0, std::move(p.bytes)});
    }
    for (beacon::gossip::OutStream& s : n.core->TakeStreams()) {
      auto it = by_ep_.find(s.to);
      if (it == by_ep_.end()) {  // nobody listens there: refused
        Schedule({i, i, true, true, s.token, std::nullopt});
        continue;
      }
      Schedule({i, it->second, true, false, s.token, std::move(s.bytes)});
    }
  }

  std::uint64_t now_ = 0;

 private:
  struct Node {
    std::unique_ptr<Core> core;
    beacon::gossip::Endpoint ep;
    bool up = true;
    bool udp = true;
  };
  struct Flight {
    std::size_t from = 0, to = 0;
    bool stream = false, reply = false;
    std::uint64_t token = 0;
    std::optional<beacon::gossip::Bytes> bytes;
  };

  void Schedule(Flight f) {
    const std::uint64_t delay = 1 + rng_() % 5;
    flight_.emplace(std::make_pair(now_ + delay, seq_++), std::move(f));
  }

  void Deliver(Flight& f) {
    Node& to = nodes_[f.to];
    if (f.stream && f.reply) {  // the reply (or refusal) comes back to the requester
      if (!to.up) return;
      to.core->OnStreamReply(now_, f.token, std::move(f.bytes));
      Drain(f.to);
      return;
    }
    if (f.stream) {
      std::optional<beacon::gossip::Bytes> reply;
      if (to.up) {
        beacon::gossip::Bytes r = to.core->OnStream(now_, nodes_[f.from].ep, *f.bytes);
        Drain(f.to);
        if (!r.empty()) reply = std::move(r);
      }
      Schedule({f.to, f.from, true, true, f.token, std::move(reply)});
      return;
    }
    if (!to.up || !nodes_[f.from].up || !to.udp || !nodes_[f.from].udp) return;
    to.core->OnPacket(now_, nodes_[f.from].ep, *f.bytes);
    Drain(f.to);
  }

  std::mt19937_64 rng_;
  std::vector<Node> nodes_;
  std::map<beacon::gossip::Endpoint, std::size_t> by_ep_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Flight> flight_;
  std::uint64_t seq_ = 0;
  double loss_ = 0;
  std::size_t max_packet_ = 0;
  std::uint64_t packets_ = 0;
};

}  // namespace gossiptest

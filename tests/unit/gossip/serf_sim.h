// An in-process network of Serf instances on a virtual clock, for the Serf tests; the same
// model as sim_network.h (seeded packet delay, reliable streams refused by a stopped node), plus
// a log of every Serf event and join result. No sockets, threads or real time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "beacon/gossip/serf.h"

namespace serftest {

using namespace beacon::gossip;

struct Logged {
  std::uint64_t at = 0;
  std::string observer;
  SerfEvent event;
};

class SerfSim {
 public:
  explicit SerfSim(std::uint64_t seed, SerfConfig cfg = {}) : rng_(seed), cfg_(std::move(cfg)) {}

  std::size_t Add(const std::string& name, Tags tags = {}) {
    return Add(name, std::move(tags), cfg_);
  }
  std::size_t Add(const std::string& name, Tags tags, const SerfConfig& cfg) {
    const std::size_t i = nodes_.size();
    Endpoint ep{
        {127, 0, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250 + 1)}, 7946};
    nodes_.push_back(
        {std::make_unique<Serf>(cfg, name, ep.ip, ep.port, std::move(tags), rng_(), now_), ep});
    by_ep_[ep] = i;
    Drain(i);
    return i;
  }
  Serf& operator[](std::size_t i) { return *nodes_[i].s; }
  const Endpoint& endpoint(std::size_t i) const { return nodes_[i].ep; }
  std::uint64_t now() const { return now_; }
  const std::vector<Logged>& log() const { return log_; }
  const std::vector<JoinResult>& join_results(std::size_t i) const { return nodes_[i].joins; }
  void Stop(std::size_t i) { nodes_[i].up = false; }
  void Start(std::size_t i) { nodes_[i].up = true; }  // back, with the state it had

  std::uint64_t Join(std::size_t i, const std::vector<Endpoint>& seeds, bool ignore_old = true) {
    const std::uint64_t t = nodes_[i].s->Join(now_, seeds, ignore_old);
    Drain(i);
    return t;
  }
  std::uint64_t Join(std::size_t i, std::size_t seed, bool ignore_old = true) {
    return Join(i, std::vector<Endpoint>{nodes_[seed].ep}, ignore_old);
  }
  // Runs `f` on node i's Serf now, then sends what it produced.
  template <typename F>
  void Do(std::size_t i, F f) {
    f(*nodes_[i].s, now_);
    Drain(i);
  }

  void RunUntil(std::uint64_t until) {
    while (now_ < until) {
      std::uint64_t next = until;
      if (!flight_.empty()) next = std::min(next, flight_.begin()->first.first);
      for (const Node& n : nodes_) {
        if (n.up) next = std::min(next, n.s->NextDeadline());
      }
      now_ = std::max(next, now_ + 1);
      while (!flight_.empty() && flight_.begin()->first.first <= now_) {
        Flight f = std::move(flight_.begin()->second);
        flight_.erase(flight_.begin());
        Deliver(f);
      }
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].up && nodes_[i].s->NextDeadline() <= now_) {
          nodes_[i].s->Tick(now_);
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

  // Events of `kind` that `observer` logged about member `node` (user events: named `node`).
  std::size_t Count(const std::string& observer, SerfEvent::Kind kind, const std::string& node,
                    std::uint64_t since = 0) const {
    std::size_t c = 0;
    for (const Logged& l : log_) {
      const std::string& about =
          kind == SerfEvent::Kind::kUser ? l.event.name : l.event.member.name;
      c += l.at >= since && l.observer == observer && l.event.kind == kind && about == node;
    }
    return c;
  }

 private:
  struct Node {
    std::unique_ptr<Serf> s;
    Endpoint ep;
    bool up = true;
    std::vector<JoinResult> joins;
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

  void Drain(std::size_t i) {
    Node& n = nodes_[i];
    for (SerfEvent& e : n.s->TakeEvents()) log_.push_back({now_, n.s->name(), std::move(e)});
    for (JoinResult& r : n.s->TakeJoinResults()) n.joins.push_back(std::move(r));
    for (OutPacket& p : n.s->TakePackets()) {
      auto it = by_ep_.find(p.to);
      if (it != by_ep_.end()) Schedule({i, it->second, false, false, 0, std::move(p.bytes)});
    }
    for (OutStream& s : n.s->TakeStreams()) {
      auto it = by_ep_.find(s.to);
      if (it == by_ep_.end()) {  // nobody listens there: refused
        Schedule({i, i, true, true, s.token, std::nullopt});
        continue;
      }
      Schedule({i, it->second, true, false, s.token, std::move(s.bytes)});
    }
  }

  void Deliver(Flight& f) {
    Node& to = nodes_[f.to];
    if (f.stream && f.reply) {
      if (!to.up) return;
      to.s->OnStreamReply(now_, f.token, std::move(f.bytes));
      Drain(f.to);
      return;
    }
    if (f.stream) {
      std::optional<beacon::gossip::Bytes> reply;
      if (to.up) {
        auto r = to.s->OnStream(now_, nodes_[f.from].ep, *f.bytes);
        Drain(f.to);
        if (!r.empty()) reply = std::move(r);
      }
      Schedule({f.to, f.from, true, true, f.token, std::move(reply)});
      return;
    }
    if (!to.up || !nodes_[f.from].up) return;
    to.s->OnPacket(now_, nodes_[f.from].ep, *f.bytes);
    Drain(f.to);
  }

  std::mt19937_64 rng_;
  SerfConfig cfg_;
  std::vector<Node> nodes_;
  std::map<Endpoint, std::size_t> by_ep_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Flight> flight_;
  std::uint64_t seq_ = 0, now_ = 0;
  std::vector<Logged> log_;
};

}  // namespace serftest

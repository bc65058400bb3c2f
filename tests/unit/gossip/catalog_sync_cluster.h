// An in-memory cluster of CatalogSync instances for the catalog sync tests: each agent has its
// own real catalog::Writer and SnapshotHub; a tiny router delivers broadcasts (GetBroadcasts) to
// random peers every gossip round, with optional seeded loss, and reliable sends directly.
// Membership is given by hand (SetMember); no sockets, threads or real time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/gossip/catalog_sync.h"

namespace synctest {

using namespace beacon;
using namespace beacon::catalog;
using beacon::gossip::Bytes;
using beacon::gossip::CatalogSync;
using beacon::gossip::CatalogSyncConfig;

struct Agent {
  std::string name;
  SnapshotHub hub;
  std::unique_ptr<Writer> writer;
  std::vector<Change> inbox;  // what CatalogSync submitted, applied at the next Pump
  std::unique_ptr<CatalogSync> sync;
  bool up = true;
  std::vector<Bytes> heard;  // every broadcast this agent received (tests replay them)

  SnapshotPtr snap() const { return hub.Current(); }
  // Applies a local change now, as the agent's writer would.
  void Local(Op o) { REQUIRE(writer->Apply(LocalChange(std::move(o))).ok()); }
};

class Cluster {
 public:
  static constexpr std::uint64_t kRound = 200;  // gossip interval, ms
  static constexpr int kFanout = 3;

  // Anti-entropy every 5 s unless the test says otherwise.
  static CatalogSyncConfig Fast() {
    CatalogSyncConfig c;
    c.anti_entropy_interval_ms = 5000;
    return c;
  }

  explicit Cluster(std::uint64_t seed, CatalogSyncConfig base = Fast()) : rng_(seed), base_(base) {}

  // A new agent "nodeI" with its own node registered; not yet a member anywhere.
  Agent& Add() {
    auto a = std::make_unique<Agent>();
    const std::size_t i = agents_.size();
    a->name = "node" + std::to_string(i);
    a->writer = std::make_unique<Writer>(a->hub, a->name, "dc1", DnsSettings{},
                                         static_cast<std::uint64_t>(i + 1) << 20);
    a->writer->TrackApplied(true);
    Node n;
    n.name = a->name;
    n.address = "10.0.0." + std::to_string(i + 1);
    a->Local(op::UpsertNode{n});
    CatalogSyncConfig cfg = base_;
    cfg.self = a->name;
    Agent* raw = a.get();
    a->sync = std::make_unique<CatalogSync>(
        cfg, [raw] { return raw->hub.Current(); },
        [raw](Change c) { raw->inbox.push_back(std::move(c)); }, rng_());
    agents_.push_back(std::move(a));
    Pump(*raw);
    return *raw;
  }
  Agent& operator[](std::size_t i) { return *agents_[i]; }
  std::size_t size() const { return agents_.size(); }
  std::uint64_t now() const { return now_; }
  void set_loss(double p) { loss_ = p; }
  // Every `ms` each live agent does a Serf push-pull with a random live peer (staggered by
  // index): both merge the other's PushPullState. 0 (the default): no push-pulls.
  void set_push_pull_ms(std::uint64_t ms) { push_pull_ms_ = ms; }
  // One push-pull between agents i and j: each side merges the other's state, as memberlist's
  // push-pull (the responder's state is taken before it merges the initiator's).
  void PushPull(std::size_t i, std::size_t j) {
    const Bytes from_i = agents_[i]->sync->PushPullState();
    const Bytes from_j = agents_[j]->sync->PushPullState();
    agents_[j]->sync->MergePushPullState(from_i, false);
    agents_[i]->sync->MergePushPullState(from_j, false);
    Settle();
  }

  // Every agent learns that agent j is in `state` (a beacon peer), as gossip would tell them.
  void SetMember(std::size_t j, Liveness state) {
    for (auto& a : agents_) a->sync->OnMember(now_, agents_[j]->name, state, true);
    Settle();
  }
  // Agents 0..n-1 all see each other alive.
  void JoinAll() {
    for (std::size_t j = 0; j < agents_.size(); ++j) SetMember(j, Liveness::kAlive);
  }

  // Applies what the agent's CatalogSync submitted, publishes, and hands the local deltas back.
  void Pump(Agent& a) {
    for (Change& c : a.inbox) {
      Status st = a.writer->Apply(c);
      CHECK_MESSAGE(st.ok(), a.name << ": " << OpName(c.op) << " refused");
    }
    a.inbox.clear();
    a.writer->Publish();
    auto applied = a.writer->TakeApplied();
    if (!applied.empty()) a.sync->OnLocalChanges(now_, std::move(applied));
  }

  // Delivers reliable sends until none are left (replies included), pumping as it goes.
  void Settle() {
    for (int guard = 0; guard < 1000; ++guard) {
      bool any = false;
      for (auto& a : agents_) {
        Pump(*a);
        for (auto& [to, msg, reliable] : a->sync->TakeSends()) {
          any = true;
          Agent* t = Find(to);
          if (t == nullptr || !t->up || !a->up) continue;
          if (!reliable && Lost()) continue;
          t->sync->NotifyMsg(msg);
        }
      }
      if (!any) return;
    }
    FAIL("reliable sends never settled");
  }

  // One gossip round: ticks, then each agent's broadcasts to kFanout random live peers.
  void Round() {
    now_ += kRound;
    for (auto& a : agents_) {
      if (a->up) a->sync->Tick(now_);
    }
    Settle();
    if (push_pull_ms_ >= kRound) {
      const std::uint64_t period = push_pull_ms_ / kRound, round = now_ / kRound;
      for (std::size_t i = 0; i < agents_.size(); ++i) {
        if (!agents_[i]->up || (round + i * period / agents_.size()) % period != 0) continue;
        if (Agent* t = RandomPeer(*agents_[i])) PushPull(i, IndexOf(t));
      }
    }
    for (auto& a : agents_) {
      if (!a->up) continue;
      for (int f = 0; f < kFanout; ++f) {
        std::vector<Bytes> msgs = a->sync->GetBroadcasts(2, 1400);
        if (msgs.empty()) break;
        Agent* t = RandomPeer(*a);
        if (t == nullptr) break;
        for (const Bytes& m : msgs) {
          if (Lost()) continue;
          t->heard.push_back(m);
          t->sync->NotifyMsg(m);
        }
      }
    }
    Settle();
  }

  // Runs rounds until pred() holds (checked after each round) or max_ms pass. Whether it held.
  bool RunUntil(const std::function<bool()>& pred, std::uint64_t max_ms) {
    const std::uint64_t end = now_ + max_ms;
    while (now_ < end) {
      if (pred()) return true;
      Round();
    }
    return pred();
  }
  // Whether every live agent's snapshot satisfies pred.
  bool Everywhere(const std::function<bool(const Snapshot&)>& pred) const {
    for (const auto& a : agents_) {
      if (a->up && !pred(*a->snap())) return false;
    }
    return true;
  }

 private:
  Agent* Find(const std::string& name) {
    for (auto& a : agents_) {
      if (a->name == name) return a.get();
    }
    return nullptr;
  }
  std::size_t IndexOf(const Agent* a) const {
    for (std::size_t i = 0; i < agents_.size(); ++i) {
      if (agents_[i].get() == a) return i;
    }
    return agents_.size();
  }
  Agent* RandomPeer(const Agent& from) {
    std::vector<Agent*> peers;
    for (auto& a : agents_) {
      if (a.get() != &from && a->up) peers.push_back(a.get());
    }
    if (peers.empty()) return nullptr;
    return peers[rng_() % peers.size()];
  }
  bool Lost() { return loss_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_; }

  std::mt19937_64 rng_;
  CatalogSyncConfig base_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::uint64_t now_ = 0;
  double loss_ = 0;
  std::uint64_t push_pull_ms_ = 0;
};

}  // namespace synctest

// Membership clusters on the simulator (sim_world.h) and the scenarios the sim tests and
// bench_gossip_sim measure: failure detection, false positives under loss and stalls, one
// change's dissemination, partition heal, idle bandwidth and memory per member entry.
//
// Contract: a MemberCluster owns a World<gossip::Membership> of nodes named "n<i>" and tracks,
// from their events, what every node believes about every other (an N x N state table), so the
// scenarios read convergence without copying member lists. Every scenario takes a seed and is
// deterministic; times are virtual milliseconds measured from the fault or change. A time of
// kNever means "did not happen before the scenario's cap". Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "beacon/gossip/membership.h"
#include "sim_world.h"

namespace beacon::sim {

inline constexpr std::uint64_t kNever = ~std::uint64_t{0};

// The k-th smallest of `times` (1-based), or kNever when there are fewer than k (or k is 0).
std::uint64_t Rank(std::vector<std::uint64_t> times, std::size_t k);

struct ClusterOptions {
  std::size_t n = 10;
  std::uint64_t seed = 1;
  LinkSpec link{0, 1, 1};          // LAN: 1-2 ms one way, no loss
  gossip::MembershipConfig cfg{};  // the cluster sets cfg.meta_pool (one pool for all nodes)
  // Form() preloads every node's member table (Membership::Preload, a settled cluster) instead
  // of joining everyone through node 0: a 10,000-node join storm queues N^2 rebroadcasts.
  bool warm = false;
  // Sees every member event as it happens (the bench's --replay --trace); may be empty.
  std::function<void(std::size_t observer, std::uint64_t now, const gossip::MemberEvent&)> trace;
};

class MemberCluster {
 public:
  explicit MemberCluster(const ClusterOptions& o);
  // A copy of the whole simulation at this instant (on_event is not copied).
  MemberCluster(const MemberCluster& o);
  MemberCluster& operator=(const MemberCluster&) = delete;
  const ClusterOptions& options() const { return opts_; }

  World<gossip::Membership>& world() { return world_; }
  std::size_t size() const { return n_; }
  static std::string Name(std::size_t i) { return "n" + std::to_string(i); }

  // Every node joins through node 0 (or, with options().warm, is preloaded with every other);
  // runs until every node sees all others alive and the broadcast queues are empty (or `cap_ms`
  // passes). Returns the time it took, or kNever.
  std::uint64_t Form(std::uint64_t cap_ms);

  // What `observer` last heard about `member`: kAlive before any event, kDead once reaped.
  gossip::NodeState View(std::size_t observer, std::size_t member) const {
    return static_cast<gossip::NodeState>(view_[observer * n_ + member]);
  }
  bool Known(std::size_t observer, std::size_t member) const {
    return known_[observer * n_ + member] != 0;
  }
  // How many other nodes `observer` believes alive.
  std::size_t AliveCount(std::size_t observer) const { return alive_[observer]; }
  // True when every live node sees every other live node alive (and killed ones not alive).
  bool Converged() const;
  bool QueuesEmpty();

  // Dead/left events about nodes that were neither killed nor told to leave.
  std::uint64_t false_dead_events() const { return false_dead_; }
  std::uint64_t suspect_events() const { return suspects_; }
  // Distinct healthy nodes someone declared dead.
  std::size_t falsely_dead_nodes() const;
  bool accused(std::size_t i) const { return accused_[i] != 0; }

  // Called for every event after the tables are updated (scenario probes).
  World<gossip::Membership>::Observer on_event;

 private:
  void OnEvent(std::size_t obs, std::uint64_t now, const gossip::MemberEvent& e);

  ClusterOptions opts_;
  std::size_t n_;
  World<gossip::Membership> world_;
  std::vector<std::uint8_t> view_, known_;
  std::vector<std::uint32_t> alive_;
  std::vector<std::uint8_t> accused_;  // by member: wrongly declared dead by someone
  std::uint64_t false_dead_ = 0, suspects_ = 0;
  World<gossip::Membership>::Observer trace_;
};

// Heap bytes in use (glibc mallinfo2), for memory per member entry.
std::size_t HeapInUse();

struct FormResult {
  std::uint64_t form_ms = kNever;
  double bytes_per_entry = 0;  // heap growth / (N * N) member entries, after forming
};
// Builds and forms a cluster and lets it settle for 5 s; nullptr when it did not form in time.
// The scenarios below each run on a copy of such a cluster.
std::unique_ptr<MemberCluster> FormCluster(const ClusterOptions& o, FormResult* out = nullptr);

struct DetectResult {
  std::uint64_t all_suspect_or_dead_ms = kNever;  // every live node sees the victim not alive
  std::uint64_t all_dead_ms = kNever;             // every live node sees it dead
  std::uint64_t false_dead = 0;                   // collateral: healthy nodes declared dead
  std::uint64_t trace = 0;                        // the run's trace hash
  // Where the time goes: the first node to suspect it (its own probe failed: the first probe
  // after the kill plus one probe interval), and half / 99% of the others suspecting it.
  std::uint64_t first_suspect_ms = kNever, half_suspect_ms = kNever, p99_suspect_ms = kNever;
  std::size_t first_suspecter = 0;
};
// Kills one node and times how long the others take to notice. The *InPlace forms run on the
// cluster itself (no copy: half the memory at 10,000 nodes) and leave it changed.
DetectResult FailureDetection(const MemberCluster& formed);
DetectResult FailureDetectionInPlace(MemberCluster& c);

struct FalsePositiveResult {
  std::uint64_t false_dead_events = 0;      // (observer, healthy node) dead declarations
  std::uint64_t false_dead_by_healthy = 0;  // of those, seen by healthy observers
  std::size_t falsely_dead_nodes = 0;       // distinct healthy nodes declared dead
  std::uint64_t stalled_dead_events = 0;    // declarations about the stalled nodes themselves
  std::uint64_t suspect_events = 0;
  int max_health_score = 0;  // highest Lifeguard local health score of the stalled/lagging nodes
  bool formed = false;
  std::uint64_t trace = 0;  // the run's trace hash
};
// From a lossless formed cluster, runs `minutes` of virtual time with `loss` on every link and
// `stalled` nodes that freeze for `stall_ms` every `stall_every_ms` (random phase), or, with
// `lag` set, that read every input `stall_ms` late the whole time (their timers on time).
FalsePositiveResult FalsePositives(const MemberCluster& formed, double loss, double minutes,
                                   std::size_t stalled, std::uint64_t stall_ms,
                                   std::uint64_t stall_every_ms, bool lag = false);

struct SpreadResult {
  std::uint64_t p50_ms = kNever;  // half the other nodes have it
  std::uint64_t p99_ms = kNever;  // 99% of them
  std::uint64_t all_ms = kNever;  // every one of them
  std::uint64_t trace = 0;        // the run's trace hash
};
// One node's meta update (UpdateMeta) reaching every other node's member table.
SpreadResult MetaDissemination(const MemberCluster& formed);
SpreadResult MetaDisseminationInPlace(MemberCluster& c);

struct PartitionResult {
  std::uint64_t all_dead_across_ms = kNever;  // both halves see the other half dead (or kNever)
  std::uint64_t heal_ms = kNever;             // after Heal(): everyone sees everyone alive
  std::uint64_t trace = 0;                    // the run's trace hash
};
// Splits the cluster in two halves for `partition_ms`, heals, times the return to all-alive.
// memberlist alone only heals while dead messages are still gossiped to the dead; Serf adds a
// reconnect loop. `reconnect_ms` > 0 emulates Serf's: every interval each node, with probability
// failed/alive, joins (push-pull) one random member it believes failed.
PartitionResult PartitionHeal(const MemberCluster& formed, std::uint64_t partition_ms,
                              std::uint64_t cap_ms, std::uint64_t reconnect_ms = 0);

struct IdleResult {
  double mean_bytes_per_s = 0, max_bytes_per_s = 0;  // sent per node, UDP + TCP
  double mean_packets_per_s = 0;
  std::uint64_t trace = 0;  // the run's trace hash
};
// Lets the cluster idle 10 s, then measures `window_ms` of idle traffic.
IdleResult IdleBandwidth(const MemberCluster& formed, std::uint64_t window_ms);
// settle_ms: how long it idles before the window (every node's first push-pull comes within
// push_pull_interval_ms of its start, before the interval scales with N).
IdleResult IdleBandwidthInPlace(MemberCluster& c, std::uint64_t window_ms,
                                std::uint64_t settle_ms = 10000);

}  // namespace beacon::sim

// Membership clusters on the simulator and the scenarios (see membership_sim.h).
#include "membership_sim.h"

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <random>
#include <utility>

namespace beacon::sim {

using gossip::MemberEvent;
using gossip::Membership;
using gossip::NodeState;
using Kind = MemberEvent::Kind;

namespace {

std::optional<std::size_t> IndexOfName(const std::string& name, std::size_t n) {
  if (name.size() < 2 || name[0] != 'n') return std::nullopt;
  std::size_t i = 0;
  auto [p, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), i);
  if (ec != std::errc{} || p != name.data() + name.size() || i >= n) return std::nullopt;
  return i;
}

std::uint64_t FormCap(std::size_t n) {
  return 120000 + 200 * n;
}

// Serf's reconnect step for node i: with probability failed/alive, join one failed member.
void Reconnect(MemberCluster& c, std::size_t i, std::mt19937_64& rng) {
  if (c.world().dead(i)) return;
  std::vector<std::size_t> failed;
  for (std::size_t m = 0; m < c.size(); ++m) {
    if (m != i && c.View(i, m) == NodeState::kDead) failed.push_back(m);  // reaped too
  }
  if (failed.empty()) return;
  const double alive = static_cast<double>(c.AliveCount(i) + 1);
  const double p = static_cast<double>(failed.size()) / alive;
  if (static_cast<double>(rng() % 1000000) / 1e6 > p) return;
  const std::size_t to = failed[rng() % failed.size()];
  c.world().Do(i, [&](Membership& m, std::uint64_t now) { m.Join(now, {SimEndpoint(to)}); });
}

}  // namespace

std::size_t HeapInUse() {
  return mallinfo2().uordblks;
}

MemberCluster::MemberCluster(const ClusterOptions& o)
    : opts_(o),
      n_(o.n),
      world_(o.seed, o.link),
      view_(o.n * o.n, static_cast<std::uint8_t>(NodeState::kAlive)),
      known_(o.n * o.n, 0),
      alive_(o.n, 0),
      accused_(o.n, 0),
      trace_(o.trace) {
  world_.set_observer(
      [this](std::size_t obs, std::uint64_t now, const MemberEvent& e) { OnEvent(obs, now, e); });
  gossip::MembershipConfig cfg = o.cfg;
  if (!cfg.meta_pool) cfg.meta_pool = std::make_shared<gossip::MetaPool>();
  for (std::size_t i = 0; i < n_; ++i) {
    const Endpoint ep = SimEndpoint(i);
    world_.Add(std::make_unique<Membership>(cfg, Name(i), ep.ip, ep.port, Bytes{'m'},
                                            world_.NodeSeed(i), world_.now()));
  }
}

MemberCluster::MemberCluster(const MemberCluster& o)
    : opts_(o.opts_),
      n_(o.n_),
      world_(o.world_),
      view_(o.view_),
      known_(o.known_),
      alive_(o.alive_),
      accused_(o.accused_),
      false_dead_(o.false_dead_),
      suspects_(o.suspects_),
      trace_(o.trace_) {
  world_.set_observer(
      [this](std::size_t obs, std::uint64_t now, const MemberEvent& e) { OnEvent(obs, now, e); });
}

void MemberCluster::OnEvent(std::size_t obs, std::uint64_t now, const MemberEvent& e) {
  const auto m = IndexOfName(e.member.name, n_);
  if (!m || e.kind == Kind::kConflict) return;
  const std::size_t at = obs * n_ + *m;
  const bool was_alive = known_[at] && view_[at] == static_cast<std::uint8_t>(NodeState::kAlive);
  NodeState s = NodeState::kAlive;
  switch (e.kind) {
    case Kind::kSuspect:
      s = NodeState::kSuspect;
      ++suspects_;
      break;
    case Kind::kDead:
      s = NodeState::kDead;
      break;
    case Kind::kLeft:
      s = NodeState::kLeft;
      break;
    case Kind::kReaped:
      s = NodeState::kDead;
      break;
    default:
      break;
  }
  if ((e.kind == Kind::kDead || e.kind == Kind::kLeft) && !world_.dead(*m)) {
    ++false_dead_;
    accused_[*m] = 1;
  }
  known_[at] = e.kind != Kind::kReaped;
  view_[at] = static_cast<std::uint8_t>(s);
  const bool is_alive = known_[at] && s == NodeState::kAlive;
  alive_[obs] += is_alive ? (was_alive ? 0 : 1) : (was_alive ? -1 : 0);
  if (trace_) trace_(obs, now, e);
  if (on_event) on_event(obs, now, e);
}

bool MemberCluster::Converged() const {
  std::size_t live = 0;
  for (std::size_t i = 0; i < n_; ++i) live += !world_.dead(i);
  for (std::size_t o = 0; o < n_; ++o) {
    if (!world_.dead(o) && alive_[o] != live - 1) return false;
  }
  for (std::size_t o = 0; o < n_; ++o) {
    if (world_.dead(o)) continue;
    for (std::size_t m = 0; m < n_; ++m) {
      if (m == o) continue;
      const bool alive = Known(o, m) && View(o, m) == NodeState::kAlive;
      if (alive == world_.dead(m)) return false;
    }
  }
  return true;
}

bool MemberCluster::QueuesEmpty() {
  for (std::size_t i = 0; i < n_; ++i) {
    if (!world_.dead(i) && world_.node(i).queued_broadcasts() != 0) return false;
  }
  return true;
}

std::size_t MemberCluster::falsely_dead_nodes() const {
  return static_cast<std::size_t>(std::count(accused_.begin(), accused_.end(), 1));
}

std::uint64_t MemberCluster::Form(std::uint64_t cap_ms) {
  const std::uint64_t start = world_.now();
  if (opts_.warm) {
    std::vector<gossip::Alive> all;
    all.reserve(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      const Endpoint ep = SimEndpoint(i);
      all.push_back(gossip::Alive{1, Name(i), ep.ip, ep.port, Bytes{'m'}, opts_.cfg.vsn});
    }
    for (std::size_t i = 0; i < n_; ++i) {
      world_.Do(i, [&](Membership& m, std::uint64_t now) { m.Preload(now, all); });
    }
  } else {
    for (std::size_t i = 1; i < n_; ++i) {
      world_.Do(i, [](Membership& m, std::uint64_t now) { m.Join(now, {SimEndpoint(0)}); });
    }
  }
  const bool ok =
      world_.RunUntil(start + cap_ms, 250, [&] { return QueuesEmpty() && Converged(); });
  return ok ? world_.now() - start : kNever;
}

std::unique_ptr<MemberCluster> FormCluster(const ClusterOptions& o, FormResult* out) {
  const std::size_t heap0 = HeapInUse();
  auto c = std::make_unique<MemberCluster>(o);
  const std::uint64_t t = c->Form(FormCap(o.n));
  if (out != nullptr) {
    out->form_ms = t;
    // Less the simulator's own N x N view tables (2 bytes per pair).
    const double entries = static_cast<double>(o.n) * static_cast<double>(o.n);
    out->bytes_per_entry = (static_cast<double>(HeapInUse() - heap0) - 2 * entries) / entries;
  }
  if (t == kNever) return nullptr;
  c->world().RunUntil(c->world().now() + 5000);
  return c;
}

DetectResult FailureDetection(const MemberCluster& formed) {
  MemberCluster c(formed);
  return FailureDetectionInPlace(c);
}

DetectResult FailureDetectionInPlace(MemberCluster& c) {
  DetectResult r;
  const ClusterOptions& o = c.options();
  auto& w = c.world();
  const std::size_t victim = 1 + SplitMix(o.seed) % (o.n - 1);
  const std::uint64_t t0 = w.now();
  std::vector<std::uint8_t> seen(o.n, 0);  // bit 1: not alive, bit 2: dead
  std::size_t not_alive = 0, dead = 0;
  c.on_event = [&](std::size_t obs, std::uint64_t now, const MemberEvent& e) {
    if (e.member.name != MemberCluster::Name(victim)) return;
    const bool gone = e.kind == Kind::kSuspect || e.kind == Kind::kDead || e.kind == Kind::kLeft;
    if (gone && !(seen[obs] & 1)) {
      seen[obs] |= 1;
      ++not_alive;
      if (not_alive == 1) {
        r.first_suspect_ms = now - t0;
        r.first_suspecter = obs;
      }
      if (not_alive == (o.n - 1 + 1) / 2) r.half_suspect_ms = now - t0;
      if (not_alive == ((o.n - 1) * 99 + 99) / 100) r.p99_suspect_ms = now - t0;
      if (not_alive == o.n - 1) r.all_suspect_or_dead_ms = now - t0;
    }
    if (e.kind == Kind::kDead && !(seen[obs] & 2)) {
      seen[obs] |= 2;
      if (++dead == o.n - 1) r.all_dead_ms = now - t0;
    }
  };
  const std::uint64_t before = c.false_dead_events();
  w.Kill(victim);
  w.RunUntil(t0 + 300000, 100, [&] { return dead == o.n - 1; });
  r.false_dead = c.false_dead_events() - before;
  r.trace = w.trace_hash();
  c.on_event = nullptr;
  return r;
}

FalsePositiveResult FalsePositives(const MemberCluster& formed, double loss, double minutes,
                                   std::size_t stalled, std::uint64_t stall_ms,
                                   std::uint64_t stall_every_ms, bool lag) {
  FalsePositiveResult r;
  MemberCluster c(formed);
  const ClusterOptions& o = formed.options();
  r.formed = true;
  auto& w = c.world();
  LinkSpec lossy = o.link;
  lossy.loss = loss;
  w.SetDefaultLink(lossy);
  const std::uint64_t t0 = w.now();
  const auto end = t0 + static_cast<std::uint64_t>(minutes * 60000);
  stalled = std::min(stalled, o.n - 1);
  std::vector<std::uint8_t> is_stalled(o.n, 0);
  std::vector<std::pair<std::uint64_t, std::size_t>> stalls;  // (start, node)
  for (std::size_t k = 0; k < stalled; ++k) {
    const std::size_t i = o.n - 1 - k;  // the last `stalled` nodes
    is_stalled[i] = 1;
    for (std::uint64_t t = t0 + SplitMix(o.seed + i) % stall_every_ms; t < end;
         t += stall_every_ms) {
      stalls.emplace_back(t, i);
    }
  }
  std::sort(stalls.begin(), stalls.end());
  c.on_event = [&](std::size_t obs, std::uint64_t, const MemberEvent& e) {
    const auto m = IndexOfName(e.member.name, o.n);
    if (!m || (e.kind != Kind::kDead && e.kind != Kind::kLeft)) return;
    if (is_stalled[*m]) {
      ++r.stalled_dead_events;
    } else if (!is_stalled[obs]) {
      ++r.false_dead_by_healthy;
    }
  };
  const std::uint64_t fd0 = c.false_dead_events(), sus0 = c.suspect_events();
  if (lag) {
    stalls.clear();
    for (std::size_t i = 0; i < o.n; ++i) {
      if (is_stalled[i]) w.Lag(i, stall_ms, end);
    }
  }
  for (const auto& [t, i] : stalls) {
    w.RunUntil(t);
    w.Stall(i, t + stall_ms);
  }
  w.RunUntil(end, 500, [&] {  // samples the slow nodes' health while it runs
    for (std::size_t i = 0; i < o.n; ++i) {
      if (is_stalled[i]) {
        r.max_health_score = std::max(r.max_health_score, w.node(i).health_score());
      }
    }
    return false;
  });
  r.false_dead_events = c.false_dead_events() - fd0 - r.stalled_dead_events;
  r.suspect_events = c.suspect_events() - sus0;
  for (std::size_t i = 0; i < o.n; ++i) {
    r.falsely_dead_nodes += c.accused(i) && !is_stalled[i];
  }
  r.trace = w.trace_hash();
  return r;
}

SpreadResult MetaDissemination(const MemberCluster& formed) {
  MemberCluster c(formed);
  return MetaDisseminationInPlace(c);
}

SpreadResult MetaDisseminationInPlace(MemberCluster& c) {
  SpreadResult r;
  const ClusterOptions& o = c.options();
  auto& w = c.world();
  const std::size_t who = SplitMix(o.seed * 7 + 3) % o.n;
  std::vector<std::uint64_t> got;
  std::vector<std::uint8_t> seen(o.n, 0);
  const std::uint64_t t0 = w.now();
  c.on_event = [&](std::size_t obs, std::uint64_t now, const MemberEvent& e) {
    if (e.kind == Kind::kUpdate && e.member.name == MemberCluster::Name(who) && !seen[obs] &&
        e.member.meta == Bytes{'m', '2'}) {
      seen[obs] = 1;
      got.push_back(now - t0);
    }
  };
  w.Do(who, [](Membership& m, std::uint64_t now) { m.UpdateMeta(now, Bytes{'m', '2'}); });
  w.RunUntil(t0 + 600000, 50, [&] { return got.size() == o.n - 1; });
  const std::size_t others = o.n - 1;
  r.p50_ms = Rank(got, (others + 1) / 2);
  r.p99_ms = Rank(got, (others * 99 + 99) / 100);
  r.all_ms = Rank(got, others);
  r.trace = w.trace_hash();
  c.on_event = nullptr;
  return r;
}

PartitionResult PartitionHeal(const MemberCluster& formed, std::uint64_t partition_ms,
                              std::uint64_t cap_ms, std::uint64_t reconnect_ms) {
  PartitionResult r;
  MemberCluster c(formed);
  const ClusterOptions& o = formed.options();
  auto& w = c.world();
  std::vector<int> group(o.n);
  for (std::size_t i = 0; i < o.n; ++i) group[i] = i < o.n / 2 ? 0 : 1;
  const std::uint64_t t0 = w.now();
  w.Partition(group);
  const bool split = w.RunUntil(t0 + partition_ms, 250, [&] {
    for (std::size_t a = 0; a < o.n; ++a) {
      if (c.AliveCount(a) != (group[a] == 0 ? o.n / 2 : o.n - o.n / 2) - 1) return false;
    }
    return true;
  });
  if (split) r.all_dead_across_ms = w.now() - t0;
  w.RunUntil(t0 + partition_ms);
  w.Heal();
  const std::uint64_t t1 = w.now();
  std::mt19937_64 rng(SplitMix(o.seed ^ 0x5e7f));
  std::uint64_t next_reconnect = reconnect_ms ? t1 + rng() % reconnect_ms : kNever;
  const bool healed = w.RunUntil(t1 + cap_ms, 100, [&] {
    if (w.now() >= next_reconnect) {
      next_reconnect += reconnect_ms;
      for (std::size_t i = 0; i < o.n; ++i) Reconnect(c, i, rng);
    }
    return c.Converged();
  });
  if (healed) r.heal_ms = w.now() - t1;
  r.trace = w.trace_hash();
  return r;
}

IdleResult IdleBandwidth(const MemberCluster& formed, std::uint64_t window_ms) {
  MemberCluster c(formed);
  return IdleBandwidthInPlace(c, window_ms);
}

IdleResult IdleBandwidthInPlace(MemberCluster& c, std::uint64_t window_ms,
                                std::uint64_t settle_ms) {
  IdleResult r;
  const ClusterOptions& o = c.options();
  auto& w = c.world();
  w.RunUntil(w.now() + settle_ms);
  std::vector<NodeTraffic> before(o.n);
  for (std::size_t i = 0; i < o.n; ++i) before[i] = w.traffic(i);
  w.RunUntil(w.now() + window_ms);
  const double secs = static_cast<double>(window_ms) / 1000.0;
  double sum = 0, pk = 0;
  for (std::size_t i = 0; i < o.n; ++i) {
    const double b = static_cast<double>(w.traffic(i).total_bytes() - before[i].total_bytes());
    sum += b / secs;
    r.max_bytes_per_s = std::max(r.max_bytes_per_s, b / secs);
    pk += static_cast<double>(w.traffic(i).udp_packets - before[i].udp_packets) / secs;
  }
  r.mean_bytes_per_s = sum / static_cast<double>(o.n);
  r.mean_packets_per_s = pk / static_cast<double>(o.n);
  r.trace = w.trace_hash();
  return r;
}

std::uint64_t Rank(std::vector<std::uint64_t> times, std::size_t k) {
  std::sort(times.begin(), times.end());
  if (k == 0 || k > times.size()) return kNever;
  return times[k - 1];
}

}  // namespace beacon::sim

// Serf + CatalogSync agents on the simulator (see agent_sim.h).
#include "agent_sim.h"

#include "membership_sim.h"

#include <algorithm>
#include <utility>

namespace beacon::sim {

using gossip::SerfEvent;

SimAgent::SimAgent(std::size_t index, std::uint64_t seed, std::uint64_t now_ms)
    : name_(Name(index)) {
  writer_ = std::make_unique<catalog::Writer>(hub_, name_, "dc1", catalog::DnsSettings{},
                                              static_cast<std::uint64_t>(index + 1) << 20);
  writer_->TrackApplied(true);
  const Endpoint ep = SimEndpoint(index);
  gossip::SerfConfig sc;
  serf_ = std::make_unique<gossip::Serf>(sc, name_, ep.ip, ep.port,
                                         gossip::Tags{{"build", "0.1.0:beacon"}}, seed, now_ms);
  gossip::CatalogSyncConfig cc;
  cc.self = name_;
  sync_ = std::make_unique<gossip::CatalogSync>(
      cc, [this] { return hub_.Current(); },
      [this](catalog::Change c) { inbox_.push_back(std::move(c)); }, SplitMix(seed));
  serf_->SetExtension(sync_.get());
  catalog::Node node;
  node.name = name_;
  node.address = "10.0.0.1";
  Local(now_ms, catalog::op::UpsertNode{node});
}

void SimAgent::Tick(std::uint64_t now) {
  serf_->Tick(now);
  sync_->Tick(now);
  After(now);
}
void SimAgent::OnPacket(std::uint64_t now, const Endpoint& from, ByteView bytes) {
  serf_->OnPacket(now, from, bytes);
  After(now);
}
Bytes SimAgent::OnStream(std::uint64_t now, const Endpoint& from, ByteView request) {
  Bytes reply = serf_->OnStream(now, from, request);
  After(now);
  return reply;
}
void SimAgent::OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> reply) {
  serf_->OnStreamReply(now, token, std::move(reply));
  After(now);
}
std::uint64_t SimAgent::NextDeadline() const {
  return std::min(serf_->NextDeadline(), sync_->NextDeadline());
}

void SimAgent::Join(std::uint64_t now, std::size_t seed_index) {
  serf_->Join(now, {SimEndpoint(seed_index)}, true);
  After(now);
}

void SimAgent::Local(std::uint64_t now, catalog::Op op) {
  inbox_.push_back(catalog::LocalChange(std::move(op)));
  After(now);
}

// What agent::Cluster::AfterInput and the agent's writer loop do, in one step.
void SimAgent::After(std::uint64_t now) {
  for (SerfEvent& ev : serf_->TakeEvents()) {
    const auto& m = ev.member;
    if (ev.kind != SerfEvent::Kind::kUser && ev.kind != SerfEvent::Kind::kConflict &&
        m.name != name_) {
      catalog::Liveness state = catalog::Liveness::kAlive;
      if (ev.kind == SerfEvent::Kind::kMemberFailed) state = catalog::Liveness::kFailed;
      if (ev.kind == SerfEvent::Kind::kMemberLeave || ev.kind == SerfEvent::Kind::kMemberReap) {
        state = catalog::Liveness::kLeft;
      }
      auto it = m.tags.find("build");
      sync_->OnMember(now, m.name, state, it != m.tags.end() && it->second.ends_with(":beacon"));
    }
    events_.push_back(std::move(ev));
  }
  // CatalogSync's submissions may produce more sends and local deltas; a few rounds settle it.
  for (int round = 0; round < 4; ++round) {
    bool any = false;
    for (catalog::Change& c : std::exchange(inbox_, {})) {
      any = true;
      (void)writer_->Apply(c);
    }
    if (any) {
      writer_->Publish();
      auto applied = writer_->TakeApplied();
      if (!applied.empty()) sync_->OnLocalChanges(now, applied);
    }
    auto sends = sync_->TakeSends();
    for (auto& [node, bytes, reliable] : sends) {
      serf_->SendToMember(now, node, std::move(bytes), reliable);
    }
    if (!any && sends.empty()) break;
  }
}

namespace {

// The origin's "web" instance in this snapshot, or nullptr.
const catalog::Instance* Web(const catalog::Snapshot& s, const std::string& node) {
  const catalog::ServiceEntry* e = s.services.Find("web");
  if (e == nullptr) return nullptr;
  for (const catalog::Instance& in : e->instances) {
    if (in.node->MatchesKey(node)) return &in;
  }
  return nullptr;
}

// Runs until every agent but `who` passes `has` (sampled every 20 ms); the times since t0.
template <class Has>
std::vector<std::uint64_t> Spread(World<SimAgent>& w, std::size_t n, std::size_t who,
                                  std::uint64_t t0, Has has) {
  std::vector<std::uint8_t> seen(n, 0);
  seen[who] = 1;
  std::vector<std::uint64_t> got;
  w.RunUntil(t0 + 120000, 20, [&] {
    for (std::size_t i = 0; i < n; ++i) {
      if (seen[i]) continue;
      auto snap = w.node(i).snapshot();
      if (snap && has(*snap)) {
        seen[i] = 1;
        got.push_back(w.now() - t0);
      }
    }
    return got.size() == n - 1;
  });
  return got;
}

}  // namespace

namespace {

// Adds n agents that join through agent 0; runs until every catalog holds every node.
bool FormAgents(World<SimAgent>& w, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    w.Add(std::make_unique<SimAgent>(i, w.NodeSeed(i), w.now()));
  }
  for (std::size_t i = 1; i < n; ++i) {
    w.Do(i, [](SimAgent& a, std::uint64_t now) { a.Join(now, 0); });
  }
  auto all_nodes = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      auto snap = w.node(i).snapshot();
      if (!snap || snap->nodes.size() < n) return false;
    }
    return true;
  };
  return w.RunUntil(120000 + 200 * n, 250, all_nodes);
}

}  // namespace

double SerfBytesPerPair(std::size_t n, std::uint64_t seed) {
  const std::size_t heap0 = HeapInUse();
  double per_pair = 0;
  {
    World<gossip::Serf> w(seed, LinkSpec{0, 1, 2});
    for (std::size_t i = 0; i < n; ++i) {
      const Endpoint ep = SimEndpoint(i);
      w.Add(std::make_unique<gossip::Serf>(gossip::SerfConfig{}, SimAgent::Name(i), ep.ip, ep.port,
                                           gossip::Tags{{"build", "0.1.0:beacon"}}, w.NodeSeed(i),
                                           w.now()));
    }
    for (std::size_t i = 1; i < n; ++i) {
      w.Do(i, [](gossip::Serf& s, std::uint64_t now) { s.Join(now, {SimEndpoint(0)}, true); });
    }
    const bool formed = w.RunUntil(120000 + 200 * n, 250, [&] {
      for (std::size_t i = 0; i < n; ++i) {
        if (w.node(i).NumAliveMembers() != n) return false;
      }
      return true;
    });
    if (formed) {
      per_pair = static_cast<double>(HeapInUse() - heap0) / (static_cast<double>(n) * n);
    }
  }
  return per_pair;
}

std::uint64_t AgentPartitionHeal(std::size_t n, std::uint64_t seed, std::uint64_t partition_ms,
                                 std::uint64_t cap_ms) {
  World<SimAgent> w(seed, LinkSpec{0, 1, 2});
  if (!FormAgents(w, n)) return ~std::uint64_t{0};
  w.RunUntil(w.now() + 5000);
  std::vector<int> group(n);
  for (std::size_t i = 0; i < n; ++i) group[i] = i < n / 2 ? 0 : 1;
  w.Partition(group);
  w.RunUntil(w.now() + partition_ms);
  w.Heal();
  const std::uint64_t t1 = w.now();
  auto all_alive = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t alive = 0;
      for (const auto& m : w.node(i).serf().Members()) {
        alive += m.status == gossip::MemberStatus::kAlive;
      }
      if (alive != n) return false;
    }
    return true;
  };
  if (!w.RunUntil(t1 + cap_ms, 250, all_alive)) return ~std::uint64_t{0};
  return w.now() - t1;
}

AgentSpreadResult CatalogDissemination(std::size_t n, std::uint64_t seed, double loss, bool check) {
  AgentSpreadResult r;
  const std::size_t heap0 = HeapInUse();
  World<SimAgent> w(seed, LinkSpec{0, 1, 2});
  if (!FormAgents(w, n)) return r;
  r.form_ms = w.now();
  r.bytes_per_pair = static_cast<double>(HeapInUse() - heap0) / (static_cast<double>(n) * n);
  w.RunUntil(w.now() + 5000);
  w.SetDefaultLink(LinkSpec{loss, 1, 2});
  const std::size_t who = SplitMix(seed) % n;
  const std::string origin = SimAgent::Name(who);
  std::uint64_t t0 = w.now();
  w.Do(who, [&](SimAgent& a, std::uint64_t now) {
    catalog::Service s;
    s.name = "web";
    s.id = "web-1";
    s.port = 8080;
    catalog::Check c;
    c.id = "web-ttl";
    c.name = "web ttl";
    c.service_id = "web-1";
    c.service_name = "web";
    c.status = catalog::Health::kPassing;
    a.Local(now, catalog::op::UpsertService{origin, s, {c}});
  });
  auto got = Spread(w, n, who, t0, [&](const catalog::Snapshot& s) {
    const catalog::Instance* in = Web(s, origin);
    return in != nullptr && in->health == catalog::Health::kPassing;
  });
  r.p50_ms = Rank(got, n / 2);
  r.p99_ms = Rank(got, ((n - 1) * 99 + 99) / 100);
  r.all_ms = Rank(got, n - 1);
  if (check && got.size() == n - 1) {
    w.RunUntil(w.now() + 5000);
    t0 = w.now();
    w.Do(who, [&](SimAgent& a, std::uint64_t now) {
      a.Local(now, catalog::op::UpdateCheck{origin, "web-ttl", catalog::Health::kCritical, "down"});
    });
    got = Spread(w, n, who, t0, [&](const catalog::Snapshot& s) {
      const catalog::Instance* in = Web(s, origin);
      return in != nullptr && in->health == catalog::Health::kCritical;
    });
    r.check_p50_ms = Rank(got, n / 2);
    r.check_p99_ms = Rank(got, ((n - 1) * 99 + 99) / 100);
    r.check_all_ms = Rank(got, n - 1);
  }
  r.trace = w.trace_hash();
  return r;
}

}  // namespace beacon::sim

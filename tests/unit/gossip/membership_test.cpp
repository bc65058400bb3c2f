// Membership (SWIM + Lifeguard) on a virtual clock: formulas, the broadcast queue, and whole
// clusters of in-process nodes (join, failure detection, refutation, loss, leave, conflicts).
#include <doctest.h>

#include <algorithm>

#include "beacon/gossip/envelope.h"
#include "beacon/gossip/membership.h"
#include "sim_network.h"

using namespace gossiptest;
using Kind = MemberEvent::Kind;

namespace {

std::string node_name(std::size_t i) {
  return "n" + std::to_string(i);
}

// Builds `n` nodes that all join through node 0 and runs until `until`.
SimNetwork& cluster(SimNetwork& net, std::size_t n, std::uint64_t until) {
  for (std::size_t i = 0; i < n; ++i) net.Add(node_name(i));
  for (std::size_t i = 1; i < n; ++i) net.Join(i, 0);
  net.RunUntil(until);
  return net;
}

std::vector<LoggedEvent> events_about(const SimNetwork& net, const std::string& node,
                                      std::uint64_t since = 0) {
  std::vector<LoggedEvent> out;
  for (const LoggedEvent& e : net.log()) {
    if (e.node == node && e.at >= since) out.push_back(e);
  }
  return out;
}

const LoggedEvent* first(const std::vector<LoggedEvent>& evs, const std::string& observer,
                         Kind kind) {
  for (const LoggedEvent& e : evs) {
    if (e.observer == observer && e.kind == kind) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("suspicion timeout and retransmit limits follow memberlist's formulas") {
  CHECK(SuspicionTimeoutMs(4, 10, 1000) == 4000);
  CHECK(SuspicionTimeoutMs(4, 100, 1000) == 8000);
  CHECK(SuspicionTimeoutMs(4, 3, 1000) == 4000);  // never below one log10 unit
  CHECK(RetransmitLimit(4, 10) == 8);
  CHECK(RetransmitLimit(4, 99) == 8);
  CHECK(RetransmitLimit(4, 100) == 12);

  // N = 100: 48 s with no confirmation, ~22.8 s with one, 8 s with two (k = 2).
  Suspicion s;
  s.start_ms = 1000;
  s.min_ms = 8000;
  s.max_ms = 48000;
  s.k = 2;
  s.confirmers.insert("accuser");
  CHECK(s.Deadline() == 1000 + 48000);
  CHECK_FALSE(s.Confirm("accuser"));  // the first accuser does not count
  CHECK(s.Confirm("b"));
  CHECK(s.Deadline() == 1000 + 22762);
  CHECK_FALSE(s.Confirm("b"));  // nor does an accuser twice
  CHECK(s.Confirm("c"));
  CHECK(s.Deadline() == 1000 + 8000);
  CHECK_FALSE(s.Confirm("d"));  // k reached
  s.k = 0;
  CHECK(s.Deadline() == 1000 + 8000);
}

TEST_CASE("broadcast queue: fresh first, newer about a node replaces older, transmit limit") {
  BroadcastQueue q;
  q.Queue("a", Bytes(10, 1));
  q.Queue("b", Bytes(20, 2));
  q.Queue("a", Bytes(5, 3));  // replaces the first
  CHECK(q.size() == 2);
  auto got = q.Get(2, 100, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == Bytes(20, 2));  // largest first among equal transmit counts
  CHECK(got[1] == Bytes(5, 3));
  q.Queue("c", Bytes(30, 4));
  got = q.Get(2, 33, 2);  // room for one: the never-sent message wins
  REQUIRE(got.size() == 1);
  CHECK(got[0] == Bytes(30, 4));
  got = q.Get(2, 100, 2);  // second transmit of all three: then they are dropped
  CHECK(got.size() == 3);
  CHECK(q.size() == 0);
}

TEST_CASE("broadcast queue: one too big for the room left is skipped, smaller ones fill it") {
  BroadcastQueue q;
  q.Queue("a", Bytes(50, 1));
  q.Queue("b", Bytes(40, 2));
  q.Queue("c", Bytes(10, 3));
  q.Queue("d", Bytes(10, 4));
  CHECK(q.PendingBytes(2) == 118);
  // 70 bytes: a (52) fits, b (42) does not, the newer 10-byte one does, then no room is left.
  auto got = q.Get(2, 70, 3);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == Bytes(50, 1));
  CHECK(got[1] == Bytes(10, 4));
  got = q.Get(2, 100, 3);  // never-sent first (b, c), then once-sent (a would not fit: d)
  REQUIRE(got.size() == 3);
  CHECK(got[0] == Bytes(40, 2));
  CHECK(got[1] == Bytes(10, 3));
  CHECK(got[2] == Bytes(10, 4));
  CHECK(q.PendingBytes(0) == 110);  // none sent 3 times yet
}

TEST_CASE("member table: names stay found through swap-removals; a meta pool shares metas") {
  MemberTable t;
  MetaPool pool;
  for (int i = 0; i < 1000; ++i) {
    MemberEntry e;
    e.name = "node" + std::to_string(i);
    e.meta = pool.Intern(Bytes{'m', static_cast<std::uint8_t>(i % 3)});
    e.SetAddr(Bytes{10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
    CHECK(t.Add(std::move(e)) == static_cast<std::uint32_t>(i));
  }
  CHECK(pool.size() == 3);
  for (int i = 0; i < 1000; i += 3) t.Remove(t.IndexOf("node" + std::to_string(i)));
  CHECK(t.size() == 666);
  for (int i = 0; i < 1000; ++i) {
    const MemberEntry* e = t.Find("node" + std::to_string(i));
    CAPTURE(i);
    if (i % 3 == 0) {
      CHECK(e == nullptr);
    } else {
      REQUIRE(e != nullptr);
      CHECK(e->Addr() ==
            Bytes{10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
      CHECK(*e->meta == Bytes{'m', static_cast<std::uint8_t>(i % 3)});
    }
  }
}

TEST_CASE("five nodes joining through one seed converge") {
  SimNetwork net(1);
  cluster(net, 5, 10000);
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(net.Count(i, NodeState::kAlive) == 5);
    for (const Member& m : net[i].Members()) {
      const std::size_t j = static_cast<std::size_t>(std::stoi(m.name.substr(1)));
      CHECK(m.endpoint() == net.endpoint(j));
      CHECK(m.meta == Bytes{'m'});
    }
  }
  for (const LoggedEvent& e : net.log()) CHECK(e.kind == Kind::kJoin);
}

TEST_CASE(
    "a stopped node is suspected, then declared dead within the Lifeguard bound, then "
    "reaped") {
  SimNetwork net(2);
  cluster(net, 5, 10000);
  const std::uint64_t stop_at = net.now();
  net.Stop(4);
  net.RunUntil(stop_at + 40000);
  const auto evs = events_about(net, "n4", stop_at);
  // N = 5: min = 4 s, max = 6 * min = 24 s.
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    const LoggedEvent* sus = first(evs, node_name(i), Kind::kSuspect);
    const LoggedEvent* dead = first(evs, node_name(i), Kind::kDead);
    REQUIRE(sus != nullptr);
    REQUIRE(dead != nullptr);
    CHECK(sus->at < dead->at);
    CHECK(dead->at - sus->at <= 24000);
    CHECK(dead->at - stop_at <= 5 * 1000 + 24000);
  }
  for (const LoggedEvent& e : net.log()) {
    if (e.node != "n4") CHECK(e.kind == Kind::kJoin);  // nobody else was accused
  }
  // Gossip to the dead lasts 30 s; then the next probe round drops the entry.
  net.RunUntil(net.now() + 40000);
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(net[i].Find("n4") == std::nullopt);
    CHECK(first(net.log(), node_name(i), Kind::kReaped) != nullptr);
    CHECK(net.Count(i, NodeState::kAlive) == 4);
  }
}

TEST_CASE("a suspected node that is alive refutes with a higher incarnation") {
  SimNetwork net(3);
  cluster(net, 5, 10000);
  const std::uint32_t inc = net[0].Find("n2")->incarnation;
  const std::uint64_t t = net.now();
  auto packet = PackPacket({Encode(Suspect{inc, "n2", "n1"})}, {});
  REQUIRE(packet.ok());
  net.Inject(0, net.endpoint(1), *packet);
  CHECK(net[0].Find("n2")->state == NodeState::kSuspect);
  net.RunUntil(t + 30000);
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    const std::optional<Member> m = net[i].Find("n2");
    REQUIRE(m.has_value());
    CHECK(m->state == NodeState::kAlive);
    CHECK(m->incarnation > inc);
  }
  const auto evs = events_about(net, "n2", t);
  CHECK(first(evs, "n0", Kind::kSuspect) != nullptr);
  CHECK(first(evs, "n0", Kind::kAlive) != nullptr);
  for (const LoggedEvent& e : evs) CHECK(e.kind != Kind::kDead);
}

TEST_CASE("20 nodes under 10% packet loss for 60 s: nobody is declared dead") {
  for (bool tcp : {true, false}) {
    CAPTURE(tcp);
    MembershipConfig cfg;
    cfg.tcp_pings = tcp;
    SimNetwork net(4, cfg);
    cluster(net, 20, 15000);
    for (std::size_t i = 0; i < 20; ++i) REQUIRE(net.Count(i, NodeState::kAlive) == 20);
    net.set_loss(0.10);
    net.RunUntil(net.now() + 60000);
    for (const LoggedEvent& e : net.log()) {
      CHECK(e.kind != Kind::kDead);
      CHECK(e.kind != Kind::kLeft);
    }
    CHECK(net.max_packet() <= 1400);  // UDPBufferSize
  }
}

TEST_CASE("a graceful leave is seen as left by every other node") {
  SimNetwork net(5);
  cluster(net, 5, 10000);
  const std::uint64_t t = net.now();
  net.Leave(3);
  while (!net[3].leave_sent() && net.now() < t + 5000) net.RunUntil(net.now() + 10);
  CHECK(net[3].leave_sent());
  net.Stop(3);
  net.RunUntil(net.now() + 5000);
  for (std::size_t i = 0; i < 5; ++i) {
    if (i == 3) continue;
    CAPTURE(i);
    REQUIRE(net[i].Find("n3") != std::nullopt);
    CHECK(net[i].Find("n3")->state == NodeState::kLeft);
    CHECK(first(events_about(net, "n3", t), node_name(i), Kind::kLeft) != nullptr);
    CHECK(first(events_about(net, "n3", t), node_name(i), Kind::kDead) == nullptr);
  }
}

TEST_CASE("a name already alive at another address is refused") {
  SimNetwork net(6);
  cluster(net, 3, 5000);
  const std::size_t impostor = net.Add("n1");  // same name, another address
  net.Join(impostor, 0);
  net.RunUntil(net.now() + 5000);
  CHECK(net[0].Find("n1")->endpoint() == net.endpoint(1));
  CHECK(first(net.log(), "n0", Kind::kConflict) != nullptr);
  CHECK(net.Count(0, NodeState::kAlive) == 3);
}

TEST_CASE("the same seed gives the same event sequence") {
  auto run = [](std::uint64_t seed) {
    SimNetwork net(seed);
    cluster(net, 6, 8000);
    net.set_loss(0.05);
    net.Stop(5);
    net.RunUntil(net.now() + 30000);
    return net.log();
  };
  const auto a = run(7);
  CHECK(a.size() > 30);
  CHECK(a == run(7));
}

namespace {
// Records what Membership hands a Serf-like delegate; gossips `outgoing` a few times each.
struct RecordingDelegate : MembershipDelegate {
  Bytes state;
  std::vector<std::pair<Bytes, int>> outgoing;  // payload, sends left
  std::vector<Bytes> received, merged;
  std::vector<bool> merged_join;
  std::vector<std::pair<std::string, Bytes>> pings;

  void NotifyMsg(ByteView p) override { received.emplace_back(p.begin(), p.end()); }
  std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) override {
    std::vector<Bytes> out;
    std::size_t used = 0;
    for (auto& [p, left] : outgoing) {
      if (left == 0 || used + overhead + p.size() > limit) continue;
      used += overhead + p.size();
      out.push_back(p);
      --left;
    }
    return out;
  }
  Bytes LocalState(bool) override { return state; }
  void MergeRemoteState(ByteView s, bool join) override {
    merged.emplace_back(s.begin(), s.end());
    merged_join.push_back(join);
  }
  Bytes AckPayload() override { return state; }
  void NotifyPingComplete(const Member& m, std::uint64_t, ByteView payload) override {
    pings.emplace_back(m.name, Bytes(payload.begin(), payload.end()));
  }
};
}  // namespace

TEST_CASE("the delegate gets user messages, push-pull user state and ack payloads") {
  SimNetwork net(8);
  std::vector<RecordingDelegate> d(4);
  for (std::size_t i = 0; i < 4; ++i) {
    net.Add(node_name(i));
    d[i].state = Bytes{'s', static_cast<std::uint8_t>('0' + i)};
    net[i].SetDelegate(&d[i]);
  }
  for (std::size_t i = 1; i < 4; ++i) net.Join(i, 0);
  net.RunUntil(5000);
  // The seed merged each joiner's user state with the join flag; joiners merged the seed's.
  CHECK(d[0].merged.size() >= 3);
  CHECK(std::find(d[0].merged.begin(), d[0].merged.end(), Bytes{'s', '3'}) != d[0].merged.end());
  CHECK(d[0].merged_join.front());
  CHECK(std::find(d[2].merged.begin(), d[2].merged.end(), Bytes{'s', '0'}) != d[2].merged.end());
  // Probes carried each target's ack payload back.
  REQUIRE_FALSE(d[1].pings.empty());
  for (const auto& [name, payload] : d[1].pings) {
    CHECK(payload == d[std::stoul(name.substr(1))].state);
  }
  // A user broadcast from node 3 reaches the others by gossip alone (no relaying here: node 3
  // sends it itself, up to 3 times to random peers per gossip round).
  d[3].outgoing.push_back({Bytes{'e', 'v'}, 12});
  net.RunUntil(net.now() + 5000);
  std::size_t heard = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    heard += std::find(d[i].received.begin(), d[i].received.end(), Bytes{'e', 'v'}) !=
             d[i].received.end();
  }
  CHECK(heard == 3);
  CHECK(net.Count(0, NodeState::kAlive) == 4);
}

TEST_CASE("a node told it is suspected refutes at once and counts it against its own health") {
  SimNetwork net(9);
  cluster(net, 3, 5000);
  CHECK(net[0].joined() == 0);
  CHECK(net[1].joined() == 1);
  const std::uint32_t inc = net[2].Find("n2")->incarnation;
  const int health = net[2].health_score();
  auto packet = PackPacket({Encode(Suspect{inc + 5, "n2", "n0"})}, {});
  REQUIRE(packet.ok());
  net.Inject(2, net.endpoint(0), *packet);
  CHECK(net[2].Find("n2")->incarnation == inc + 6);
  CHECK(net[2].Find("n2")->state == NodeState::kAlive);
  CHECK(net[2].health_score() == health + 1);
  // A dead message about itself is refuted the same way.
  packet = PackPacket({Encode(Dead{inc + 6, "n2", "n0"})}, {});
  net.Inject(2, net.endpoint(0), *packet);
  CHECK(net[2].Find("n2")->incarnation == inc + 7);
  net.RunUntil(net.now() + 5000);
  CHECK(net[0].Find("n2")->incarnation == inc + 7);
  CHECK(net[0].Find("n2")->state == NodeState::kAlive);
}

TEST_CASE("the TCP fallback ping keeps a node whose UDP is blocked from being suspected") {
  for (bool tcp : {true, false}) {
    CAPTURE(tcp);
    MembershipConfig cfg;
    cfg.tcp_pings = tcp;
    SimNetwork net(10, cfg);
    cluster(net, 5, 10000);
    const std::uint64_t t = net.now();
    net.BlockUdp(4);
    net.RunUntil(t + 30000);
    std::size_t suspected = 0;
    for (const LoggedEvent& e : events_about(net, "n4", t)) suspected += e.kind == Kind::kSuspect;
    if (tcp) {
      CHECK(suspected == 0);
      CHECK(net.Count(0, NodeState::kAlive) == 5);
    } else {
      CHECK(suspected > 0);
    }
  }
}

TEST_CASE("a dead node's name is reclaimed by a new address only after the reclaim time") {
  for (std::uint64_t reclaim : {std::uint64_t{0}, std::uint64_t{1000}}) {
    CAPTURE(reclaim);
    MembershipConfig cfg;
    cfg.dead_node_reclaim_ms = reclaim;
    cfg.gossip_to_the_dead_ms = 600000;  // keep the dead entry around
    SimNetwork net(11, cfg);
    cluster(net, 4, 5000);
    net.Stop(1);
    net.RunUntil(net.now() + 40000);
    REQUIRE(net[0].Find("n1")->state == NodeState::kDead);
    const std::size_t again = net.Add("n1");
    net.Join(again, 0);
    net.RunUntil(net.now() + 5000);
    const std::optional<Member> m = net[0].Find("n1");
    if (reclaim > 0) {
      CHECK(m->endpoint() == net.endpoint(again));
      CHECK(m->state == NodeState::kAlive);
    } else {
      CHECK(m->endpoint() == net.endpoint(1));
      CHECK(m->state == NodeState::kDead);
      CHECK(first(net.log(), "n0", Kind::kConflict) != nullptr);
    }
  }
}

TEST_CASE("with a keyring and a label the cluster forms; a node with another key cannot join") {
  MembershipConfig cfg;
  cfg.keyring = Keyring::make({Bytes(16, 7)}).value();
  cfg.label = "dc1";
  SimNetwork net(12, cfg);
  cluster(net, 4, 8000);
  for (std::size_t i = 0; i < 4; ++i) CHECK(net.Count(i, NodeState::kAlive) == 4);
  MembershipConfig other = cfg;
  other.keyring = Keyring::make({Bytes(16, 8)}).value();
  const std::size_t stranger = net.Add("stranger", other);
  net.Join(stranger, 0);
  net.RunUntil(net.now() + 5000);
  CHECK(net[stranger].joined() == 0);
  CHECK(net[0].Find("stranger") == std::nullopt);
  CHECK(net.Count(stranger, NodeState::kAlive) == 1);
}

TEST_CASE("wire: a probe is a memberlist ping; a ping is answered by an ack with its sequence") {
  MembershipConfig cfg;
  cfg.compress = false;
  const Bytes ip{10, 0, 0, 1}, peer_ip{10, 0, 0, 2};
  Membership m(cfg, "a", ip, 7946, {}, 42);
  PushPull pp;
  pp.nodes.push_back({"b", peer_ip, 7946, {}, 3, NodeState::kAlive, {}});
  Bytes reply = m.OnStream(0, Endpoint{peer_ip, 7946}, SealStream(Encode(pp), nullptr, {}).value());
  auto back = OpenStream(reply, nullptr);
  REQUIRE(back.ok());
  auto state = DecodeMessage(*back);
  REQUIRE(state.ok());
  REQUIRE(std::holds_alternative<PushPull>(*state));
  // Like memberlist, it answers with its state from before the merge: itself only.
  REQUIRE(std::get<PushPull>(*state).nodes.size() == 1);
  CHECK(std::get<PushPull>(*state).nodes[0].name == "a");
  REQUIRE(m.Find("b") != std::nullopt);

  m.Tick(m.NextDeadline() + 1000);  // past the staggered first probe
  std::optional<Ping> ping;
  for (const OutPacket& p : m.TakePackets()) {
    CHECK(p.to == Endpoint{peer_ip, 7946});
    auto msgs = UnpackPacket(p.bytes, nullptr);
    REQUIRE(msgs.ok());
    for (const Bytes& b : *msgs) {
      auto msg = DecodeMessage(b);
      REQUIRE(msg.ok());
      if (auto* pg = std::get_if<Ping>(&*msg)) ping = *pg;
    }
  }
  REQUIRE(ping.has_value());
  CHECK(ping->node == "b");
  CHECK(ping->source_node == "a");
  CHECK(ping->source_addr == ip);

  auto in = PackPacket({Encode(Ping{77, "a", peer_ip, 7000, "b"})}, {});
  m.OnPacket(2000, Endpoint{peer_ip, 7946}, *in);
  bool acked = false;
  for (const OutPacket& p : m.TakePackets()) {
    auto msgs = UnpackPacket(p.bytes, nullptr);
    REQUIRE(msgs.ok());
    for (const Bytes& b : *msgs) {
      auto msg = DecodeMessage(b);
      if (msg.ok() && std::holds_alternative<Ack>(*msg)) {
        CHECK(std::get<Ack>(*msg).seq_no == 77);
        CHECK(p.to == Endpoint{peer_ip, 7000});  // to the ping's source address
        acked = true;
      }
    }
  }
  CHECK(acked);
}

TEST_CASE("a meta change is gossiped as an update with a higher incarnation") {
  SimNetwork net(13);
  cluster(net, 4, 5000);
  const std::uint64_t t = net.now();
  const std::uint32_t inc = net[0].Find("n2")->incarnation;
  net[2].UpdateMeta(t, Bytes{'n', 'e', 'w'});
  net.RunUntil(t + 5000);
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    const std::optional<Member> m = net[i].Find("n2");
    CHECK(m->meta == Bytes{'n', 'e', 'w'});
    CHECK(m->incarnation == inc + 1);
    if (i != 2) CHECK(first(events_about(net, "n2", t), node_name(i), Kind::kUpdate) != nullptr);
  }
}

TEST_CASE("a user message sent over a stream reaches the delegate") {
  RecordingDelegate d;
  Membership m({}, "a", Bytes{10, 0, 0, 1}, 7946, {}, 1);
  m.SetDelegate(&d);
  const Bytes req = SealStream(EncodeUserStream(UserMsg{Bytes{'h', 'i'}}), nullptr, {}).value();
  CHECK(m.OnStream(0, Endpoint{Bytes{10, 0, 0, 2}, 7946}, req).empty());
  REQUIRE(d.received.size() == 1);
  CHECK(d.received[0] == Bytes{'h', 'i'});
}

TEST_CASE("a node that hears no acks and no nacks raises its own health score to the cap") {
  MembershipConfig cfg;
  cfg.tcp_pings = false;
  // Push-pulls (TCP) while it still has live peers bring back their refutations and its own
  // suspicion to refute, so it keeps probing; without them it gives up on every peer (and stops
  // probing) before the first one, which comes a stagger plus an interval after start.
  cfg.push_pull_interval_ms = 4000;
  SimNetwork net(14, cfg);
  cluster(net, 5, 8000);
  CHECK(net[4].health_score() == 0);
  net.BlockUdp(4);
  net.RunUntil(net.now() + 30000);
  CHECK(net[4].health_score() == cfg.awareness_max_multiplier - 1);
}

TEST_CASE(
    "eager gossip: a new broadcast leaves at once, not at the next tick; idle traffic is "
    "unchanged") {
  // The same cluster and seed with memberlist's tick-only gossip and with eager rounds: the
  // time until every node has seen a meta update, and the packets of an idle minute.
  auto run = [](std::uint64_t gap, std::uint64_t* spread_ms, std::uint64_t* idle_packets) {
    MembershipConfig cfg;
    cfg.eager_gossip_gap_ms = gap;
    SimNetwork net(29, cfg);
    cluster(net, 30, 20000);
    const std::uint64_t p0 = net.packets();
    net.RunUntil(80000);
    *idle_packets = net.packets() - p0;
    const std::uint64_t t = net.now();
    net[7].UpdateMeta(t, Bytes{'v', '2'});
    REQUIRE(net.RunUntilTrue(
        [&] {
          for (std::size_t i = 0; i < 30; ++i) {
            if (net[i].Find("n7")->meta != Bytes{'v', '2'}) return false;
          }
          return true;
        },
        10000));
    *spread_ms = net.now() - t;
  };
  std::uint64_t tick_ms = 0, eager_ms = 0, tick_idle = 0, eager_idle = 0;
  run(0, &tick_ms, &tick_idle);
  run(50, &eager_ms, &eager_idle);
  MESSAGE("meta update reached 30 nodes in " << tick_ms << " ms (tick only), " << eager_ms
                                             << " ms (eager)");
  CHECK(eager_ms * 2 < tick_ms);
  // Each hop waits for the gap at worst: a few hops of 50 ms plus 1-5 ms links.
  CHECK(eager_ms <= 200);
  // No broadcasts in the idle minute: the same probes, the same packets.
  CHECK(eager_idle == tick_idle);
}

TEST_CASE("ring probes: a crashed member is first suspected within two probe intervals") {
  // With memberlist's shuffled order the first probe of a crashed member comes at a random
  // moment (over 4 s after the crash for 1% of crashes); with ring probes every member is
  // probed once per round, so the first suspicion comes at most two intervals (the wait for a
  // probe) plus one interval (the probe's own failure time) after the crash.
  std::uint64_t worst_ring = 0, worst_shuffled = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    for (bool ring : {true, false}) {
      MembershipConfig cfg;
      cfg.ring_probes = ring;
      SimNetwork net(seed, cfg);
      cluster(net, 16, 20000 + seed * 137);  // crash at a different point of the round each time
      const std::uint64_t t = net.now();
      net.Stop(5);
      net.RunUntil(t + 15000);
      std::uint64_t first_suspect = ~std::uint64_t{0};
      for (const LoggedEvent& e : events_about(net, "n5", t)) {
        if (e.kind == Kind::kSuspect) first_suspect = std::min(first_suspect, e.at - t);
      }
      CAPTURE(seed);
      CAPTURE(ring);
      REQUIRE(first_suspect != ~std::uint64_t{0});
      (ring ? worst_ring : worst_shuffled) =
          std::max(ring ? worst_ring : worst_shuffled, first_suspect);
      if (ring) CHECK(first_suspect <= 3000 + 10);
    }
  }
  MESSAGE("worst first suspicion over 12 crashes: ring " << worst_ring << " ms, shuffled "
                                                         << worst_shuffled << " ms");
}

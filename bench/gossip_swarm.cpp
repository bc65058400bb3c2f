// gossip_swarm: N simulated Beacon agents in one process, for loading a real agent with gossip
// (bench/swarm_dns.sh). Each peer is a real gossip::Serf + gossip::CatalogSync on its own
// net::GossipTransport (its own libuv thread) bound to its own loopback address (base + i, the
// same port number for all), with a tiny catalog of its own: a catalog::Writer + SnapshotHub that
// holds only its own node record (one service "swarm" with a TTL-style check).
//
// Contract:
// - Remote catalog changes CatalogSync submits (deltas, records, liveness) are counted and
//   dropped: a full replica per peer would cost N^2 memory. CatalogSync still tracks every
//   origin's version itself, so peers relay deltas like real agents; what they cannot do is serve
//   other nodes' records (pulls and digests only ever get a peer's own record from it).
// - Churn: -churn RATE status flips per second over the whole swarm, each on a random peer: its
//   check goes passing <-> critical through its own Writer, and the delta spreads by gossip.
//   Each peer's check starts critical with probability -initial-critical (0.5), so the healthy
//   share does not drift while flips run. -paused 1 starts with churn off; SIGUSR1 turns it on,
//   SIGUSR2 off (a "churn on|off" line marks each switch).
// - Joins go to -join ADDR:PORT, -join-rate peers per second (staggered); failed ones are retried
//   at the same rate until all are in or -join-timeout has passed; then "ready ...".
// - Differences from a real agent, to fit 1,000 peers in one process: fewer LAN tags (build, dc,
//   id, role: meta is gossiped O(N log N) times per join); no AnnounceSelf after joining unless
//   -announce 1 (the agent's member event is handed to CatalogSync first, so the first digest
//   goes to the agent, which pulls the record); remote records dropped (above).
// - Output (stdout): one "stats" line per second with cumulative counters, and a "final" line at
//   the end. Gossip traffic to and from the target agent is counted from the peers' side
//   (datagrams and stream bytes to/from its address). Join errors go to stderr.
// - Threads: one per transport (libuv), plus the main thread, which schedules the flips and
//   reads the counters. Each peer's Serf, CatalogSync and Writer are touched on its own transport
//   thread only (flips are Post()ed). Signals are blocked and taken with sigtimedwait (no
//   handler, no global state). The process ends with _Exit after the final line: stopping 1,000
//   busy loops one by one took minutes.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/record.h"
#include "beacon/catalog/writer.h"
#include "beacon/core/hash.h"
#include "beacon/core/log.h"
#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "beacon/gossip/catalog_sync.h"
#include "beacon/gossip/catalog_sync_wire.h"
#include "beacon/gossip/serf.h"
#include "beacon/net/gossip_transport.h"

#include "gossip_swarm_args.h"

namespace {

using beacon::Status;
using swarm::Args;
using swarm::NthAddress;
using swarm::ParseArgs;
using swarm::ParseEndpoint;
namespace catalog = beacon::catalog;
namespace gossip = beacon::gossip;
namespace net = beacon::net;

// Counters of one peer, written on its transport thread, read by main (relaxed).
struct Counters {
  std::atomic<uint64_t> flips{0};
  std::atomic<uint64_t> dropped_submits{0};
  std::atomic<uint64_t> agent_pkts_in{0}, agent_bytes_in{0};      // datagrams from the agent
  std::atomic<uint64_t> agent_pkts_out{0}, agent_bytes_out{0};    // datagrams to the agent
  std::atomic<uint64_t> agent_stream_in{0}, agent_stream_out{0};  // stream bytes from / to it
  std::atomic<int> joined{0};                                     // 1 joined, -1 failed
};

void Add(std::atomic<uint64_t>& c, uint64_t v) {
  c.fetch_add(v, std::memory_order_relaxed);
}

class Peer final : public net::GossipCore {
 public:
  Peer(const Args& args, int index, gossip::Endpoint agent, uint64_t version_base,
       const beacon::Logger& log)
      : name_(Name(index)),
        ip_(NthAddress(args.base, index)),
        agent_(std::move(agent)),
        writer_(hub_, core_lower(name_), args.dc, catalog::DnsSettings{}, version_base) {
    const uint64_t h = beacon::core::Fnv1a64(name_);
    gossip::Bytes addr(4);
    inet_pton(AF_INET, ip_.c_str(), addr.data());
    const std::string id = beacon::core::UuidV4FromBits(h, h * 0x9e3779b97f4a7c15ULL);
    // Fewer tags than a real agent's LAN tags (no vsn*, ft_*, acls, segment): every byte of
    // meta is gossiped O(N log N) times per join inside this one process.
    gossip::Tags tags = {{"build", "swarm:beacon"}, {"dc", args.dc}, {"id", id}, {"role", "node"}};
    announce_ = args.announce;
    passing_ = static_cast<double>(h % 10000) >= args.initial_critical * 10000;
    net::GossipTransportOptions to;
    to.bind_addr = ip_;
    to.port = args.port;
    transport_ = std::make_unique<net::GossipTransport>(to, *this, log);
    const uint64_t now = transport_->NowMs();
    serf_ = std::make_unique<gossip::Serf>(gossip::SerfConfig{}, name_, addr,
                                           static_cast<uint16_t>(args.port), tags, h, now);
    gossip::CatalogSyncConfig cc;
    cc.self = core_lower(name_);
    sync_ = std::make_unique<gossip::CatalogSync>(
        cc, [this] { return hub_.Current(); },
        [this](catalog::Change) { Add(c_.dropped_submits, 1); }, h ^ 0x5bd1e995);
    serf_->SetExtension(sync_.get());
    // Our own record: node, one service "swarm" with a TTL-style check, passing.
    catalog::Registration reg;
    reg.node.name = name_;
    reg.node.id = id;
    reg.node.address = ip_;
    reg.node.datacenter = args.dc;
    reg.node.tagged_addresses = {{"lan", ip_}, {"lan_ipv4", ip_}, {"wan", ip_}, {"wan_ipv4", ip_}};
    catalog::Service svc;
    svc.id = svc.name = "swarm";
    svc.port = 8080;
    reg.services.push_back(svc);
    catalog::Check chk;
    chk.id = "service:swarm";
    chk.name = "Service 'swarm' check";
    chk.service_id = chk.service_name = "swarm";
    chk.status = passing_ ? catalog::Health::kPassing : catalog::Health::kCritical;
    chk.ttl_ms = 30000;
    reg.checks.push_back(chk);
    Status st = writer_.Apply(catalog::LocalChange(catalog::op::Register{reg}));
    if (!st.ok()) std::fprintf(stderr, "%s: register: %s\n", name_.c_str(), st.message().c_str());
    writer_.Publish();
    writer_.TrackApplied(true);
  }

  ~Peer() override { transport_->Stop(); }  // before the members its thread touches go
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  Status Start() { return transport_->Start(); }
  void Stop() { transport_->Stop(); }
  const Counters& counters() const { return c_; }
  net::GossipStats stats() const { return transport_->stats(); }

  // 0: no answer yet, 1: joined, -1: failed (Join again to retry).
  int join_state() const { return c_.joined.load(std::memory_order_relaxed); }
  void Join() {
    c_.joined.store(0, std::memory_order_relaxed);
    transport_->Post([this](uint64_t now) { join_token_ = serf_->Join(now, {agent_}, true); });
  }

  // A status flip of our check: a local change whose delta spreads like a real agent's.
  void Flip() {
    transport_->Post([this](uint64_t now) {
      passing_ = !passing_;
      catalog::op::UpdateCheck u;
      u.node = name_;
      u.check_id = "service:swarm";
      u.status = passing_ ? catalog::Health::kPassing : catalog::Health::kCritical;
      u.output = passing_ ? "TTL refreshed" : "TTL expired";
      if (writer_.Apply(catalog::LocalChange(u)).ok()) {
        writer_.Publish();
        sync_->OnLocalChanges(now, writer_.TakeApplied());
        Add(c_.flips, 1);
      }
    });
  }

  // Alive members as this peer sees them (ourselves included); blocks until its thread answers.
  size_t AliveMembers() {
    auto p = std::make_shared<std::promise<size_t>>();
    std::future<size_t> f = p->get_future();
    transport_->Post([this, p](uint64_t) {
      size_t n = 0;
      for (const gossip::SerfMemberInfo& m : serf_->Members()) {
        n += m.status == gossip::MemberStatus::kAlive;
      }
      p->set_value(n);
    });
    if (f.wait_for(std::chrono::seconds(3)) != std::future_status::ready) return 0;
    return f.get();
  }

  // net::GossipCore (transport thread)
  void Tick(uint64_t now) override {
    serf_->Tick(now);
    sync_->Tick(now);
    if (record_sends_ > 0 && now >= next_record_ms_) SendRecordToAgent(now);
  }
  void OnPacket(uint64_t now, const gossip::Endpoint& from, gossip::ByteView bytes) override {
    if (from.ip == agent_.ip) {
      Add(c_.agent_pkts_in, 1);
      Add(c_.agent_bytes_in, bytes.size());
    }
    serf_->OnPacket(now, from, bytes);
  }
  gossip::Bytes OnStream(uint64_t now, const gossip::Endpoint& from,
                         gossip::ByteView request) override {
    gossip::Bytes reply = serf_->OnStream(now, from, request);
    if (from.ip == agent_.ip) {
      Add(c_.agent_stream_in, request.size());
      Add(c_.agent_stream_out, reply.size());
    }
    return reply;
  }
  void OnStreamReply(uint64_t now, uint64_t token, std::optional<gossip::Bytes> reply) override {
    if (agent_tokens_.erase(token) != 0 && reply) Add(c_.agent_stream_in, reply->size());
    serf_->OnStreamReply(now, token, std::move(reply));
  }
  void OnStreamError(uint64_t now, uint64_t token, std::string error) override {
    agent_tokens_.erase(token);
    serf_->OnStreamError(now, token, error);
  }
  std::vector<gossip::OutPacket> TakePackets() override {
    std::vector<gossip::OutPacket> out = serf_->TakePackets();
    for (const gossip::OutPacket& p : out) {
      if (p.to == agent_) {
        Add(c_.agent_pkts_out, 1);
        Add(c_.agent_bytes_out, p.bytes.size());
      }
    }
    return out;
  }
  std::vector<gossip::OutStream> TakeStreams() override {
    std::vector<gossip::OutStream> out = serf_->TakeStreams();
    for (const gossip::OutStream& s : out) {
      if (s.to != agent_) continue;
      Add(c_.agent_stream_out, s.bytes.size());
      if (s.kind != gossip::OutStream::Kind::kUser) agent_tokens_.insert(s.token);
    }
    return out;
  }
  uint64_t NextDeadline() const override {
    uint64_t d = std::min(serf_->NextDeadline(), sync_->NextDeadline());
    if (record_sends_ > 0) d = std::min(d, next_record_ms_);
    return d;
  }
  void AfterInput(uint64_t now) override {
    std::vector<gossip::SerfEvent> events = serf_->TakeEvents();
    // The agent first: CatalogSync sends its first digest to the first Beacon member it sees,
    // so the agent pulls our record at join even without -announce.
    std::stable_partition(events.begin(), events.end(), [&](const gossip::SerfEvent& e) {
      return e.member.addr == agent_.ip && e.member.port == agent_.port;
    });
    for (const gossip::SerfEvent& ev : events) OnEvent(now, ev);
    for (const gossip::JoinResult& r : serf_->TakeJoinResults()) {
      if (r.token != join_token_) continue;
      c_.joined.store(r.joined > 0 ? 1 : -1, std::memory_order_relaxed);
      if (r.joined == 0)
        std::fprintf(stderr, "%s: join failed: %s\n", name_.c_str(), r.error.c_str());
      if (r.joined > 0 && announce_) sync_->AnnounceSelf(now);
      if (r.joined > 0) {
        record_sends_ = 3;
        SendRecordToAgent(now);
      }
    }
    for (auto& [node, bytes, reliable] : sync_->TakeSends()) {
      serf_->SendToMember(now, node, std::move(bytes), reliable);
    }
  }

 private:
  static std::string Name(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "swarm-%04d", i);
    return buf;
  }
  static std::string core_lower(const std::string& s) { return beacon::core::Lower(s); }

  // Our record straight to the agent as a Records message (what a pull answer carries: applied,
  // not re-broadcast), at join and twice more 10 s apart: the digest at join is one reliable send
  // that a backlogged agent may refuse, and without -announce nothing else brings it our record
  // soon. Duplicates are stale there and cost nothing.
  void SendRecordToAgent(uint64_t now) {
    --record_sends_;
    next_record_ms_ = now + 10000;
    if (agent_name_.empty()) return;
    catalog::SnapshotPtr snap = hub_.Current();
    std::optional<catalog::NodeRecord> rec = catalog::RecordOf(*snap, core_lower(name_));
    if (!rec) return;
    gossip::catsync::Records msg;
    msg.sender = name_;
    msg.records.push_back(std::move(*rec));
    serf_->SendToMember(now, agent_name_, gossip::catsync::Encode(msg), /*reliable=*/true);
  }

  // Member events to CatalogSync, as agent::Cluster does.
  void OnEvent(uint64_t now, const gossip::SerfEvent& ev) {
    using Kind = gossip::SerfEvent::Kind;
    if (ev.member.name == name_) return;
    if (ev.member.addr == agent_.ip && ev.member.port == agent_.port) agent_name_ = ev.member.name;
    catalog::Liveness state = catalog::Liveness::kAlive;
    switch (ev.kind) {
      case Kind::kMemberJoin:
      case Kind::kMemberUpdate:
      case Kind::kMemberUnsuspect:
        break;
      case Kind::kMemberSuspect:
        state = catalog::Liveness::kSuspect;
        break;
      case Kind::kMemberFailed:
        state = catalog::Liveness::kFailed;
        break;
      case Kind::kMemberLeave:
      case Kind::kMemberReap:
        state = catalog::Liveness::kLeft;
        break;
      default:
        return;
    }
    auto b = ev.member.tags.find("build");
    const bool beacon = b != ev.member.tags.end() && b->second.ends_with(":beacon");
    sync_->OnMember(now, core_lower(ev.member.name), state, beacon);
  }

  const std::string name_;
  const std::string ip_;
  const gossip::Endpoint agent_;
  catalog::SnapshotHub hub_;
  catalog::Writer writer_;
  std::unique_ptr<gossip::Serf> serf_;
  std::unique_ptr<gossip::CatalogSync> sync_;
  std::unique_ptr<net::GossipTransport> transport_;
  Counters c_;
  // Transport thread only.
  bool passing_ = true;
  bool announce_ = false;
  std::string agent_name_;  // as Serf names it, once seen
  int record_sends_ = 0;    // record sends to the agent still to do
  uint64_t next_record_ms_ = 0;
  uint64_t join_token_ = 0;
  std::set<uint64_t> agent_tokens_;  // our stream requests to the agent awaiting a reply
};

struct Totals {
  uint64_t flips = 0, dropped = 0, joined = 0, join_failed = 0;
  net::GossipStats net;
  uint64_t a_pkts_in = 0, a_bytes_in = 0, a_pkts_out = 0, a_bytes_out = 0;
  uint64_t a_stream_in = 0, a_stream_out = 0;
};

Totals Sum(const std::vector<std::unique_ptr<Peer>>& peers) {
  Totals t;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& p : peers) {
    const Counters& c = p->counters();
    t.flips += ld(c.flips);
    t.dropped += ld(c.dropped_submits);
    const int j = c.joined.load(std::memory_order_relaxed);
    t.joined += j > 0;
    t.join_failed += j < 0;
    t.a_pkts_in += ld(c.agent_pkts_in);
    t.a_bytes_in += ld(c.agent_bytes_in);
    t.a_pkts_out += ld(c.agent_pkts_out);
    t.a_bytes_out += ld(c.agent_bytes_out);
    t.a_stream_in += ld(c.agent_stream_in);
    t.a_stream_out += ld(c.agent_stream_out);
    const net::GossipStats s = p->stats();
    t.net.packets_in += s.packets_in;
    t.net.packets_out += s.packets_out;
    t.net.bytes_in += s.bytes_in;
    t.net.bytes_out += s.bytes_out;
    t.net.streams_in += s.streams_in;
    t.net.streams_out += s.streams_out;
    t.net.stream_errors += s.stream_errors;
    t.net.dropped += s.dropped;
  }
  return t;
}

double WallS() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Print(const char* what, const Totals& t) {
  // "from the agent" = what the agent sent us; "to the agent" = what it received from us.
  std::printf(
      "%s t=%.3f flips=%llu joined=%llu join_failed=%llu dropped_submits=%llu pkts_out=%llu "
      "pkts_in=%llu bytes_out=%llu bytes_in=%llu streams_out=%llu streams_in=%llu "
      "stream_errors=%llu net_dropped=%llu agent_pkts_rx=%llu agent_bytes_rx=%llu "
      "agent_pkts_tx=%llu agent_bytes_tx=%llu agent_stream_rx=%llu agent_stream_tx=%llu\n",
      what, WallS(), (unsigned long long)t.flips, (unsigned long long)t.joined,
      (unsigned long long)t.join_failed, (unsigned long long)t.dropped,
      (unsigned long long)t.net.packets_out, (unsigned long long)t.net.packets_in,
      (unsigned long long)t.net.bytes_out, (unsigned long long)t.net.bytes_in,
      (unsigned long long)t.net.streams_out, (unsigned long long)t.net.streams_in,
      (unsigned long long)t.net.stream_errors, (unsigned long long)t.net.dropped,
      (unsigned long long)t.a_pkts_out, (unsigned long long)t.a_bytes_out,
      (unsigned long long)t.a_pkts_in, (unsigned long long)t.a_bytes_in,
      (unsigned long long)t.a_stream_out, (unsigned long long)t.a_stream_in);
  std::fflush(stdout);
}

// Sleeps until `until` (steady clock) or one of `sigs`; returns the signal, or 0.
int SleepUntil(const sigset_t& sigs, std::chrono::steady_clock::time_point until) {
  const auto left = until - std::chrono::steady_clock::now();
  const auto ns = std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());  // 0: just poll
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  const int sig = sigtimedwait(&sigs, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  gossip::Endpoint agent;
  if (!ParseEndpoint(args.join, &agent)) {
    std::fprintf(stderr, "gossip_swarm: -join wants IPv4:PORT, got \"%s\"\n", args.join.c_str());
    return 2;
  }
  // Signals are taken synchronously by the main thread; every thread started later inherits
  // the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  // The main thread schedules flips and takes signals; with 1,000 loop threads busy on one core it
  // got too little CPU to keep RATE or to stop churning on time. A higher priority for it alone
  // (needs root or CAP_SYS_NICE; a warning otherwise), set after the loop threads started: on
  // Linux the nice value is per thread, so theirs stays as it was.
  const beacon::Logger log(beacon::LogLevel::kError);
  const uint64_t version_base =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count())
      << 20;
  std::vector<std::unique_ptr<Peer>> peers;
  peers.reserve(args.n);
  for (int i = 0; i < args.n; ++i) {
    peers.push_back(std::make_unique<Peer>(args, i, agent, version_base, log));
    if (Status st = peers.back()->Start(); !st.ok()) {
      std::fprintf(stderr, "gossip_swarm: peer %d: %s\n", i, st.message().c_str());
      return 1;
    }
  }
  if (setpriority(PRIO_PROCESS, 0, -10) != 0) {
    std::fprintf(stderr, "gossip_swarm: cannot raise the main thread's priority (not root?)\n");
  }
  std::fprintf(stderr, "gossip_swarm: %d peers up on %s.. port %d; joining %s at %.0f/s\n", args.n,
               args.base.c_str(), args.port, args.join.c_str(), args.join_rate);

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto next_print = t0 + std::chrono::seconds(1);
  bool stop = false;
  bool churning = args.churn > 0 && !args.paused;
  bool toggled = false;  // churn switched on or off: the flip schedule restarts
  auto tick = [&](Clock::time_point until) {
    while (!stop) {
      const auto step = std::min(until, next_print);
      const int sig = SleepUntil(sigs, step);
      if (sig == SIGINT || sig == SIGTERM) stop = true;
      if ((sig == SIGUSR1 || sig == SIGUSR2) && churning != (sig == SIGUSR1 && args.churn > 0)) {
        churning = !churning;
        toggled = true;
        std::printf("churn %s t=%.3f\n", churning ? "on" : "off", WallS());
        std::fflush(stdout);
        return;
      }
      if (Clock::now() >= next_print) {
        Print("stats", Sum(peers));
        next_print += std::chrono::seconds(1);
      }
      if (Clock::now() >= until) return;
    }
  };
  // Staggered joins.
  const auto join_gap = std::chrono::duration<double>(1.0 / args.join_rate);
  for (int i = 0; i < args.n && !stop; ++i) {
    peers[i]->Join();
    tick(t0 + std::chrono::duration_cast<Clock::duration>(join_gap * (i + 1)));
  }
  // Failed joins (the agent refuses connections past its limit, or timed out) are retried at
  // the same rate until every peer is in or -join-timeout has passed.
  const auto join_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(args.join_timeout));
  uint64_t retries = 0;
  while (!stop && Clock::now() < join_deadline) {
    if (Sum(peers).joined >= static_cast<uint64_t>(args.n)) break;
    bool any = false;
    for (int i = 0; i < args.n && !stop && Clock::now() < join_deadline; ++i) {
      if (peers[i]->join_state() >= 0) continue;
      peers[i]->Join();
      ++retries;
      any = true;
      tick(Clock::now() + std::chrono::duration_cast<Clock::duration>(join_gap));
    }
    if (!any) tick(Clock::now() + std::chrono::milliseconds(100));
  }
  const Totals at_ready = Sum(peers);
  std::printf(
      "ready t=%.3f joined=%llu join_failed=%llu join_retries=%llu join_s=%.1f "
      "alive_seen_by_peer0=%zu\n",
      WallS(), (unsigned long long)at_ready.joined, (unsigned long long)at_ready.join_failed,
      (unsigned long long)retries, std::chrono::duration<double>(Clock::now() - t0).count(),
      peers[0]->AliveMembers());
  std::fflush(stdout);

  // Churn: flips at a steady rate, each on a random peer.
  std::mt19937_64 rng(0x5eed);
  std::uniform_int_distribution<int> pick(0, args.n - 1);
  const auto churn_start = Clock::now();
  const auto end = args.duration > 0
                       ? churn_start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(args.duration))
                       : Clock::time_point::max();
  auto phase_start = churn_start;
  uint64_t flips = 0;    // in this churn phase
  uint64_t skipped = 0;  // times the schedule fell > 1 s behind and was restarted
  std::printf("churn %s t=%.3f\n", churning ? "on" : "off", WallS());
  std::fflush(stdout);
  while (!stop && Clock::now() < end) {
    if (toggled) {
      toggled = false;
      phase_start = Clock::now();
      flips = 0;
    }
    if (!churning) {
      tick(std::min(end, Clock::now() + std::chrono::seconds(1)));
      continue;
    }
    const auto due = phase_start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(flips / args.churn));
    if (Clock::now() >= due) {
      if (Clock::now() - due > std::chrono::seconds(1)) {  // starved: drop the backlog
        phase_start = Clock::now();
        flips = 0;
        ++skipped;
      }
      peers[pick(rng)]->Flip();
      ++flips;
      tick(Clock::now());  // polls the signals (churn off must not wait for a catch-up)
      continue;
    }
    tick(std::min(due, end));
  }
  const size_t alive0 = peers[0]->AliveMembers();
  const size_t alive_last = peers.back()->AliveMembers();
  Print("final", Sum(peers));
  std::printf(
      "members alive_seen_by_peer0=%zu alive_seen_by_last=%zu churn_s=%.1f schedule_resets=%llu\n",
      alive0, alive_last, std::chrono::duration<double>(Clock::now() - churn_start).count(),
      (unsigned long long)skipped);
  std::fflush(stdout);
  // No orderly Stop() of 1,000 transports: with every loop thread busy gossiping on a shared
  // core, joining them one by one took minutes. The process ends here; the kernel closes the
  // sockets, and nothing is persisted.
  std::_Exit(0);
}

// Cluster: Serf + CatalogSync on the gossip transport. See cluster.h.
#include "beacon/agent/cluster.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "beacon/core/clock.h"
#include "beacon/core/hash.h"
#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "local_agent_internal.h"

namespace beacon::agent {

namespace {

constexpr uint64_t kLeaveTimeoutMs = 5000;  // a leave that cannot spread still finishes
constexpr size_t kSeenEvents = 1024;

std::string IpText(const gossip::Bytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.size() == 4) inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
  if (ip.size() == 16) inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

bool ParseIp(const std::string& text, gossip::Bytes* out) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    out->assign(buf, buf + 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    out->assign(buf, buf + 16);
    return true;
  }
  return false;
}

http::ClusterMember ToApi(const gossip::SerfMemberInfo& m) {
  http::ClusterMember c;
  c.name = m.name;
  c.addr = IpText(m.addr);
  c.port = m.port;
  c.tags = m.tags;
  c.status = static_cast<int>(m.status);
  c.protocol_min = m.vsn.pmin;
  c.protocol_max = m.vsn.pmax;
  c.protocol_cur = m.vsn.pcur;
  c.delegate_min = m.vsn.dmin;
  c.delegate_max = m.vsn.dmax;
  c.delegate_cur = m.vsn.dcur;
  return c;
}

// Beacon agents carry "<version>:beacon" in their build tag; they speak CatalogSync's messages.
bool IsBeacon(const gossip::Tags& tags) {
  auto it = tags.find("build");
  return it != tags.end() && it->second.ends_with(":beacon");
}

}  // namespace

Cluster::Cluster(ClusterOptions opts, catalog::SnapshotHub& hub,
                 std::function<void(catalog::Change)> submit, gossip::EventBuffer& events,
                 std::function<void()> events_changed, std::function<void(std::string)> fatal,
                 const Logger& log)
    : opts_(std::move(opts)),
      hub_(hub),
      submit_(std::move(submit)),
      events_(events),
      events_changed_(std::move(events_changed)),
      fatal_(std::move(fatal)),
      log_(log) {}

Cluster::~Cluster() {
  Stop();
}

Status Cluster::Start() {
  gossip::Bytes addr;
  if (!ParseIp(opts_.advertise_addr, &addr)) {
    return Status::Error("advertise address \"" + opts_.advertise_addr + "\" is not an IP");
  }
  if (opts_.port <= 0) return Status::Error("the Serf LAN port must be set (1-65535)");
  gossip::SerfConfig sc = opts_.serf;
  if (opts_.keyring) sc.memberlist.keyring = opts_.keyring;
  // RTTs for Serf's network coordinates, finer than the transport's millisecond clock.
  sc.memberlist.clock_us = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  };
  // Ring-probe rounds are numbered on wall time, which NTP keeps common to the machines.
  sc.memberlist.round_clock_ms = [] { return core::RealClock().WallMs(); };
  net::GossipTransportOptions to;
  to.bind_addr = opts_.bind_addr;
  to.port = opts_.port;
  to.tcp_timeout_ms = sc.memberlist.tcp_timeout_ms;
  transport_ = std::make_unique<net::GossipTransport>(to, *this, log_);
  // The cores exist before the transport's thread starts, so the first packet finds them.
  const uint64_t now = transport_->NowMs();
  serf_ = std::make_unique<gossip::Serf>(
      sc, opts_.node_name, addr, static_cast<uint16_t>(opts_.port), opts_.tags, opts_.seed, now);
  gossip::CatalogSyncConfig cc;
  cc.self = core::Lower(opts_.node_name);
  sync_ = std::make_unique<gossip::CatalogSync>(
      cc, [this] { return hub_.Current(); }, submit_, opts_.seed ^ 0x9e3779b97f4a7c15ULL);
  serf_->SetExtension(sync_.get());
  RefreshMembers(now);
  if (!opts_.retry_join.empty()) {
    retry_done_ = false;
    next_retry_ms_ = now;
  }
  if (Status st = transport_->Start(); !st.ok()) return st;
  const char* enc = !opts_.keyring ? ""
                    : !sc.memberlist.verify_outgoing
                        ? " (encryption key loaded, sending plaintext: verify_outgoing off)"
                    : !sc.memberlist.verify_incoming ? " (encrypted, also accepting plaintext)"
                                                     : " (encrypted)";
  BEACON_LOG(log_, kInfo, "gossip", "serf LAN on %s:%d, advertising %s%s", opts_.bind_addr.c_str(),
             transport_->port(), opts_.advertise_addr.c_str(), enc);
  return Status::Ok();
}

void Cluster::Stop() {
  if (transport_) transport_->Stop();
}

int Cluster::port() const {
  return transport_ ? transport_->port() : 0;
}

net::GossipStats Cluster::stats() const {
  return transport_ ? transport_->stats() : net::GossipStats{};
}

Result<std::vector<gossip::Endpoint>> Cluster::Resolve(
    const std::vector<std::string>& addrs) const {
  std::vector<gossip::Endpoint> out;
  std::string errors;
  for (const std::string& a : addrs) {
    std::string host = a;
    std::string port = std::to_string(opts_.port > 0 ? opts_.port : 8301);
    if (!a.empty() && a.front() == '[') {  // [v6]:port
      const size_t close = a.find(']');
      host = a.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      if (close != std::string::npos && close + 1 < a.size() && a[close + 1] == ':') {
        port = a.substr(close + 2);
      }
    } else if (std::count(a.begin(), a.end(), ':') == 1) {
      host = a.substr(0, a.find(':'));
      port = a.substr(a.find(':') + 1);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      errors += "\n\t* Failed to resolve " + a + ": " + gai_strerror(rc);
      continue;
    }
    for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
      gossip::Endpoint e;
      if (p->ai_family == AF_INET) {
        const auto* sa = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
        const auto* b = reinterpret_cast<const uint8_t*>(&sa->sin_addr);
        e.ip.assign(b, b + 4);
        e.port = ntohs(sa->sin_port);
      } else if (p->ai_family == AF_INET6) {
        const auto* sa = reinterpret_cast<const sockaddr_in6*>(p->ai_addr);
        const auto* b = reinterpret_cast<const uint8_t*>(&sa->sin6_addr);
        e.ip.assign(b, b + 16);
        e.port = ntohs(sa->sin6_port);
      } else {
        continue;
      }
      out.push_back(std::move(e));
      break;  // the first address of each name, as memberlist
    }
    freeaddrinfo(res);
  }
  if (out.empty()) {
    return Status::Error(std::to_string(addrs.size()) + " error(s) occurred:" + errors);
  }
  return out;
}

namespace {

// Runs `start` with a completion and waits up to timeout_ms for it.
template <typename Fn>
Status Wait(uint64_t timeout_ms, const std::string& what, Fn&& start) {
  struct State {
    Mutex mu;
    std::condition_variable cv;
    bool finished GUARDED_BY(mu) = false;
    http::AgentStatus status GUARDED_BY(mu);
  };
  auto w = std::make_shared<State>();
  start([w](const http::AgentStatus& st) {
    MutexLock l(&w->mu);
    w->finished = true;
    w->status = st;
    w->cv.notify_all();
  });
  UniqueLock l(&w->mu);
  const bool finished = w->cv.wait_for(l.native(), std::chrono::milliseconds(timeout_ms),
                                       [&]() REQUIRES(w->mu) { return w->finished; });
  if (!finished) return Status::Error("timed out " + what);
  if (!w->status.ok()) return Status::Error(w->status.message);
  return Status::Ok();
}

}  // namespace

Status Cluster::JoinAndWait(const std::vector<std::string>& addrs, uint64_t timeout_ms) {
  return Wait(timeout_ms, "joining " + addrs.front(),
              [&](http::AgentDone done) { Join(addrs, std::move(done)); });
}

Status Cluster::LeaveAndWait(uint64_t timeout_ms) {
  if (!transport_) return Status::Ok();
  return Wait(timeout_ms, "leaving", [&](http::AgentDone done) { Leave(std::move(done)); });
}

void Cluster::Join(std::vector<std::string> addrs, http::AgentDone done) {
  auto seeds = Resolve(addrs);
  if (!seeds.ok()) {
    done(http::AgentStatus::Error(500, seeds.status().message()));
    return;
  }
  transport_->Post([this, seeds = std::move(seeds.value()), done](uint64_t now) {
    const uint64_t token = serf_->Join(now, seeds, /*ignore_old_events=*/true);
    join_waiters_[token] = [this, done](uint64_t at, const gossip::JoinResult& r) {
      if (r.joined > 0) {
        BEACON_LOG(log_, kInfo, "gossip", "joined the cluster through %zu node(s)", r.joined);
        sync_->AnnounceSelf(at);
        done(http::AgentStatus::Ok());
      } else {
        BEACON_LOG(log_, kWarn, "gossip", "join failed: %s", r.error.c_str());
        done(http::AgentStatus::Error(500, r.error));
      }
    };
  });
}

void Cluster::Leave(http::AgentDone done) {
  transport_->Post([this, done](uint64_t now) {
    leave_waiters_.push_back(done);
    if (leave_deadline_ms_ != 0) return;  // already leaving
    BEACON_LOG(log_, kInfo, "gossip", "leaving the cluster gracefully");
    serf_->Leave(now);
    leave_deadline_ms_ = now + opts_.serf.leave_propagate_delay_ms + kLeaveTimeoutMs;
  });
}

void Cluster::ForceLeave(std::string node, bool prune, http::AgentDone done) {
  transport_->Post([this, node, prune, done](uint64_t now) {
    Status st = serf_->ForceLeave(now, node, prune);
    if (!st.ok()) {
      done(http::AgentStatus::Error(500, st.message()));
      return;
    }
    BEACON_LOG(log_, kInfo, "gossip", "force-leave of %s%s", node.c_str(), prune ? " (prune)" : "");
    done(http::AgentStatus::Ok());
  });
}

void Cluster::OnLocalChanges(std::vector<catalog::AppliedChange> changes) {
  if (changes.empty() || !transport_) return;
  transport_->Post(
      [this, changes = std::move(changes)](uint64_t now) { sync_->OnLocalChanges(now, changes); });
}

void Cluster::FireEvent(const gossip::UserEvent& e) {
  if (!transport_) return;
  transport_->Post([this, e](uint64_t now) {
    (void)RememberEvent(e.id);
    const gossip::Bytes payload = gossip::EncodeConsulUserEvent(e);
    Status st = serf_->UserEvent(now, std::string(gossip::kConsulEventPrefix) + e.name, payload,
                                 /*coalesce=*/false);
    if (!st.ok()) {
      BEACON_LOG(log_, kWarn, "gossip", "user event %s not sent: %s", e.name.c_str(),
                 st.message().c_str());
    }
  });
}

std::vector<std::string> Cluster::Servers() const {
  std::vector<std::string> out;
  MutexLock l(&mu_);
  for (const http::ClusterMember& m : members_) {
    auto role = m.tags.find("role");
    auto port = m.tags.find("port");
    if (m.status != 1 || role == m.tags.end() || role->second != "consul" || port == m.tags.end()) {
      continue;
    }
    auto dc = m.tags.find("dc");
    auto my_dc = opts_.tags.find("dc");
    if (dc != m.tags.end() && my_dc != opts_.tags.end() && dc->second != my_dc->second) continue;
    out.push_back((m.addr.find(':') != std::string::npos ? "[" + m.addr + "]" : m.addr) + ":" +
                  port->second);
  }
  return out;
}

std::vector<http::ClusterMember> Cluster::Members() const {
  MutexLock l(&mu_);
  return members_;
}

void Cluster::RefreshMembers(uint64_t now) {
  last_refresh_ms_ = now;
  members_dirty_ = false;
  std::vector<http::ClusterMember> ms;
  std::vector<std::string> servers;
  size_t alive_servers = 0, known_servers = 0;  // known: not left
  for (const gossip::SerfMemberInfo& m : serf_->Members()) {
    ms.push_back(ToApi(m));
    if (auto r = m.tags.find("role"); r != m.tags.end() && r->second == "consul") {
      servers.push_back(m.name);
      known_servers += ms.back().status != 3 ? 1 : 0;
      // A suspect server does not count as alive: when a partition cuts this agent off, every
      // other member turns suspect within a few probe rounds, before any is declared failed.
      if (ms.back().status == 1) {
        const std::optional<gossip::Member> ml = serf_->memberlist().Find(m.name);
        alive_servers += ml && ml->state == gossip::NodeState::kSuspect ? 0 : 1;
      }
    }
  }
  if (opts_.on_servers) {
    opts_.on_servers(now, alive_servers, known_servers, serf_->health_score());
  }
  if (opts_.coordinates != nullptr) opts_.coordinates->Publish(serf_->coordinates(), servers);
  MutexLock l(&mu_);
  members_ = std::move(ms);
  probe_stats_ = serf_->memberlist().probe_stats();
  sync_stats_ = sync_->stats();
}

// --- the gossip thread ---------------------------------------------------------------------

void Cluster::Tick(uint64_t now) {
  serf_->Tick(now);
  sync_->Tick(now);
  RetryJoin(now);
  // Intents change a member's status (alive -> leaving) without a member event: the list is
  // also refreshed once a second.
  if (now >= last_refresh_ms_ + 1000) RefreshMembers(now);
}

void Cluster::OnPacket(uint64_t now, const gossip::Endpoint& from, gossip::ByteView bytes) {
  serf_->OnPacket(now, from, bytes);
}

gossip::Bytes Cluster::OnStream(uint64_t now, const gossip::Endpoint& from,
                                gossip::ByteView request) {
  return serf_->OnStream(now, from, request);
}

void Cluster::OnStreamReply(uint64_t now, uint64_t token, std::optional<gossip::Bytes> reply) {
  serf_->OnStreamReply(now, token, std::move(reply));
}

void Cluster::OnStreamError(uint64_t now, uint64_t token, std::string error) {
  serf_->OnStreamError(now, token, error);
}

std::vector<gossip::OutPacket> Cluster::TakePackets() {
  return serf_->TakePackets();
}

std::vector<gossip::OutStream> Cluster::TakeStreams() {
  return serf_->TakeStreams();
}

uint64_t Cluster::NextDeadline() const {
  uint64_t d = std::min(serf_->NextDeadline(), sync_->NextDeadline());
  if (!retry_done_) d = std::min(d, next_retry_ms_);
  if (leave_deadline_ms_ != 0 && !left_) d = std::min(d, leave_deadline_ms_);
  d = std::min(d, last_refresh_ms_ + (members_dirty_ ? 100 : 1000));
  return d;
}

void Cluster::RetryJoin(uint64_t now) {
  if (retry_done_ || now < next_retry_ms_) return;
  next_retry_ms_ = now + opts_.retry_interval_ms;
  ++retries_;
  auto seeds = Resolve(opts_.retry_join);
  if (!seeds.ok()) {
    BEACON_LOG(log_, kWarn, "gossip", "retry join: %s", seeds.status().message().c_str());
    return;
  }
  const uint64_t token = serf_->Join(now, seeds.value(), true);
  join_waiters_[token] = [this](uint64_t at, const gossip::JoinResult& r) {
    if (r.joined > 0) {
      BEACON_LOG(log_, kInfo, "gossip", "retry join succeeded through %zu node(s)", r.joined);
      sync_->AnnounceSelf(at);
      retry_done_ = true;
      return;
    }
    if (opts_.retry_max > 0 && retries_ >= opts_.retry_max) {
      retry_done_ = true;
      fatal_("max join retry exhausted, exiting: " + r.error);
      return;
    }
    BEACON_LOG(log_, kWarn, "gossip", "join failed: %s, retrying in %llu ms", r.error.c_str(),
               static_cast<unsigned long long>(opts_.retry_interval_ms));
  };
}

void Cluster::AfterInput(uint64_t now) {
  bool members_changed = false;
  for (gossip::SerfEvent& ev : serf_->TakeEvents()) {
    if (ev.kind == gossip::SerfEvent::Kind::kUser) {
      HandleUserEvent(ev);
    } else {
      HandleMemberEvent(now, ev);
      members_changed = true;
    }
  }
  for (const gossip::JoinResult& r : serf_->TakeJoinResults()) {
    auto it = join_waiters_.find(r.token);
    if (it == join_waiters_.end()) continue;
    auto fn = std::move(it->second);
    join_waiters_.erase(it);
    fn(now, r);
  }
  PumpQueries();  // keyring queries (cluster_keyring.cpp)
  for (auto& [node, bytes, reliable] : sync_->TakeSends()) {
    serf_->SendToMember(now, node, std::move(bytes), reliable);
  }
  // The member list copy is O(members): during a join storm refresh it at most every 100 ms.
  if (members_changed) members_dirty_ = true;
  if (members_dirty_ && now >= last_refresh_ms_ + 100) RefreshMembers(now);
  if (leave_deadline_ms_ != 0 && !left_ && (serf_->leave_done() || now >= leave_deadline_ms_)) {
    left_ = true;
    BEACON_LOG(log_, kInfo, "gossip", "left the cluster");
    for (auto& done : std::exchange(leave_waiters_, {})) done(http::AgentStatus::Ok());
    if (on_left_) on_left_();
  } else if (left_) {
    for (auto& done : std::exchange(leave_waiters_, {})) done(http::AgentStatus::Ok());
  }
}

void Cluster::HandleMemberEvent(uint64_t now, const gossip::SerfEvent& ev) {
  using Kind = gossip::SerfEvent::Kind;
  const gossip::SerfMemberInfo& m = ev.member;
  const std::string addr = IpText(m.addr) + ":" + std::to_string(m.port);
  if (ev.kind == Kind::kConflict) {
    if (m.name == opts_.node_name) {
      fatal_("node name \"" + m.name + "\" is already in use by the member at " + addr +
             "; pick another name with -node");
    } else {
      BEACON_LOG(log_, kWarn, "gossip",
                 "member %s at %s claims a name already alive elsewhere; "
                 "ignored",
                 m.name.c_str(), addr.c_str());
    }
    return;
  }
  if (m.name == opts_.node_name) return;  // our own record is ours to write
  catalog::Liveness state = catalog::Liveness::kAlive;
  const char* what = "joined";
  switch (ev.kind) {
    case Kind::kMemberJoin:
      break;
    case Kind::kMemberUpdate:
      what = "updated";
      break;
    case Kind::kMemberSuspect:
      state = catalog::Liveness::kSuspect;
      what = "suspected";
      break;
    case Kind::kMemberUnsuspect:
      what = "refuted its suspicion";
      break;
    case Kind::kMemberFailed:
      state = catalog::Liveness::kFailed;
      what = "failed";
      break;
    case Kind::kMemberLeave:
    case Kind::kMemberReap:
      state = catalog::Liveness::kLeft;
      what = ev.kind == Kind::kMemberLeave ? "left" : "reaped";
      break;
    default:
      return;
  }
  BEACON_LOG(log_, kInfo, "gossip", "member %s %s (%s)", m.name.c_str(), what, addr.c_str());
  sync_->OnMember(now, core::Lower(m.name), state, IsBeacon(m.tags));
}

bool Cluster::RememberEvent(const std::string& id) {
  if (!seen_event_ids_.insert(id).second) return false;
  seen_order_.push_back(id);
  if (seen_order_.size() > kSeenEvents) {
    seen_event_ids_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return true;
}

void Cluster::HandleUserEvent(const gossip::SerfEvent& ev) {
  gossip::UserEvent e;
  if (ev.name.starts_with(gossip::kConsulEventPrefix)) {
    auto dec = gossip::DecodeConsulUserEvent(ev.payload);
    if (!dec.ok()) {
      BEACON_LOG(log_, kWarn, "gossip", "user event %s dropped: %s", ev.name.c_str(),
                 dec.status().message().c_str());
      return;
    }
    e = std::move(dec.value());
  } else {
    // A plain Serf event (`serf event deploy v2`): named as sent, with an ID derived from its
    // Lamport time and content so every agent names it alike.
    e.name = ev.name;
    e.payload.assign(ev.payload.begin(), ev.payload.end());
    e.has_payload = !ev.payload.empty();
    const uint64_t h = core::Fnv1a64(e.name + std::string(1, '\0') + e.payload);
    e.id = core::UuidV4FromBits(h, ev.ltime ^ (h >> 7));
  }
  if (!RememberEvent(e.id)) return;  // ours, echoed back, or a repeat
  std::vector<gossip::LocalService> services;
  catalog::SnapshotPtr snap = hub_.Current();
  detail::ForEachLocalInstance(*snap, core::Lower(opts_.node_name),
                               [&](const catalog::Instance& in) {
                                 services.push_back({in.service.id.str(), in.tags()});
                               });
  if (!gossip::ShouldProcess(e, opts_.node_name, services)) return;
  events_.Add(e);
  // Info, as serf agent's "Received event": the line's timestamp is this agent's receipt time
  // (bench/cluster_bench.py times event spread from it).
  BEACON_LOG(log_, kInfo, "gossip", "user event %s (%s) received", e.name.c_str(), e.id.c_str());
  if (events_changed_) events_changed_();
}

}  // namespace beacon::agent

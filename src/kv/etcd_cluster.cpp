// ClusterView on etcd: a poller publishes the members' status, a worker runs the operator calls,
// ?consistent barriers and the periodic history compaction. See include/beacon/kv/cluster.h.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"
#include "beacon/http/client.h"
#include "beacon/kv/cluster.h"
#include "etcd_cluster_state.h"
#include "etcd_codec.h"
#include "etcd_conn.h"

namespace beacon::kv {
namespace internal {
namespace {

using StatePtr = std::shared_ptr<const EtcdClusterState>;

// One thread's clients, one per configured endpoint, with short timeouts: a dead member must not
// hold the poll up for long.
class Prober {
 public:
  Prober(const EtcdOptions& o, const std::function<bool()>& cancel) : endpoints_(o.endpoints) {
    for (const std::string& e : o.endpoints) {
      http::ClientOptions co;
      co.address = e;
      co.connect_timeout_ms = std::min<int64_t>(o.dial_timeout_ms, 1000);
      co.timeout_ms = std::min<int64_t>(o.request_timeout_ms, 2000);
      co.cancel = cancel;
      co.ca_file = o.ca_file;
      co.cert_file = o.cert_file;
      co.key_file = o.key_file;
      clients_.push_back(std::make_unique<http::HttpClient>(co));
    }
  }

  EtcdClusterState Probe() {
    EtcdClusterState s;
    for (size_t i = 0; i < clients_.size(); ++i) {
      EtcdMemberStatus st;
      st.endpoint = endpoints_[i];
      auto r = clients_[i]->Do("POST", "/v3/maintenance/status", "{}");
      if (!r.ok()) {
        st.error = r.status().message();
      } else if (r.value().status != 200) {
        st.error = "etcd answered " + std::to_string(r.value().status);
      } else {
        st.reachable = ParseMemberStatus(r.value().body, &st, &st.error);
      }
      if (st.reachable && s.members.empty()) {
        auto m = clients_[i]->Do("POST", "/v3/cluster/member/list", "{}");
        if (m.ok() && m.value().status == 200) ParseMemberList(m.value().body, &s.members, nullptr);
      }
      s.statuses.push_back(std::move(st));
    }
    Summarize(&s);
    return s;
  }

 private:
  std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<http::HttpClient>> clients_;
};

class EtcdClusterView final : public ClusterView {
 public:
  EtcdClusterView(EtcdClusterOptions o, const Logger& log)
      : o_(std::move(o)),
        log_(log),
        state_(std::make_shared<const EtcdClusterState>()),
        conn_(o_.etcd, [this] { return stopping_.load(); }) {
    now_ms_ = o_.now_ms;
    if (!now_ms_) {
      now_ms_ = [] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
      };
    }
    leader_seen_ms_.store(now_ms_());
    poller_ = std::thread([this] { PollLoop(); });
    worker_ = std::thread([this] { WorkLoop(); });
  }

  ~EtcdClusterView() override {
    {
      MutexLock l(&mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    poller_.join();
    worker_.join();
  }

  bool KnownLeader() const override { return known_.load(std::memory_order_acquire); }
  uint64_t LastContactMs() const override {
    if (KnownLeader()) return 0;
    const uint64_t now = now_ms_(), seen = leader_seen_ms_.load(std::memory_order_acquire);
    return now > seen ? now - seen : 0;
  }
  std::string Leader() const override { return LeaderAddress(*state_.load()); }
  std::vector<std::string> Peers() const override { return PeerAddresses(*state_.load()); }
  std::map<std::string, std::string> Info() const override {
    return InfoFields(*state_.load(), o_.etcd.endpoints);
  }

  void Configuration(bool stale, std::function<void(Result<RaftConfiguration>)> done) override {
    Post([this, stale, done = std::move(done)](Prober& p) {
      StatePtr s = Refresh(p);
      if (!s->members.empty()) return done(ToConfiguration(*s));
      StatePtr known = last_members_.load();
      if (!stale || known == nullptr) return done(Status::Error(Unreachable(*s)));
      EtcdClusterState old = *known;
      old.leader = 0;  // nobody is known to lead now
      done(ToConfiguration(old));
    });
  }

  void RemovePeer(std::string address, std::string id, std::function<void(Status)> done) override {
    Post([this, address = std::move(address), id = std::move(id),
          done = std::move(done)](Prober& p) { done(Remove(p, address, id)); });
  }

  void Barrier(std::function<void(Result<BarrierPoint>)> done) override {
    Post([this, done = std::move(done)](Prober&) { done(RunBarrier()); });
  }

 private:
  using Task = std::function<void(Prober&)>;

  void Post(Task t) {
    {
      MutexLock l(&mu_);
      tasks_.push_back(std::move(t));
    }
    cv_.notify_all();
  }

  static std::string Unreachable(const EtcdClusterState& s) {
    std::string why = "no etcd member answered";
    for (const EtcdMemberStatus& st : s.statuses) why += "; " + st.endpoint + ": " + st.error;
    return why;
  }

  StatePtr Refresh(Prober& p) {
    auto s = std::make_shared<const EtcdClusterState>(p.Probe());
    Publish(s);
    return s;
  }

  void Publish(const StatePtr& s) {
    if (!s->members.empty()) last_members_.store(s);
    const uint64_t before = state_.exchange(s)->leader;
    const bool known = s->leader != 0;
    if (known) leader_seen_ms_.store(now_ms_(), std::memory_order_release);
    known_.store(known, std::memory_order_release);
    if (before == s->leader) return;
    if (known) {
      BEACON_LOG(log_, kInfo, "etcd", "etcd leader is %s (raft term %llu)",
                 LeaderAddress(*s).c_str(), static_cast<unsigned long long>(s->raft_term));
    } else {
      BEACON_LOG(log_, kWarn, "etcd", "etcd has no leader (%zu of %zu endpoints reachable)",
                 static_cast<size_t>(std::count_if(s->statuses.begin(), s->statuses.end(),
                                                   [](const auto& st) { return st.reachable; })),
                 s->statuses.size());
    }
  }

  Status Remove(Prober& p, const std::string& address, const std::string& id) {
    auto list = conn_.Call("/v3/cluster/member/list", "{}");
    if (!list.ok()) return list.status();
    std::vector<EtcdMember> members;
    std::string err;
    if (!ParseMemberList(list.value(), &members, &err)) return Status::Error(err);
    Result<uint64_t> m = FindMember(members, address, id);
    if (!m.ok()) return m.status();
    auto r =
        conn_.Call("/v3/cluster/member/remove", "{\"ID\":\"" + std::to_string(m.value()) + "\"}");
    // A retry after an answer lost in the configuration change (or from the removed member
    // itself) hears "member not found": the member list says whether the removal happened.
    if (!r.ok() && !Gone(m.value())) return r.status();
    BEACON_LOG(log_, kInfo, "etcd", "removed etcd member %s (%s)", MemberIdHex(m.value()).c_str(),
               address.empty() ? id.c_str() : address.c_str());
    Refresh(p);
    return Status::Ok();
  }

  bool Gone(uint64_t id) {
    auto list = conn_.Call("/v3/cluster/member/list", "{}");
    std::vector<EtcdMember> members;
    if (!list.ok() || !ParseMemberList(list.value(), &members, nullptr)) return false;
    return std::none_of(members.begin(), members.end(),
                        [id](const EtcdMember& m) { return m.id == id; });
  }

  Result<BarrierPoint> RunBarrier() {
    const bool known = KnownLeader();
    // With no known leader, wait only as long as an election takes to show in the poll.
    const int64_t timeout =
        known ? o_.etcd.request_timeout_ms : std::min(o_.etcd.request_timeout_ms, 2 * o_.poll_ms);
    const std::string key = o_.etcd.prefix + "m/";
    auto r = conn_.Call("/v3/kv/range", RangeRequest(key, PrefixEnd(key)), timeout);
    if (!r.ok()) {
      if (!KnownLeader()) return Status::Error("No cluster leader");
      return r.status();
    }
    std::vector<EtcdKv> kvs;
    int64_t rev = 0;
    std::string err;
    if (!ParseRange(r.value(), &kvs, &rev, &err)) return Status::Error(err);
    BarrierPoint b;
    for (const EtcdKv& kv : kvs) {
      if (kv.key == key + "kv") b.kv_index = static_cast<uint64_t>(kv.mod_rev);
      if (kv.key == key + "sessions") b.sessions_index = static_cast<uint64_t>(kv.mod_rev);
    }
    return b;
  }

  // History compaction (worker thread). etcd keeps every revision of every key until told to
  // compact, so without it the database grows with each write until etcd's space quota stops
  // all writes. Each pass compacts up to the revision the previous pass saw: at least one
  // interval of history stays for a watch that reconnects (one further behind resyncs from a
  // full read, see etcd_watch.cpp).
  void Compact() {
    const std::string key = o_.etcd.prefix + "m/kv";
    auto r = conn_.Call("/v3/kv/range", RangeRequest(key, ""));
    std::vector<EtcdKv> kvs;
    int64_t rev = 0;
    std::string err;
    if (!r.ok() || !ParseRange(r.value(), &kvs, &rev, &err)) {
      BEACON_LOG(log_, kWarn, "etcd", "history compaction skipped: %s",
                 r.ok() ? err.c_str() : r.status().message().c_str());
      return;
    }
    const int64_t to = compact_to_;
    compact_to_ = rev;
    if (to <= 0) return;
    auto c = conn_.Call("/v3/kv/compaction", "{\"revision\":\"" + std::to_string(to) + "\"}");
    if (c.ok()) {
      BEACON_LOG(log_, kDebug, "etcd", "compacted etcd history up to revision %lld",
                 static_cast<long long>(to));
    } else if (c.status().message().find("compacted") != std::string::npos) {
      // Another agent (or etcd's own auto-compaction) already went past it.
      BEACON_LOG(log_, kDebug, "etcd", "etcd history already compacted past revision %lld",
                 static_cast<long long>(to));
    } else {
      BEACON_LOG(log_, kWarn, "etcd", "history compaction up to revision %lld failed: %s",
                 static_cast<long long>(to), c.status().message().c_str());
    }
  }

  void PollLoop() {
    core::SetThreadName("etcd-poll");
    Prober p(o_.etcd, [this] { return stopping_.load(); });
    int64_t since_compact = 0;
    UniqueLock l(&mu_);
    while (!stopping_) {
      l.Unlock();
      Refresh(p);
      if (o_.compact_ms > 0 && (since_compact += o_.poll_ms) >= o_.compact_ms) {
        since_compact = 0;
        Post([this](Prober&) { Compact(); });
      }
      l.Lock();
      cv_.wait_for(l.native(), std::chrono::milliseconds(o_.poll_ms),
                   [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_.load(); });
    }
  }

  void WorkLoop() {
    core::SetThreadName("etcd-ops");
    Prober p(o_.etcd, [this] { return stopping_.load(); });
    UniqueLock l(&mu_);
    for (;;) {
      cv_.wait(l.native(),
               [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;  // pending tasks are dropped with their callers (shutdown)
      Task t = std::move(tasks_.front());
      tasks_.pop_front();
      l.Unlock();
      t(p);
      l.Lock();
    }
  }

  const EtcdClusterOptions o_;
  const Logger& log_;
  std::atomic<StatePtr> state_;
  std::atomic<StatePtr> last_members_;  // the newest state with a member list (for ?stale)
  std::atomic<bool> known_{false};
  std::function<uint64_t()> now_ms_;         // o_.now_ms or the steady clock; set before threads
  std::atomic<uint64_t> leader_seen_ms_{0};  // when a poll last found a leader (now_ms_)
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_ GUARDED_BY(mu_);
  EtcdConn conn_;           // worker thread only
  int64_t compact_to_ = 0;  // worker thread only: the revision the last compaction pass saw
  std::thread poller_, worker_;
};

}  // namespace
}  // namespace internal

std::unique_ptr<ClusterView> NewEtcdCluster(EtcdClusterOptions o, const Logger& log) {
  return std::make_unique<internal::EtcdClusterView>(std::move(o), log);
}

}  // namespace beacon::kv

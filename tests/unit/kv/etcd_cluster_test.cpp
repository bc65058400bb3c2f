// kv::Store on a real 3-member etcd cluster (127.0.0.1, free ports): writes through the store
// keep succeeding when the etcd leader is killed with SIGKILL (each write is acknowledged once
// a new leader commits it, or fails with a clear error during the election), and every
// acknowledged write is present afterwards, read through a second store on the survivors.
#include <doctest.h>

#include "beacon/core/base64.h"
#include "beacon/kv/cluster.h"
#include "fixtures.h"

using namespace kvtest;

#ifdef BEACON_HAVE_ETCD
TEST_CASE("etcd: 3 members, leader killed mid-stream, no acknowledged write lost") {
  EtcdCluster cluster(3);
  EtcdFx fx(cluster.endpoints());
  Store& s = *fx.s;

  std::vector<std::string> acked;
  int failed = 0;
  std::string last_error;
  auto write = [&](int i) {
    const std::string key = "jepsen/" + std::to_string(i);
    WriteResult r = Set(s, key, "v" + std::to_string(i));
    if (r.ok) {
      acked.push_back(key);
    } else {
      ++failed;
      last_error = r.status.ok() ? "conflict" : r.status.message();
    }
  };
  for (int i = 0; i < 100; ++i) write(i);
  REQUIRE(acked.size() == 100);

  int leader = -1;
  for (int i = 0; i < 50 && leader < 0; ++i) {
    leader = cluster.Leader();
    if (leader < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(leader >= 0);
  cluster.Kill(static_cast<size_t>(leader));
  for (int i = 100; i < 300; ++i) write(i);
  MESSAGE("acknowledged " << acked.size() << " of 300 writes, " << failed
                          << " failed during the election (last: " << last_error << ")");
  CHECK(acked.size() >= 250);  // the election ends; later writes succeed
  // A CAS after the election works on the new leader.
  const uint64_t m = MustGet(s, "jepsen/299").modify_index;
  CHECK(Do(s, {MakeOp(Verb::kCas, "jepsen/299", "cas", m)}).ok);

  // Every acknowledged write is on the surviving members: a fresh store reads them all.
  std::vector<std::string> survivors;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (cluster.alive(i)) survivors.push_back(cluster.endpoints()[i]);
  }
  EtcdFx reader(survivors);
  reader.eo.prefix = fx.eo.prefix;
  reader.Reopen();
  size_t missing = 0;
  for (const std::string& k : acked) missing += Has(*reader.s, k) ? 0 : 1;
  CHECK(missing == 0);
  std::vector<Entry> all;
  reader.s->List("jepsen/", &all);
  CHECK(all.size() >= acked.size());
}
#endif

#ifdef BEACON_HAVE_ETCD
TEST_CASE("etcd: writes sent just after the leader dies are retried on the survivors, not failed") {
  EtcdCluster cluster(3);
  EtcdFx fx(cluster.endpoints());
  fx.eo.request_timeout_ms = 5000;
  fx.Reopen();
  Store& s = *fx.s;
  REQUIRE(Set(s, "warm", "1").ok);
  int leader = -1;
  for (int i = 0; i < 50 && leader < 0; ++i) {
    leader = cluster.Leader();
    if (leader < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(leader >= 0);
  cluster.Kill(static_cast<size_t>(leader));
  // The first of these reach members that still follow the dead leader: etcd holds such a
  // proposal until its own timeout (~7 s), past request_timeout. Each attempt is bounded, so
  // the write moves to the next member and commits once a new leader is elected.
  for (int i = 0; i < 5; ++i) {
    WriteResult r = Set(s, "after/" + std::to_string(i), "v");
    CHECK_MESSAGE(r.ok, "write " << i << ": " << r.status.message());
  }
}
#endif

#ifdef BEACON_HAVE_ETCD
namespace {

// A second store (another agent) on the same etcd and prefix as fx.
std::unique_ptr<Store> Peer(const EtcdFx& fx) {
  auto r = beacon::kv::OpenEtcdStore(fx.eo, fx.log, fx.Opts());
  if (!r.ok()) throw std::runtime_error(r.status().message());
  return std::move(r.value());
}

template <typename Pred>
bool Eventually(Pred pred) {  // polls for up to 30 s (etcd lease expiry is not instant)
  for (int i = 0; i < 600; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace

TEST_CASE("etcd: two agents on one prefix: CAS counter exact, one lock holder, shared reads") {
  EtcdFx fx;
  std::unique_ptr<Store> other = Peer(fx);
  Store* stores[2] = {fx.s.get(), other.get()};
  REQUIRE(Set(*stores[0], "counter", "0").ok);

  // 4 clients (2 per agent) increment a counter with read-CAS loops.
  std::atomic<int> acked{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      Store& s = *stores[c % 2];
      for (int i = 0; i < 25; ++i) {
        for (;;) {
          Entry e;
          if (!s.Get("counter", &e, nullptr)) continue;
          const std::string next = std::to_string(std::stoi(e.value) + 1);
          if (Do(s, {MakeOp(Verb::kCas, "counter", next, e.modify_index)}).ok) break;
        }
        ++acked;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(acked == 100);
  // Each agent reads its watch-fed mirror: the last increment may have gone through the other
  // agent a moment ago, so both are polled (the value itself must be exact).
  for (Store* s : stores) {
    CHECK(Eventually([&] { return Has(*s, "counter") && MustGet(*s, "counter").value == "100"; }));
  }

  // A CAS on one agent with the index another agent's write just returned succeeds at once,
  // even if this agent's watch has not delivered that write yet (failures are checked on etcd).
  for (int i = 0; i < 20; ++i) {
    WriteResult w = Set(*stores[0], "xcas", std::to_string(i));
    REQUIRE(w.ok);
    CHECK(Do(*stores[1], {MakeOp(Verb::kCas, "xcas", "b", w.index)}).ok);
  }

  // A lock taken through one agent cannot be taken through the other.
  const std::string a = NewSession(*stores[0], "n1", Session::Behavior::kRelease, 0, 0);
  const std::string b = NewSession(*stores[1], "n2", Session::Behavior::kRelease, 0, 0);
  REQUIRE(Do(*stores[0], {MakeOp(Verb::kLock, "lock", "a", 0, a)}).ok);
  CHECK_FALSE(Do(*stores[1], {MakeOp(Verb::kLock, "lock", "b", 0, b)}).ok);
  // Destroyed through the other agent: its engine learned the holder from the watch.
  REQUIRE(SessionCall([&](auto cb) { stores[1]->DestroySession(a, cb); }).found);
  CHECK(MustGet(*stores[1], "lock").session.empty());
  CHECK(Do(*stores[1], {MakeOp(Verb::kLock, "lock", "b", 0, b)}).ok);
  CHECK(Eventually([&] { return MustGet(*stores[0], "lock").session == b; }));
}

TEST_CASE("etcd: a TTL session whose agent vanished is invalidated when its lease expires") {
  EtcdFx fx;
  std::unique_ptr<Store> gone = Peer(fx);
  // TTL 1 s: lease 2 s. The agent that created it disappears without destroying it.
  const std::string id = NewSession(*gone, "n1", Session::Behavior::kDelete, 1000, 0);
  REQUIRE_FALSE(id.empty());
  REQUIRE(Do(*gone, {MakeOp(Verb::kLock, "ttl/k", "v", 0, id)}).ok);
  gone.reset();
  REQUIRE(Eventually([&] { return Has(*fx.s, "ttl/k"); }));
  CHECK(Eventually([&] {
    std::vector<Session> out;
    fx.s->SessionInfo(id, &out);
    return out.empty() && !Has(*fx.s, "ttl/k");
  }));
}

TEST_CASE("etcd: https endpoints with a private CA and a client certificate") {
  EtcdCluster cluster(1, /*tls=*/true);
  beacon::Logger log{beacon::LogLevel::kWarn};
  beacon::kv::EtcdOptions eo;
  eo.endpoints = cluster.endpoints();
  REQUIRE(eo.endpoints[0].starts_with("https://"));
  // Without the client certificate (and without trusting the CA) the member refuses us.
  eo.dial_timeout_ms = 1000;
  auto bad = beacon::kv::OpenEtcdStore(eo, log);
  CHECK_FALSE(bad.ok());
  eo.ca_file = cluster.ca();
  eo.cert_file = cluster.client_cert();
  eo.key_file = cluster.client_key();
  auto r = beacon::kv::OpenEtcdStore(eo, log);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  Store& s = *r.value();
  REQUIRE(Set(s, "tls/k", "secret").ok);
  CHECK(MustGet(s, "tls/k").value == "secret");
  const std::string id = NewSession(s, "n1", Session::Behavior::kRelease, 10000);
  CHECK(Do(s, {MakeOp(Verb::kLock, "tls/lock", "v", 0, id)}).ok);
}
TEST_CASE("etcd: the agent compacts etcd's history, one interval behind; KV keeps working") {
  EtcdFx fx;
  Store& s = *fx.s;
  for (int i = 0; i < 20; ++i) REQUIRE(Set(s, "hist/" + std::to_string(i), "v").ok);
  // A range at an old revision answers until etcd's history before it is compacted away.
  beacon::http::ClientOptions co;
  co.address = fx.eo.endpoints[0];
  co.timeout_ms = 2000;
  beacon::http::HttpClient c(co);
  auto at = [&](int64_t rev) {
    const std::string body = "{\"key\":\"" + beacon::core::Base64Encode(fx.eo.prefix + "m/kv") +
                             "\",\"revision\":\"" + std::to_string(rev) + "\"}";
    auto r = c.Do("POST", "/v3/kv/range", body);
    REQUIRE(r.ok());
    return r.value();
  };
  REQUIRE(at(2).status == 200);

  beacon::kv::EtcdClusterOptions o;
  o.etcd = fx.eo;
  o.poll_ms = 100;
  o.compact_ms = 300;
  auto view = beacon::kv::NewEtcdCluster(o, fx.log);
  // The first pass only notes the revision; the second compacts up to it.
  CHECK(Eventually([&] {
    const auto r = at(2);
    return r.status != 200 && r.body.find("compacted") != std::string::npos;
  }));
  // The store's mirror, its watch and a fresh store's full read are untouched by it.
  REQUIRE(Set(s, "hist/after", "w").ok);
  CHECK(MustGet(s, "hist/after").value == "w");
  std::unique_ptr<Store> peer = Peer(fx);
  CHECK(MustGet(*peer, "hist/7").value == "v");
  CHECK(MustGet(*peer, "hist/after").value == "w");
  REQUIRE(Set(*peer, "hist/peer", "p").ok);
  CHECK(Eventually([&] { return Has(s, "hist/peer"); }));
}

TEST_CASE(
    "etcd at its default --max-txn-ops (128): sessions die in groups; oversize writes say why") {
  EtcdCluster cluster(1, /*tls=*/false, /*max_txn_ops=*/0);
  EtcdFx fx(cluster.endpoints());
  Store& s = *fx.s;
  // 40 TTL sessions with a lock each: invalidating them in one txn would take ~160 operations.
  std::vector<std::string> small;
  for (int i = 0; i < 40; ++i) {
    small.push_back(NewSession(s, "n1", Session::Behavior::kDelete, 10000, 0));
    REQUIRE_FALSE(small.back().empty());
    REQUIRE(Do(s, {MakeOp(Verb::kLock, "exp/" + std::to_string(i), "v", 0, small.back())}).ok);
  }
  // One session holding 70 keys cannot be invalidated in any txn etcd accepts (Behavior delete:
  // a delete and a tombstone per key).
  const std::string big = NewSession(s, "n1", Session::Behavior::kDelete, 10000, 0);
  for (int i = 0; i < 70; ++i) {
    REQUIRE(Do(s, {MakeOp(Verb::kLock, "big/" + std::to_string(i), "v", 0, big)}).ok);
  }
  // Far past every TTL: the 40 expire (their keys go, Behavior delete); the big one is skipped
  // instead of holding them up, and stays as it was.
  CHECK(Expire(s, UINT64_MAX / 4) == 40);
  std::vector<Session> left;
  s.Sessions(&left);
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == big);
  std::vector<Entry> keys;
  s.List("exp/", &keys);
  CHECK(keys.empty());
  CHECK(MustGet(s, "big/69").session == big);

  // A delete-tree over the 70 keys is refused with the reason and what to change.
  WriteResult r = Do(s, {MakeOp(Verb::kDeleteTree, "big/")});
  CHECK_FALSE(r.ok);
  CHECK(r.status.message().find("raise --max-txn-ops") != std::string::npos);
  CHECK(Has(s, "big/0"));
  // Smaller trees go through.
  REQUIRE(Do(s, {MakeOp(Verb::kSet, "tree/a", "1")}).ok);
  REQUIRE(Do(s, {MakeOp(Verb::kSet, "tree/b", "2")}).ok);
  CHECK(Do(s, {MakeOp(Verb::kDeleteTree, "tree/")}).ok);
  CHECK_FALSE(Has(s, "tree/a"));
}

TEST_CASE("etcd: a lock-delay started by an invalidation on one agent holds on the others") {
  EtcdFx fx;
  std::unique_ptr<Store> other = Peer(fx);  // same etcd prefix, same fake clock
  Store& a = *fx.s;
  const std::string holder = NewSession(a, "n1", Session::Behavior::kRelease, 0, 15000);
  REQUIRE(Do(a, {MakeOp(Verb::kLock, "ld/k", "v", 0, holder)}).ok);
  const std::string rival = NewSession(*other, "n1", Session::Behavior::kRelease, 0, 0);
  REQUIRE(Eventually([&] { return MustGet(*other, "ld/k").session == holder; }));
  REQUIRE(SessionCall([&](auto cb) { a.DestroySession(holder, cb); }).found);
  REQUIRE(Eventually([&] { return MustGet(*other, "ld/k").session.empty(); }));
  // Within the 15 s on the shared clock: refused on the other agent as on this one.
  CHECK_FALSE(Do(*other, {MakeOp(Verb::kLock, "ld/k", "w", 0, rival)}).ok);
  CHECK_FALSE(Do(a, {MakeOp(Verb::kLock, "ld/k", "w", 0, rival)}).ok);
  // A release by the holder itself starts no delay (Consul's rule), on either agent.
  const std::string h2 = NewSession(a, "n1", Session::Behavior::kRelease, 0, 15000);
  REQUIRE(Do(a, {MakeOp(Verb::kLock, "ld/free", "v", 0, h2)}).ok);
  REQUIRE(Do(a, {MakeOp(Verb::kUnlock, "ld/free", "", 0, h2)}).ok);
  REQUIRE(Eventually([&] { return Has(*other, "ld/free"); }));
  CHECK(Do(*other, {MakeOp(Verb::kLock, "ld/free", "w", 0, rival)}).ok);
  // Once the delay has passed, the key can be taken.
  fx.clock->fetch_add(15001);
  CHECK(Do(*other, {MakeOp(Verb::kLock, "ld/k", "w", 0, rival)}).ok);
  // `a` learns of the other agent's write through its watch.
  CHECK(Eventually([&] { return MustGet(a, "ld/k").session == rival; }));
}
#endif

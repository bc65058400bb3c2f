// kv::Store on a real 3-member etcd cluster (127.0.0.1, free ports): writes through the store
// keep succeeding when the etcd leader is killed with SIGKILL (each write is acknowledged once
// a new leader commits it, or fails with a clear error during the election), and every
// acknowledged write is present afterwards, read through a second store on the survivors.
#include <doctest.h>

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

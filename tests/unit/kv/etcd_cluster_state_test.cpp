// The etcd cluster view's pure part (src/kv/etcd_cluster_state.h): gateway answers as etcd 3.4
// sends them, who leads, Consul's shapes, remove-peer lookup, info fields.
#include <doctest/doctest.h>

#include "../../../src/kv/etcd_cluster_state.h"

using namespace beacon::kv;
using namespace beacon::kv::internal;

namespace {

// etcd 3.4's maintenance/status as its gateway encodes it (uint64s as strings).
std::string StatusBody(uint64_t member, uint64_t leader, uint64_t term, uint64_t rev) {
  std::string l = leader != 0 ? "\"leader\":\"" + std::to_string(leader) + "\"," : "";
  return "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"" + std::to_string(member) +
         "\",\"revision\":\"" + std::to_string(rev) + "\",\"raft_term\":\"" + std::to_string(term) +
         "\"},\"version\":\"3.4.23\",\"dbSize\":\"20480\"," + l + "\"raftIndex\":\"" +
         std::to_string(rev + 4) + "\",\"raftTerm\":\"" + std::to_string(term) +
         "\",\"raftAppliedIndex\":\"9\",\"dbSizeInUse\":\"20480\"}";
}

EtcdMemberStatus Status(uint64_t member, uint64_t leader, uint64_t term, uint64_t rev = 7) {
  EtcdMemberStatus st;
  st.endpoint = "http://127.0.0.1:" + std::to_string(2379 + member);
  std::string err;
  st.reachable = ParseMemberStatus(StatusBody(member, leader, term, rev), &st, &err);
  REQUIRE_MESSAGE(st.reachable, err);
  return st;
}

EtcdMemberStatus Down() {
  EtcdMemberStatus st;
  st.endpoint = "http://127.0.0.1:9";
  st.error = "connection refused";
  return st;
}

const char* kMembers =
    R"({"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"members":[)"
    R"({"ID":"2","name":"m2","peerURLs":["http://127.0.0.3:2380"],"clientURLs":["http://127.0.0.3:2379"]},)"
    R"({"ID":"1","name":"m1","peerURLs":["http://127.0.0.2:2380/"],"clientURLs":["http://127.0.0.2:2379"]},)"
    R"({"ID":"3","name":"m3","peerURLs":["https://127.0.0.4:2380"],"isLearner":true}]})";

EtcdClusterState Cluster(std::vector<EtcdMemberStatus> statuses) {
  EtcdClusterState s;
  std::string err;
  REQUIRE(ParseMemberList(kMembers, &s.members, &err));
  s.statuses = std::move(statuses);
  Summarize(&s);
  return s;
}

}  // namespace

TEST_CASE("etcd cluster: gateway bodies parse; errors and garbage are refused") {
  EtcdMemberStatus st;
  std::string err;
  REQUIRE(ParseMemberStatus(StatusBody(13668033151171901709ULL, 5, 2, 901), &st, &err));
  CHECK(st.member_id == 13668033151171901709ULL);
  CHECK(st.leader == 5);
  CHECK(st.raft_term == 2);
  CHECK(st.revision == 901);
  CHECK(st.raft_index == 905);
  CHECK(st.db_size == 20480);
  CHECK(st.version == "3.4.23");
  CHECK_FALSE(ParseMemberStatus(R"({"error":"etcdserver: no leader","code":14})", &st, &err));
  CHECK(err == "etcdserver: no leader");
  CHECK_FALSE(ParseMemberStatus("not json", &st, &err));
  std::vector<EtcdMember> ms;
  REQUIRE(ParseMemberList(kMembers, &ms, &err));
  REQUIRE(ms.size() == 3);
  CHECK(ms[0].name == "m1");  // sorted by name
  CHECK(ms[2].learner);
  REQUIRE(ParseMemberList(R"({"header":{}})", &ms, &err));
  CHECK(ms.empty());
}

TEST_CASE("etcd cluster: the leader is the one that says so, at the newest term") {
  SUBCASE("all agree") {
    EtcdClusterState s = Cluster({Status(1, 2, 4), Status(2, 2, 4, 9), Status(3, 2, 4)});
    CHECK(s.leader == 2);
    CHECK(s.raft_term == 4);
    CHECK(s.revision == 9);  // the leader's own status
    CHECK(LeaderAddress(s) == "127.0.0.3:2380");
  }
  SUBCASE("a stale partitioned ex-leader loses to the new one at a higher term") {
    EtcdClusterState s = Cluster({Status(1, 1, 3), Status(2, 2, 4)});
    CHECK(s.leader == 2);
  }
  SUBCASE("leader unreachable: the followers' word at the newest term") {
    EtcdClusterState s = Cluster({Status(1, 2, 4), Down(), Status(3, 2, 4)});
    CHECK(s.leader == 2);
  }
  SUBCASE("no quorum: the survivor knows no leader") {
    EtcdClusterState s = Cluster({Status(1, 0, 6), Down(), Down()});
    CHECK(s.leader == 0);
    CHECK(LeaderAddress(s).empty());
    CHECK(InfoFields(s, {"a", "b", "c"})["known_leader"] == "false");
    CHECK(InfoFields(s, {"a", "b", "c"})["endpoints_reachable"] == "1/3");
  }
  SUBCASE("nothing reachable") {
    EtcdClusterState s = Cluster({Down(), Down()});
    CHECK(s.leader == 0);
    CHECK(s.revision == 0);
  }
}

TEST_CASE("etcd cluster: Consul's raft configuration and peers from the member list") {
  EtcdClusterState s = Cluster({Status(1, 1, 2, 40)});
  RaftConfiguration c = ToConfiguration(s);
  CHECK(c.index == 44);
  REQUIRE(c.servers.size() == 3);
  CHECK(c.servers[0].node == "m1");
  CHECK(c.servers[0].id == "1");
  CHECK(c.servers[0].address == "127.0.0.2:2380");
  CHECK(c.servers[0].leader);
  CHECK_FALSE(c.servers[1].leader);
  CHECK_FALSE(c.servers[2].voter);  // a learner
  // Learners are not peers (Consul's /v1/status/peers lists voters).
  CHECK(PeerAddresses(s) == std::vector<std::string>{"127.0.0.2:2380", "127.0.0.3:2380"});
  CHECK(MemberIdHex(13668033151171901709ULL) == "bdae9bbc11dd390d");
  auto info = InfoFields(s, {"http://127.0.0.2:2379"});
  CHECK(info["backend"] == "etcd");
  CHECK(info["leader"] == "m1 (127.0.0.2:2380)");
  CHECK(info["revision"] == "40");
  CHECK(info["members"] == "3");
}

TEST_CASE("etcd cluster: remove-peer finds a member by peer or client address, or by id") {
  std::vector<EtcdMember> ms;
  REQUIRE(ParseMemberList(kMembers, &ms, nullptr));
  CHECK(FindMember(ms, "127.0.0.3:2380", "").value() == 2);
  CHECK(FindMember(ms, "http://127.0.0.2:2379", "").value() == 1);
  CHECK(FindMember(ms, "", "3").value() == 3);
  ms[0].id = 0xbdae9bbc11dd390dULL;
  CHECK(FindMember(ms, "", "bdae9bbc11dd390d").value() == 0xbdae9bbc11dd390dULL);
  CHECK(FindMember(ms, "", "13668033151171901709").value() == 0xbdae9bbc11dd390dULL);
  CHECK(FindMember(ms, "10.0.0.1:8300", "").status().message() ==
        "address \"10.0.0.1:8300\" was not found in the Raft configuration");
  CHECK(FindMember(ms, "", "ff").status().message() ==
        "id \"ff\" was not found in the Raft configuration");
  CHECK_FALSE(FindMember(ms, "", "").ok());
  CHECK(FindMember(ms, "a:1", "1").status().message() ==
        "Must specify only one of ?id or ?address");
}

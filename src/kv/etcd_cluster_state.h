// Internal: what the etcd cluster view knows, and the pure functions that build it from the v3
// gateway's answers (maintenance/status, cluster/member/list). See include/beacon/kv/cluster.h.
//
// Contract: plain values and pure functions, any thread. uint64 fields (IDs) arrive as JSON
// strings from the gateway; omitted fields are zero/false.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/kv/cluster.h"

namespace beacon::kv::internal {

struct EtcdMemberStatus {
  std::string endpoint;  // the client URL asked
  bool reachable = false;
  std::string error;  // when not reachable
  uint64_t member_id = 0, leader = 0, raft_term = 0, raft_index = 0;
  int64_t revision = 0, db_size = 0;
  bool learner = false;
  std::string version;
};

struct EtcdMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls, client_urls;
  bool learner = false;
};

// One poll's result, published whole.
struct EtcdClusterState {
  std::vector<EtcdMember> members;  // empty when no member answered the list
  std::vector<EtcdMemberStatus> statuses;
  uint64_t leader = 0;  // 0: no known leader
  uint64_t raft_term = 0, raft_index = 0;
  int64_t revision = 0, db_size = 0;
};

bool ParseMemberStatus(std::string_view body, EtcdMemberStatus* st, std::string* err);
bool ParseMemberList(std::string_view body, std::vector<EtcdMember>* out, std::string* err);

// Fills leader/raft_term/raft_index/revision/db_size from statuses: the leader is a reachable
// member that reports itself as leader (the newest term wins), else the leader followers report
// at the newest term, else 0. raft_term is the highest seen;
// revision, index and db size from the leader's status (else the freshest reachable one).
void Summarize(EtcdClusterState* s);

// "http://127.0.0.1:2380" -> "127.0.0.1:2380"; trailing '/' dropped.
std::string HostPort(std::string_view url);
// etcdctl's form: lower-case hex, no padding.
std::string MemberIdHex(uint64_t id);
// The member's Raft address (first peer URL as host:port; "" when none).
std::string MemberAddress(const EtcdMember& m);

RaftConfiguration ToConfiguration(const EtcdClusterState& s);
std::vector<std::string> PeerAddresses(const EtcdClusterState& s);
std::string LeaderAddress(const EtcdClusterState& s);

// The member to remove: `address` matches a peer or client URL's host:port, `id` the hex ID
// (etcdctl's form) or its decimal form. Errors with Consul's texts; exactly one of the two.
Result<uint64_t> FindMember(const std::vector<EtcdMember>& members, std::string_view address,
                            std::string_view id);

// `beacon info`'s kv section for the etcd backend.
std::map<std::string, std::string> InfoFields(const EtcdClusterState& s,
                                              const std::vector<std::string>& endpoints);

}  // namespace beacon::kv::internal

// The consensus behind a server's KV store, as Consul's status and operator endpoints show it
// (/v1/status/leader|peers, /v1/operator/raft/*, X-Consul-KnownLeader, ?consistent, `info`).
//
// Contract:
// - Embedded backend (NewLocalCluster): one server, this agent, always the leader; the barrier
//   and the configuration answer at once; RemovePeer refuses (the only server cannot go).
// - etcd backend (NewEtcdCluster): a poller thread asks every configured endpoint for
//   /v3/maintenance/status (and one for /v3/cluster/member/list) every poll_ms and publishes
//   the result; KnownLeader/Leader/Peers/Info read that last result (any thread, no lock, no
//   etcd round trip). The leader is the one reported at the highest raft term seen among the
//   reachable members; a member with no leader (no quorum: etcd's CheckQuorum demotes a leader
//   that lost it within an election timeout) reports none. Addresses are the members' first
//   peer URL as host:port (the Raft transport, as Consul's server addresses are).
//   Configuration, RemovePeer and Barrier run on a worker thread (done is called there).
//   LastContactMs counts from the last poll that found a leader (from the start until one has).
// - Barrier: a linearizable read of the store's m/ keys (it needs an etcd quorum); done gets
//   the KvIndex/SessionsIndex the local mirror must reach before a ?consistent read answers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/kv/etcd.h"

namespace beacon::kv {

// One entry of Consul's RaftConfigurationResponse.Servers.
struct RaftServer {
  std::string id;       // etcd member ID (16 hex digits, as etcdctl prints it); the node ID
  std::string node;     // etcd member name; the node name
  std::string address;  // host:port of the Raft transport (etcd: first peer URL)
  bool leader = false;
  bool voter = true;  // etcd learners are not voters
};

struct RaftConfiguration {
  std::vector<RaftServer> servers;
  uint64_t index = 0;  // etcd: the raft index of the member that answered
};

// What a ?consistent read waits for: the mirror's indexes at a linearizable point.
struct BarrierPoint {
  uint64_t kv_index = 0;
  uint64_t sessions_index = 0;
};

class ClusterView {
 public:
  virtual ~ClusterView() = default;

  // Any thread, never blocks.
  virtual bool KnownLeader() const = 0;
  virtual std::string Leader() const = 0;                       // host:port, "" with no leader
  virtual std::vector<std::string> Peers() const = 0;           // host:port of every voter
  virtual std::map<std::string, std::string> Info() const = 0;  // `beacon info`'s kv section
  // X-Consul-LastContact: milliseconds since a poll last found a leader; 0 while one is known
  // (and always on the embedded backend, where this server is the leader).
  virtual uint64_t LastContactMs() const { return 0; }

  // Asynchronous; `done` runs once, on the view's worker thread (or at once when local). stale
  // (?stale, list-peers -stale): when no member answers, the membership the last successful
  // poll saw (no leader marked) instead of an error, as Consul answers -stale from a server's
  // local configuration during an outage.
  virtual void Configuration(bool stale, std::function<void(Result<RaftConfiguration>)> done) = 0;
  // Exactly one of address (host:port, a peer or client URL's) or id. Errors carry Consul's
  // texts: `address "x" was not found in the Raft configuration` (or `id "x" ...`).
  virtual void RemovePeer(std::string address, std::string id,
                          std::function<void(Status)> done) = 0;
  virtual void Barrier(std::function<void(Result<BarrierPoint>)> done) = 0;
};

struct LocalClusterOptions {
  std::string node_name, node_id;
  std::string address;              // advertise_addr:server port
  std::string storage;              // "lmdb" | "memory"
  std::function<uint64_t()> index;  // the store's Index() (info's revision)
};
std::unique_ptr<ClusterView> NewLocalCluster(LocalClusterOptions o);

struct EtcdClusterOptions {
  EtcdOptions etcd;
  int64_t poll_ms = 1000;
  // > 0: every compact_ms (counted in poll ticks) the worker compacts etcd's history up to the
  // revision it saw on the previous pass, so etcd's database stops growing with every write
  // (it would fill etcd's space quota, after which etcd refuses every write). Several agents
  // compacting the same cluster is harmless: a revision already compacted is skipped.
  int64_t compact_ms = 0;
  std::function<uint64_t()> now_ms;  // steady milliseconds (LastContactMs); null: steady_clock
};
// Starts the poller and the worker; the destructor stops and joins them.
std::unique_ptr<ClusterView> NewEtcdCluster(EtcdClusterOptions o, const Logger& log);

}  // namespace beacon::kv

// Agent: wires config, catalog and the DNS server together and runs the control loop.
//
// Contract:
// - Constructed and run on the main thread. Run() blocks until SIGINT/SIGTERM (graceful stop) and
//   handles SIGHUP as a reload: the config is read again from the same command line; a bad
//   config is logged with its reason and the running config is kept.
// - The catalog Writer lives on this thread only: config loads and reloads are applied here and
//   published as new snapshots.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>

#include "beacon/agent/local_agent.h"
#include "beacon/api/coordinate_api.h"
#include "beacon/catalog/commands.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/config/config.h"
#include "beacon/core/clock.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/gossip/user_event.h"
#include "beacon/health/runner.h"
#include "beacon/http/forwarder.h"
#include "beacon/http/server.h"
#include "beacon/kv/cluster.h"
#include "beacon/kv/etcd.h"
#include "beacon/kv/store.h"
#include "beacon/net/dns_server.h"

namespace beacon::http {
struct SnapshotApiOptions;  // beacon/api/snapshot_api.h
}  // namespace beacon::http

namespace beacon::agent {

class HealthSync;      // beacon/agent/health_sync.h
class Cluster;         // beacon/agent/cluster.h
class EtcdSupervisor;  // beacon/agent/etcd_supervisor.h
struct EtcdSupervisorOptions;
struct EtcdPeer;
class Persister;    // beacon/agent/persister.h
class QueryMirror;  // beacon/agent/query_mirror.h

class SessionNodes;  // agent_sessions.h
class ServerQuorum;  // agent_sessions.h

class Agent {
 public:
  Agent(config::CommandLine cl, config::AgentConfig cfg, const Logger& log);
  ~Agent();

  // Loads the catalog (self node, config services and checks, catalog seed), publishes the first
  // snapshot and binds the listeners. Errors name what failed.
  Status Start();
  // Blocks until a stop signal. Returns the process exit code.
  int Run();
  // Re-reads the configuration (SIGHUP, PUT /v1/agent/reload) and applies it as a diff (see
  // agent/config_diff.h): what did not change is not touched, and a no-op reload publishes
  // nothing. On error (file:line: key: reason, also logged) the old config stays live entirely.
  Status Reload();

  int dns_port() const { return dns_ ? dns_->port() : 0; }
  int http_port() const { return http_ ? http_->port() : 0; }
  // Any thread: queue a catalog change value; the writer applies it on the agent's loop and it is
  // published within about 2 ms (publishes are coalesced). An error is logged.
  void Submit(catalog::Change change);
  // Any thread: queue a command (a change that must first look at the staged catalog, such as
  // the agent API's validated writes); it runs on the agent's loop. `published` (optional) runs
  // on the agent's loop once a snapshot containing the change is out (or at once when it changed
  // nothing).
  void Submit(catalog::CommandQueue::Command c, std::function<void()> published = {});
  // Agent loop only: runs queued commands and publishes (coalesced). Called from the loop.
  void DrainCommands();
  // Agent loop, once a second: TTL expiry of sessions (and, later, checks).
  void Tick();
  // One log line with the DNS counters (queries, NXDOMAIN, malformed drops, ...).
  void LogDnsStats(LogLevel level) const;

 private:
  void ApplyLocal(const config::AgentConfig& cfg, const config::AgentConfig* old);
  // Publishes, then runs the `published` callbacks, wakes blocking queries and lets sessions
  // whose node or checks are gone lapse.
  void PublishNow(bool force = false);
  // Sessions whose node or checks are gone or critical are destroyed (agent_sessions.cpp).
  void InvalidateLapsedSessions();
  void DrainCommandsOnly();  // applies what producers queued, without publishing
  // /v1/event/fire (HTTP loop thread): validates, names and delivers a user event. Today only
  // to this agent (when its filters match it); gossip will spread it (issue 8).
  Status FireEvent(gossip::UserEvent* e);
  void RunPublished();
  // start_unreachable: an etcd store opens even when no member answers (EtcdOptions); false
  // for the supervised start, which waits for its cluster's quorum before serving HTTP.
  Status OpenKv(bool start_unreachable = true);
  // The KV backend's cluster view (agent_kv_cluster.cpp): the etcd members, or this server.
  std::unique_ptr<kv::ClusterView> NewKvCluster() const;
  // The etcd client options of kv_backend etcd (cfg_.etcd; endpoints final after
  // StartSupervisedEtcd).
  kv::EtcdOptions EtcdStoreOptions(bool start_unreachable) const;
  // -etcd-supervise (agent_etcd.cpp): after StartCluster, bootstraps or rejoins the local etcd
  // member (waiting for bootstrap_expect supervised servers on a first start), then OpenKv.
  Status StartSupervisedEtcd();
  // A first start of a supervised member when the other servers' members already run: adds
  // this member to their cluster and fills *o (join) and *clients (kJoined). kNone: nothing
  // runs yet, or this member is in the cluster's first configuration (bootstrap with the
  // others); kWait: a cluster runs but refused the member for now (never bootstrap then).
  enum class EtcdJoinState { kNone, kJoined, kWait };
  EtcdJoinState JoinRunningEtcd(const std::vector<EtcdPeer>& peers, const std::string& own_peer,
                                EtcdSupervisorOptions* o, std::vector<std::string>* clients);
  // After a graceful leave: removes this member from the etcd cluster, stops it and deletes its
  // data, so a later start joins afresh (a failed removal keeps everything and says so).
  void LeaveSupervisedEtcd();
  // Starts gossip on the Serf LAN port (unless it is -1) and joins -join addresses.
  Status StartCluster();
  // Any thread: stops Run() with `code` (a fatal gossip error, or after a graceful leave).
  void RequestStop(int code);
  void BuildHttp();
  // Prepared queries (agent_queries.cpp): a server loads its file into the catalog before the
  // first publish; AddQueryApi registers /v1/query (a client: execute/explain here, the rest
  // forwarded) and starts a client's mirror of the servers' set; on a server it also connects
  // the set to /v1/snapshot (`snap`'s prepared-query hooks).
  Status LoadQueries();
  void AddQueryApi(http::Router& router, http::SnapshotApiOptions* snap);
  // Servers on etcd, once the HTTP server runs: starts watching the shared set.
  void StartSharedQueries();
  // After a publish (and once a second): hands health_ the runnable checks of what changed on
  // this node (all of them when the script policy changed), through health_sync_.
  void SyncHealth();

  core::RealClock clock_;  // first: outlives the store threads that read it (SessionNodes)
  config::CommandLine cl_;
  config::AgentConfig cfg_;
  const Logger& log_;
  catalog::SnapshotHub hub_;
  http::CoordinateStore coordinates_;  // network coordinates (Cluster publishes, HTTP reads)
  std::unique_ptr<catalog::Writer> writer_;
  catalog::CommandQueue commands_;
  static constexpr uint64_t kPublishEveryMs = 2;
  uint64_t last_publish_ms_ = 0;
  uv_timer_t* publish_timer_ = nullptr;           // valid while Run() runs
  std::vector<std::function<void()>> published_;  // agent loop only: waiting for the next publish
  std::atomic<bool> left_{false};  // a graceful leave (the member leaves etcd too); any thread
  std::unique_ptr<EtcdSupervisor> etcd_;  // -etcd-supervise: the local etcd member (child)
  std::unique_ptr<kv::Store> kv_;
  std::unique_ptr<kv::ClusterView> kv_cluster_;  // status, operator raft, ?consistent, info
  std::shared_ptr<SessionNodes> session_nodes_;  // etcd backend only (agent_sessions.h)
  // Fed by gossip; gates session invalidation on etcd (agent_sessions.h).
  std::shared_ptr<ServerQuorum> server_quorum_;
  std::unique_ptr<LocalAgent> local_;  // services and checks registered over /v1/agent // in memory
                                       // with -dev, else LMDB in <data_dir>/kv
  std::unique_ptr<net::DnsServer> dns_;
  std::unique_ptr<http::Forwarder> forwarder_;  // client agents: KV/session/txn go to a server
  std::unique_ptr<http::HttpServer> http_;
  // Runs this node's script/HTTP/TCP/UDP/alias checks; results come back through Submit.
  std::unique_ptr<health::Runner> health_;
  std::unique_ptr<HealthSync> health_sync_;  // agent loop only
  std::unique_ptr<Cluster> cluster_;         // gossip; null when serf_lan port is -1
  // Prepared queries: a server's file writes (off the loop threads), a client's mirror.
  std::unique_ptr<Persister> query_persister_;
  std::unique_ptr<QueryMirror> query_mirror_;
  // Servers on etcd: the shared prepared-query set (its watch posts to http_).
  std::unique_ptr<kv::EtcdValue> query_value_;
  // Servers: deletes the prepared queries whose session is gone (set while the HTTP routes are
  // built, before the KV store's OnCommit starts calling it).
  std::function<void()> drop_orphan_queries_;
  std::vector<catalog::PreparedQuery> loaded_queries_;  // Start() to BuildHttp() only
  uint64_t loaded_query_index_ = 1;
  int exit_code_ = 0;           // agent loop only
  gossip::EventBuffer events_;  // the recent user events (thread-safe)
  std::mt19937_64 event_ids_;   // HTTP loop thread only (FireEvent)
};

}  // namespace beacon::agent

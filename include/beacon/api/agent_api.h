// The agent-local endpoints /v1/agent/* (spec 2.6) and the interface they drive.
//
// Contract:
// - AddAgentRoutes registers on `router`: GET /v1/agent/{self,members,services,service/<id>,
//   checks,metrics}; PUT /v1/agent/{service/register,service/deregister/<id>,check/register,
//   check/deregister/<id>,check/pass|warn|fail/<id>,check/update/<id>,maintenance,
//   service/maintenance/<id>,reload}. GET is also accepted on service/deregister/ and
//   check/{pass,warn,fail,deregister}/ (Debian's python-consul 0.7.1 sends GET there, spec 0.3).
// - None of these answers carries index headers (spec 2.6). Writes answer 200 with an empty body
//   once `done` is called (the change is then visible to catalog/health readers and DNS);
//   errors are text/plain with Consul's wording and status (400 bad body or parameter, 404
//   unknown id, 500 otherwise), and then nothing was changed.
// - Write handlers parse and validate the request on the HTTP loop thread, then call the
//   AgentApi method and answer through Response::Defer() when its `done` runs (any thread).
// - `api` must outlive the server the router is given to; its methods are called from the HTTP
//   loop thread and must not block on I/O that other requests wait for longer than a commit.
// - GET /v1/agent/metrics: Consul's JSON summary ({Timestamp, Gauges, Points, Counters,
//   Samples}); with ?format=prometheus the Prometheus text format 0.0.4 with counter, gauge and
//   histogram types (core/metrics.h), served whether or not telemetry.prometheus_retention_time
//   is set (Consul refuses it without one); any other format is 400.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "beacon/catalog/types.h"
#include "beacon/config/api_bodies.h"
#include "beacon/core/metrics.h"
#include "beacon/http/server.h"

namespace beacon::http {

// The outcome of an agent write: code 200, or an HTTP error code with Consul's message.
struct AgentStatus {
  int code = 200;
  std::string message;

  bool ok() const { return code == 200; }
  static AgentStatus Ok() { return {}; }
  static AgentStatus Error(int c, std::string msg) { return {c, std::move(msg)}; }
};
using AgentDone = std::function<void(AgentStatus)>;

// What /v1/agent/self and /v1/agent/members show about this agent.
struct AgentSelf {
  std::string node_name;
  std::string node_id;
  std::string datacenter;
  std::string address;  // advertise address (Member.Addr)
  bool server = false;
  int serf_lan_port = 8301;
  int server_port = 8300;
  int bootstrap_expect = 0;
  std::map<std::string, std::string> meta;  // node meta
};

// One metric for /v1/agent/metrics (core/metrics.h).
using Metric = metrics::Metric;

// Implemented by agent::LocalAgent. Reads return the agent's local view (this node's services
// and checks); writes change it and call `done` exactly once, from any thread.
class AgentApi {
 public:
  virtual ~AgentApi() = default;

  virtual AgentSelf Self() const = 0;
  // Services on this node (config-file and API-registered), by ID.
  virtual std::vector<catalog::Service> Services() const = 0;
  // Checks on this node, node-level and service checks (service_name filled).
  virtual std::vector<catalog::Check> Checks() const = 0;
  virtual std::vector<Metric> Metrics() const = 0;
  // Seconds since the agent started (the JSON summary's rates).
  virtual double UptimeSeconds() const { return 0; }

  virtual void RegisterService(config::ServiceBody body, bool replace_existing_checks,
                               AgentDone done) = 0;
  virtual void DeregisterService(std::string id, AgentDone done) = 0;
  virtual void RegisterCheck(config::CheckBody body, AgentDone done) = 0;
  virtual void DeregisterCheck(std::string id, AgentDone done) = 0;
  // pass/warn/fail/update of a TTL check.
  virtual void UpdateTtlCheck(std::string id, catalog::Health status, std::string output,
                              AgentDone done) = 0;
  virtual void NodeMaintenance(bool enable, std::string reason, AgentDone done) = 0;
  virtual void ServiceMaintenance(std::string id, bool enable, std::string reason,
                                  AgentDone done) = 0;
  virtual void Reload(AgentDone done) = 0;
};

// One gossip member as /v1/agent/members shows it (Consul's serf.Member).
struct ClusterMember {
  std::string name;
  std::string addr;
  uint16_t port = 0;
  std::map<std::string, std::string> tags;
  int status = 1;  // 1 alive, 2 leaving, 3 left, 4 failed
  uint8_t protocol_min = 1, protocol_max = 5, protocol_cur = 2;
  uint8_t delegate_min = 2, delegate_max = 5, delegate_cur = 4;
};

// Implemented by agent::Cluster (gossip). Members(): any thread, a consistent copy. Join, Leave
// and ForceLeave call `done` exactly once, from any thread; errors are 500 with the reason.
class ClusterApi {
 public:
  virtual ~ClusterApi() = default;
  virtual std::vector<ClusterMember> Members() const = 0;
  // Joins through each address (host or host:port); ok when at least one answered.
  virtual void Join(std::vector<std::string> addrs, AgentDone done) = 0;
  // Graceful leave; the agent shuts down after `done`.
  virtual void Leave(AgentDone done) = 0;
  virtual void ForceLeave(std::string node, bool prune, AgentDone done) = 0;
};

// The Serf tags this agent gossips (Consul's LAN tag names and values); /v1/agent/self's Member
// shows the same.
std::map<std::string, std::string> LanTags(const AgentSelf& self);

// With a cluster, /v1/agent/members lists its members and /v1/agent/{join/<addr>,leave,
// force-leave/<node>} act on it (GET accepted on join and force-leave, spec 0.3); without one,
// members lists this agent alone and the three answer 500 "gossip is not enabled".
// kv_stats (optional, loop thread, must not block) fills /v1/agent/self's Stats.kv section
// (`beacon info`): the KV backend and its health.
void AddAgentRoutes(Router& router, AgentApi& api, ClusterApi* cluster = nullptr,
                    const std::function<std::map<std::string, std::string>()>& kv_stats = {});

}  // namespace beacon::http

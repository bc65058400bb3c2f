// EtcdSupervisor: a server agent's local etcd member (Debian's etcd-server 3.4), run as its child
// with -etcd-supervise (issue 10, scope 2).
//
// Contract:
// - Start() checks the binary and starts a thread ("beacon-etcd") that owns the child: it forks
//   and execs etcd with the options' flags (zap JSON logs on stderr), and restarts it when it
//   exits by itself, after a backoff (0.5 s doubling to 30 s, back to 0.5 s once a run lasted
//   30 s); every start and exit is one log line (module "etcd").
// - Each line etcd writes on stderr is one log line at etcd's level (debug, info, warn, error;
//   panic/fatal as error): its msg, then its other fields as key=value. Other lines: warn.
// - Stop() (idempotent; the destructor calls it): SIGTERM, SIGKILL after stop_timeout_ms, the
//   child is always reaped, then the thread is joined. The child also gets SIGTERM from the
//   kernel (PR_SET_PDEATHSIG) when the agent dies without stopping it (kill -9).
// - pid(): the running child's pid, 0 between runs. Any thread.
//
// The agent side (agent_etcd.cpp): the gossip tags etcd_peer / etcd_client carry each supervised
// server's URLs; the first start (no <data_dir>/etcd/member yet) waits until bootstrap_expect
// such servers are alive and bootstraps them as the initial cluster; a restart with existing
// data just runs etcd (it rejoins from its data). The members' client URLs are kept in
// <data_dir>/etcd.endpoints and are the KV store's endpoints unless -etcd-endpoints is given.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "beacon/api/agent_api.h"
#include "beacon/config/config.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"

namespace beacon::agent {

struct EtcdSupervisorOptions {
  std::string binary = "/usr/bin/etcd";
  std::string name;      // --name (the node name)
  std::string data_dir;  // --data-dir (<agent data_dir>/etcd)
  std::string listen_addr, advertise_addr;
  int client_port = 2379, peer_port = 2380;
  // "name=peer_url,..." for a first start; empty when the data dir holds a member already.
  std::string initial_cluster;
  // With initial_cluster: join a running cluster this member was just added to (MemberAdd),
  // --initial-cluster-state existing; else bootstrap a new one with the others.
  bool join_existing = false;
  std::string cluster_token = "beacon";
  std::string log_level = "info";  // etcd's --log-level: debug, info, warn, error
  uint64_t stop_timeout_ms = 10000;
  uint64_t backoff_min_ms = 500, backoff_max_ms = 30000;
};

// The etcd command line for these options (argv[0] is the binary).
std::vector<std::string> EtcdArgs(const EtcdSupervisorOptions& o);

struct EtcdLogLine {
  LogLevel level = LogLevel::kWarn;
  std::string text;
};
// One line of etcd's stderr as it is logged (see the contract).
EtcdLogLine ParseEtcdLogLine(std::string_view line);

class EtcdSupervisor {
 public:
  EtcdSupervisor(EtcdSupervisorOptions o, const Logger& log);
  ~EtcdSupervisor();
  EtcdSupervisor(const EtcdSupervisor&) = delete;
  EtcdSupervisor& operator=(const EtcdSupervisor&) = delete;

  // Errors: the binary is not executable, the data dir cannot be made.
  Status Start();
  void Stop();
  pid_t pid() const { return pid_.load(); }

 private:
  void Run();  // the supervisor thread
  pid_t Spawn(int* err_fd);
  // Reads etcd's stderr until the child exits or a stop is asked; returns its wait status, or
  // -1 when stopping (the child is then still running).
  int Watch(pid_t pid, int err_fd, std::string* partial);
  void Drain(int err_fd, std::string* partial, bool flush);
  int Terminate(pid_t pid, int err_fd, std::string* partial);
  bool SleepUnlessStopped(uint64_t ms);

  EtcdSupervisorOptions o_;
  const Logger& log_;
  std::vector<std::string> args_;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the thread
  std::atomic<bool> stopping_{false};
  std::atomic<pid_t> pid_{0};
  std::thread thread_;
};

// The gossip tags of a supervised server: etcd_peer and etcd_client (URLs on advertise_addr).
void AddEtcdTags(const config::AgentConfig& cfg, std::map<std::string, std::string>* tags);

struct EtcdPeer {
  std::string name, peer_url, client_url;
};
// The alive servers among `members` that carry etcd tags, sorted by name.
std::vector<EtcdPeer> EtcdPeersOf(const std::vector<http::ClusterMember>& members);

}  // namespace beacon::agent

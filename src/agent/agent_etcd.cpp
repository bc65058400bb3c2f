// Agent::StartSupervisedEtcd: -etcd-supervise (issue 10, scope 2). See etcd_supervisor.h.
#include <sys/stat.h>
#include <uv.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "beacon/agent/agent.h"
#include "beacon/agent/cluster.h"
#include "beacon/agent/etcd_supervisor.h"
#include "beacon/core/file.h"
#include "beacon/kv/etcd.h"

namespace beacon::agent {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// SIGINT/SIGTERM while Start() waits for the other servers or the etcd quorum (Run() handles
// them only later): caught on a private libuv loop, so the agent returns and stops (and reaps)
// its etcd child instead of dying with it running.
class StopSignals {
 public:
  StopSignals() {
    uv_loop_init(&loop_);
    for (uv_signal_t* s : {&int_, &term_}) {
      uv_signal_init(&loop_, s);
      s->data = this;
    }
    uv_signal_start(&int_, OnSignal, SIGINT);
    uv_signal_start(&term_, OnSignal, SIGTERM);
  }
  ~StopSignals() {
    uv_close(reinterpret_cast<uv_handle_t*>(&int_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&term_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Sleeps `ms`; then the signal caught so far (0: none).
  int SleepAndCheck(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    uv_run(&loop_, UV_RUN_NOWAIT);
    return signum_;
  }

 private:
  static void OnSignal(uv_signal_t* s, int signum) {
    static_cast<StopSignals*>(s->data)->signum_ = signum;
  }
  uv_loop_t loop_;
  uv_signal_t int_, term_;
  int signum_ = 0;
};

Status Interrupted(int signum, const char* what) {
  return Status::Error("caught signal " + std::to_string(signum) + " while waiting for " + what);
}

std::string EtcdLogLevel(const std::string& agent_level) {
  if (agent_level == "trace" || agent_level == "debug") return "debug";
  return agent_level;  // info, warn, error
}

kv::EtcdOptions ProbeOptions(const config::EtcdConfig& e, std::vector<std::string> endpoints) {
  kv::EtcdOptions o;
  o.endpoints = std::move(endpoints);
  o.dial_timeout_ms = 1000;
  o.request_timeout_ms = 3000;
  o.ca_file = e.ca_file;
  o.cert_file = e.cert_file;
  o.key_file = e.key_file;
  return o;
}

}  // namespace

// Whether the other servers' etcd members already form a cluster; if so, this member is added
// to it (or found added) and *o / *clients are set to join it.
Agent::EtcdJoinState Agent::JoinRunningEtcd(const std::vector<EtcdPeer>& peers,
                                            const std::string& own_peer, EtcdSupervisorOptions* o,
                                            std::vector<std::string>* clients) {
  std::vector<std::string> others;
  for (const EtcdPeer& p : peers) {
    if (p.name != cfg_.node_name) others.push_back(p.client_url);
  }
  if (others.empty()) return EtcdJoinState::kNone;
  const kv::EtcdOptions probe = ProbeOptions(cfg_.etcd, others);
  if (!kv::EtcdClusterAnswers(probe)) return EtcdJoinState::kNone;
  Result<kv::EtcdJoin> j = kv::EtcdJoinCluster(probe, cfg_.node_name, own_peer);
  if (!j.ok()) {
    // etcd refuses a member while the cluster is not fully healthy ("unhealthy cluster": a
    // member restarted less than 5 s ago, or down): a running cluster is never bootstrapped
    // over, so wait and ask again.
    BEACON_LOG(log_, kWarn, "etcd", "joining the running etcd cluster: %s; retrying",
               j.status().message().c_str());
    return EtcdJoinState::kWait;
  }
  if (!j.value().existing) return EtcdJoinState::kNone;  // in the first configuration
  BEACON_LOG(log_, kInfo, "etcd", "joining the running etcd cluster as member %s: %s",
             cfg_.node_name.c_str(), j.value().initial_cluster.c_str());
  o->initial_cluster = j.value().initial_cluster;
  o->join_existing = true;
  *clients = others;
  return EtcdJoinState::kJoined;
}

void Agent::LeaveSupervisedEtcd() {
  // Any member may answer, this one included: a lost answer is settled by the member list.
  Status st = kv::EtcdLeaveCluster(ProbeOptions(cfg_.etcd, cfg_.etcd.endpoints), cfg_.node_name);
  if (!st.ok()) {
    BEACON_LOG(log_, kWarn, "etcd", "leave: could not remove member %s (%s); its data stays",
               cfg_.node_name.c_str(), st.message().c_str());
    return;
  }
  BEACON_LOG(log_, kInfo, "etcd", "left: member %s removed from the etcd cluster",
             cfg_.node_name.c_str());
  etcd_.reset();  // stops and reaps the member before its data goes
  std::error_code ec;
  std::filesystem::remove_all(cfg_.data_dir + "/etcd", ec);
  std::filesystem::remove(cfg_.data_dir + "/etcd.endpoints", ec);
}

Status Agent::StartSupervisedEtcd() {
  const config::EtcdConfig& e = cfg_.etcd;
  EtcdSupervisorOptions o;
  o.binary = e.binary;
  o.name = cfg_.node_name;
  o.data_dir = cfg_.data_dir + "/etcd";
  o.listen_addr = cfg_.bind_addr;
  o.advertise_addr = cfg_.advertise_addr;
  o.client_port = e.client_port;
  o.peer_port = e.peer_port;
  o.cluster_token = "beacon-" + cfg_.datacenter;
  o.log_level = EtcdLogLevel(cfg_.log_level);
  const std::string endpoints_file = cfg_.data_dir + "/etcd.endpoints";
  std::map<std::string, std::string> own;
  AddEtcdTags(cfg_, &own);
  std::vector<std::string> clients;
  StopSignals signals;
  if (Exists(o.data_dir + "/member")) {
    clients = ReadLines(endpoints_file);  // written at bootstrap
    BEACON_LOG(log_, kInfo, "etcd", "existing etcd data in %s: rejoining its cluster",
               o.data_dir.c_str());
  } else {
    // A first start: join the etcd cluster the other servers already run (a server added after
    // bootstrap, or one that left and came back), else bootstrap with the expected servers, as
    // Consul's bootstrap_expect does.
    const size_t expect = static_cast<size_t>(std::max(cfg_.bootstrap_expect, 1));
    std::vector<EtcdPeer> peers;
    size_t logged = SIZE_MAX;
    bool joined = false;
    for (;;) {
      peers = cluster_
                  ? EtcdPeersOf(cluster_->Members())
                  : std::vector<EtcdPeer>{{cfg_.node_name, own["etcd_peer"], own["etcd_client"]}};
      const bool self_seen = std::any_of(
          peers.begin(), peers.end(), [&](const EtcdPeer& p) { return p.name == cfg_.node_name; });
      const EtcdJoinState js = JoinRunningEtcd(peers, own["etcd_peer"], &o, &clients);
      if (js == EtcdJoinState::kJoined) {
        joined = true;
        break;
      }
      if (js == EtcdJoinState::kNone && peers.size() >= expect && self_seen) break;
      if (!cluster_) {
        return Status::Error("-etcd-supervise with -bootstrap-expect " + std::to_string(expect) +
                             " needs gossip (serf_lan port is -1)");
      }
      if (peers.size() != logged) {
        BEACON_LOG(log_, kInfo, "etcd",
                   "waiting for %zu servers with -etcd-supervise to bootstrap etcd, %zu known",
                   expect, peers.size());
        logged = peers.size();
      }
      if (int sig = signals.SleepAndCheck(200); sig != 0) {
        return Interrupted(sig, "the other servers");
      }
    }
    if (!joined) {
      for (const EtcdPeer& p : peers) {
        if (!o.initial_cluster.empty()) o.initial_cluster += ",";
        o.initial_cluster += p.name + "=" + p.peer_url;
        clients.push_back(p.client_url);
      }
    }
    std::string text;
    for (const std::string& c : clients) text += c + "\n";
    if (Status st = core::WriteFileAtomic(endpoints_file, text); !st.ok()) {
      return Status::Error("etcd: " + st.message());
    }
  }
  // This member first: reads and the watch go to the local member while it is up.
  std::erase(clients, own["etcd_client"]);
  clients.insert(clients.begin(), own["etcd_client"]);
  if (cfg_.etcd.endpoints.empty()) cfg_.etcd.endpoints = clients;
  etcd_ = std::make_unique<EtcdSupervisor>(std::move(o), log_);
  if (Status st = etcd_->Start(); !st.ok()) return st;
  // The KV store needs a quorum: a first start waits for the other members to come up.
  for (int attempt = 1;; ++attempt) {
    Status st = OpenKv(/*start_unreachable=*/false);
    if (st.ok()) break;
    BEACON_LOG(log_, kWarn, "etcd", "waiting for the etcd cluster (attempt %d): %s", attempt,
               st.message().c_str());
    if (int sig = signals.SleepAndCheck(500); sig != 0) {
      return Interrupted(sig, "the etcd cluster");  // ~Agent stops the child
    }
  }
  BEACON_LOG(log_, kInfo, "etcd", "KV store on the supervised etcd cluster (%zu endpoints)",
             cfg_.etcd.endpoints.size());
  return Status::Ok();
}

}  // namespace beacon::agent

// Cluster: this agent's seat in the gossip cluster. Wires gossip::Serf (membership, intents, user
// events), gossip::CatalogSync (replication of every node's record) and net::GossipTransport (the
// UDP/TCP sockets on the Serf LAN port) together, and turns what they report into catalog changes,
// user events and the member list.
//
// Contract:
// - Threads: Serf and CatalogSync live on the transport's thread ("beacon-gossip") and are touched
//   only there (the GossipCore methods and work handed over with Post). Every public method is
//   callable from any thread unless it says otherwise; callbacks run on the gossip thread.
// - Catalog changes it produces (remote records, deltas, liveness) go to `submit`, which must be
//   thread-safe (the agent's command queue); they are applied by the one writer.
// - Members() is a copy made after the last membership change (one short mutex).
// - A name conflict (another live member at another address holds this node's name) calls
//   `fatal` with the reason: the agent must not stay in a cluster under a stolen name.
// - Stop() leaves nothing running: it stops the transport thread and closes its sockets.
// - Keyring (cluster_keyring.cpp): KeyringOp runs Serf's keyring query across the cluster and
//   answers with Serf's aggregated KeyResponse once every member answered or the query timed
//   out. The keyring file (Serf's / Consul's <data_dir>/serf/local.keyring, a JSON array of
//   base64 keys, primary first) is written by ClusterOptions::serf.keyring_saver on every change
//   (gossip thread, a small blocking write).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "beacon/api/agent_api.h"
#include "beacon/api/coordinate_api.h"
#include "beacon/api/operator_api.h"
#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/gossip/catalog_sync.h"
#include "beacon/gossip/serf.h"
#include "beacon/gossip/user_event.h"
#include "beacon/net/gossip_transport.h"

namespace beacon::agent {

struct ClusterOptions {
  std::string node_name;
  std::string bind_addr = "127.0.0.1";       // the sockets
  std::string advertise_addr = "127.0.0.1";  // what other members are told
  int port = 8301;                           // Serf LAN port (UDP and TCP), 1-65535
  std::map<std::string, std::string> tags;   // Consul's LAN tags (http::LanTags)
  std::optional<gossip::Keyring> keyring;    // -encrypt
  std::vector<std::string> retry_join;       // retried every retry_interval_ms
  uint64_t retry_interval_ms = 30000;
  int retry_max = 0;  // 0: forever
  uint64_t seed = 0;  // randomness of the gossip core
  gossip::SerfConfig serf;
  // Receives Serf's coordinate cache with each member refresh (about once a second); null: none.
  http::CoordinateStore* coordinates = nullptr;
  // With each member refresh (gossip thread): servers (role=consul) alive and not suspect,
  // known (alive, leaving or failed; not left), and this agent's gossip health score (Lifeguard
  // awareness, 0 = healthy). Null: none.
  std::function<void(uint64_t now_ms, size_t alive, size_t known, int health)> on_servers;
};

// The keyring file: <data_dir>/serf/local.keyring.
std::string KeyringFilePath(const std::string& data_dir);
// nullopt when the file does not exist; an error naming the file when it does not hold a JSON
// array of valid base64 keys (16, 24 or 32 bytes).
Result<std::optional<gossip::Keyring>> LoadKeyringFile(const std::string& path);
// Creates the directory when needed; written durably (mode 0600), indented as Serf writes it.
Status SaveKeyringFile(const std::string& path, const gossip::Keyring& keyring);

class Cluster final : public net::GossipCore, public http::ClusterApi, public http::KeyringApi {
 public:
  Cluster(ClusterOptions opts, catalog::SnapshotHub& hub,
          std::function<void(catalog::Change)> submit, gossip::EventBuffer& events,
          std::function<void()> events_changed, std::function<void(std::string)> fatal,
          const Logger& log);
  ~Cluster() override;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Binds the sockets and starts the gossip thread; errors name the address.
  Status Start();
  void Stop();
  int port() const;

  // Joins through `addrs` (host, host:port, [v6]:port; the default port is this agent's) and
  // waits up to `timeout_ms` for the outcome: Ok when at least one answered, else an error
  // naming each address (-join at start is fatal on error, as Consul).
  Status JoinAndWait(const std::vector<std::string>& addrs, uint64_t timeout_ms);
  // Leaves gracefully and waits up to `timeout_ms` for the leave to go out (Ok at once when
  // already left).
  Status LeaveAndWait(uint64_t timeout_ms);
  // The catalog changes this agent originated, stamped by the writer (Writer::TakeApplied).
  void OnLocalChanges(std::vector<catalog::AppliedChange> changes);
  // Spreads a user event (already validated and named) to every member; this agent has
  // delivered it locally already.
  void FireEvent(const gossip::UserEvent& e);
  // "addr:port" of the alive servers in this datacenter, for forwarding KV requests.
  std::vector<std::string> Servers() const;
  // Gossip counters for metrics and benchmarks.
  net::GossipStats stats() const;
  // The failure detector's counters, as of the last member refresh (<= 1 s old). Any thread.
  gossip::Membership::ProbeStats probe_stats() const {
    MutexLock l(&mu_);
    return probe_stats_;
  }
  // CatalogSync's counters (digest rounds, push-pull sums, ...), as of the last member refresh.
  gossip::CatalogSyncStats sync_stats() const {
    MutexLock l(&mu_);
    return sync_stats_;
  }
  // Called (gossip thread) once a graceful leave has gone out; the agent then shuts down.
  void SetOnLeft(std::function<void()> f) { on_left_ = std::move(f); }

  // http::ClusterApi
  std::vector<http::ClusterMember> Members() const override;
  void Join(std::vector<std::string> addrs, http::AgentDone done) override;
  void Leave(http::AgentDone done) override;
  void ForceLeave(std::string node, bool prune, http::AgentDone done) override;

  // http::KeyringApi (cluster_keyring.cpp)
  void KeyringOp(http::KeyringApi::Op op, std::string key, http::KeyringDone done) override;

  // net::GossipCore (gossip thread)
  void Tick(uint64_t now_ms) override;
  void OnPacket(uint64_t now_ms, const gossip::Endpoint& from, gossip::ByteView bytes) override;
  gossip::Bytes OnStream(uint64_t now_ms, const gossip::Endpoint& from,
                         gossip::ByteView request) override;
  void OnStreamReply(uint64_t now_ms, uint64_t token, std::optional<gossip::Bytes> reply) override;
  void OnStreamError(uint64_t now_ms, uint64_t token, std::string error) override;
  std::vector<gossip::OutPacket> TakePackets() override;
  std::vector<gossip::OutStream> TakeStreams() override;
  uint64_t NextDeadline() const override;
  void AfterInput(uint64_t now_ms) override;

 private:
  // Gossip thread.
  void HandleMemberEvent(uint64_t now, const gossip::SerfEvent& ev);
  void HandleUserEvent(const gossip::SerfEvent& ev);
  // False when `id` was seen among the last 1,024 events (fired here or received).
  bool RememberEvent(const std::string& id);
  void RefreshMembers(uint64_t now);
  void RetryJoin(uint64_t now);
  Result<std::vector<gossip::Endpoint>> Resolve(const std::vector<std::string>& addrs) const;
  void PumpQueries();  // cluster_keyring.cpp: query results to their waiters (from AfterInput)

  ClusterOptions opts_;
  catalog::SnapshotHub& hub_;
  std::function<void(catalog::Change)> submit_;
  gossip::EventBuffer& events_;
  std::function<void()> events_changed_;
  std::function<void(std::string)> fatal_;
  std::function<void()> on_left_;
  const Logger& log_;

  std::unique_ptr<gossip::Serf> serf_;
  std::unique_ptr<gossip::CatalogSync> sync_;
  std::unique_ptr<net::GossipTransport> transport_;

  // Gossip thread only.
  std::map<uint64_t, std::function<void(uint64_t now, const gossip::JoinResult&)>> join_waiters_;
  std::vector<http::AgentDone> leave_waiters_;
  uint64_t leave_deadline_ms_ = 0;
  bool left_ = false;
  uint64_t next_retry_ms_ = 0;
  uint64_t last_refresh_ms_ = 0;
  bool members_dirty_ = false;
  int retries_ = 0;
  bool retry_done_ = true;
  std::set<std::string> seen_event_ids_;  // events fired here and echoed back are not re-added
  std::deque<std::string> seen_order_;    // the last kSeenEvents ids, oldest first
  struct KeyringWaiter {
    http::KeyringResult result;
    http::KeyringDone done;
  };
  std::map<uint64_t, KeyringWaiter> keyring_waiters_;  // by Serf's query handle

  mutable Mutex mu_;
  std::vector<http::ClusterMember> members_ GUARDED_BY(mu_);
  gossip::Membership::ProbeStats probe_stats_ GUARDED_BY(mu_);
  gossip::CatalogSyncStats sync_stats_ GUARDED_BY(mu_);
};

// Gossip counters (beacon.gossip.*) and members by status (beacon.serf.members{status}) for
// /v1/agent/metrics.
void AddClusterMetrics(const Cluster& c, std::vector<http::Metric>* out);

}  // namespace beacon::agent

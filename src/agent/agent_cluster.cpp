// Agent::StartCluster: gossip wiring (issue 8). See agent.h and cluster.h.
#include <chrono>
#include <random>

#include "agent_sessions.h"
#include "beacon/agent/agent.h"
#include "beacon/agent/cluster.h"
#include "beacon/agent/etcd_supervisor.h"
#include "local_agent_internal.h"

namespace beacon::agent {

void AddClusterMetrics(const Cluster& c, std::vector<http::Metric>* out) {
  const net::GossipStats g = c.stats();
  const std::pair<const char*, uint64_t> counters[] = {
      {"beacon.gossip.packets_in", g.packets_in},
      {"beacon.gossip.packets_out", g.packets_out},
      {"beacon.gossip.bytes_in", g.bytes_in},
      {"beacon.gossip.bytes_out", g.bytes_out},
      {"beacon.gossip.streams_in", g.streams_in},
      {"beacon.gossip.streams_out", g.streams_out},
      {"beacon.gossip.stream_errors", g.stream_errors},
      {"beacon.gossip.dropped", g.dropped},
  };
  detail::AppendCounters(counters, out);
  const gossip::Membership::ProbeStats p = c.probe_stats();
  const std::pair<const char*, uint64_t> probes[] = {
      {"beacon.memberlist.probes", p.probes},
      {"beacon.memberlist.probe_failures", p.probe_failures},
      {"beacon.memberlist.suspicions", p.suspicions},
  };
  detail::AppendCounters(probes, out);
  const gossip::CatalogSyncStats cs = c.sync_stats();
  const std::pair<const char*, uint64_t> sync[] = {
      {"beacon.catalog_sync.digests_sent", cs.digests_sent},
      {"beacon.catalog_sync.digest_sums_sent", cs.digest_sums_sent},
      {"beacon.catalog_sync.digest_sums_matched", cs.digest_sums_matched},
      {"beacon.catalog_sync.pushpull_sums_received", cs.pushpull_sums_received},
      {"beacon.catalog_sync.pushpull_sums_matched", cs.pushpull_sums_matched},
      {"beacon.catalog_sync.pulls_sent", cs.pulls_sent},
      {"beacon.catalog_sync.records_sent", cs.records_sent},
      // Records of live members that gossip had not brought within the wait (catalog_sync.h).
      {"beacon.catalog_sync.missing_pulls", cs.missing_pulls},
  };
  detail::AppendCounters(sync, out);
  // Consul's gauge names: consul.serf.member.{alive,leaving,left,failed} (as labels here).
  static constexpr const char* kStatus[] = {"none", "alive", "leaving", "left", "failed"};
  int64_t by_status[5] = {};
  for (const http::ClusterMember& m : c.Members()) {
    if (m.status >= 0 && m.status < 5) ++by_status[m.status];
  }
  for (int st = 1; st < 5; ++st) {
    http::Metric m;
    m.name = "beacon.serf.members";
    m.value = by_status[st];
    m.labels["status"] = kStatus[st];
    out->push_back(std::move(m));
  }
}

Status Agent::StartCluster() {
  if (cfg_.ports.serf_lan < 0) return Status::Ok();  // gossip off: a single agent
  ClusterOptions co;
  co.node_name = cfg_.node_name;
  co.bind_addr = cfg_.bind_addr;
  co.advertise_addr = cfg_.advertise_addr;
  co.port = cfg_.ports.serf_lan;
  http::AgentSelf self = local_->Self();
  self.bootstrap_expect = cfg_.bootstrap_expect;
  co.tags = http::LanTags(self);
  AddEtcdTags(cfg_, &co.tags);  // -etcd-supervise: etcd_peer, etcd_client
  if (!cfg_.encrypt.empty()) {
    auto kr = gossip::Keyring::FromBase64({cfg_.encrypt});
    if (!kr.ok()) return Status::Error("encrypt: " + kr.status().message());
    co.keyring = std::move(kr.value());
  }
  // The keyring file wins over -encrypt (Consul: "LAN keyring exists but -encrypt given, using
  // keyring"); a first start with -encrypt writes it; every rotation rewrites it.
  if (!cfg_.dev && !cfg_.data_dir.empty()) {
    const std::string kfile = KeyringFilePath(cfg_.data_dir);
    auto loaded = LoadKeyringFile(kfile);
    if (!loaded.ok()) return Status::Error("keyring: " + loaded.status().message());
    if (loaded.value()) {
      if (!cfg_.encrypt.empty()) {
        BEACON_LOG(log_, kWarn, "agent", "LAN keyring exists but -encrypt given, using keyring");
      }
      co.keyring = std::move(*loaded.value());
    } else if (co.keyring) {
      if (Status st = SaveKeyringFile(kfile, *co.keyring); !st.ok()) {
        return Status::Error("keyring: " + st.message());
      }
    }
    co.serf.keyring_saver = [kfile](const gossip::Keyring& k) { return SaveKeyringFile(kfile, k); };
  }
  // Rolling encryption onto a running cluster (memberlist's GossipVerifyIncoming/Outgoing).
  co.serf.memberlist.verify_incoming = cfg_.encrypt_verify_incoming;
  co.serf.memberlist.verify_outgoing = cfg_.encrypt_verify_outgoing;
  co.coordinates = &coordinates_;
  co.on_servers = [q = server_quorum_](uint64_t now, size_t alive, size_t known, int health) {
    q->SetServers(now, alive, known, health);
  };
  coordinates_.SetOnChange([this] {
    if (http_) http_->Notify(http::Topic::kCoordinates);
  });
  co.retry_join = cfg_.retry_join;
  co.retry_interval_ms = cfg_.retry_interval_ms;
  co.retry_max = cfg_.retry_max;
  std::random_device rd;
  co.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  cluster_ = std::make_unique<Cluster>(
      std::move(co), hub_, [this](catalog::Change c) { Submit(std::move(c)); }, events_,
      [this] {
        if (http_) http_->Notify(http::Topic::kEvents);
      },
      [this](const std::string& why) {
        BEACON_LOG(log_, kError, "gossip", "%s", why.c_str());
        RequestStop(1);
      },
      log_);
  cluster_->SetOnLeft([this] {
    left_ = true;
    // Through the HTTP loop: it sends the replies queued before a task (the leave's answer)
    // first, so `beacon leave` gets its answer before the agent stops.
    if (http_) {
      http_->Post([this] { RequestStop(0); });
    } else {
      RequestStop(0);
    }
  });
  writer_->TrackApplied(true);
  (void)writer_->TakeApplied();  // the loaded state spreads by anti-entropy, not as deltas
  if (Status st = cluster_->Start(); !st.ok()) return st;
  if (!cfg_.start_join.empty()) {
    // -join at start: failing to reach every address is fatal, as in Consul.
    Status st = cluster_->JoinAndWait(cfg_.start_join, 15000);
    if (!st.ok()) {
      std::string why = "Failed to join " + st.message();
      if (why.find("No installed keys could decrypt the message") != std::string::npos) {
        why +=
            " (the members there use another gossip encryption key: check -encrypt / "
            "\"encrypt\" and <data_dir>/serf/local.keyring, which wins over them)";
      }
      return Status::Error(why);
    }
  }
  return Status::Ok();
}

}  // namespace beacon::agent

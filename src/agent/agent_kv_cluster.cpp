// The KV backend's cluster view for the status, operator raft and info endpoints. See agent.h.
#include "beacon/agent/agent.h"

namespace beacon::agent {

std::unique_ptr<kv::ClusterView> Agent::NewKvCluster() const {
  if (cfg_.kv_backend == "etcd") {
    kv::EtcdClusterOptions o;
    o.etcd = EtcdStoreOptions(/*start_unreachable=*/false);
    o.compact_ms = static_cast<int64_t>(cfg_.etcd.compaction_interval_ms);
    return kv::NewEtcdCluster(std::move(o), log_);
  }
  kv::LocalClusterOptions o;
  o.node_name = cfg_.node_name;
  o.node_id = local_->node_id();
  o.address = cfg_.advertise_addr + ":" + std::to_string(cfg_.ports.server);
  o.storage = cfg_.dev || cfg_.data_dir.empty() ? "memory" : "lmdb";
  o.index = [store = kv_.get()] { return store->Index(); };
  return kv::NewLocalCluster(std::move(o));
}

}  // namespace beacon::agent

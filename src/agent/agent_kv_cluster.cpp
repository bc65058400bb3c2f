// The KV backend's cluster view for the status, operator raft and info endpoints. See agent.h.
#include "beacon/agent/agent.h"

namespace beacon::agent {

std::unique_ptr<kv::ClusterView> Agent::NewKvCluster() const {
  if (cfg_.kv_backend == "etcd") {
    const config::EtcdConfig& e = cfg_.etcd;
    kv::EtcdClusterOptions o;
    o.etcd = {e.endpoints,
              static_cast<int64_t>(e.dial_timeout_ms),
              static_cast<int64_t>(e.request_timeout_ms),
              e.prefix,
              e.ca_file,
              e.cert_file,
              e.key_file,
              e.transport == "grpc"};
    o.compact_ms = static_cast<int64_t>(e.compaction_interval_ms);
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

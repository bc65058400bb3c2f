// ClusterView of the embedded backend: this agent is the one server and the leader. See
// include/beacon/kv/cluster.h.
#include "beacon/kv/cluster.h"

namespace beacon::kv {
namespace {

class LocalCluster final : public ClusterView {
 public:
  explicit LocalCluster(LocalClusterOptions o) : o_(std::move(o)) {}

  bool KnownLeader() const override { return true; }
  std::string Leader() const override { return o_.address; }
  std::vector<std::string> Peers() const override { return {o_.address}; }
  std::map<std::string, std::string> Info() const override {
    return {{"backend", "embedded"},  {"storage", o_.storage},
            {"known_leader", "true"}, {"leader", o_.node_name + " (" + o_.address + ")"},
            {"members", "1"},         {"revision", std::to_string(o_.index ? o_.index() : 0)}};
  }

  void Configuration(bool, std::function<void(Result<RaftConfiguration>)> done) override {
    RaftConfiguration c;
    c.servers.push_back({o_.node_id, o_.node_name, o_.address, true, true});
    c.index = o_.index ? o_.index() : 0;
    done(std::move(c));
  }

  void RemovePeer(std::string address, std::string id, std::function<void(Status)> done) override {
    if (address.empty() && id.empty()) {
      return done(
          Status::Error("Must specify either ?id with the server's ID or ?address with "
                        "IP:port of peer to remove"));
    }
    if (!address.empty() && !id.empty()) {
      return done(Status::Error("Must specify only one of ?id or ?address"));
    }
    if (address == o_.address || id == o_.node_id) {
      return done(Status::Error("cannot remove " + o_.node_name +
                                ": it is the only server (embedded KV backend)"));
    }
    if (!id.empty())
      return done(Status::Error("id \"" + id + "\" was not found in the Raft configuration"));
    done(Status::Error("address \"" + address + "\" was not found in the Raft configuration"));
  }

  void Barrier(std::function<void(Result<BarrierPoint>)> done) override { done(BarrierPoint{}); }

 private:
  const LocalClusterOptions o_;
};

}  // namespace

std::unique_ptr<ClusterView> NewLocalCluster(LocalClusterOptions o) {
  return std::make_unique<LocalCluster>(std::move(o));
}

}  // namespace beacon::kv

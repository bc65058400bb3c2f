// Network coordinates over HTTP (Consul's /v1/coordinate/*) and ?near sorting by estimated RTT.
//
// Contract:
// - CoordinateStore holds the coordinates this agent knows: Serf's cache (every probed member,
//   this node included; published by the gossip thread with Publish) and coordinates written
//   with PUT /v1/coordinate/update (kept until gossip brings a newer one for that node). Current()
//   is an immutable set whose index moves only when a coordinate changed; readers take it
//   without locking (an atomic shared_ptr); writers serialise on a mutex. Any thread.
//   `on_change` (set before use) runs after every change, on the writer's thread: the agent
//   notifies Topic::kCoordinates with it.
// - AddCoordinateRoutes registers GET /v1/coordinate/datacenters (this datacenter, with its
//   servers' LAN coordinates as "<node>.<dc>": Beacon has no WAN pool), GET (blocking)
//   /v1/coordinate/nodes and /v1/coordinate/node/<node> (404 when unknown), PUT
//   /v1/coordinate/update ({"Node", "Segment", "Coord"}: 400 "invalid coordinate" /
//   "incompatible coordinate" / "Missing node"). Coordinates are {Adjustment, Error, Height,
//   Vec}, Consul's shape; X-Consul-Index is the set's index.
// - SortNear: ?near sorting as Consul's (agent/consul/rtt.go): a stable sort by estimated RTT
//   from `near`'s coordinate, entries whose node has no coordinate last; nothing moves when
//   `near` has none. DNS never reads coordinates.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/gossip/coordinate.h"
#include "beacon/http/server.h"

namespace beacon::http {

struct NodeCoordinate {
  std::string node;
  gossip::Coordinate coord;
  bool server = false;  // listed by /v1/coordinate/datacenters
};

struct CoordinateSet {
  std::uint64_t index = 1;
  std::vector<NodeCoordinate> nodes;  // by lower-cased node name
  // Case-insensitive (node names are, in Consul's catalog); nullptr when unknown.
  const NodeCoordinate* Find(std::string_view node) const;
};
using CoordinateSetPtr = std::shared_ptr<const CoordinateSet>;

class CoordinateStore {
 public:
  CoordinateStore();
  CoordinateSetPtr Current() const { return current_.load(std::memory_order_acquire); }
  void SetOnChange(std::function<void()> f) { on_change_ = std::move(f); }
  // Serf's coordinate cache, and which of its nodes are servers.
  void Publish(const std::map<std::string, gossip::Coordinate>& gossip,
               const std::vector<std::string>& servers);
  // PUT /v1/coordinate/update; errors as Consul's RPC.
  Status Update(const std::string& node, const gossip::Coordinate& c);

 private:
  void Rebuild() REQUIRES(mu_);

  struct Written {
    gossip::Coordinate coord;
    std::optional<gossip::Coordinate> gossip_then;  // the gossip value when it was written
  };
  mutable Mutex mu_;
  std::map<std::string, gossip::Coordinate> gossip_ GUARDED_BY(mu_);
  std::vector<std::string> servers_ GUARDED_BY(mu_);
  std::map<std::string, Written> written_ GUARDED_BY(mu_);
  std::uint64_t index_ GUARDED_BY(mu_) = 1;
  std::atomic<CoordinateSetPtr> current_;
  std::function<void()> on_change_;
};

struct CoordinateApiOptions {
  std::string datacenter = "dc1";
  bool pretty_default = false;
};

// `store` must outlive the server the router is given to.
void AddCoordinateRoutes(Router& router, CoordinateStore& store, CoordinateApiOptions opts);

// Reorders `items` by estimated RTT from node `near` (already resolved from "_agent").
template <typename T, typename NodeOf>
void SortNear(const CoordinateSet& set, std::string_view near, std::vector<T>& items,
              NodeOf node_of) {
  const NodeCoordinate* from = near.empty() ? nullptr : set.Find(near);
  if (from == nullptr) return;
  std::vector<std::pair<double, T>> keyed;
  keyed.reserve(items.size());
  for (T& it : items) {
    const NodeCoordinate* to = set.Find(node_of(it));
    const double d = to != nullptr ? gossip::DistanceSeconds(from->coord, to->coord)
                                   : std::numeric_limits<double>::infinity();
    keyed.emplace_back(d, std::move(it));
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < items.size(); ++i) items[i] = std::move(keyed[i].second);
}

}  // namespace beacon::http

// Whole gossip agents on the simulator: each SimAgent is what agent::Cluster wires (gossip::Serf
// with gossip::CatalogSync as its extension) plus its own catalog (catalog::Writer and
// SnapshotHub), so a catalog change made on one agent can be timed to every agent's snapshot.
//
// Contract: SimAgent has the sans-I/O surface World<> drives (sim_world.h); after every input it
// does what agent::Cluster::AfterInput does: Serf member events -> CatalogSync::OnMember,
// CatalogSync sends -> Serf::SendToMember, and what CatalogSync submitted is applied to the
// writer and published (its local deltas handed back to CatalogSync). Agents are named
// "node<i>", tagged build "0.1.0:beacon" so they treat each other as beacon peers.
// Single-threaded; deterministic for a seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/gossip/catalog_sync.h"
#include "beacon/gossip/serf.h"
#include "sim_world.h"

namespace beacon::gossip {
// A Serf event's contribution to World's trace hash (found by argument-dependent lookup).
inline std::uint64_t SimDigest(const SerfEvent& e) {
  std::uint64_t h = sim::Fold(0xcbf29ce484222325ULL, static_cast<std::uint64_t>(e.kind));
  h = sim::Fold(h, e.member.name.data(), e.member.name.size());
  return sim::Fold(h, static_cast<std::uint64_t>(e.member.status));
}
}  // namespace beacon::gossip

namespace beacon::sim {

class SimAgent {
 public:
  SimAgent(std::size_t index, std::uint64_t seed, std::uint64_t now_ms);
  static std::string Name(std::size_t i) { return "node" + std::to_string(i); }

  void Tick(std::uint64_t now);
  void OnPacket(std::uint64_t now, const Endpoint& from, ByteView bytes);
  Bytes OnStream(std::uint64_t now, const Endpoint& from, ByteView request);
  void OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> reply);
  std::vector<gossip::OutPacket> TakePackets() { return serf_->TakePackets(); }
  std::vector<gossip::OutStream> TakeStreams() { return serf_->TakeStreams(); }
  std::uint64_t NextDeadline() const;
  std::vector<gossip::SerfEvent> TakeEvents() { return std::exchange(events_, {}); }

  void Join(std::uint64_t now, std::size_t seed_index);
  // A local catalog change on this agent (as an HTTP registration would make).
  void Local(std::uint64_t now, catalog::Op op);

  gossip::Serf& serf() { return *serf_; }
  catalog::SnapshotPtr snapshot() const { return hub_.Current(); }

 private:
  void After(std::uint64_t now);

  std::string name_;
  catalog::SnapshotHub hub_;
  std::unique_ptr<catalog::Writer> writer_;
  std::vector<catalog::Change> inbox_;
  std::unique_ptr<gossip::Serf> serf_;
  std::unique_ptr<gossip::CatalogSync> sync_;
  std::vector<gossip::SerfEvent> events_;
};

struct AgentSpreadResult {
  std::uint64_t form_ms = ~std::uint64_t{0};  // every agent's catalog holds every node
  std::uint64_t p50_ms = ~std::uint64_t{0}, p99_ms = ~std::uint64_t{0}, all_ms = ~std::uint64_t{0};
  // The check change (passing -> critical) after the registration has reached everyone.
  std::uint64_t check_p50_ms = ~std::uint64_t{0}, check_p99_ms = ~std::uint64_t{0},
                check_all_ms = ~std::uint64_t{0};
  double bytes_per_pair = 0;  // heap growth while forming / N^2 (every agent's view of every one)
  std::uint64_t trace = 0;
};
// N agents join through agent 0 and replicate their node records; then one agent registers a
// service with a passing check and the time until each other agent's catalog snapshot lists it
// is measured (checked every 20 ms of virtual time); then the check turns critical and the time
// until every snapshot shows the instance critical. `loss` applies to every datagram during the
// measurement; with `check` false the check change is skipped.
AgentSpreadResult CatalogDissemination(std::size_t n, std::uint64_t seed, double loss,
                                       bool check = true);
// Heap per (node, member) pair of N bare Serf nodes (Membership + Serf's member map, tags
// "build" as SimAgent's) joined through node 0, once every node lists every other alive: the
// gossip side of a whole agent's memory, without CatalogSync and the catalog.
double SerfBytesPerPair(std::size_t n, std::uint64_t seed);
// Splits N agents in two halves for `partition_ms`, heals, and returns how long until every
// agent's Serf lists every member alive again (Serf's own reconnect), or ~0 after `cap_ms`.
std::uint64_t AgentPartitionHeal(std::size_t n, std::uint64_t seed, std::uint64_t partition_ms,
                                 std::uint64_t cap_ms);

}  // namespace beacon::sim

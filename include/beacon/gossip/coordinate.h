// Vivaldi network coordinates as Serf computes them (hashicorp/serf/coordinate): each node keeps
// a point in an 8-dimensional Euclidean space plus a "height" (its access-link latency) and an
// adjustment term, so that the distance between two nodes' coordinates estimates their RTT.
//
// Contract:
// - Sans-I/O and deterministic: no clock (the caller measures each RTT and passes it in) and no
//   global randomness (the random unit vector Vivaldi needs when two nodes sit on the same point
//   comes from the constructor's seed). Not thread-safe: one owner.
// - Update(node, other, rtt) follows Serf's Client.Update: the sample goes through a per-node
//   median latency filter (3 samples), then the Vivaldi step (error-weighted spring force), the
//   adjustment window (20 samples of rtt - raw distance) and gravity toward the origin (rho 150).
//   An incompatible (other dimensionality) or invalid (NaN/Inf) coordinate, or an RTT outside
//   [0, 10 s], is refused with Serf's error text and changes nothing. A computation that would
//   yield an invalid coordinate resets this node to the origin (counted in resets()).
// - Distances are in seconds, as Serf's DistanceTo: |a-b| + heights, plus both adjustments when
//   that stays positive.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/gossip/coordinate_wire.h"

namespace beacon::gossip {

// coordinate.DefaultConfig().
struct CoordinateConfig {
  std::size_t dimensionality = 8;
  double vivaldi_error_max = 1.5;
  double vivaldi_ce = 0.25;
  double vivaldi_cc = 0.25;
  std::size_t adjustment_window = 20;
  double height_min = 10.0e-6;
  std::size_t latency_filter = 3;
  double gravity_rho = 150.0;
};

// A fresh coordinate for `cfg`: the origin, error at its maximum, minimum height.
Coordinate NewCoordinate(const CoordinateConfig& cfg);
// No NaN or infinite component.
bool IsValid(const Coordinate& c);
// Estimated RTT in seconds between two coordinates (Serf's DistanceTo): incompatible ones
// (another dimensionality) give +infinity, so they sort last. Inline: the CLI uses it too.
inline double DistanceSeconds(const Coordinate& a, const Coordinate& b) {
  if (a.vec.size() != b.vec.size()) return std::numeric_limits<double>::infinity();
  double sum = 0;
  for (std::size_t i = 0; i < a.vec.size(); ++i)
    sum += (a.vec[i] - b.vec[i]) * (a.vec[i] - b.vec[i]);
  const double dist = std::sqrt(sum) + a.height + b.height;
  const double adjusted = dist + a.adjustment + b.adjustment;
  return adjusted > 0 ? adjusted : dist;
}

class CoordinateClient {
 public:
  explicit CoordinateClient(CoordinateConfig cfg = {}, std::uint64_t seed = 0);

  const Coordinate& coordinate() const { return coord_; }
  // Replaces this node's coordinate (Serf's SetCoordinate); refused when incompatible/invalid.
  Status SetCoordinate(const Coordinate& c);
  // One RTT sample to `node`, whose coordinate is `other`. Returns the error, if any.
  Status Update(const std::string& node, const Coordinate& other, double rtt_seconds);
  // Drops `node`'s latency filter samples (it left).
  void ForgetNode(const std::string& node) { filters_.erase(node); }
  double DistanceTo(const Coordinate& other) const { return DistanceSeconds(coord_, other); }
  std::uint64_t resets() const { return resets_; }

 private:
  Status Check(const Coordinate& c) const;
  double LatencyFilter(const std::string& node, double rtt);
  void UpdateVivaldi(const Coordinate& other, double rtt);
  void UpdateAdjustment(const Coordinate& other, double rtt);
  void UpdateGravity();
  // Moves coord_ by `force` along the unit vector from `other` toward coord_ (Serf's ApplyForce).
  void ApplyForce(double force, const Coordinate& other);

  CoordinateConfig cfg_;
  Coordinate coord_, origin_;
  std::vector<double> adjustment_samples_;
  std::size_t adjustment_index_ = 0;
  std::map<std::string, std::vector<double>> filters_;  // newest last
  std::mt19937_64 rng_;
  std::uint64_t resets_ = 0;
};

}  // namespace beacon::gossip

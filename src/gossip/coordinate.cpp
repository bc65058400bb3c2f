// Vivaldi coordinate maths after hashicorp/serf/coordinate (client.go, coordinate.go). See
// coordinate.h.
#include "beacon/gossip/coordinate.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace beacon::gossip {
namespace {

constexpr double kZeroThreshold = 1.0e-6;
constexpr double kMaxRttSeconds = 10.0;

bool Finite(double d) {
  return std::isfinite(d);
}

double Magnitude(const std::vector<double>& v) {
  double sum = 0;
  for (double d : v) sum += d * d;
  return std::sqrt(sum);
}

double RawDistance(const Coordinate& a, const Coordinate& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.vec.size(); ++i) {
    const double d = a.vec[i] - b.vec[i];
    sum += d * d;
  }
  return std::sqrt(sum) + a.height + b.height;
}

}  // namespace

Coordinate NewCoordinate(const CoordinateConfig& cfg) {
  return Coordinate{std::vector<double>(cfg.dimensionality, 0.0), cfg.vivaldi_error_max, 0,
                    cfg.height_min};
}

bool IsValid(const Coordinate& c) {
  return std::all_of(c.vec.begin(), c.vec.end(), Finite) && Finite(c.error) &&
         Finite(c.adjustment) && Finite(c.height);
}

CoordinateClient::CoordinateClient(CoordinateConfig cfg, std::uint64_t seed)
    : cfg_(cfg),
      coord_(NewCoordinate(cfg)),
      origin_(NewCoordinate(cfg)),
      adjustment_samples_(cfg.adjustment_window, 0.0),
      rng_(seed) {}

Status CoordinateClient::Check(const Coordinate& c) const {
  if (c.vec.size() != coord_.vec.size()) return Status::Error("dimensions aren't compatible");
  if (!IsValid(c)) return Status::Error("coordinate is invalid");
  return Status::Ok();
}

Status CoordinateClient::SetCoordinate(const Coordinate& c) {
  Status st = Check(c);
  if (st.ok()) coord_ = c;
  return st;
}

double CoordinateClient::LatencyFilter(const std::string& node, double rtt) {
  std::vector<double>& samples = filters_[node];
  samples.push_back(rtt);
  if (samples.size() > cfg_.latency_filter) samples.erase(samples.begin());
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  return sorted[sorted.size() / 2];
}

void CoordinateClient::ApplyForce(double force, const Coordinate& other) {
  std::vector<double> unit(coord_.vec.size());
  for (std::size_t i = 0; i < unit.size(); ++i) unit[i] = coord_.vec[i] - other.vec[i];
  double mag = Magnitude(unit);
  if (mag > kZeroThreshold) {
    for (double& d : unit) d /= mag;
  } else {  // on the same point: push in a random direction (and leave the height alone)
    std::uniform_real_distribution<double> u(-0.5, 0.5);
    for (double& d : unit) d = u(rng_);
    const double m = Magnitude(unit);
    if (m > kZeroThreshold) {
      for (double& d : unit) d /= m;
    } else {
      std::fill(unit.begin(), unit.end(), 0.0);
      unit[0] = 1.0;
    }
    mag = 0;
  }
  for (std::size_t i = 0; i < unit.size(); ++i) coord_.vec[i] += unit[i] * force;
  if (mag > kZeroThreshold) {
    coord_.height = (coord_.height + other.height) * force / mag + coord_.height;
    coord_.height = std::max(coord_.height, cfg_.height_min);
  }
}

void CoordinateClient::UpdateVivaldi(const Coordinate& other, double rtt) {
  const double dist = DistanceSeconds(coord_, other);
  rtt = std::max(rtt, kZeroThreshold);
  const double wrongness = std::abs(dist - rtt) / rtt;
  const double total_error = std::max(coord_.error + other.error, kZeroThreshold);
  const double weight = coord_.error / total_error;
  coord_.error =
      cfg_.vivaldi_ce * weight * wrongness + coord_.error * (1.0 - cfg_.vivaldi_ce * weight);
  coord_.error = std::min(coord_.error, cfg_.vivaldi_error_max);
  ApplyForce(cfg_.vivaldi_cc * weight * (rtt - dist), other);
}

void CoordinateClient::UpdateAdjustment(const Coordinate& other, double rtt) {
  if (cfg_.adjustment_window == 0) return;
  adjustment_samples_[adjustment_index_] = rtt - RawDistance(coord_, other);
  adjustment_index_ = (adjustment_index_ + 1) % cfg_.adjustment_window;
  double sum = 0;
  for (double s : adjustment_samples_) sum += s;
  coord_.adjustment = sum / (2.0 * static_cast<double>(cfg_.adjustment_window));
}

void CoordinateClient::UpdateGravity() {
  const double dist = DistanceSeconds(origin_, coord_);
  const double force = -1.0 * std::pow(dist / cfg_.gravity_rho, 2.0);
  ApplyForce(force, origin_);
}

Status CoordinateClient::Update(const std::string& node, const Coordinate& other,
                                double rtt_seconds) {
  if (Status st = Check(other); !st.ok()) return st;
  if (!(rtt_seconds >= 0 && rtt_seconds <= kMaxRttSeconds)) {
    return Status::Error("round trip time not in valid range, duration " +
                         std::to_string(rtt_seconds) + "s is not a positive value less than 10s");
  }
  const double rtt = LatencyFilter(node, rtt_seconds);
  UpdateVivaldi(other, rtt);
  UpdateAdjustment(other, rtt);
  UpdateGravity();
  if (!IsValid(coord_)) {
    ++resets_;
    coord_ = NewCoordinate(cfg_);
  }
  return Status::Ok();
}

}  // namespace beacon::gossip

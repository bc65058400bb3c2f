// Vivaldi coordinates (coordinate.h): convergence on synthetic latency matrices, as Serf's
// performance tests do conceptually, and the refusals of bad input.
#include <doctest.h>

#include <cmath>
#include <random>

#include "beacon/gossip/coordinate.h"

using namespace beacon::gossip;

namespace {

using Matrix = std::vector<std::vector<double>>;  // true RTT in seconds

struct Stats {
  double avg = 0, max = 0;
};

// Every cycle, each node measures the RTT to one random other node and updates from its
// coordinate (what a probe round does in a cluster).
std::vector<CoordinateClient> Simulate(const Matrix& truth, int cycles, std::uint64_t seed,
                                       CoordinateConfig cfg = {}) {
  const std::size_t n = truth.size();
  std::vector<CoordinateClient> clients;
  for (std::size_t i = 0; i < n; ++i) clients.emplace_back(cfg, seed + i);
  std::mt19937_64 rng(seed);
  for (int c = 0; c < cycles; ++c) {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t j = rng() % (n - 1);
      if (j >= i) ++j;
      const Coordinate other = clients[j].coordinate();
      REQUIRE(clients[i].Update("n" + std::to_string(j), other, truth[i][j]).ok());
    }
  }
  return clients;
}

// Relative error of the estimated RTT over every pair.
Stats Evaluate(const std::vector<CoordinateClient>& clients, const Matrix& truth) {
  Stats s;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    for (std::size_t j = i + 1; j < clients.size(); ++j) {
      const double est = clients[i].DistanceTo(clients[j].coordinate());
      const double err = std::abs(est - truth[i][j]) / truth[i][j];
      s.avg += err;
      s.max = std::max(s.max, err);
      ++pairs;
    }
  }
  s.avg /= static_cast<double>(pairs);
  return s;
}

Matrix Square(std::size_t n) {
  return Matrix(n, std::vector<double>(n, 0.0));
}

}  // namespace

TEST_CASE("vivaldi: a fresh client sits at the origin with Serf's defaults") {
  CoordinateClient c;
  CHECK(c.coordinate() == OriginCoordinate());
  CHECK(c.coordinate().vec.size() == 8);
  // Two origins: only the two minimum heights apart.
  CHECK(DistanceSeconds(c.coordinate(), OriginCoordinate()) == doctest::Approx(20e-6));
}

TEST_CASE("vivaldi: nodes on a line converge to their distances") {
  const std::size_t n = 10;
  Matrix truth = Square(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      truth[i][j] = 0.010 * std::abs(static_cast<double>(i) - static_cast<double>(j));
  const Stats s = Evaluate(Simulate(truth, 1000, 1), truth);
  CHECK(s.avg < 0.01);
  CHECK(s.max < 0.05);
}

TEST_CASE("vivaldi: nodes on a grid converge to their distances") {
  const std::size_t side = 5, n = side * side;
  Matrix truth = Square(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double dx = static_cast<double>(i % side) - static_cast<double>(j % side);
      const double dy = static_cast<double>(i / side) - static_cast<double>(j / side);
      truth[i][j] = 0.010 * std::sqrt(dx * dx + dy * dy);
    }
  }
  const Stats s = Evaluate(Simulate(truth, 1000, 2), truth);
  CHECK(s.avg < 0.01);
  CHECK(s.max < 0.1);
}

TEST_CASE("vivaldi: two sites 1 ms inside and 10 ms apart are told apart") {
  const std::size_t n = 24;
  Matrix truth = Square(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j) truth[i][j] = (i < n / 2) == (j < n / 2) ? 0.001 : 0.010;
    }
  }
  const auto clients = Simulate(truth, 1000, 3);
  const Stats s = Evaluate(clients, truth);
  CHECK(s.avg < 0.05);
  // Sorting by estimated RTT from node 0 puts every node of its own site first.
  for (std::size_t j = 1; j < n / 2; ++j) {
    for (std::size_t k = n / 2; k < n; ++k) {
      CHECK(clients[0].DistanceTo(clients[j].coordinate()) <
            clients[0].DistanceTo(clients[k].coordinate()));
    }
  }
}

TEST_CASE("vivaldi: a node equidistant from a circle of nodes is learnt as height") {
  // Nodes 1..n-1 on a circle of radius 100 ms; node 0 is 200 ms from each, which two
  // dimensions can only represent by lifting it: its height must take the extra distance.
  const std::size_t n = 25;
  const double radius = 0.100, pi = std::acos(-1.0);
  Matrix truth = Square(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      double rtt = 2 * radius;
      if (i != 0) {
        const double t1 = 2 * pi * static_cast<double>(i) / n,
                     t2 = 2 * pi * static_cast<double>(j) / n;
        rtt = radius * std::hypot(std::cos(t2) - std::cos(t1), std::sin(t2) - std::sin(t1));
      }
      truth[i][j] = truth[j][i] = rtt;
    }
  }
  CoordinateConfig cfg;
  cfg.dimensionality = 2;
  const auto clients = Simulate(truth, 1000, 5, cfg);
  CHECK(clients[0].coordinate().height > 0.97 * radius);
  for (std::size_t i = 1; i < n; ++i) CHECK(clients[i].coordinate().height < 0.05 * radius);
  const Stats s = Evaluate(clients, truth);
  CHECK(s.avg < 0.01);
  CHECK(s.max < 0.1);
}

TEST_CASE("vivaldi: the latency filter takes the median of the last three samples") {
  // One spike among steady samples does not move the estimate: the same inputs with and without
  // the spike leave the same coordinate.
  CoordinateClient a(CoordinateConfig{}, 9), b(CoordinateConfig{}, 9);
  Coordinate other = OriginCoordinate();
  other.vec[0] = 0.005;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(a.Update("x", other, 0.010).ok());
    REQUIRE(b.Update("x", other, 0.010).ok());
  }
  // a sees a 5 s spike; b sees a steady sample. Both filters answer 0.010 (median).
  REQUIRE(a.Update("x", other, 5.0).ok());
  REQUIRE(b.Update("x", other, 0.010).ok());
  CHECK(a.coordinate() == b.coordinate());
}

TEST_CASE("vivaldi: bad input is refused and changes nothing") {
  CoordinateClient c;
  const Coordinate before = c.coordinate();
  Coordinate short_vec = OriginCoordinate();
  short_vec.vec.resize(2);
  CHECK(c.Update("x", short_vec, 0.001).message() == "dimensions aren't compatible");
  Coordinate nan = OriginCoordinate();
  nan.vec[3] = std::nan("");
  CHECK(c.Update("x", nan, 0.001).message() == "coordinate is invalid");
  CHECK_FALSE(c.Update("x", OriginCoordinate(), -0.001).ok());
  CHECK_FALSE(c.Update("x", OriginCoordinate(), 11.0).ok());
  CHECK(c.coordinate() == before);
  CHECK_FALSE(c.SetCoordinate(nan).ok());
  Coordinate moved = OriginCoordinate();
  moved.vec[1] = 0.25;
  CHECK(c.SetCoordinate(moved).ok());
  CHECK(c.coordinate() == moved);
}

TEST_CASE("vivaldi: the same seed and samples give the same coordinate") {
  CoordinateClient a(CoordinateConfig{}, 42), b(CoordinateConfig{}, 42);
  // Both start on the origin, as does the peer: Vivaldi pushes in a seeded random direction.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(a.Update("p", OriginCoordinate(), 0.002).ok());
    REQUIRE(b.Update("p", OriginCoordinate(), 0.002).ok());
  }
  CHECK(a.coordinate() == b.coordinate());
  CHECK(a.DistanceTo(OriginCoordinate()) > 0.001);
}

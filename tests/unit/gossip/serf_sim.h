// An in-process network of Serf instances on a virtual clock (virtual_net.h), for the Serf
// tests, with a log of every Serf event and join result.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "beacon/gossip/serf.h"
#include "virtual_net.h"

namespace serftest {

using namespace beacon::gossip;

struct Logged {
  std::uint64_t at = 0;
  std::string observer;
  SerfEvent event;
};

class SerfSim : public gossiptest::VirtualNet<SerfSim, Serf> {
 public:
  explicit SerfSim(std::uint64_t seed, SerfConfig cfg = {})
      : VirtualNet(seed), cfg_(std::move(cfg)) {}

  std::size_t Add(const std::string& name, Tags tags = {}) {
    return Add(name, std::move(tags), cfg_);
  }
  std::size_t Add(const std::string& name, Tags tags, const SerfConfig& cfg) {
    const Endpoint ep = NextEndpoint();
    const std::size_t i = AddCore(
        std::make_unique<Serf>(cfg, name, ep.ip, ep.port, std::move(tags), NextSeed(), now_), ep);
    joins_.emplace_back();
    Drain(i);
    return i;
  }
  const std::vector<Logged>& log() const { return log_; }
  const std::vector<JoinResult>& join_results(std::size_t i) const { return joins_[i]; }

  std::uint64_t Join(std::size_t i, const std::vector<Endpoint>& seeds, bool ignore_old = true) {
    const std::uint64_t t = (*this)[i].Join(now_, seeds, ignore_old);
    Drain(i);
    return t;
  }
  std::uint64_t Join(std::size_t i, std::size_t seed, bool ignore_old = true) {
    return Join(i, std::vector<Endpoint>{endpoint(seed)}, ignore_old);
  }
  // Runs `f` on node i's Serf now, then sends what it produced.
  template <typename F>
  void Do(std::size_t i, F f) {
    f((*this)[i], now_);
    Drain(i);
  }

  // Events of `kind` that `observer` logged about member `node` (user events: named `node`).
  std::size_t Count(const std::string& observer, SerfEvent::Kind kind, const std::string& node,
                    std::uint64_t since = 0) const {
    std::size_t c = 0;
    for (const Logged& l : log_) {
      const std::string& about =
          kind == SerfEvent::Kind::kUser ? l.event.name : l.event.member.name;
      c += l.at >= since && l.observer == observer && l.event.kind == kind && about == node;
    }
    return c;
  }

  void OnDrain(std::size_t i) {
    Serf& s = (*this)[i];
    for (SerfEvent& e : s.TakeEvents()) log_.push_back({now_, s.name(), std::move(e)});
    for (JoinResult& r : s.TakeJoinResults()) joins_[i].push_back(std::move(r));
  }

 private:
  SerfConfig cfg_;
  std::vector<std::vector<JoinResult>> joins_;
  std::vector<Logged> log_;
};

}  // namespace serftest

// An in-process network of Membership instances on a virtual clock (virtual_net.h), for the
// membership tests, with a log of every member event.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "beacon/gossip/membership.h"
#include "virtual_net.h"

namespace gossiptest {

using namespace beacon::gossip;

struct LoggedEvent {
  std::uint64_t at = 0;
  std::string observer;
  MemberEvent::Kind kind;
  std::string node;
  std::uint32_t incarnation = 0;
  bool operator==(const LoggedEvent&) const = default;
};

class SimNetwork : public VirtualNet<SimNetwork, Membership> {
 public:
  explicit SimNetwork(std::uint64_t seed, MembershipConfig cfg = {})
      : VirtualNet(seed), cfg_(cfg) {}

  std::size_t Add(const std::string& name, const std::optional<MembershipConfig>& cfg = {}) {
    const Endpoint ep = NextEndpoint();
    return AddCore(std::make_unique<Membership>(cfg ? *cfg : cfg_, name, ep.ip, ep.port, Bytes{'m'},
                                                NextSeed(), now_),
                   ep);
  }
  const std::vector<LoggedEvent>& log() const { return log_; }

  void Join(std::size_t i, std::size_t seed) {
    (*this)[i].Join(now_, {endpoint(seed)});
    Drain(i);
  }
  void Leave(std::size_t i) {
    (*this)[i].Leave(now_);
    Drain(i);
  }
  // Delivers a datagram to node `to` as if `from` sent it.
  void Inject(std::size_t to, const Endpoint& from, const Bytes& packet) {
    (*this)[to].OnPacket(now_, from, packet);
    Drain(to);
  }

  // How many nodes `observer` lists in `state`.
  std::size_t Count(std::size_t observer, NodeState state) {
    std::size_t c = 0;
    for (const Member& m : (*this)[observer].Members()) c += m.state == state;
    return c;
  }

  void OnDrain(std::size_t i) {
    Membership& m = (*this)[i];
    for (MemberEvent& e : m.TakeEvents()) {
      log_.push_back({now_, m.name(), e.kind, e.member.name, e.member.incarnation});
    }
  }

 private:
  MembershipConfig cfg_;
  std::vector<LoggedEvent> log_;
};

}  // namespace gossiptest

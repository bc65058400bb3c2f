// Private to the agent module: lookups in a catalog snapshot for this node, shared by
// local_agent.cpp and local_agent_writes.cpp. Any thread holding the snapshot (or the writer
// thread with Writer::staged()).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "beacon/api/agent_api.h"
#include "beacon/catalog/snapshot.h"

namespace beacon::agent::detail {

using catalog::Check;
using catalog::Instance;
using catalog::NodeEntry;
using catalog::Snapshot;

constexpr uint64_t kMinDeregisterMs = 60000;  // Consul's floor for deregister_critical_...
constexpr size_t kOutputMax = 4096;           // check_output_max_size default
constexpr char kNodeMaint[] = "_node_maintenance";
constexpr char kServiceMaintPrefix[] = "_service_maintenance:";

// Appends (name, total) pairs to a /v1/agent/metrics list as counters.
template <size_t N>
inline void AppendCounters(const std::pair<const char*, uint64_t> (&counters)[N],
                           std::vector<http::Metric>* out) {
  for (const auto& [name, v] : counters) {
    http::Metric m;
    m.kind = http::Metric::Kind::kCounter;
    m.name = name;
    m.value = static_cast<int64_t>(v);
    out->push_back(std::move(m));
  }
}

inline http::AgentStatus UnknownCheck(const std::string& id) {
  return http::AgentStatus::Error(
      404,
      "Unknown check ID \"" + id + "\". Ensure that the check ID is passed, not the check name.");
}

inline bool IsMaintenance(const std::string& id) {
  return id == kNodeMaint || id.rfind(kServiceMaintPrefix, 0) == 0;
}

inline const NodeEntry* SelfNode(const Snapshot& s, const std::string& nkey) {
  return s.nodes.Find(nkey);
}

// Calls fn(const Instance&) for every instance on node `nkey`.
template <typename Fn>
inline void ForEachLocalInstance(const Snapshot& s, const std::string& nkey, Fn&& fn) {
  s.ForEachNodeService(nkey, [&](std::string_view k) {
    const catalog::ServiceEntry* e = s.services.Find(k);
    if (e == nullptr) return;
    for (const Instance& in : e->instances) {
      if (in.node->MatchesKey(nkey)) fn(in);
    }
  });
}

inline const Instance* FindInstance(const Snapshot& s, const std::string& nkey,
                                    const std::string& id) {
  const Instance* found = nullptr;
  ForEachLocalInstance(s, nkey, [&](const Instance& in) {
    if (in.service.id == id) found = &in;
  });
  return found;
}

inline const Check* FindCheck(const Snapshot& s, const std::string& nkey, const std::string& id) {
  const NodeEntry* n = SelfNode(s, nkey);
  if (n == nullptr) return nullptr;
  for (const Check& c : n->checks()) {
    if (c.id == id) return &c;
  }
  const Check* found = nullptr;
  ForEachLocalInstance(s, nkey, [&](const Instance& in) {
    for (const Check& c : in.checks()) {
      if (c.id == id) found = &c;
    }
  });
  return found;
}

// Calls fn(const Check&) for every check on node `nkey` (node-level, then its instances'), by
// reference: no copies.
template <typename Fn>
inline void ForEachLocalCheck(const Snapshot& s, const std::string& nkey, Fn&& fn) {
  const NodeEntry* n = SelfNode(s, nkey);
  if (n == nullptr) return;
  for (const Check& c : n->checks()) fn(c);
  ForEachLocalInstance(s, nkey, [&](const Instance& in) {
    for (const Check& c : in.checks()) fn(c);
  });
}

inline std::vector<Check> LocalChecks(const Snapshot& s, const std::string& nkey) {
  std::vector<Check> out;
  const NodeEntry* n = SelfNode(s, nkey);
  if (n == nullptr) return out;
  out = n->checks();
  ForEachLocalInstance(s, nkey, [&](const Instance& in) {
    out.insert(out.end(), in.checks().begin(), in.checks().end());
  });
  return out;
}

inline std::string TtlExpiredOutput(const std::string& last) {
  if (last.empty()) return "TTL expired";
  return "TTL expired (last output before timeout follows): " + last;
}

}  // namespace beacon::agent::detail

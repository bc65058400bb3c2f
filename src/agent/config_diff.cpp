#include "beacon/agent/config_diff.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "beacon/core/strings.h"
#include "local_agent_internal.h"

namespace beacon::agent {

using catalog::Check;
using catalog::Instance;
using catalog::Service;

bool SameCheckDefinition(const Check& a, const Check& b) {
  if (a.id != b.id) return false;
  Check x = a;
  x.status = b.status;
  x.output = b.output;
  x.service_name = b.service_name;
  x.create_index = b.create_index;
  x.modify_index = b.modify_index;
  return x == b;
}

namespace {

std::string IdOf(const Service& s) {
  return s.id.empty() ? s.name : s.id;
}

// What one config declares: service ids, and check ids per owner ("" = standalone: node-level,
// or attached to a service the config does not define).
struct Declared {
  std::set<std::string> services;
  std::map<std::string, std::set<std::string>> checks;

  explicit Declared(const config::AgentConfig* cfg) {
    if (cfg == nullptr) return;
    for (const Service& s : cfg->services) services.insert(IdOf(s));
    for (const Check& c : cfg->checks) checks[Owner(c)].insert(c.id);
  }
  std::string Owner(const Check& c) const {
    return services.count(c.service_id) != 0 ? c.service_id : std::string();
  }
  bool HasCheck(const std::string& owner, const std::string& id) const {
    auto it = checks.find(owner);
    return it != checks.end() && it->second.count(id) != 0;
  }
};

const Check* FindIn(const std::vector<Check>& v, const std::string& id) {
  for (const Check& c : v) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

class Differ {
 public:
  Differ(catalog::Writer& w, std::string_view node, const config::AgentConfig& cfg,
         const config::AgentConfig* old, const Logger& log)
      : w_(w), node_(node), nkey_(core::Lower(node)), cfg_(cfg), was_(old), now_(&cfg), log_(log) {}

  ConfigDiffStats Run() {
    RemoveStandaloneChecks();
    RemoveServices();
    for (const Service& s : cfg_.services) ApplyService(s);
    for (const Check& c : cfg_.checks) {
      if (now_.Owner(c).empty()) ApplyStandaloneCheck(c);
    }
    return st_;
  }

 private:
  void RemoveStandaloneChecks() {
    auto it = was_.checks.find("");
    if (it == was_.checks.end()) return;
    for (const std::string& id : it->second) {
      if (now_.HasCheck("", id)) continue;
      if (detail::FindCheck(w_.staged(), nkey_, id) == nullptr) continue;
      if (w_.Apply(catalog::LocalChange(catalog::op::RemoveCheck{std::string(node_), id})).ok()) {
        ++st_.removed;
        BEACON_LOG(log_, kInfo, "agent", "config: check %s removed", id.c_str());
      }
    }
  }

  void RemoveServices() {
    for (const std::string& id : was_.services) {
      if (now_.services.count(id) != 0) continue;
      if (w_.FindService(node_, id) == nullptr) continue;
      if (w_.Apply(catalog::LocalChange(catalog::op::RemoveService{std::string(node_), id})).ok()) {
        ++st_.removed;
        BEACON_LOG(log_, kInfo, "agent", "config: service %s removed", id.c_str());
      }
    }
  }

  void ApplyService(const Service& s) {
    Service want = s;
    want.id = IdOf(s);
    std::vector<Check> own;
    for (const Check& c : cfg_.checks) {
      if (c.service_id == want.id) own.push_back(c);
    }
    const Instance* cur = detail::FindInstance(w_.staged(), nkey_, want.id);
    if (cur == nullptr) {
      Upsert(want, std::move(own), "added");
      ++st_.added;
      return;
    }
    bool same = cur->ToService() == want;
    const std::vector<Check>& have = cur->checks();
    std::vector<Check> merged;
    merged.reserve(own.size() + have.size());
    for (Check& c : own) {
      const Check* h = FindIn(have, c.id);
      if (h != nullptr && h->service_id == c.service_id && SameCheckDefinition(*h, c)) {
        merged.push_back(*h);  // running status, output and indexes stay
      } else {
        merged.push_back(std::move(c));
        same = false;
      }
    }
    for (const Check& h : have) {
      if (FindIn(merged, h.id) != nullptr) continue;
      if (was_.HasCheck(want.id, h.id)) {
        same = false;  // the old config declared it, the new one does not
      } else {
        merged.push_back(h);  // registered over the API: not the config's to drop
      }
    }
    if (same) {
      ++st_.unchanged;
      return;
    }
    if (was_.services.count(want.id) == 0) {
      BEACON_LOG(log_, kInfo, "agent",
                 "config: service %s was registered over the API; the configuration now "
                 "defines it and wins",
                 want.id.c_str());
    }
    Upsert(want, std::move(merged), "changed");
    ++st_.changed;
  }

  void Upsert(const Service& s, std::vector<Check> checks, const char* what) {
    Status r = w_.Apply(
        catalog::LocalChange(catalog::op::UpsertService{std::string(node_), s, std::move(checks)}));
    if (!r.ok()) {
      BEACON_LOG(log_, kWarn, "agent", "service %s: %s", s.id.c_str(), r.message().c_str());
      return;
    }
    BEACON_LOG(log_, kInfo, "agent", "config: service %s %s", s.id.c_str(), what);
  }

  void ApplyStandaloneCheck(const Check& c) {
    const Check* h = detail::FindCheck(w_.staged(), nkey_, c.id);
    if (h != nullptr && h->service_id == c.service_id && SameCheckDefinition(*h, c)) {
      ++st_.unchanged;
      return;
    }
    const bool fresh = h == nullptr;
    Status r = w_.Apply(catalog::LocalChange(catalog::op::UpsertCheck{std::string(node_), c}));
    if (!r.ok()) {
      BEACON_LOG(log_, kWarn, "agent", "check %s: %s", c.id.c_str(), r.message().c_str());
      return;
    }
    ++(fresh ? st_.added : st_.changed);
    BEACON_LOG(log_, kInfo, "agent", "config: check %s %s", c.id.c_str(),
               fresh ? "added" : "changed");
  }

  catalog::Writer& w_;
  std::string_view node_;
  std::string nkey_;
  const config::AgentConfig& cfg_;
  Declared was_;
  Declared now_;
  const Logger& log_;
  ConfigDiffStats st_;
};

}  // namespace

ConfigDiffStats ApplyConfigDiff(catalog::Writer& w, std::string_view node,
                                const config::AgentConfig& cfg, const config::AgentConfig* old,
                                const Logger& log) {
  return Differ(w, node, cfg, old, log).Run();
}

}  // namespace beacon::agent

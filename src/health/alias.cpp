// See alias.h.
#include "beacon/health/alias.h"

#include "beacon/core/strings.h"

namespace beacon::health {

using catalog::Check;
using catalog::Health;

AliasResult EvaluateAlias(const catalog::Snapshot& snap, std::string_view local_node,
                          const Check& alias) {
  const std::string node = alias.alias_node.empty() ? std::string(local_node) : alias.alias_node;
  const std::string nkey = core::Lower(node);
  const bool self = nkey == core::Lower(local_node);
  AliasResult r;
  r.status = Health::kPassing;
  r.output = "No checks found.";
  bool service_found = alias.alias_service.empty();
  bool done = false;
  auto visit = [&](const std::vector<Check>& checks) {
    for (const Check& c : checks) {
      if (done) return;
      if (self && c.id == alias.id) continue;
      const Health h = c.status == Health::kMaintenance ? Health::kCritical : c.status;
      if (h == Health::kCritical || h == Health::kWarning) {
        r.status = h;
        r.output = "Aliased check \"" + c.name + "\" failing: " + c.output;
        done = h == Health::kCritical;
      } else if (r.status == Health::kPassing) {
        r.output = "All checks passing.";
      }
    }
  };
  const catalog::NodeEntry* n = snap.nodes.Find(nkey);
  if (n != nullptr) {
    visit(n->checks());
    if (!alias.alias_service.empty()) {
      snap.ForEachNodeService(nkey, [&](std::string_view k) {
        const catalog::ServiceEntry* e = snap.services.Find(k);
        if (e == nullptr) return;
        for (const catalog::Instance& in : e->instances) {
          if (in.node.get() != n || in.service.id != alias.alias_service) continue;
          service_found = true;
          visit(in.checks());
        }
      });
    }
  }
  if (!service_found) {
    r.status = Health::kCritical;
    r.output = "Service " + alias.alias_service + " could not be found on node " + node;
  }
  return r;
}

}  // namespace beacon::health

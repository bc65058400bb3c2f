// See check_state.h.
#include "beacon/health/check_state.h"

namespace beacon::health {

using catalog::Check;
using catalog::Health;

Kind KindOf(const Check& c) {
  if (!c.docker_container_id.empty() || c.ttl_ms != 0) return Kind::kNone;
  if (!c.args.empty()) return Kind::kScript;
  if (!c.http.empty()) return Kind::kHttp;
  if (!c.tcp.empty()) return Kind::kTcp;
  if (!c.udp.empty()) return Kind::kUdp;
  if (!c.alias_node.empty() || !c.alias_service.empty()) return Kind::kAlias;
  return Kind::kNone;
}

bool SameDefinition(const Check& a, const Check& b) {
  Check x = a;
  x.name = b.name;
  x.notes = b.notes;
  x.service_name = b.service_name;
  x.status = b.status;
  x.output = b.output;
  x.create_index = b.create_index;
  x.modify_index = b.modify_index;
  return x == b;
}

std::string CapOutput(std::string_view all, size_t max) {
  if (all.size() <= max) return std::string(all);
  std::string out =
      "Captured " + std::to_string(max) + " of " + std::to_string(all.size()) + " bytes\n...\n";
  out.append(all.substr(all.size() - max));
  return out;
}

Thresholds::Thresholds(uint32_t success_before_passing, uint32_t failures_before_warning,
                       uint32_t failures_before_critical)
    : success_before_passing_(success_before_passing),
      failures_before_warning_(failures_before_warning != 0 ? failures_before_warning
                                                            : failures_before_critical),
      failures_before_critical_(failures_before_critical) {}

std::optional<Health> Thresholds::Observe(Health result) {
  if (result == Health::kPassing || result == Health::kWarning) {
    if (successes_ < UINT32_MAX) ++successes_;
    failures_ = 0;
    if (successes_ >= success_before_passing_) return result;
    return std::nullopt;
  }
  if (failures_ < UINT32_MAX) ++failures_;
  successes_ = 0;
  if (failures_ >= failures_before_critical_) return Health::kCritical;
  if (failures_ >= failures_before_warning_) return Health::kWarning;
  return std::nullopt;
}

}  // namespace beacon::health

// Size limits on registered names; see limits.h.
#include "beacon/config/limits.h"

#include <string>
#include <string_view>

namespace beacon::config {
namespace {

Status TooLong(std::string_view what, size_t limit) {
  return Status::Error("Invalid " + std::string(what) + ": longer than " + std::to_string(limit) +
                       " bytes");
}

}  // namespace

Status CheckServiceLimits(const catalog::Service& svc) {
  if (svc.name.size() > kMaxNameBytes) return TooLong("service name", kMaxNameBytes);
  if (svc.id.size() > kMaxNameBytes) return TooLong("service ID", kMaxNameBytes);
  for (const std::string& t : svc.tags) {
    if (t.size() > kMaxTagBytes) return TooLong("service tag", kMaxTagBytes);
  }
  return Status::Ok();
}

Status CheckCheckLimits(const catalog::Check& chk) {
  const std::string& id = chk.id.empty() ? chk.name : chk.id;
  if (id.size() > kMaxNameBytes) return TooLong("check ID", kMaxNameBytes);
  return Status::Ok();
}

Status CheckRegistrationLimits(const catalog::Registration& reg) {
  if (reg.node.name.size() > kMaxNameBytes) return TooLong("node name", kMaxNameBytes);
  for (const catalog::Service& s : reg.services) {
    if (Status st = CheckServiceLimits(s); !st.ok()) return st;
  }
  for (const catalog::Check& c : reg.checks) {
    if (Status st = CheckCheckLimits(c); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace beacon::config

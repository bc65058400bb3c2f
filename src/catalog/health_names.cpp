// Names of catalog::Health values, as Consul spells them.
#include <string_view>

#include "beacon/catalog/types.h"
#include "beacon/core/strings.h"

namespace beacon::catalog {
std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kPassing:
      return "passing";
    case Health::kWarning:
      return "warning";
    case Health::kCritical:
      return "critical";
    case Health::kMaintenance:
      return "maintenance";
  }
  return "critical";
}

bool ParseHealth(std::string_view s, Health* out) {
  static constexpr Health kAll[] = {Health::kPassing, Health::kWarning, Health::kCritical,
                                    Health::kMaintenance};
  for (Health h : kAll) {
    if (core::EqualsLower(s, HealthName(h))) {
      *out = h;
      return true;
    }
  }
  return false;
}

}  // namespace beacon::catalog

// Names of catalog::Health values, as Consul spells them.
#include <cctype>
#include <string_view>

#include "beacon/catalog/types.h"

namespace beacon::catalog {
namespace {

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != lower[i]) return false;
  }
  return true;
}

}  // namespace

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
    if (EqualsLower(s, HealthName(h))) {
      *out = h;
      return true;
    }
  }
  return false;
}

}  // namespace beacon::catalog

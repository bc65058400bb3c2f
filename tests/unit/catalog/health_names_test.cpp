#include <doctest.h>

#include "beacon/catalog/types.h"

namespace beacon::catalog {
namespace {

TEST_CASE("HealthName and ParseHealth round-trip Consul's status names") {
  for (Health h : {Health::kPassing, Health::kWarning, Health::kCritical, Health::kMaintenance}) {
    Health back = Health::kCritical;
    REQUIRE(ParseHealth(HealthName(h), &back));
    CHECK(back == h);
  }
  CHECK(HealthName(Health::kPassing) == "passing");
  CHECK(HealthName(Health::kMaintenance) == "maintenance");
  Health h = Health::kCritical;
  CHECK(ParseHealth("PASSING", &h));
  CHECK(h == Health::kPassing);
  CHECK_FALSE(ParseHealth("ok", &h));
  CHECK_FALSE(ParseHealth("", &h));
}

}  // namespace
}  // namespace beacon::catalog

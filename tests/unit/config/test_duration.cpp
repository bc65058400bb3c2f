#include <doctest.h>

#include "beacon/catalog/types.h"
#include "beacon/config/config.h"

namespace beacon::config {
namespace {

uint64_t Ms(std::string_view s) {
  uint64_t ms = 12345;
  REQUIRE_MESSAGE(ParseDuration(s, &ms), s);
  return ms;
}

bool Rejects(std::string_view s) {
  uint64_t ms = 0;
  return !ParseDuration(s, &ms);
}

TEST_CASE("ParseDuration accepts Go duration strings") {
  CHECK(Ms("10s") == 10000);
  CHECK(Ms("1m30s") == 90000);
  CHECK(Ms("500ms") == 500);
  CHECK(Ms("1h") == 3600000);
  CHECK(Ms("2.5s") == 2500);
  CHECK(Ms("1h2m3s4ms") == 3723004);
  CHECK(Ms("87600h") == 87600ULL * 3600 * 1000);
  CHECK(Ms("0s") == 0);
  CHECK(Ms("0") == 0);
}

TEST_CASE("ParseDuration rounds sub-millisecond units up to whole milliseconds") {
  CHECK(Ms("100us") == 1);
  CHECK(Ms("100\xC2\xB5s") == 1);  // micro sign
  CHECK(Ms("100\xCE\xBCs") == 1);  // Greek mu
  CHECK(Ms("1500us") == 2);
  CHECK(Ms("2000000ns") == 2);
}

TEST_CASE("ParseDuration treats a bare number as seconds") {
  CHECK(Ms("10") == 10000);
  CHECK(Ms("1.5") == 1500);
}

TEST_CASE("ParseDuration rejects garbage") {
  CHECK(Rejects(""));
  CHECK(Rejects("s"));
  CHECK(Rejects("10x"));
  CHECK(Rejects("ten seconds"));
  CHECK(Rejects("-5s"));
  CHECK(Rejects("1h30"));  // a unit is required after the first component
  CHECK(Rejects("10 s"));
  CHECK(Rejects("1.2.3s"));
  CHECK(Rejects("99999999999999999999h"));
}

TEST_CASE("HealthName and ParseHealth round-trip Consul's status names") {
  using catalog::Health;
  for (Health h : {Health::kPassing, Health::kWarning, Health::kCritical, Health::kMaintenance}) {
    Health back = Health::kCritical;
    REQUIRE(catalog::ParseHealth(catalog::HealthName(h), &back));
    CHECK(back == h);
  }
  CHECK(catalog::HealthName(Health::kPassing) == "passing");
  CHECK(catalog::HealthName(Health::kMaintenance) == "maintenance");
  Health h = Health::kCritical;
  CHECK(catalog::ParseHealth("PASSING", &h));
  CHECK(h == Health::kPassing);
  CHECK_FALSE(catalog::ParseHealth("ok", &h));
  CHECK_FALSE(catalog::ParseHealth("", &h));
}

}  // namespace
}  // namespace beacon::config

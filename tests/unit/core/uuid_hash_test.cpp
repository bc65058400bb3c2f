#include <doctest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "beacon/core/hash.h"
#include "beacon/core/uuid.h"

namespace beacon::core {
namespace {

TEST_CASE("UuidV4FromBits prints 8-4-4-4-12 lower-case hex with version 4 and the RFC variant") {
  CHECK(UuidV4FromBits(0, 0) == "00000000-0000-4000-8000-000000000000");
  CHECK(UuidV4FromBits(~0ULL, ~0ULL) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
  CHECK(UuidV4FromBits(0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL) ==
        "01234567-89ab-4def-bedc-ba9876543210");
}

TEST_CASE("NewUuidV4 gives distinct valid UUIDs, reproducible from a seed") {
  std::mt19937_64 a(42), b(42);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewUuidV4(a);
    CHECK(IsUuid(id));
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    CHECK(id == NewUuidV4(b));
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("IsUuid accepts Consul's node-ID shape only") {
  CHECK(IsUuid("01234567-89ab-cdef-0123-456789ABCDEF"));
  CHECK_FALSE(IsUuid(""));
  CHECK_FALSE(IsUuid("01234567-89ab-cdef-0123-456789abcde"));    // 35 chars
  CHECK_FALSE(IsUuid("01234567-89ab-cdef-0123-456789abcdef0"));  // 37 chars
  CHECK_FALSE(IsUuid("0123456789ab-cdef-0123-456789abcdef-"));   // dashes misplaced
  CHECK_FALSE(IsUuid("0123456g-89ab-cdef-0123-456789abcdef"));   // not hex
}

TEST_CASE("Fnv1a64 matches the published FNV-1a test vectors") {
  CHECK(Fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(Fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(Fnv1a64("foobar") == 0x85944171f73967e8ULL);
  // Continuing a hash over a second piece equals hashing the whole.
  CHECK(Fnv1a64("bar", Fnv1a64("foo")) == Fnv1a64("foobar"));
  const uint8_t bytes[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  CHECK(Fnv1a64(bytes, sizeof bytes) == Fnv1a64("foobar"));
  static_assert(Fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace beacon::core

// UUIDs as Consul uses them for node IDs and session IDs: RFC 4122 version 4, printed as
// 8-4-4-4-12 lower-case hex digits.
//
// Contract: pure functions, any thread. NewUuidV4 draws exactly two 64-bit values from the
// caller's generator (first the high half, then the low half), so a seeded generator gives a
// reproducible sequence; the generator is the caller's, and so is its locking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::core {

// The version-4 UUID made from 128 random bits: the version and variant bits are overwritten.
std::string UuidV4FromBits(uint64_t hi, uint64_t lo);

// Rng: a uniform random bit generator of 64-bit values (std::mt19937_64).
template <typename Rng>
std::string NewUuidV4(Rng& rng) {
  const uint64_t hi = rng();
  const uint64_t lo = rng();
  return UuidV4FromBits(hi, lo);
}

// 36 characters, 8-4-4-4-12 hex digits of either case, as Consul's uuid.ParseUUID accepts (any
// version and variant).
bool IsUuid(std::string_view s);

// The UUID's 128 bits folded to 64: the first 16 hex digits XOR the last 16, as Consul turns a user
// event ID into a blocking index. 0 for text that is not a UUID.
uint64_t FoldUuid(std::string_view s);

}  // namespace beacon::core

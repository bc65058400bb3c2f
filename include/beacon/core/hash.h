// FNV-1a, 64-bit: a stable (unseeded) hash for in-memory tables and short file names.
//
// Contract: constexpr pure functions, any thread; the same bytes give the same value on every
// run and machine. Not for anything an attacker can steer into collisions at scale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beacon::core {

inline constexpr uint64_t kFnv64Offset = 14695981039346656037ULL;
inline constexpr uint64_t kFnv64Prime = 1099511628211ULL;

// Continues the hash `h` over n bytes at p (start with kFnv64Offset).
constexpr uint64_t Fnv1a64(const uint8_t* p, size_t n, uint64_t h = kFnv64Offset) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnv64Prime;
  }
  return h;
}

constexpr uint64_t Fnv1a64(std::string_view s, uint64_t h = kFnv64Offset) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnv64Prime;
  }
  return h;
}

}  // namespace beacon::core

// Go-style duration strings ("1m30s", "500ms", "2.5s") and bare numbers of seconds.
#include <cstdint>
#include <limits>
#include <string_view>

#include "beacon/config/config.h"

namespace beacon::config {
namespace {

constexpr uint64_t kNs = 1;
constexpr uint64_t kUs = 1000 * kNs;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kMin = 60 * kSec;
constexpr uint64_t kHour = 60 * kMin;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Consumes a unit at the front of s. Longest match first ("ms" before "m").
bool TakeUnit(std::string_view* s, uint64_t* unit) {
  struct U {
    std::string_view name;
    uint64_t ns;
  };
  static constexpr U kUnits[] = {
      {"ns", kNs},
      {"us", kUs},
      {"\xC2\xB5s", kUs} /* U+00B5 */,
      {"\xCE\xBCs", kUs} /* U+03BC */,
      {"ms", kMs},
      {"s", kSec},
      {"m", kMin},
      {"h", kHour},
  };
  for (const U& u : kUnits) {
    if (s->substr(0, u.name.size()) == u.name) {
      // "m" must not swallow the "m" of "ms" (kUnits lists "ms" first, so this holds).
      s->remove_prefix(u.name.size());
      *unit = u.ns;
      return true;
    }
  }
  return false;
}

// Parses "<int>[.<frac>]" into whole part and fraction; returns false if there is no digit.
bool TakeNumber(std::string_view* s, uint64_t* whole, uint64_t* frac, double* frac_scale,
                bool* overflow) {
  size_t i = 0;
  bool any = false;
  *whole = 0;
  *frac = 0;
  *frac_scale = 1;
  *overflow = false;
  while (i < s->size() && IsDigit((*s)[i])) {
    uint64_t d = static_cast<uint64_t>((*s)[i] - '0');
    if (*whole > (std::numeric_limits<uint64_t>::max() - d) / 10) *overflow = true;
    *whole = *whole * 10 + d;
    any = true;
    ++i;
  }
  if (i < s->size() && (*s)[i] == '.') {
    ++i;
    bool precise = true;
    while (i < s->size() && IsDigit((*s)[i])) {
      if (precise && *frac < std::numeric_limits<uint64_t>::max() / 100) {
        *frac = *frac * 10 + static_cast<uint64_t>((*s)[i] - '0');
        *frac_scale *= 10;
      } else {
        precise = false;  // further digits are below the precision we keep
      }
      any = true;
      ++i;
    }
  }
  s->remove_prefix(i);
  return any;
}

bool AddScaled(uint64_t whole, uint64_t frac, double frac_scale, uint64_t unit, uint64_t* total) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (whole != 0 && whole > kMax / unit) return false;
  uint64_t v = whole * unit;
  if (frac != 0) {
    double f = static_cast<double>(frac) * (static_cast<double>(unit) / frac_scale);
    if (f >= static_cast<double>(kMax - v)) return false;
    v += static_cast<uint64_t>(f);
  }
  if (v > kMax - *total) return false;
  *total += v;
  return true;
}

}  // namespace

bool ParseDuration(std::string_view s, uint64_t* out_ms) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  uint64_t total_ns = 0;
  bool first = true;
  while (!s.empty()) {
    uint64_t whole = 0, frac = 0;
    double scale = 1;
    bool overflow = false;
    if (!TakeNumber(&s, &whole, &frac, &scale, &overflow) || overflow) return false;
    uint64_t unit = 0;
    if (s.empty() && first) {
      unit = kSec;  // a bare number means seconds
    } else if (!TakeUnit(&s, &unit)) {
      return false;
    }
    if (!AddScaled(whole, frac, scale, unit, &total_ns)) return false;
    first = false;
  }
  // Millisecond precision; round up so that a positive duration never becomes 0 (= unset).
  *out_ms = total_ns / kMs + (total_ns % kMs != 0 ? 1 : 0);
  return true;
}

}  // namespace beacon::config

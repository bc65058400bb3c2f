#include "beacon/core/duration.h"

#include <limits>

namespace beacon::core {

bool ParseGoDuration(std::string_view s, int64_t* ns, std::string* err) {
  const std::string orig(s);
  auto fail = [&](std::string msg) {
    if (err != nullptr) *err = std::move(msg);
    return false;
  };
  const std::string invalid = "time: invalid duration \"" + orig + "\"";
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *ns = 0;
    return true;
  }
  if (s.empty()) return fail(invalid);
  uint64_t total = 0;
  constexpr uint64_t kMax = uint64_t{1} << 63;
  while (!s.empty()) {
    uint64_t whole = 0;
    size_t i = 0;
    bool digits = false, overflow = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      digits = true;
      const auto d = static_cast<uint64_t>(s[i] - '0');
      if (whole > (kMax - d) / 10) overflow = true;
      whole = whole * 10 + d;
    }
    uint64_t frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        digits = true;
        if (scale < uint64_t{1000000000000000000}) {
          frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
          scale *= 10;
        }
      }
    }
    if (!digits) return fail(invalid);
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && (s[u] < '0' || s[u] > '9')) ++u;
    const std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (unit_name.empty()) return fail("time: missing unit in duration \"" + orig + "\"");
    if (unit_name == "ns") unit = 1;
    if (unit_name == "us" || unit_name == "\xC2\xB5s" || unit_name == "\xCE\xBCs") unit = 1000;
    if (unit_name == "ms") unit = 1000000;
    if (unit_name == "s") unit = 1000000000;
    if (unit_name == "m") unit = 60000000000;
    if (unit_name == "h") unit = 3600000000000;
    if (unit == 0) {
      return fail("time: unknown unit \"" + std::string(unit_name) + "\" in duration \"" + orig +
                  "\"");
    }
    if (overflow || whole > kMax / unit) return fail(invalid);
    uint64_t v = whole * unit;
    // frac < scale <= 1e18 and unit <= 3.6e12: split to stay in 64 bits.
    const long double f = static_cast<long double>(frac) * static_cast<long double>(unit) /
                          static_cast<long double>(scale);
    v += static_cast<uint64_t>(f);
    if (v > kMax || total > kMax - v) return fail(invalid);
    total += v;
  }
  if (!neg && total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return fail(invalid);
  }
  *ns = neg ? static_cast<int64_t>(0 - total) : static_cast<int64_t>(total);
  return true;
}

bool ParseDurationMs(std::string_view s, uint64_t* out_ms) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '-') return false;
  std::string text(s);
  if (text.find_first_not_of("0123456789.") == std::string::npos) text += 's';  // bare seconds
  int64_t ns = 0;
  if (!ParseGoDuration(text, &ns)) return false;
  constexpr uint64_t kNsPerMs = 1000000;
  const auto u = static_cast<uint64_t>(ns);
  *out_ms = u / kNsPerMs + (u % kNsPerMs != 0 ? 1 : 0);
  return true;
}

std::string GoDuration(uint64_t ms) {
  if (ms == 0) return "";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h != 0) out += std::to_string(h) + "h";
  if (h != 0 || m != 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac != 0) {
    std::string f = std::to_string(frac + 1000).substr(1);  // three digits
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "s";
  return out;
}

}  // namespace beacon::core

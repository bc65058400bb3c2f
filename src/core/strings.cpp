#include "beacon/core/strings.h"

namespace beacon::core {

std::string Lower(std::string_view s) {
  std::string out(s);
  LowerInPlace(out);
  return out;
}

void LowerInPlace(std::string& s) {
  for (char& c : s) c = LowerChar(c);
}

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (LowerChar(s[i]) != lower[i]) return false;
  }
  return true;
}

std::string NormKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c != '_' && c != '-') out.push_back(LowerChar(c));
  }
  return out;
}

bool ParseGoBool(std::string_view s, bool* out) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") {
    *out = true;
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace beacon::core

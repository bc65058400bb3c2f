// JSON-input helpers for HTTP request bodies (simdjson DOM), shared by the API handlers.
//
// Contract:
// - Field names match the way Consul's decoder does plus snake_case (spec 2.1): NormKey()
//   lower-cases and drops '_' and '-', so "LockDelay", "lockdelay" and "lock_delay" are one key.
// - Every Get* helper returns false and sets *err to a message naming the field when the JSON
//   value has the wrong type or range; the caller prefixes it (e.g. "Request decode failed: ").
//   A JSON null leaves *out untouched and returns true (Go's decoder does the same for scalars).
// - ParseGoDuration is Go's time.ParseDuration (nanoseconds, error text as Go's).
// - Base64 is the standard alphabet with padding, as Go encodes []byte in JSON; Base64Decode also
//   accepts a missing padding.
// - Pure functions, no state: any thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::http::json_in {

namespace dom = simdjson::dom;

inline std::string NormKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// "Request decode failed: <simdjson's reason>" (Consul's 400 text for a body it cannot decode).
inline std::string DecodeFailed(std::string_view what) {
  return "Request decode failed: " + std::string(what);
}
inline std::string DecodeFailed(simdjson::error_code e) {
  return DecodeFailed(simdjson::error_message(e));
}

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", "0"; units ns us µs ms s m h.
inline bool ParseGoDuration(std::string_view s, int64_t* ns, std::string* err) {
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
      if (whole > (kMax - 9) / 10) overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
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

inline std::string Base64Encode(std::string_view in) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlpha[v >> 18 & 63]);
    out.push_back(kAlpha[v >> 12 & 63]);
    out.push_back(kAlpha[v >> 6 & 63]);
    out.push_back(kAlpha[v & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(kAlpha[v >> 18 & 63]);
    out.push_back(kAlpha[v >> 12 & 63]);
    out.push_back(i + 1 < in.size() ? kAlpha[v >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// False with *err = Go's "illegal base64 data at input byte N" on a bad character or length.
inline bool Base64Decode(std::string_view in, std::string* out, std::string* err) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  auto fail = [&](size_t at) {
    if (err != nullptr) *err = "illegal base64 data at input byte " + std::to_string(at);
    return false;
  };
  size_t n = in.size();
  size_t pad = 0;
  while (n > 0 && in[n - 1] == '=' && pad < 2) {
    --n;
    ++pad;
  }
  if (pad > 0 && in.size() % 4 != 0) return fail(in.size() - pad);
  if (n % 4 == 1) return fail(n);
  out->clear();
  out->reserve(n / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const int v = val(in[i]);
    if (v < 0) return fail(i);
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(acc >> bits & 0xFF));
    }
  }
  return true;
}

// ---- typed getters; `field` names the value in error messages ----

inline bool GetString(dom::element v, std::string_view field, std::string* out, std::string* err) {
  if (v.is_null()) return true;
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    *err = std::string(field) + ": expected a string";
    return false;
  }
  out->assign(s);
  return true;
}

// A non-negative integer (a float with no fraction is accepted).
inline bool GetUint(dom::element v, std::string_view field, uint64_t* out, std::string* err) {
  if (v.is_null()) return true;
  uint64_t u = 0;
  double d = 0;
  if (v.get_uint64().get(u) == simdjson::SUCCESS) {
    *out = u;
    return true;
  }
  if (v.get_double().get(d) == simdjson::SUCCESS && d >= 0 && d < 1.8e19 &&
      static_cast<double>(static_cast<uint64_t>(d)) == d) {
    *out = static_cast<uint64_t>(d);
    return true;
  }
  *err = std::string(field) + ": expected a non-negative integer";
  return false;
}

// A Go duration string ("15s") or an integer number of nanoseconds (spec 2.1).
inline bool GetDurationNs(dom::element v, std::string_view field, int64_t* ns, std::string* err) {
  if (v.is_null()) return true;
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) {
    std::string why;
    if (ParseGoDuration(s, ns, &why)) return true;
    *err = std::string(field) + ": " + why;
    return false;
  }
  int64_t i = 0;
  double d = 0;
  if (v.get_int64().get(i) == simdjson::SUCCESS) {
    *ns = i;
    return true;
  }
  if (v.get_double().get(d) == simdjson::SUCCESS && d > -9.2e18 && d < 9.2e18) {
    *ns = static_cast<int64_t>(d);
    return true;
  }
  *err = std::string(field) + ": expected a duration string or a number of nanoseconds";
  return false;
}

// An array of strings; null gives an empty array (Go decodes null into a nil slice).
inline bool GetStringArray(dom::element v, std::string_view field, std::vector<std::string>* out,
                           std::string* err) {
  out->clear();
  if (v.is_null()) return true;
  dom::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) {
    *err = std::string(field) + ": expected an array of strings";
    return false;
  }
  for (dom::element item : arr) {
    std::string_view s;
    if (item.get_string().get(s) != simdjson::SUCCESS) {
      *err = std::string(field) + ": expected an array of strings";
      return false;
    }
    out->emplace_back(s);
  }
  return true;
}

}  // namespace beacon::http::json_in

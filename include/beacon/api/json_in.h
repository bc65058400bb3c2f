// JSON-input helpers for HTTP request bodies (simdjson DOM), shared by the API handlers.
//
// Contract:
// - Field names match the way Consul's decoder does plus snake_case (spec 2.1): core::NormKey()
//   lower-cases and drops '_' and '-', so "LockDelay", "lockdelay" and "lock_delay" are one key.
// - Every Get* helper returns false and sets *err to a message naming the field when the JSON
//   value has the wrong type or range; the caller prefixes it (e.g. "Request decode failed: ").
//   A JSON null leaves *out untouched and returns true (Go's decoder does the same for scalars).
// - Durations are parsed by core::ParseGoDuration (Go's time.ParseDuration, nanoseconds);
//   base64 (KV values) lives in core/base64.h.
// - Pure functions, no state: any thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/duration.h"

namespace beacon::http::json_in {

namespace dom = simdjson::dom;

// "Request decode failed: <simdjson's reason>" (Consul's 400 text for a body it cannot decode).
inline std::string DecodeFailed(std::string_view what) {
  return "Request decode failed: " + std::string(what);
}
inline std::string DecodeFailed(simdjson::error_code e) {
  return DecodeFailed(simdjson::error_message(e));
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
    if (core::ParseGoDuration(s, ns, &why)) return true;
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

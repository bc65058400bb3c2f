// Small string helpers shared by every module: ASCII lower-casing, Go's strconv.ParseBool and
// percent-decoding.
//
// Contract: pure functions, any thread. Lower-casing is ASCII only (bytes >= 0x80 and
// everything but 'A'..'Z' pass through), independent of the C locale, as Consul's DNS and
// catalog keys are (Go's strings.ToLower on ASCII names).
#pragma once

#include <string>
#include <string_view>

namespace beacon::core {

// 'A'..'Z' -> 'a'..'z'; any other byte unchanged.
constexpr char LowerChar(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A lower-cased copy (allocates unless it fits the small-string buffer).
std::string Lower(std::string_view s);
void LowerInPlace(std::string& s);

// Whether Lower(s) == lower, without allocating. `lower` must already be lower-case.
bool EqualsLower(std::string_view s, std::string_view lower);

// A JSON/config field name folded the way Consul's decoders compare them: lower-cased with '_'
// and '-' dropped, so "service_id", "ServiceID" and "serviceid" are one key.
std::string NormKey(std::string_view key);

// Go's strconv.ParseBool: "1" "t" "T" "TRUE" "true" "True" and "0" "f" "F" "FALSE" "false"
// "False"; anything else (including "") returns false and leaves *out untouched.
bool ParseGoBool(std::string_view s, bool* out);

// 0..15 for a hex digit (either case), -1 for anything else.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded (a '%' not followed by two hex digits stays as it is); with
// plus_is_space, '+' becomes ' ' (query strings). Used for URLs and gRPC's grpc-message.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);

}  // namespace beacon::core

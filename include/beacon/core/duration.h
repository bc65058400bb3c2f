// Go-compatible durations: parsing as Go's time.ParseDuration, the agent-config flavour of it
// (milliseconds, a bare number means seconds), and printing as Go's time.Duration.String().
//
// Contract: pure functions, any thread; they allocate only for the returned or error strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::core {

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", "1h2m3.5s", "0"; units ns us µs (U+00B5
// or U+03BC) ms s m h; an optional leading '+' or '-'; at most 2^63-1 ns. On failure returns
// false and sets *err (when not null) to Go's text, e.g. `time: missing unit in duration "5"`.
bool ParseGoDuration(std::string_view s, int64_t* ns, std::string* err = nullptr);

// A duration in the agent's configuration, flags and ?wait: ParseGoDuration's syntax except
// that a bare number ("10", "1.5") means seconds and a negative duration is refused; the result
// is in milliseconds, rounded up so that a positive duration never becomes 0 (= unset).
bool ParseDurationMs(std::string_view s, uint64_t* out_ms);

// Go's time.Duration.String() of a whole number of milliseconds ("500ms", "1.5s", "1m30s",
// "1h0m0s"), except that 0 gives "" (what Consul shows for an unset duration).
std::string GoDuration(uint64_t ms);

}  // namespace beacon::core

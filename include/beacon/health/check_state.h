// Pure pieces of running a check: its kind, whether two definitions are the same run, output
// capping, and the threshold state machine (spec 4.3). No I/O, no clock, no threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "beacon/catalog/types.h"

namespace beacon::health {

enum class Kind : uint8_t { kNone, kScript, kHttp, kTcp, kUdp, kAlias };

// What a check runs. kNone: nothing to probe (TTL, maintenance, gRPC, docker, ...).
Kind KindOf(const catalog::Check& c);

// Whether two checks run the same probe with the same settings and thresholds (name, notes,
// status, output and indexes aside): a Sync keeps such a check's state and schedule.
bool SameDefinition(const catalog::Check& a, const catalog::Check& b);

// Consul's capture: the last `max` bytes, and when more was written,
// "Captured <max> of <total> bytes\n...\n" before them.
std::string CapOutput(std::string_view all, size_t max);

// Consecutive-result thresholds (Consul's StatusHandler):
// - passing or warning results count as successes; the result is reported once
//   success_before_passing of them came in a row;
// - critical results count as failures; critical is reported after failures_before_critical in a
//   row, warning after failures_before_warning (defaults to failures_before_critical);
// - until a threshold is reached nothing is reported (the previous status stays).
class Thresholds {
 public:
  Thresholds(uint32_t success_before_passing, uint32_t failures_before_warning,
             uint32_t failures_before_critical);
  // The status to report for this result, or nothing (keep the previous one).
  std::optional<catalog::Health> Observe(catalog::Health result);

 private:
  uint32_t success_before_passing_;
  uint32_t failures_before_warning_;
  uint32_t failures_before_critical_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
};

}  // namespace beacon::health

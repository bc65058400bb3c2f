// Logger: one line per event, leveled, to stderr (or a given fd).
//
// Contract: any thread may log; each event is written with a single write(2) so lines from
// different threads never interleave. The level is fixed at construction (reload builds a new
// Logger). Formatting allocates nothing above 1 KiB of stack per line; longer lines are cut.
// Not for the DNS answer path: count there, log from the control loop.
//
// Subscribers (`beacon monitor`, /v1/agent/monitor) get a copy of each line at or above their own
// level, even below the Logger's level, into a bounded per-subscriber buffer: the logging thread
// never waits on a subscriber (a full buffer drops the line and counts it). Subscribe and
// Unsubscribe from any thread.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/thread_annotations.h"

namespace beacon {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError };

// "trace" | "debug" | "info" | "warn" | "warning" | "err" | "error"; false if unknown.
bool ParseLogLevel(std::string_view s, LogLevel* out);

// One subscriber's bounded buffer of log lines (each ends in '\n').
class LogSubscription {
 public:
  // `notify` runs on the logging thread when the buffer turns non-empty; it must not block
  // (waking a loop is fine) and must not call Take().
  LogSubscription(LogLevel level, size_t max_bytes, std::function<void()> notify)
      : level_(level), max_bytes_(max_bytes), notify_(std::move(notify)) {}
  LogLevel level() const { return level_; }
  // Logging thread: appends the line, or drops it when the buffer is full.
  void Push(std::string_view line);
  // Any thread: takes everything buffered; *dropped (optional) gets the lines dropped since.
  std::string Take(uint64_t* dropped = nullptr);

 private:
  const LogLevel level_;
  const size_t max_bytes_;
  std::function<void()> notify_;
  Mutex mu_;
  std::string buf_ GUARDED_BY(mu_);
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
};
using LogSubscriptionPtr = std::shared_ptr<LogSubscription>;

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::kInfo, int fd = 2) : level_(level), fd_(fd) {}

  bool Enabled(LogLevel l) const {
    return l >= level_ || static_cast<int>(l) >= min_sub_level_.load(std::memory_order_relaxed);
  }
  void Log(LogLevel l, const char* module, const char* fmt, ...) const
      __attribute__((format(printf, 4, 5)));

  void Subscribe(LogSubscriptionPtr sub) const;
  void Unsubscribe(const LogSubscription* sub) const;

 private:
  LogLevel level_;
  int fd_;
  mutable Mutex sub_mu_;
  mutable std::vector<LogSubscriptionPtr> subs_ GUARDED_BY(sub_mu_);
  mutable std::atomic<int> min_sub_level_{static_cast<int>(LogLevel::kError) + 1};  // no subs
};

}  // namespace beacon

#define BEACON_LOG(logger, lvl, module, ...)                      \
  do {                                                            \
    if ((logger).Enabled(::beacon::LogLevel::lvl))                \
      (logger).Log(::beacon::LogLevel::lvl, module, __VA_ARGS__); \
  } while (0)

// Logger: one line per event, leveled, to stderr (or a given fd).
//
// Contract: any thread may log; each event is written with a single write(2) so lines from
// different threads never interleave. The level is fixed at construction (reload builds a new
// Logger). Formatting allocates nothing above 1 KiB of stack per line; longer lines are cut.
// Not for the DNS answer path: count there, log from the control loop.
#pragma once

#include <cstdarg>
#include <string_view>

namespace beacon {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError };

// "trace" | "debug" | "info" | "warn" | "warning" | "err" | "error"; false if unknown.
bool ParseLogLevel(std::string_view s, LogLevel* out);

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::kInfo, int fd = 2) : level_(level), fd_(fd) {}

  bool Enabled(LogLevel l) const { return l >= level_; }
  void Log(LogLevel l, const char* module, const char* fmt, ...) const
      __attribute__((format(printf, 4, 5)));

 private:
  LogLevel level_;
  int fd_;
};

}  // namespace beacon

#define BEACON_LOG(logger, lvl, module, ...)                      \
  do {                                                            \
    if ((logger).Enabled(::beacon::LogLevel::lvl))                \
      (logger).Log(::beacon::LogLevel::lvl, module, __VA_ARGS__); \
  } while (0)

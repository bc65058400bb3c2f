#include "beacon/core/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace beacon {

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  if (s == "trace")
    *out = LogLevel::kTrace;
  else if (s == "debug")
    *out = LogLevel::kDebug;
  else if (s == "info")
    *out = LogLevel::kInfo;
  else if (s == "warn" || s == "warning")
    *out = LogLevel::kWarn;
  else if (s == "err" || s == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

void Logger::Log(LogLevel l, const char* module, const char* fmt, ...) const {
  static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
  char line[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  int n = std::snprintf(line, sizeof line,
                        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s: ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        ts.tv_nsec / 1000000, kNames[static_cast<int>(l)], module);
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  // One event, one line: fold embedded newlines.
  for (size_t i = static_cast<size_t>(n); i < len; ++i) {
    if (line[i] == '\n') line[i] = ' ';
  }
  line[len++] = '\n';
  if (l >= level_) {
    ssize_t w = ::write(fd_, line, len);
    (void)w;
  }
  if (static_cast<int>(l) >= min_sub_level_.load(std::memory_order_relaxed)) {
    MutexLock lock(&sub_mu_);
    for (const LogSubscriptionPtr& s : subs_) {
      if (l >= s->level()) s->Push(std::string_view(line, len));
    }
  }
}

void Logger::Subscribe(LogSubscriptionPtr sub) const {
  MutexLock lock(&sub_mu_);
  subs_.push_back(std::move(sub));
  int min = static_cast<int>(LogLevel::kError) + 1;
  for (const LogSubscriptionPtr& s : subs_) min = std::min(min, static_cast<int>(s->level()));
  min_sub_level_.store(min, std::memory_order_relaxed);
}

void Logger::Unsubscribe(const LogSubscription* sub) const {
  MutexLock lock(&sub_mu_);
  int min = static_cast<int>(LogLevel::kError) + 1;
  for (size_t i = 0; i < subs_.size();) {
    if (subs_[i].get() == sub) {
      subs_.erase(subs_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    min = std::min(min, static_cast<int>(subs_[i]->level()));
    ++i;
  }
  min_sub_level_.store(min, std::memory_order_relaxed);
}

void LogSubscription::Push(std::string_view line) {
  bool was_empty = false;
  {
    MutexLock lock(&mu_);
    if (buf_.size() + line.size() > max_bytes_) {
      ++dropped_;
      return;
    }
    was_empty = buf_.empty();
    buf_.append(line);
  }
  if (was_empty && notify_) notify_();
}

std::string LogSubscription::Take(uint64_t* dropped) {
  MutexLock lock(&mu_);
  std::string out;
  out.swap(buf_);
  if (dropped != nullptr) *dropped = dropped_;
  dropped_ = 0;
  return out;
}

}  // namespace beacon

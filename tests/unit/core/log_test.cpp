// Logger subscriptions: levels below the Logger's own, bounded buffers that drop, unsubscribe.
#include <doctest.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "beacon/core/log.h"

namespace beacon {
namespace {

TEST_CASE("log: a subscriber gets lines at or above its level, even below the logger's") {
  Logger log(LogLevel::kError, -1);  // writes nowhere
  CHECK_FALSE(log.Enabled(LogLevel::kDebug));
  std::atomic<int> wakes{0};
  auto sub = std::make_shared<LogSubscription>(LogLevel::kDebug, 4096, [&wakes] { ++wakes; });
  log.Subscribe(sub);
  CHECK(log.Enabled(LogLevel::kDebug));
  CHECK_FALSE(log.Enabled(LogLevel::kTrace));
  BEACON_LOG(log, kTrace, "t", "not this %d", 1);
  BEACON_LOG(log, kDebug, "t", "first %d", 1);
  BEACON_LOG(log, kInfo, "t", "second");
  CHECK(wakes == 1);  // only when the buffer turns non-empty
  std::string got = sub->Take();
  CHECK(got.find("[DEBUG] t: first 1\n") != std::string::npos);
  CHECK(got.find("[INFO] t: second\n") != std::string::npos);
  CHECK(got.find("not this") == std::string::npos);
  CHECK(sub->Take().empty());
  log.Unsubscribe(sub.get());
  CHECK_FALSE(log.Enabled(LogLevel::kDebug));
  BEACON_LOG(log, kError, "t", "after");
  CHECK(sub->Take().empty());
}

TEST_CASE("log: a full subscriber buffer drops lines and counts them") {
  Logger log(LogLevel::kInfo, -1);
  auto sub = std::make_shared<LogSubscription>(LogLevel::kInfo, 200, nullptr);
  log.Subscribe(sub);
  for (int i = 0; i < 20; ++i) BEACON_LOG(log, kInfo, "t", "line %d", i);
  uint64_t dropped = 0;
  std::string got = sub->Take(&dropped);
  CHECK(got.size() <= 200);
  CHECK(got.find("line 0\n") != std::string::npos);
  CHECK(dropped > 0);
  CHECK(dropped + static_cast<uint64_t>(std::count(got.begin(), got.end(), '\n')) == 20);
  BEACON_LOG(log, kInfo, "t", "later");
  CHECK(sub->Take(&dropped).find("later") != std::string::npos);
  CHECK(dropped == 0);
  log.Unsubscribe(sub.get());
}

}  // namespace
}  // namespace beacon

// Clock: where a module gets the time, passed in through its constructor so tests can drive it.
//
// Contract:
// - MonotonicMs(): milliseconds from an arbitrary origin, never decreasing; for timers,
//   intervals, TTLs and timeouts. WallMs(): milliseconds since the Unix epoch; for timestamps a
//   user sees or that are persisted (they may jump when the system clock is set).
// - Every method is const and safe from any thread. The caller owns the clock and keeps it alive
//   for as long as the modules it was given to.
// - RealClock reads the system clocks. FakeClock only moves when told to: Advance() moves both
//   times forward, SetWall() moves the wall time alone (either way, as a user setting the clock
//   would); the monotonic time never goes back.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace beacon::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t MonotonicMs() const = 0;
  virtual uint64_t WallMs() const = 0;
};

class RealClock final : public Clock {
 public:
  uint64_t MonotonicMs() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
  uint64_t WallMs() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
};

class FakeClock final : public Clock {
 public:
  // Starts at the given times (the wall default is 2020-01-01T00:00:00Z, so a test never sees a
  // wall time of 0, which many formats treat as unset).
  explicit FakeClock(uint64_t monotonic_ms = 0, uint64_t wall_ms = 1577836800000ULL)
      : mono_(monotonic_ms), wall_(wall_ms) {}

  uint64_t MonotonicMs() const override { return mono_.load(std::memory_order_acquire); }
  uint64_t WallMs() const override { return wall_.load(std::memory_order_acquire); }

  void Advance(uint64_t ms) {
    mono_.fetch_add(ms, std::memory_order_acq_rel);
    wall_.fetch_add(ms, std::memory_order_acq_rel);
  }
  void SetWall(uint64_t wall_ms) { wall_.store(wall_ms, std::memory_order_release); }

 private:
  std::atomic<uint64_t> mono_;
  std::atomic<uint64_t> wall_;
};

}  // namespace beacon::core

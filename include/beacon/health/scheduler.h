// Scheduler: when each health check runs next. Pure: no I/O, no clock; every call takes the
// current time (milliseconds, any monotonic origin) so tests drive it with a fake clock.
//
// Contract:
// - One ordered structure drives every check: Add/Remove/PopDue are O(log n).
// - The first run of a check is spread over its interval by a hash of its id (Phase), so checks
//   added together do not all fire at once (no thundering herd).
// - Runs keep their phase: the next run is the previous due time + interval (no drift, however
//   late PopDue is called); runs missed by more than one interval are skipped, not bunched.
// - Intervals below kMinIntervalMs are raised to it (Consul: 1 s).
// - Each check may carry an opaque `data` pointer (the Runner's job), handed back by PopDue so
//   the owner needs no lookup by id per run; PopDue into a caller's vector allocates nothing once
//   that vector has grown (the check-running hot path: thousands of runs per second).
// - Not thread-safe: one owner (the Runner's loop thread).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace beacon::health {

class Scheduler {
 public:
  static constexpr uint64_t kMinIntervalMs = 1000;

  // The interval actually used for a configured one.
  static uint64_t EffectiveInterval(uint64_t interval_ms);
  // Offset of a check's first run within its interval: a stable hash of the id.
  static uint64_t Phase(const std::string& id, uint64_t interval_ms);

  // Adds a check, or replaces its interval (and data) and restarts its schedule. First due:
  // now + Phase.
  void Add(const std::string& id, uint64_t interval_ms, uint64_t now_ms, void* data = nullptr);
  // Forgets a check (no-op when unknown).
  void Remove(const std::string& id);
  bool Contains(const std::string& id) const { return entries_.count(id) != 0; }
  size_t size() const { return entries_.size(); }

  // Every check due at or before now, in due order; each is rescheduled one interval later.
  std::vector<std::string> PopDue(uint64_t now_ms);
  struct Due {
    const std::string* id;  // valid until the check is removed
    void* data;             // as given to Add
  };
  // The same, into `out` (cleared first).
  void PopDue(uint64_t now_ms, std::vector<Due>* out);
  // The earliest due time, or nothing when empty.
  std::optional<uint64_t> NextDue() const;
  // A check's next due time (tests, diagnostics).
  std::optional<uint64_t> DueOf(const std::string& id) const;

 private:
  struct Entry {
    uint64_t interval_ms = 0;
    uint64_t due_ms = 0;
    void* data = nullptr;
    const std::string* id = nullptr;  // its key in entries_ (node keys never move)
  };
  // Queue order: due time, then id (ties in a stable order).
  struct ByDue {
    bool operator()(const std::pair<uint64_t, Entry*>& a,
                    const std::pair<uint64_t, Entry*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second->id < *b.second->id;
    }
  };
  std::unordered_map<std::string, Entry> entries_;
  std::set<std::pair<uint64_t, Entry*>, ByDue> queue_;  // (due, entry)
};

}  // namespace beacon::health

// See scheduler.h.
#include "beacon/health/scheduler.h"

#include <algorithm>

namespace beacon::health {

uint64_t Scheduler::EffectiveInterval(uint64_t interval_ms) {
  return std::max(interval_ms, kMinIntervalMs);
}

uint64_t Scheduler::Phase(const std::string& id, uint64_t interval_ms) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ULL;
  h ^= h >> 29;  // mix the high bits down: short ids differ mostly there
  return h % EffectiveInterval(interval_ms);
}

void Scheduler::Add(const std::string& id, uint64_t interval_ms, uint64_t now_ms, void* data) {
  Remove(id);
  auto [it, added] = entries_.emplace(id, Entry{});
  Entry& e = it->second;
  e.interval_ms = EffectiveInterval(interval_ms);
  e.due_ms = now_ms + Phase(id, e.interval_ms);
  e.data = data;
  e.id = &it->first;
  queue_.emplace(e.due_ms, &e);
}

void Scheduler::Remove(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  queue_.erase({it->second.due_ms, &it->second});
  entries_.erase(it);
}

std::vector<std::string> Scheduler::PopDue(uint64_t now_ms) {
  std::vector<Due> due;
  PopDue(now_ms, &due);
  std::vector<std::string> out;
  out.reserve(due.size());
  for (const Due& d : due) out.push_back(*d.id);
  return out;
}

void Scheduler::PopDue(uint64_t now_ms, std::vector<Due>* out) {
  out->clear();
  while (!queue_.empty() && queue_.begin()->first <= now_ms) {
    auto node = queue_.extract(queue_.begin());
    Entry& e = *node.value().second;
    out->push_back(Due{e.id, e.data});
    // Next run one interval after the previous due time; skip whole intervals already missed.
    uint64_t next = e.due_ms + e.interval_ms;
    if (next <= now_ms) next += ((now_ms - next) / e.interval_ms + 1) * e.interval_ms;
    e.due_ms = next;
    node.value().first = next;
    queue_.insert(std::move(node));
  }
}

std::optional<uint64_t> Scheduler::NextDue() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first;
}

std::optional<uint64_t> Scheduler::DueOf(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.due_ms;
}

}  // namespace beacon::health

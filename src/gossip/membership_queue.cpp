// Membership: the broadcast queue and Lifeguard's formulas (suspicion timeout, retransmits).
#include <algorithm>
#include <cmath>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

std::uint64_t BroadcastQueue::Queue(const std::string& node, Bytes msg) {
  if (!node.empty()) {
    std::erase_if(items_, [&](const Item& i) { return i.node == node; });
  }
  items_.push_back({node, std::move(msg), 0, next_id_});
  return next_id_++;
}

bool BroadcastQueue::Pending(std::uint64_t id) const {
  return std::any_of(items_.begin(), items_.end(), [&](const Item& i) { return i.id == id; });
}

std::size_t BroadcastQueue::PendingBytes(std::size_t overhead) const {
  std::size_t n = 0;
  for (const Item& i : items_) n += overhead + i.msg.size();
  return n;
}

std::vector<Bytes> BroadcastQueue::Get(std::size_t overhead, std::size_t limit,
                                       int transmit_limit) {
  std::vector<Item*> order;
  order.reserve(items_.size());
  for (Item& i : items_) order.push_back(&i);
  std::sort(order.begin(), order.end(), [](const Item* a, const Item* b) {
    if (a->transmits != b->transmits) return a->transmits < b->transmits;
    if (a->msg.size() != b->msg.size()) return a->msg.size() > b->msg.size();
    return a->id > b->id;
  });
  std::vector<Bytes> out;
  std::size_t used = 0;
  for (Item* i : order) {
    const std::size_t need = overhead + i->msg.size();
    if (used + need > limit) continue;
    used += need;
    out.push_back(i->msg);
    ++i->transmits;
  }
  std::erase_if(items_, [&](const Item& i) { return i.transmits >= transmit_limit; });
  return out;
}

std::uint64_t Suspicion::Deadline() const {
  if (k < 1) return start_ms + min_ms;
  const double frac = std::log(n + 1.0) / std::log(k + 1.0);
  const double raw = static_cast<double>(max_ms) - frac * static_cast<double>(max_ms - min_ms);
  auto timeout = static_cast<std::uint64_t>(std::floor(raw));
  timeout = std::max(timeout, min_ms);
  return start_ms + timeout;
}

bool Suspicion::Confirm(const std::string& from) {
  if (n >= k) return false;
  if (!confirmers.insert(from).second) return false;
  ++n;
  return true;
}

std::uint64_t SuspicionTimeoutMs(int mult, std::size_t n, std::uint64_t interval_ms) {
  const double scale = std::max(1.0, std::log10(std::max<double>(1.0, static_cast<double>(n))));
  return static_cast<std::uint64_t>(mult * scale * static_cast<double>(interval_ms));
}

int RetransmitLimit(int mult, std::size_t n) {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return mult * static_cast<int>(scale);
}

}  // namespace beacon::gossip

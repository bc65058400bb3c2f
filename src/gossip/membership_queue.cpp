// Membership: the broadcast queue and Lifeguard's formulas (suspicion timeout, retransmits).
#include <algorithm>
#include <cmath>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

std::uint64_t BroadcastQueue::Queue(const std::string& node, Bytes msg) {
  const Key key{0, msg.size(), next_id_++};
  if (!node.empty()) {
    auto [it, fresh] = by_node_.try_emplace(node, key);
    if (!fresh) {
      bytes_ -= it->second.size;
      items_.erase(it->second);
      it->second = key;
    }
  }
  bytes_ += key.size;
  items_.emplace(key, Item{node, std::move(msg)});
  return key.id;
}

bool BroadcastQueue::Pending(std::uint64_t id) const {
  return std::any_of(items_.begin(), items_.end(),
                     [&](const auto& kv) { return kv.first.id == id; });
}

std::size_t BroadcastQueue::PendingBytes(std::size_t overhead) const {
  return bytes_ + overhead * items_.size();
}

std::vector<Bytes> BroadcastQueue::Get(std::size_t overhead, std::size_t limit,
                                       int transmit_limit) {
  // In order, each message that still fits: within a transmit tier, the first one no larger
  // than the room left is found by lower_bound (sizes descend inside a tier).
  std::vector<Bytes> out;
  std::vector<std::map<Key, Item, Order>::iterator> taken;
  std::size_t used = 0;
  for (auto it = items_.begin(); it != items_.end();) {
    if (limit - used <= overhead) break;
    const std::size_t room = limit - used - overhead;
    const int tier = it->first.transmits;
    auto f = items_.lower_bound(Key{tier, room, ~std::uint64_t{0}});
    // Never back before `it` (what was taken stays in place until the end): sizes descend, so
    // when the first fitting one is before `it`, `it` fits too.
    if (f != items_.end() && Order{}(f->first, it->first)) f = it;
    if (f == items_.end()) break;
    if (f->first.transmits != tier) {
      it = f;
      continue;
    }
    used += overhead + f->first.size;
    out.push_back(f->second.msg);
    taken.push_back(f);
    it = std::next(f);
  }
  for (auto t : taken) {
    auto nh = items_.extract(t);
    ++nh.key().transmits;
    if (nh.key().transmits >= transmit_limit) {
      bytes_ -= nh.key().size;
      if (!nh.mapped().node.empty()) by_node_.erase(nh.mapped().node);
      continue;
    }
    if (!nh.mapped().node.empty()) by_node_[nh.mapped().node] = nh.key();
    items_.insert(std::move(nh));
  }
  while (!items_.empty() && std::prev(items_.end())->first.transmits >= transmit_limit) {
    auto last = std::prev(items_.end());
    if (!last->second.node.empty()) by_node_.erase(last->second.node);
    bytes_ -= last->first.size;
    items_.erase(last);
  }
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

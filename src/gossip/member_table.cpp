// MemberTable and MetaPool (see member_table.h).
#include "beacon/gossip/member_table.h"

#include <algorithm>
#include <functional>

namespace beacon::gossip {

namespace {
std::size_t HashName(std::string_view s) {
  return std::hash<std::string_view>{}(s);
}
}  // namespace

MetaPtr MetaPool::Intern(const Bytes& meta) {
  if (auto it = metas_.find(meta); it != metas_.end()) return *it;
  return *metas_.insert(std::make_shared<const Bytes>(meta)).first;
}

void MemberEntry::SetAddr(const Bytes& a) {
  addr_len = static_cast<std::uint8_t>(std::min<std::size_t>(a.size(), addr.size()));
  addr.fill(0);
  std::copy_n(a.begin(), addr_len, addr.begin());
}

std::size_t MemberTable::Slot(std::string_view name) const {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t s = HashName(name) & mask;; s = (s + 1) & mask) {
    if (index_[s] == kNone || entries_[index_[s]].name == name) return s;
  }
}

std::uint32_t MemberTable::IndexOf(std::string_view name) const {
  if (index_.empty()) return kNone;
  return index_[Slot(name)];
}

void MemberTable::Rehash(std::size_t slots) {
  index_.assign(slots, kNone);
  for (std::uint32_t i = 0; i < entries_.size(); ++i) index_[Slot(entries_[i].name)] = i;
}

void MemberTable::Reserve(std::size_t n) {
  entries_.reserve(n);
  std::size_t slots = 16;
  while (slots < 2 * n) slots *= 2;
  if (slots > index_.size()) Rehash(slots);
}

std::uint32_t MemberTable::Add(MemberEntry e) {
  if (2 * (entries_.size() + 1) > index_.size()) {
    Rehash(std::max<std::size_t>(16, index_.size() * 2));
  }
  ++changes_;
  const auto i = static_cast<std::uint32_t>(entries_.size());
  const std::size_t s = Slot(e.name);
  entries_.push_back(std::move(e));
  index_[s] = i;
  return i;
}

void MemberTable::Remove(std::uint32_t i) {
  ++changes_;
  const std::size_t mask = index_.size() - 1;
  // Delete i's slot with backward shifting (linear probing keeps no tombstones).
  std::size_t hole = Slot(entries_[i].name);
  for (std::size_t s = (hole + 1) & mask; index_[s] != kNone; s = (s + 1) & mask) {
    const std::size_t home = HashName(entries_[index_[s]].name) & mask;
    // Move s into the hole when its home is not within (hole, s] cyclically.
    const bool between = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
    if (!between) {
      index_[hole] = index_[s];
      hole = s;
    }
  }
  index_[hole] = kNone;
  const auto last = static_cast<std::uint32_t>(entries_.size() - 1);
  if (i != last) {
    index_[Slot(entries_[last].name)] = i;
    entries_[i] = std::move(entries_[last]);
  }
  entries_.pop_back();
}

}  // namespace beacon::gossip

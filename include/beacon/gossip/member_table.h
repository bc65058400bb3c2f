// Membership's member table: compact entries in one array, found by name through an
// open-addressing index, so picking random members is O(1) (an array index) and an entry costs
// about 100 bytes instead of a std::map node with heap-allocated address and meta.
//
// Contract: MemberEntry holds what gossip::Member holds, with the address inline (16 bytes) and
// the meta shared (MetaPool: equal metas are one allocation when a pool is given). MemberTable
// keeps entries in insertion order until Remove(), which moves the last entry into the hole
// (indices of other entries stay valid until then). MetaPool keeps every distinct meta it was
// given for its lifetime (meant for simulators, whose thousands of agents carry a few metas);
// share one pool only among objects driven by one thread. Nothing here is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

using MetaPtr = std::shared_ptr<const Bytes>;

// Interns node metas (Serf tags): one shared copy per distinct byte string.
class MetaPool {
 public:
  MetaPtr Intern(const Bytes& meta);
  std::size_t size() const { return metas_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const MetaPtr& p) const { return (*this)(*p); }
    std::size_t operator()(const Bytes& b) const {
      return std::hash<std::string_view>{}(
          std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const MetaPtr& a, const MetaPtr& b) const { return *a == *b; }
    bool operator()(const Bytes& a, const MetaPtr& b) const { return a == *b; }
    bool operator()(const MetaPtr& a, const Bytes& b) const { return *a == b; }
  };
  std::unordered_set<MetaPtr, Hash, Eq> metas_;
};

struct MemberEntry {
  std::string name;
  MetaPtr meta;  // never null
  std::uint64_t state_change_ms = 0;
  std::uint32_t incarnation = 0;
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t addr_len = 0;
  NodeState state = NodeState::kAlive;
  std::uint16_t port = 0;
  Versions vsn;

  Bytes Addr() const { return Bytes(addr.begin(), addr.begin() + addr_len); }
  bool SameAddr(const Bytes& a) const {
    return a.size() == addr_len && std::equal(a.begin(), a.end(), addr.begin());
  }
  void SetAddr(const Bytes& a);  // at most 16 bytes (longer is cut, as no IP is longer)
};

class MemberTable {
 public:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  std::size_t size() const { return entries_.size(); }
  MemberEntry& at(std::uint32_t i) { return entries_[i]; }
  const MemberEntry& at(std::uint32_t i) const { return entries_[i]; }
  std::uint32_t IndexOf(std::string_view name) const;  // kNone when absent
  MemberEntry* Find(std::string_view name) {
    const std::uint32_t i = IndexOf(name);
    return i == kNone ? nullptr : &entries_[i];
  }
  const MemberEntry* Find(std::string_view name) const {
    const std::uint32_t i = IndexOf(name);
    return i == kNone ? nullptr : &entries_[i];
  }
  // Appends (the name must be new); returns its index.
  std::uint32_t Add(MemberEntry e);
  // Moves the last entry into index i and drops the last slot.
  void Remove(std::uint32_t i);
  void Reserve(std::size_t n);
  // Counts Add and Remove calls: a change means names moved to other indices.
  std::uint64_t changes() const { return changes_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  std::size_t Slot(std::string_view name) const;  // where `name` is, or the empty slot for it
  void Rehash(std::size_t slots);

  std::vector<MemberEntry> entries_;
  std::vector<std::uint32_t> index_;  // open addressing, linear probing; kNone = empty
  std::uint64_t changes_ = 0;
};

}  // namespace beacon::gossip

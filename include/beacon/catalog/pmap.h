// PMap<V>: a persistent (copy-on-write) hash map from string keys to shared immutable values.
//
// Contract:
// - Keys are not stored: each value knows its own key. V must provide
//   `bool MatchesKey(std::string_view key) const`, true iff the value is stored under `key`
//   (e.g. a node entry compares its name case-insensitively with the lower-case key). A value must
//   match its key from the moment it is Set until it is replaced or erased. An entry is one hash
//   and one shared pointer (24 bytes).
// - Two-level radix over a 64-bit key hash: 256 branches of 256 leaves. A leaf is a small vector
//   sorted by hash. Set/Erase copy one branch (256 pointers) and one leaf, so an update costs
//   O(leaf) no matter how many keys the map holds, and the old map stays valid and unchanged.
// - Find() never allocates and never touches a reference count: readers of a published
//   snapshot may call it from any thread without synchronisation.
// - Set/Erase are for the single catalog writer only.
// - Copying a PMap copies 256 pointers (shares everything else).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::catalog {

// FNV-1a, 64-bit. Stable across runs (no random seed) so tests are reproducible.
inline uint64_t HashKey(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

template <typename V>
class PMap {
 public:
  using ValuePtr = std::shared_ptr<const V>;

  struct Entry {
    uint64_t hash = 0;
    ValuePtr value;
  };

  PMap() = default;

  // Returns the value or nullptr. No allocation, no atomics.
  const V* Find(std::string_view key) const {
    const Entry* e = FindEntry(key);
    return e ? e->value.get() : nullptr;
  }

  ValuePtr FindShared(std::string_view key) const {
    const Entry* e = FindEntry(key);
    return e ? e->value : nullptr;
  }

  // Writer only. Inserts or replaces.
  void Set(std::string_view key, ValuePtr value) {
    const uint64_t h = HashKey(key);
    Leaf& leaf = MutableLeaf(h);
    for (uint32_t i = 0; i < leaf.n; ++i) {
      Entry& e = leaf.at(i);
      if (e.hash == h && e.value->MatchesKey(key)) {
        e.value = std::move(value);
        return;
      }
    }
    Entry fresh{h, std::move(value)};
    if (leaf.n < Leaf::kInline) {
      leaf.inl[leaf.n] = std::move(fresh);
    } else {
      leaf.more.push_back(std::move(fresh));
    }
    ++leaf.n;
    ++size_;
  }

  // Writer only. Returns true if the key was present.
  bool Erase(std::string_view key) {
    if (FindEntry(key) == nullptr) return false;
    const uint64_t h = HashKey(key);
    Leaf& leaf = MutableLeaf(h);
    uint32_t i = 0;
    while (!(leaf.at(i).hash == h && leaf.at(i).value->MatchesKey(key))) ++i;
    // Move the last entry into the hole.
    const uint32_t last = leaf.n - 1;
    if (i != last) leaf.at(i) = std::move(leaf.at(last));
    if (last >= Leaf::kInline) {
      leaf.more.pop_back();
    } else {
      leaf.inl[last] = Entry{};
    }
    --leaf.n;
    --size_;
    return true;
  }

  size_t size() const { return size_; }

  // Writer only. Freezes every branch and leaf written so far: call before publishing a copy of
  // this map to readers. Until then, repeated updates to one leaf (a bulk load) mutate in place.
  void Seal() { ++epoch_; }

  // Visits every value (order unspecified). fn(const V& value).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& b : root_) {
      if (!b) continue;
      for (const auto& leaf : b->leaves) {
        if (!leaf) continue;
        for (uint32_t i = 0; i < leaf->n; ++i) fn(*leaf->at(i).value);
      }
    }
  }

 private:
  // Up to kInline entries live in the leaf itself (one allocation, adjacent cache lines); the
  // rest spill to `more`.
  struct Leaf {
    static constexpr uint32_t kInline = 4;
    uint64_t epoch = 0;
    uint32_t n = 0;
    Entry inl[kInline];
    std::vector<Entry> more;
    Entry& at(uint32_t i) { return i < kInline ? inl[i] : more[i - kInline]; }
    const Entry& at(uint32_t i) const { return i < kInline ? inl[i] : more[i - kInline]; }
  };
  struct Branch {
    uint64_t epoch = 0;
    std::array<std::shared_ptr<const Leaf>, 256> leaves;
  };

  const Entry* FindEntry(std::string_view key) const {
    const uint64_t h = HashKey(key);
    const Branch* b = root_[h & 0xff].get();
    if (b == nullptr) return nullptr;
    const Leaf* leaf = b->leaves[(h >> 8) & 0xff].get();
    if (leaf == nullptr) return nullptr;
    for (uint32_t i = 0; i < leaf->n; ++i) {
      const Entry& e = leaf->at(i);
      if (e.hash == h && e.value->MatchesKey(key)) return &e;
    }
    return nullptr;
  }

  // Copy-on-write path to the leaf for h. A branch or leaf stamped with the current epoch was
  // created by this map since the last Seal() and is reachable from no published copy, so it is
  // mutated in place; anything older is copied first.
  Leaf& MutableLeaf(uint64_t h) {
    auto& bslot = root_[h & 0xff];
    Branch* branch;
    if (bslot && bslot->epoch == epoch_) {
      branch = const_cast<Branch*>(bslot.get());
    } else {
      auto fresh = bslot ? std::make_shared<Branch>(*bslot) : std::make_shared<Branch>();
      fresh->epoch = epoch_;
      branch = fresh.get();
      bslot = std::move(fresh);
    }
    auto& lslot = branch->leaves[(h >> 8) & 0xff];
    if (lslot && lslot->epoch == epoch_) return *const_cast<Leaf*>(lslot.get());
    auto leaf = lslot ? std::make_shared<Leaf>(*lslot) : std::make_shared<Leaf>();
    leaf->epoch = epoch_;
    Leaf* raw = leaf.get();
    lslot = std::move(leaf);
    return *raw;
  }

  std::array<std::shared_ptr<const Branch>, 256> root_{};
  size_t size_ = 0;
  uint64_t epoch_ = 1;
};

}  // namespace beacon::catalog

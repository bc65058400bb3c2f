// PMap<V>: a persistent (copy-on-write) hash map from string keys to shared immutable values.
//
// Contract:
// - Keys are not stored: each value knows its own key. By default V must provide
//   `bool MatchesKey(std::string_view key) const`, true iff the value is stored under `key` (e.g.
//   a node entry compares its name case-insensitively with the lower-case key); another policy
//   can be given as the Match parameter. A value must match its key from the moment it is Set
//   until it is replaced or erased. An entry is one hash and one owning pointer (V::Ptr if V
//   defines it, else std::shared_ptr<const V>): 16 or 24 bytes.
// - Two-level radix over a 64-bit key hash: 256 branches of kLeaves (64) leaves. A leaf is one
//   allocation (reference count, then its entries, unsorted, scanned by hash; about keys/16384
//   entries, ~18 at 300k keys). Set/Erase copy one branch (64 pointers) and one leaf, and the old
//   map stays valid and unchanged. A copied leaf is exactly as large as it needs to be; a leaf
//   written repeatedly between two Seal()s (a bulk load) grows in place by 4 entries (by half
//   past 32), which bounds both slack and re-allocation churn.
// - Find() never allocates and never touches a reference count: readers of a published
//   snapshot may call it from any thread without synchronisation.
// - Set/Erase are for the single catalog writer only.
// - Copying a PMap copies 256 pointers (shares everything else).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "beacon/core/hash.h"

namespace beacon::catalog {

// FNV-1a, 64-bit. Stable across runs (no random seed) so tests are reproducible.
inline uint64_t HashKey(std::string_view s) {
  const uint64_t h = core::Fnv1a64(s);
  return h ^ (h >> 29);
}

// Default key policy: the value's own MatchesKey.
struct MatchesKeyOf {
  template <typename V>
  bool operator()(const V& v, std::string_view key) const {
    return v.MatchesKey(key);
  }
};

// The owning pointer a PMap holds: V::Ptr when V names one (an intrusive RefPtr), else
// std::shared_ptr<const V>.
template <typename V>
struct PtrOf {
  using type = std::shared_ptr<const V>;
};
template <typename V>
requires requires {
  typename V::Ptr;
}
struct PtrOf<V> {
  using type = typename V::Ptr;
};

template <typename V, typename Match = MatchesKeyOf>
class PMap {
 public:
  using ValuePtr = typename PtrOf<V>::type;

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

  // Memory prefetch for a batch of lookups of hash `h` (= HashKey(key)); never changes a result
  // and never faults. Stage 0 touches the branch slot, stage 1 the leaf, stage 2 the value whose
  // hash matches. Run each stage over the whole batch before the next, so misses overlap.
  void Prefetch(uint64_t h, int stage) const {
    const Branch* b = root_[h & 0xff].get();
    if (b == nullptr) return;
    const auto* slot = &b->leaves[(h >> 8) % kLeaves];
    if (stage == 0) {
      __builtin_prefetch(slot);
      return;
    }
    const Leaf* leaf = slot->get();
    if (leaf == nullptr) return;
    if (stage == 1) {
      __builtin_prefetch(leaf);
      __builtin_prefetch(reinterpret_cast<const char*>(leaf) + 64);
      return;
    }
    const Entry* e = leaf->entries();
    for (uint32_t i = 0; i < leaf->n; ++i) {
      if (e[i].hash == h) __builtin_prefetch(e[i].value.get());
    }
  }
  // The value for hash `h` if exactly one entry has it (prefetch helper; no key check).
  const V* PeekHash(uint64_t h) const {
    const Leaf* leaf = LeafAt(h);
    if (leaf == nullptr) return nullptr;
    const Entry* e = leaf->entries();
    for (uint32_t i = 0; i < leaf->n; ++i) {
      if (e[i].hash == h) return e[i].value.get();
    }
    return nullptr;
  }

  // Writer only. Inserts or replaces. REQUIRES: value matches key.
  void Set(std::string_view key, ValuePtr value) {
    const uint64_t h = HashKey(key);
    const int at = IndexIn(LeafAt(h), h, key);
    Leaf* leaf = MutableLeaf(h, at < 0 ? 1 : 0);
    if (at >= 0) {
      leaf->entries()[at].value = std::move(value);
      return;
    }
    new (&leaf->entries()[leaf->n]) Entry{h, std::move(value)};
    ++leaf->n;
    ++size_;
  }

  // Writer only. Returns true if the key was present.
  bool Erase(std::string_view key) {
    const uint64_t h = HashKey(key);
    const int at = IndexIn(LeafAt(h), h, key);
    if (at < 0) return false;
    Leaf* leaf = MutableLeaf(h, 0);
    Entry* e = leaf->entries();
    const uint32_t last = leaf->n - 1;
    if (static_cast<uint32_t>(at) != last) e[at] = std::move(e[last]);
    e[last].~Entry();
    --leaf->n;
    --size_;
    if (leaf->n == 0) SlotFor(h) = LeafPtr();
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
      for (const auto& lp : b->leaves) {
        const Leaf* leaf = lp.get();
        if (leaf == nullptr) continue;
        for (uint32_t i = 0; i < leaf->n; ++i) fn(*leaf->entries()[i].value);
      }
    }
  }

 private:
  // Header of one leaf allocation; `cap` entry slots follow it, the first `n` constructed.
  struct Leaf {
    mutable std::atomic<uint32_t> refs{1};
    uint32_t n = 0;
    uint32_t cap = 0;
    uint64_t epoch = 0;

    Entry* entries() { return reinterpret_cast<Entry*>(this + 1); }
    const Entry* entries() const { return reinterpret_cast<const Entry*>(this + 1); }

    static Leaf* Make(uint32_t cap, uint64_t epoch) {
      void* mem = ::operator new (sizeof(Leaf) + size_t{cap} * sizeof(Entry));
      Leaf* l = new (mem) Leaf;
      l->cap = cap;
      l->epoch = epoch;
      return l;
    }
    static void Release(Leaf* l) {
      if (l == nullptr || l->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      for (uint32_t i = 0; i < l->n; ++i) l->entries()[i].~Entry();
      l->~Leaf();
      ::operator delete(l);
    }
  };
  static_assert(sizeof(Leaf) % alignof(Entry) == 0);

  // Intrusive shared owner of a leaf (8 bytes).
  class LeafPtr {
   public:
    LeafPtr() = default;
    explicit LeafPtr(Leaf* adopt) : p_(adopt) {}
    LeafPtr(const LeafPtr& o) : p_(o.p_) {
      if (p_ != nullptr) p_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    LeafPtr& operator=(LeafPtr o) noexcept {
      std::swap(p_, o.p_);
      return *this;
    }
    ~LeafPtr() { Leaf::Release(p_); }
    Leaf* get() const { return p_; }

   private:
    Leaf* p_ = nullptr;
  };

  static constexpr size_t kLeaves = 64;

  struct Branch {
    uint64_t epoch = 0;
    std::array<LeafPtr, kLeaves> leaves;
  };

  const Leaf* LeafAt(uint64_t h) const {
    const Branch* b = root_[h & 0xff].get();
    return b == nullptr ? nullptr : b->leaves[(h >> 8) % kLeaves].get();
  }

  static int IndexIn(const Leaf* leaf, uint64_t h, std::string_view key) {
    if (leaf == nullptr) return -1;
    const Entry* e = leaf->entries();
    for (uint32_t i = 0; i < leaf->n; ++i) {
      if (e[i].hash == h && Match{}(*e[i].value, key)) return static_cast<int>(i);
    }
    return -1;
  }

  const Entry* FindEntry(std::string_view key) const {
    const uint64_t h = HashKey(key);
    const Leaf* leaf = LeafAt(h);
    const int at = IndexIn(leaf, h, key);
    return at < 0 ? nullptr : &leaf->entries()[at];
  }

  // Copy-on-write path to the leaf slot for h. A branch or leaf stamped with the current epoch
  // was created by this map since the last Seal() and is reachable from no published copy, so it
  // is mutated in place; anything older is copied first.
  LeafPtr& SlotFor(uint64_t h) {
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
    return branch->leaves[(h >> 8) % kLeaves];
  }

  // A leaf for h that this map alone owns, with room for `extra` more entries.
  Leaf* MutableLeaf(uint64_t h, uint32_t extra) {
    LeafPtr& slot = SlotFor(h);
    Leaf* cur = slot.get();
    const bool own = cur != nullptr && cur->epoch == epoch_;
    if (own && cur->n + extra <= cur->cap) return cur;
    const uint32_t n = cur ? cur->n : 0;
    // Copies are exact; a leaf this batch owns grows by 4 (by half once large).
    Leaf* fresh = Leaf::Make(own ? n + (n >= 32 ? n / 2 : 4) + extra : n + extra, epoch_);
    for (uint32_t i = 0; i < n; ++i) {
      Entry& src = cur->entries()[i];
      if (own) {
        new (&fresh->entries()[i]) Entry(std::move(src));
      } else {
        new (&fresh->entries()[i]) Entry(src);
      }
    }
    fresh->n = n;
    slot = LeafPtr(fresh);
    return fresh;
  }

  std::array<std::shared_ptr<const Branch>, 256> root_{};
  size_t size_ = 0;
  uint64_t epoch_ = 1;
};

}  // namespace beacon::catalog

#include "beacon/catalog/hub.h"

#include <algorithm>
#include <iterator>

namespace beacon::catalog {

const Snapshot* SnapshotHub::Reader::Acquire() {
  const Snapshot* p = hub_->current_.load(std::memory_order_acquire);
  for (;;) {
    slot_->store(p, std::memory_order_seq_cst);
    const Snapshot* again = hub_->current_.load(std::memory_order_seq_cst);
    if (again == p) return p;
    p = again;
  }
}

std::unique_ptr<SnapshotHub::Reader> SnapshotHub::RegisterReader() {
  MutexLock lock(&mu_);
  const size_t i = used_slots_ % kSlotsPerBlock;
  if (i == 0) blocks_.push_back(std::make_unique<Block>());
  auto* slot = &blocks_.back()->slots[i].ptr;
  ++used_slots_;
  return std::unique_ptr<Reader>(new Reader(this, slot));
}

size_t SnapshotHub::readers() const {
  MutexLock lock(&mu_);
  return used_slots_;
}

void SnapshotHub::Publish(SnapshotPtr snap) {
  SnapshotPtr old;
  const Snapshot* raw = snap.get();
  {
    MutexLock lock(&mu_);
    old = std::move(current_owner_);
    current_owner_ = std::move(snap);
  }
  current_.store(raw, std::memory_order_seq_cst);
  if (old) retired_.push_back(std::move(old));
  Reclaim();
}

size_t SnapshotHub::Reclaim() {
  if (retired_.empty()) return 0;
  // The scan holds mu_ so blocks_ cannot grow under it (readers never take mu_ to read); the
  // freed snapshots are destroyed after it is released.
  std::vector<SnapshotPtr> unpinned;
  {
    MutexLock lock(&mu_);
    auto pinned = [&](const Snapshot* s) REQUIRES(mu_) {
      for (size_t i = 0; i < used_slots_; ++i) {
        const Slot& slot = blocks_[i / kSlotsPerBlock]->slots[i % kSlotsPerBlock];
        if (slot.ptr.load(std::memory_order_seq_cst) == s) return true;
      }
      return false;
    };
    auto keep =
        std::stable_partition(retired_.begin(), retired_.end(),
                              [&](const SnapshotPtr& s) REQUIRES(mu_) { return pinned(s.get()); });
    std::move(keep, retired_.end(), std::back_inserter(unpinned));
    retired_.erase(keep, retired_.end());
  }
  return retired_.size();
}

SnapshotPtr SnapshotHub::Current() const {
  MutexLock lock(&mu_);
  return current_owner_;
}

}  // namespace beacon::catalog

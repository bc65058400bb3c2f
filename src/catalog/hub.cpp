#include "beacon/catalog/hub.h"

#include <algorithm>

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
  std::lock_guard<std::mutex> lock(mu_);
  if (used_slots_ >= kMaxReaders) return nullptr;
  auto* slot = &slots_[used_slots_++].ptr;
  return std::unique_ptr<Reader>(new Reader(this, slot));
}

void SnapshotHub::Publish(SnapshotPtr snap) {
  SnapshotPtr old;
  const Snapshot* raw = snap.get();
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(current_owner_);
    current_owner_ = std::move(snap);
  }
  current_.store(raw, std::memory_order_seq_cst);
  if (old) retired_.push_back(std::move(old));
  Reclaim();
}

size_t SnapshotHub::Reclaim() {
  size_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = used_slots_;
  }
  auto pinned = [&](const Snapshot* s) {
    for (size_t i = 0; i < n; ++i) {
      if (slots_[i].ptr.load(std::memory_order_seq_cst) == s) return true;
    }
    return false;
  };
  std::erase_if(retired_, [&](const SnapshotPtr& s) { return !pinned(s.get()); });
  return retired_.size();
}

SnapshotPtr SnapshotHub::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_owner_;
}

}  // namespace beacon::catalog

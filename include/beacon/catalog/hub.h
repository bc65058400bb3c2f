// SnapshotHub: publishes immutable catalog snapshots to lock-free readers.
//
// Contract:
// - One writer thread calls Publish() and Reclaim(). Any number of reader threads each register
//   once, then bracket every batch of reads with Acquire()/Release(). Reader slots come in blocks
//   of kSlotsPerBlock allocated on demand and kept until the hub dies, so a slot's address is
//   stable and there is no cap on readers (one per DNS worker, however many the host has).
// - Acquire() is wait-free in practice: two atomic loads and one store, no read-modify-write, no
//   lock, no allocation. Release() is one store. A reader must not keep the pointer past Release().
// - A snapshot is freed (on the writer thread, inside Publish/Reclaim) only once no reader slot
//   names it: hazard-pointer reclamation, so a reader never sees freed memory.
// - Current() returns a shared owner of the newest snapshot for control-plane readers that want
//   to hold one longer (HTTP, CLI); it takes a mutex and is not for the DNS path.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "beacon/catalog/snapshot.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::catalog {

class SnapshotHub {
 public:
  static constexpr size_t kSlotsPerBlock = 64;

  class Reader {
   public:
    // Returns the newest snapshot and pins it until Release(). Never null once the hub has had
    // its first Publish().
    const Snapshot* Acquire();
    void Release() { slot_->store(nullptr, std::memory_order_release); }

   private:
    friend class SnapshotHub;
    Reader(SnapshotHub* hub, std::atomic<const Snapshot*>* slot) : hub_(hub), slot_(slot) {}
    SnapshotHub* hub_;
    std::atomic<const Snapshot*>* slot_;
  };

  SnapshotHub() = default;
  SnapshotHub(const SnapshotHub&) = delete;
  SnapshotHub& operator=(const SnapshotHub&) = delete;

  // Any thread, once per reader thread. Never null; the slot lives as long as the hub.
  std::unique_ptr<Reader> RegisterReader();
  // Any thread: how many readers have registered.
  size_t readers() const;

  // Writer thread only.
  void Publish(SnapshotPtr snap);
  // Writer thread only: frees retired snapshots no reader pins. Returns how many remain retired.
  size_t Reclaim();

  // Any thread; takes a mutex. Null before the first Publish().
  SnapshotPtr Current() const;

 private:
  std::atomic<const Snapshot*> current_{nullptr};
  struct alignas(64) Slot {
    std::atomic<const Snapshot*> ptr{nullptr};
  };
  struct Block {
    Slot slots[kSlotsPerBlock];
  };
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Block>> blocks_ GUARDED_BY(mu_);  // only ever grows
  size_t used_slots_ GUARDED_BY(mu_) = 0;
  SnapshotPtr current_owner_ GUARDED_BY(mu_);
  std::vector<SnapshotPtr> retired_;  // writer thread only
};

}  // namespace beacon::catalog

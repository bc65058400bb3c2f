// Handoff<T>: a bounded queue from one producer thread to one consumer thread, used to overlap
// parsing a catalog seed (producer) with applying its entries (consumer).
//
// Contract:
// - Push blocks while `capacity` items wait; it returns false once the consumer has called
//   Close() (the producer should stop). Pop blocks until an item is there.
// - The producer ends the stream by pushing an item the consumer recognises as the last one; the
//   queue itself has no end marker.
// - Internal to src/config; any two threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <utility>

#include "beacon/core/thread_annotations.h"

namespace beacon::config::internal {

template <typename T>
class Handoff {
 public:
  explicit Handoff(size_t capacity) : cap_(capacity) {}

  bool Push(T item) EXCLUDES(mu_) {
    UniqueLock lock(&mu_);
    cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return closed_ || q_.size() < cap_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }

  T Pop() EXCLUDES(mu_) {
    UniqueLock lock(&mu_);
    cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return !q_.empty(); });
    T item = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return item;
  }

  void Close() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  const size_t cap_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace beacon::config::internal

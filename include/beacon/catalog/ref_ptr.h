// RefPtr<T>: an 8-byte shared owner for catalog entries that carry their own reference count.
//
// Contract:
// - T has a public member `RefCount ref_count` (mutable, so RefPtr<const T> works). A copy of a
//   T starts with a count of zero: counts belong to objects, not values.
// - Counting is atomic (relaxed increment, acq_rel decrement), so owners may be dropped on any
//   thread, like std::shared_ptr; reading through a RefPtr never touches the count.
// - The last owner deletes the object with `delete`; objects come from MakeRef.
// - Saves the separate 16-byte control block and half of every pointer compared with
//   std::shared_ptr, for entries the catalog holds by the hundred thousand.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace beacon::catalog {

struct RefCount {
  RefCount() = default;
  RefCount(const RefCount&) {}
  RefCount& operator=(const RefCount&) { return *this; }
  mutable std::atomic<uint32_t> n{0};
};

template <typename T>
class RefPtr {
 public:
  RefPtr() = default;
  RefPtr(std::nullptr_t) {}  // NOLINT: implicit like shared_ptr
  // Takes a new reference to p (which may already have owners).
  explicit RefPtr(T* p) : p_(p) { Inc(); }
  RefPtr(const RefPtr& o) : p_(o.p_) { Inc(); }
  RefPtr(RefPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <typename U>
  requires std::is_convertible_v<U*, T*> RefPtr(const RefPtr<U>& o)
      : p_(o.get()) {  // NOLINT: implicit like shared_ptr
    Inc();
  }
  template <typename U>
  requires std::is_convertible_v<U*, T*> RefPtr(RefPtr<U>&& o)
  noexcept : p_(o.release()) {}  // NOLINT
  RefPtr& operator=(RefPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~RefPtr() { Dec(); }

  T* get() const { return p_; }
  T& operator*() const { return *p_; }
  T* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  // Gives up ownership without decrementing (for moves between pointer types).
  T* release() { return std::exchange(p_, nullptr); }

  friend bool operator==(const RefPtr& a, const RefPtr& b) { return a.p_ == b.p_; }
  friend bool operator==(const RefPtr& a, std::nullptr_t) { return a.p_ == nullptr; }

 private:
  void Inc() {
    if (p_ != nullptr) p_->ref_count.n.fetch_add(1, std::memory_order_relaxed);
  }
  void Dec() {
    if (p_ != nullptr && p_->ref_count.n.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p_;
  }

  T* p_ = nullptr;
};

template <typename T, typename... Args>
RefPtr<T> MakeRef(Args&&... args) {
  return RefPtr<T>(new T(std::forward<Args>(args)...));
}

}  // namespace beacon::catalog

// Clang thread-safety annotations and an annotated mutex.
//
// Contract:
// - The macros expand to clang's thread-safety attributes when the compiler is clang (meson adds
//   -Wthread-safety there) and to nothing elsewhere, so GCC builds are unaffected.
// - Mutex wraps std::mutex as a capability; MutexLock holds one for a scope (lock_guard);
//   UniqueLock holds one for a scope but may release and re-take it, and gives
//   std::condition_variable the std::unique_lock it needs (native()). A condition-variable
//   predicate that reads guarded members is written `[&]() REQUIRES(mu_) { ... }`.
// - Members are annotated GUARDED_BY(mu_); functions that must (not) be entered with the lock
//   held are annotated REQUIRES(mu_) / EXCLUDES(mu_).
// - Same thread-safety as std::mutex; no state beyond it.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define BEACON_TSA(x) __attribute__((x))
#else
#define BEACON_TSA(x)
#endif

#define CAPABILITY(x) BEACON_TSA(capability(x))
#define SCOPED_CAPABILITY BEACON_TSA(scoped_lockable)
#define GUARDED_BY(x) BEACON_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) BEACON_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) BEACON_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) BEACON_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) BEACON_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) BEACON_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) BEACON_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) BEACON_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) BEACON_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) BEACON_TSA(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) BEACON_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) BEACON_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) BEACON_TSA(assert_capability(x))
#define RETURN_CAPABILITY(x) BEACON_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS BEACON_TSA(no_thread_safety_analysis)

namespace beacon {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For UniqueLock only (condition variables need the std::mutex itself).
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// lock_guard for Mutex.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// unique_lock for Mutex: held from construction; Unlock()/Lock() in between; for
// std::condition_variable::wait(native(), ...).
class SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex* mu) ACQUIRE(mu) : lock_(mu->native()) {}
  ~UniqueLock() RELEASE() = default;
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;

  void Lock() ACQUIRE() { lock_.lock(); }
  void Unlock() RELEASE() { lock_.unlock(); }
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A reader/writer mutex: readers share it, a writer holds it alone.
class CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void LockShared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Shared (reader) hold of a SharedMutex for the scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* mu_;
};

// Exclusive (writer) hold of a SharedMutex from construction; Unlock() may end it early.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  void Unlock() RELEASE() {
    held_ = false;
    mu_->Unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* mu_;
  bool held_ = true;
};

}  // namespace beacon

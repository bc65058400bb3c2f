// LoadCatalogSeed: a parsing thread feeds batches of registrations to the writer's thread.
#include "seed_loader.h"

#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/config/config.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"

namespace beacon::agent {
namespace {

using catalog::Registration;
using Batch = std::vector<Registration>;

constexpr size_t kBatch = 256;  // entries a batch
constexpr size_t kQueued = 4;   // batches parsed ahead of the writer at most (bounds memory)
constexpr size_t kAhead = 8;    // entries hinted ahead of the one applied

// Batches between the two threads: parsed ones to the writer's thread, applied ones back to the
// parser, which destroys their entries itself. Memory then goes back to the allocator arena
// (glibc: one per thread) it came from; freed on the writer's thread, it would be reused there
// for catalog entries while the parser kept taking fresh memory (+6 MiB peak at 300k entries).
class BatchQueue {
 public:
  // Parser: waits for room; false once the consumer cancelled.
  bool Push(Batch b) EXCLUDES(mu_) {
    UniqueLock l(&mu_);
    cv_.wait(l.native(), [&]() REQUIRES(mu_) { return q_.size() < kQueued || cancelled_; });
    if (cancelled_) return false;
    q_.push_back(std::move(b));
    cv_.notify_all();
    return true;
  }
  // Parser: an applied batch to reuse (its entries still to destroy), or an empty one.
  Batch TakeSpent() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    if (spent_.empty()) return {};
    Batch b = std::move(spent_.front());
    spent_.pop_front();
    return b;
  }
  // Parser, last: how parsing ended. Destroys whatever was handed back.
  void Close(Status st) EXCLUDES(mu_) {
    std::deque<Batch> spent;
    {
      MutexLock l(&mu_);
      closed_ = true;
      status_ = std::move(st);
      spent.swap(spent_);
      cv_.notify_all();
    }
  }
  // Consumer: the next batch; false when the parser closed and everything was taken (*st then
  // holds how parsing ended).
  bool Pop(Batch* out, Status* st) EXCLUDES(mu_) {
    UniqueLock l(&mu_);
    cv_.wait(l.native(), [&]() REQUIRES(mu_) { return !q_.empty() || closed_; });
    if (q_.empty()) {
      *st = status_;
      return false;
    }
    *out = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }
  // Consumer: hands an applied batch back (kept only while the parser runs).
  void GiveBack(Batch b) EXCLUDES(mu_) {
    MutexLock l(&mu_);
    if (!closed_) spent_.push_back(std::move(b));
  }
  // Consumer: stop the parser (its next Push fails).
  void Cancel() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> q_ GUARDED_BY(mu_);
  std::deque<Batch> spent_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  bool cancelled_ GUARDED_BY(mu_) = false;
  Status status_ GUARDED_BY(mu_);
};

Batch FreshBatch(BatchQueue& q) {
  Batch b = q.TakeSpent();
  b.clear();  // on this thread: see BatchQueue
  b.reserve(kBatch);
  return b;
}

void Parse(const std::string& path, BatchQueue& q) {
  core::SetThreadName("seed-parse");
  Batch batch = FreshBatch(q);
  bool cancelled = false;
  Status st = config::ForEachCatalogSeedEntry(path, [&](Registration& r) {
    batch.push_back(std::move(r));
    if (batch.size() < kBatch) return Status::Ok();
    if (!q.Push(std::move(batch))) {
      cancelled = true;
      return Status::Error("cancelled");
    }
    batch = FreshBatch(q);
    return Status::Ok();
  });
  // The entries before an error are applied, as ForEachCatalogSeedEntry promises.
  if (!cancelled && !batch.empty()) q.Push(std::move(batch));
  q.Close(cancelled ? Status::Ok() : std::move(st));
}

}  // namespace

Status LoadCatalogSeed(const std::string& path, catalog::Writer& writer, size_t* count) {
  BatchQueue q;
  std::jthread parser([&] { Parse(path, q); });  // joined on every return below
  size_t applied = 0;
  Batch b;
  Status st;
  while (q.Pop(&b, &st)) {
    const size_t n = b.size();
    for (size_t i = 0; i < n && i < kAhead; ++i) writer.Prefetch(b[i], 0);
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) writer.Prefetch(b[i + kAhead], 0);
      if (i + kAhead / 2 < n) writer.Prefetch(b[i + kAhead / 2], 1);
      // The entry travels into the change and back, so the parser frees it (BatchQueue).
      catalog::Change c = catalog::LocalChange(catalog::op::Register{std::move(b[i])});
      Status a = writer.Apply(c);
      b[i] = std::move(std::get<catalog::op::Register>(c.op).reg);
      if (!a.ok()) {
        q.Cancel();
        *count = applied;
        return Status::Error(path + ": [" + std::to_string(applied) + "]: " + a.message());
      }
      ++applied;
    }
    q.GiveBack(std::move(b));
    b = Batch();
  }
  *count = applied;
  return st;
}

}  // namespace beacon::agent

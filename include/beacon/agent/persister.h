// Persister: writes the agent's local state files (registered services, checks, TTL state) on its
// own thread, so no fsync ever runs on the catalog writer's thread, and batches them: every
// request queued while a batch is being written goes into the next one, which costs one
// filesystem sync however many files it holds.
//
// Contract:
// - Enqueue(ops, done), any thread: the ops apply after everything queued before them. Within a
//   batch only the last op per path counts (files are whole state: a write then a remove of the
//   same path leaves it removed). kDurable files survive a machine crash once `done` runs
//   (temp file, one syncfs for the batch, rename, fsync of each directory); kAtomic files are
//   renamed into place without a sync (cheap state such as TTL deadlines); kRemove unlinks (a
//   missing file is fine).
// - done(error) runs on the persister thread once its ops are applied; error is "" or the first
//   failure among its paths ("cannot write <path>: <reason>"). A failed file keeps its old
//   content.
// - Flush() waits until everything queued so far is applied. The destructor applies what is
//   queued, then joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::agent {

struct FileOp {
  enum class Kind { kDurable, kAtomic, kRemove };
  Kind kind = Kind::kDurable;
  std::string path;
  std::string data;
};

class Persister {
 public:
  using Done = std::function<void(const std::string& error)>;

  explicit Persister(const Logger& log);
  ~Persister();
  Persister(const Persister&) = delete;
  Persister& operator=(const Persister&) = delete;

  void Enqueue(std::vector<FileOp> ops, Done done);
  void Flush();

 private:
  struct Request {
    std::vector<FileOp> ops;
    Done done;
  };
  void Loop();
  void Apply(std::vector<Request>& batch);

  const Logger& log_;
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> queue_ GUARDED_BY(mu_);
  uint64_t queued_ GUARDED_BY(mu_) = 0;   // requests ever queued
  uint64_t applied_ GUARDED_BY(mu_) = 0;  // requests ever applied
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace beacon::agent

// CommandQueue: how producers on other threads change the catalog.
//
// Contract:
// - Any thread may Push() a command; it never waits for the writer, only for a short mutex held
//   by other producers and by Drain() while it swaps the queue out. Producers are the control
//   plane (HTTP registrations, health results, gossip); the DNS path never touches this.
// - The writer thread calls Drain(), which runs every queued command in push order against the
//   Writer, then the caller publishes (coalesced, see agent::Agent).
// - `wake` (set once, before producers start) is called after each Push; the agent passes a
//   uv_async_send so its loop drains soon after.
// - Commands own what they capture; a command runs exactly once, or never when the queue is
//   destroyed first.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "beacon/catalog/writer.h"

namespace beacon::catalog {

class CommandQueue {
 public:
  using Command = std::function<void(Writer&)>;

  void SetWake(std::function<void()> wake) { wake_ = std::move(wake); }

  void Push(Command c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(c));
    }
    if (wake_) wake_();
  }

  // Writer thread. Returns how many commands ran.
  size_t Drain(Writer& w) {
    std::vector<Command> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(queue_);
    }
    for (Command& c : batch) c(w);
    return batch.size();
  }

 private:
  std::mutex mu_;
  std::vector<Command> queue_;  // guarded by mu_
  std::function<void()> wake_;
};

// How the control plane (HTTP handlers, health, sessions) changes the catalog from any thread:
// `c` runs on the writer thread; `published` (may be empty) runs on the writer thread right after
// the snapshot that contains the change is published, so a caller can answer its client once
// readers see the change. Implemented by agent::Agent::Submit.
using SubmitFn = std::function<void(CommandQueue::Command c, std::function<void()> published)>;

}  // namespace beacon::catalog

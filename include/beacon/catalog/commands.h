// CommandQueue: how producers on other threads change the catalog.
//
// Contract:
// - Any thread may Push() a command; it never waits for the writer, only for a short mutex held
//   by other producers and by Drain() while it swaps the queue out. Producers are the control
//   plane (HTTP registrations, health results, gossip); the DNS path never touches this.
// - Two kinds of item, in one order: a Change value (applied with Writer::Apply; an error goes to
//   the `on_error` given to Drain) and a Command closure, for producers whose change must first
//   look at the staged catalog (the agent API's validated writes). New producers send values.
// - The writer thread calls Drain(), which applies every queued item in push order against the
//   Writer, then the caller publishes (coalesced, see agent::Agent).
// - `wake` is called after each Push, under the queue's mutex; the agent passes a uv_async_send
//   so its loop drains soon after. SetWake may be called at any time from any thread: once it
//   returns, the previous wake is not running and will never be called again, so the agent can
//   clear it before closing its loop while producers (the HTTP thread) still push. Commands
//   pushed while no wake is set simply wait for the next Drain(). `wake` must not call back
//   into the queue.
// - Commands own what they capture; a command runs exactly once, or never when the queue is
//   destroyed first.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <variant>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/writer.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::catalog {

class CommandQueue {
 public:
  using Command = std::function<void(Writer&)>;

  void SetWake(std::function<void()> wake) {
    std::function<void()> old;
    MutexLock lock(&mu_);
    old.swap(wake_);  // destroyed after the lock is released (declared before it)
    wake_ = std::move(wake);
  }

  void Push(Command c) {
    MutexLock lock(&mu_);
    queue_.emplace_back(std::move(c));
    if (wake_) wake_();
  }
  void Push(Change c) {
    MutexLock lock(&mu_);
    queue_.emplace_back(std::move(c));
    if (wake_) wake_();
  }

  // Writer thread. Returns how many items ran. on_error(change, status) hears a change the
  // writer refused.
  size_t Drain(Writer& w, const std::function<void(const Change&, const Status&)>& on_error = {}) {
    std::vector<std::variant<Command, Change>> batch;
    {
      MutexLock lock(&mu_);
      batch.swap(queue_);
    }
    for (auto& item : batch) {
      if (Command* c = std::get_if<Command>(&item)) {
        (*c)(w);
        continue;
      }
      const Change& ch = std::get<Change>(item);
      Status st = w.Apply(ch);
      if (!st.ok() && on_error) on_error(ch, st);
    }
    return batch.size();
  }

 private:
  Mutex mu_;
  std::vector<std::variant<Command, Change>> queue_ GUARDED_BY(mu_);
  std::function<void()> wake_ GUARDED_BY(mu_);
};

// How the control plane (HTTP handlers, health, sessions) changes the catalog from any thread:
// `c` runs on the writer thread; `published` (may be empty) runs on the writer thread right after
// the snapshot that contains the change is published, so a caller can answer its client once
// readers see the change. Implemented by agent::Agent::Submit.
using SubmitFn = std::function<void(CommandQueue::Command c, std::function<void()> published)>;

}  // namespace beacon::catalog

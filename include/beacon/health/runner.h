// Runner: runs the agent's health checks (script, HTTP, TCP, UDP, alias) on its own thread and
// libuv loop, and reports their results (spec 4.3).
//
// Contract:
// - Start() creates the thread and loop; Stop() (or the destructor) cancels every run, kills
//   running scripts' process groups, waits until each child is reaped and joins the thread.
// - Sync(checks), from any thread, replaces the set of checks to run (checks that run nothing
//   are ignored). Diffed by check id: a check whose definition is unchanged (SameDefinition)
//   keeps its threshold counters and its schedule; a changed one restarts; a removed one stops
//   (its running script is killed). A check's status/output in `checks` is taken as what the
//   catalog currently shows.
// - Update(remove, upsert), from any thread, changes only the checks it names: removes the
//   `remove` ids, then adds or replaces the `upsert` checks by the same rule as Sync. Queued
//   changes apply in order; a later Sync replaces them all. The agent sends the checks of the
//   services that changed, so one registration costs O(its checks), not O(all checks).
// - One Scheduler drives every check (first run spread over the interval, no drift, interval at
//   least 1 s); a check whose previous run is still going skips that turn. The loop wakes for
//   runs on a 10 ms grid: runs due within one tick start together, at most 10 ms late. Alias checks
//   run every second and whenever CatalogChanged() is called (any thread).
// - Each result goes through the check's Thresholds; the sink is called, on the runner's thread,
//   only when the reported status or output differs from what was last reported (or synced).
// - Script checks are run as given: the caller decides which ones may run (enable_script_checks).
// - Every finished probe is counted by check kind and result (before thresholds) in
//   single-writer cells of the loop thread; RunCount() reads them from any thread (metrics).
// - The sink and the alias function must be thread-safe with respect to their owner and outlive
//   Stop().
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "beacon/catalog/types.h"
#include "beacon/core/log.h"
#include "beacon/core/metrics.h"
#include "beacon/core/status.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/health/alias.h"
#include "beacon/health/check_state.h"
#include "beacon/health/probes.h"
#include "beacon/health/scheduler.h"

namespace beacon::health {

struct RunnerOptions {
  size_t output_max = 4096;  // check_output_max_size; a check's output_max_size overrides it
};

class Runner {
 public:
  using Sink = std::function<void(const std::string& check_id, catalog::Health status,
                                  const std::string& output)>;
  using AliasFn = std::function<AliasResult(const catalog::Check&)>;

  Runner(RunnerOptions opts, Sink sink, AliasFn alias, const Logger& log);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  Status Start();
  void Stop();
  void Sync(std::vector<catalog::Check> checks);
  void Update(std::vector<std::string> remove, std::vector<catalog::Check> upsert);
  void CatalogChanged();
  // How many checks are scheduled (as of the last Sync/Update the loop applied). Any thread.
  size_t size() const;
  // Probes finished so far of checks of `kind` whose result was `status`. Any thread.
  uint64_t RunCount(Kind kind, catalog::Health status) const {
    return runs_[static_cast<int>(kind)][static_cast<int>(status)].Read();
  }

 private:
  struct Job {
    catalog::Check def;
    Thresholds thresholds;
    catalog::Health reported;
    std::string reported_output;
    Probe* inflight = nullptr;
  };

  // Loop thread only.
  void OnWake();
  void Apply(std::vector<catalog::Check> checks);
  void ApplyDelta(const std::vector<std::string>& remove, std::vector<catalog::Check> upsert);
  void RunDue();
  void Launch(Job& job);
  void OnResult(Job& job, ProbeResult r, bool thresholds);
  void Rearm();
  void Shutdown();

  RunnerOptions opts_;
  Sink sink_;
  AliasFn alias_;
  const Logger& log_;

  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_timer_t timer_{};
  std::unique_ptr<HttpClient> http_;
  std::thread thread_;
  Scheduler sched_;                                             // loop thread only
  std::vector<Scheduler::Due> due_;                             // RunDue's, reused
  std::unordered_map<std::string, std::unique_ptr<Job>> jobs_;  // loop thread only
  bool started_ = false;                                        // owner thread (Start/Stop)

  static constexpr int kKinds = 6;
  static constexpr int kStatuses = 4;
  metrics::Counter runs_[kKinds][kStatuses];  // written by the loop thread only

  mutable Mutex mu_;
  struct Delta {
    std::vector<std::string> remove;
    std::vector<catalog::Check> upsert;
  };
  std::optional<std::vector<catalog::Check>> pending_ GUARDED_BY(mu_);
  std::vector<Delta> deltas_ GUARDED_BY(mu_);  // after pending_, in order
  bool alias_dirty_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  size_t size_ GUARDED_BY(mu_) = 0;
};

}  // namespace beacon::health

// See runner.h.
#include "beacon/health/runner.h"
#include "beacon/core/thread_name.h"

#include <curl/curl.h>

#include <unordered_set>
#include <utility>

namespace beacon::health {

using catalog::Check;
using catalog::Health;

namespace {
constexpr uint64_t kAliasEveryMs = 1000;
// The loop wakes for runs on a grid of this many ms: every run due within one tick starts in one
// wake-up (its HTTP requests handed to curl together), at most a tick after its due time. With
// runs spread over their interval this is ~100 wake-ups/s instead of one per distinct due ms.
constexpr uint64_t kTickMs = 10;
}  // namespace

Runner::Runner(RunnerOptions opts, Sink sink, AliasFn alias, const Logger& log)
    : opts_(opts), sink_(std::move(sink)), alias_(std::move(alias)), log_(log) {}

Runner::~Runner() {
  Stop();
}

Status Runner::Start() {
  if (started_) return Status::Ok();
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return Status::Error("health: libcurl initialisation failed");
  }
  if (int rc = uv_loop_init(&loop_); rc != 0) {
    curl_global_cleanup();
    return Status::Error(std::string("health: uv_loop_init: ") + uv_strerror(rc));
  }
  loop_.data = this;
  uv_async_init(&loop_, &wake_,
                [](uv_async_t* a) { static_cast<Runner*>(a->loop->data)->OnWake(); });
  uv_timer_init(&loop_, &timer_);
  http_ = std::make_unique<HttpClient>(&loop_);
  started_ = true;
  thread_ = std::thread([this] {
    core::SetThreadName("beacon-health");
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks, children still being reaped
  });
  uv_async_send(&wake_);  // a Sync before Start is applied now
  return Status::Ok();
}

void Runner::Stop() {
  if (!started_) return;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  uv_async_send(&wake_);
  thread_.join();
  http_.reset();
  uv_loop_close(&loop_);
  curl_global_cleanup();
  started_ = false;
}

void Runner::Sync(std::vector<Check> checks) {
  std::erase_if(checks, [](const Check& c) { return KindOf(c) == Kind::kNone; });
  {
    MutexLock lock(&mu_);
    pending_ = std::move(checks);
    deltas_.clear();  // the full set replaces whatever was queued before it
  }
  if (started_) uv_async_send(&wake_);
}

void Runner::Update(std::vector<std::string> remove, std::vector<Check> upsert) {
  for (Check& c : upsert) {  // a check that runs nothing is not scheduled: drop its job
    if (KindOf(c) == Kind::kNone) remove.push_back(c.id);
  }
  std::erase_if(upsert, [](const Check& c) { return KindOf(c) == Kind::kNone; });
  if (remove.empty() && upsert.empty()) return;
  {
    MutexLock lock(&mu_);
    deltas_.push_back(Delta{std::move(remove), std::move(upsert)});
  }
  if (started_) uv_async_send(&wake_);
}

void Runner::CatalogChanged() {
  {
    MutexLock lock(&mu_);
    alias_dirty_ = true;
  }
  if (started_) uv_async_send(&wake_);
}

size_t Runner::size() const {
  MutexLock lock(&mu_);
  return size_;
}

void Runner::OnWake() {
  std::optional<std::vector<Check>> pending;
  std::vector<Delta> deltas;
  bool alias = false;
  bool stop = false;
  {
    MutexLock lock(&mu_);
    pending.swap(pending_);
    deltas.swap(deltas_);
    alias = alias_dirty_;
    alias_dirty_ = false;
    stop = stopping_;
  }
  if (stop) {
    Shutdown();
    return;
  }
  if (pending) Apply(std::move(*pending));
  for (Delta& d : deltas) ApplyDelta(d.remove, std::move(d.upsert));
  if (pending || !deltas.empty()) {
    MutexLock lock(&mu_);
    size_ = jobs_.size();
  }
  if (alias) {
    for (auto& [id, job] : jobs_) {
      if (KindOf(job->def) == Kind::kAlias) Launch(*job);
    }
  }
  Rearm();
}

void Runner::Apply(std::vector<Check> checks) {
  std::unordered_set<std::string> keep;
  for (const Check& c : checks) keep.insert(c.id);
  std::vector<std::string> gone;
  for (const auto& [id, job] : jobs_) {
    if (keep.count(id) == 0) gone.push_back(id);
  }
  ApplyDelta(gone, std::move(checks));
}

void Runner::ApplyDelta(const std::vector<std::string>& remove, std::vector<Check> upsert) {
  uv_update_time(&loop_);
  const uint64_t now = uv_now(&loop_);
  for (const std::string& id : remove) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    if (it->second->inflight != nullptr) it->second->inflight->Cancel();  // kills a script
    sched_.Remove(id);
    jobs_.erase(it);
  }
  for (Check& c : upsert) {
    auto it = jobs_.find(c.id);
    if (it != jobs_.end() && SameDefinition(it->second->def, c)) {
      Job& job = *it->second;   // unchanged: keeps its counters and its schedule
      job.reported = c.status;  // what the catalog shows now
      job.reported_output = c.output;
      job.def = std::move(c);
      continue;
    }
    if (it != jobs_.end()) {  // changed: its run in flight belongs to the old definition
      if (it->second->inflight != nullptr) it->second->inflight->Cancel();
      jobs_.erase(it);
    }
    auto job = std::make_unique<Job>(Job{
        c,
        Thresholds(c.success_before_passing, c.failures_before_warning, c.failures_before_critical),
        c.status, c.output, nullptr});
    const uint64_t interval = KindOf(c) == Kind::kAlias ? kAliasEveryMs : c.interval_ms;
    Job& added = *job;
    sched_.Add(c.id, interval, now, &added);  // replaces a changed definition's schedule
    jobs_.emplace(c.id, std::move(job));
    // Aliases answer at once: their source is already in the catalog.
    if (KindOf(added.def) == Kind::kAlias) Launch(added);
  }
}

void Runner::Rearm() {
  std::optional<uint64_t> due = sched_.NextDue();
  if (!due) {
    uv_timer_stop(&timer_);
    return;
  }
  uv_update_time(&loop_);
  const uint64_t now = uv_now(&loop_);
  const uint64_t at = (*due + kTickMs - 1) / kTickMs * kTickMs;
  timer_.data = this;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<Runner*>(t->data)->RunDue(); },
      at > now ? at - now : 0, 0);
}

void Runner::RunDue() {
  uv_update_time(&loop_);
  sched_.PopDue(uv_now(&loop_), &due_);
  for (const Scheduler::Due& d : due_) {
    Job& job = *static_cast<Job*>(d.data);  // scheduled with its job (ApplyDelta)
    if (job.inflight != nullptr) continue;  // still running: skip this turn
    Launch(job);
  }
  http_->Flush();  // this tick's requests go out now, in one go
  Rearm();
}

void Runner::Launch(Job& job) {
  const Check& c = job.def;
  const Kind kind = KindOf(c);
  if (kind == Kind::kAlias) {
    if (!alias_) return;
    AliasResult a = alias_(c);
    OnResult(job, ProbeResult{a.status, std::move(a.output)}, false);
    return;
  }
  ProbeOptions o;
  o.timeout_ms = DefaultTimeoutMs(c);
  o.output_max = c.output_max_size != 0 ? c.output_max_size : opts_.output_max;
  // A job is only destroyed after its run in flight was cancelled (then `done` is never called),
  // so the run can hold the job itself (and the std::function stays small: no allocation).
  ProbeDone done = [this, j = &job](ProbeResult r) {
    j->inflight = nullptr;
    OnResult(*j, std::move(r), true);
  };
  switch (kind) {
    case Kind::kScript:
      job.inflight = StartScript(&loop_, c.args, o, std::move(done));
      break;
    case Kind::kHttp:
      job.inflight = http_->Start(c, o, std::move(done));
      break;
    case Kind::kTcp:
      job.inflight = c.tcp_use_tls ? http_->StartTlsConnect(c, o, std::move(done))
                                   : StartTcp(&loop_, c.tcp, o, std::move(done));
      break;
    case Kind::kUdp:
      job.inflight = StartUdp(&loop_, c.udp, o, std::move(done));
      break;
    default:
      break;
  }
}

void Runner::OnResult(Job& job, ProbeResult r, bool thresholds) {
  const std::string& id = job.def.id;
  const int kind = static_cast<int>(KindOf(job.def));
  const int status = static_cast<int>(r.status);
  if (kind < kKinds && status < kStatuses) runs_[kind][status].Add();
  std::optional<Health> st = r.status;
  if (thresholds) st = job.thresholds.Observe(r.status);
  if (!st) {
    BEACON_LOG(log_, kDebug, "health", "check %s: %s result below its threshold", id.c_str(),
               std::string(catalog::HealthName(r.status)).c_str());
    return;
  }
  if (*st == job.reported && r.output == job.reported_output) return;
  if (*st != job.reported) {
    BEACON_LOG(log_, kDebug, "health", "check %s is now %s", id.c_str(),
               std::string(catalog::HealthName(*st)).c_str());
  }
  job.reported = *st;
  job.reported_output = r.output;
  if (sink_) sink_(id, *st, r.output);
}

void Runner::Shutdown() {
  for (auto& [id, job] : jobs_) {
    if (job->inflight != nullptr) job->inflight->Cancel();
    job->inflight = nullptr;
    sched_.Remove(id);
  }
  jobs_.clear();
  http_->Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  // The loop ends once every probe's handles are closed (killed children reaped first).
}

}  // namespace beacon::health

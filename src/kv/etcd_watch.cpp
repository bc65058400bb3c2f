// EtcdStore, watch side: the one watch stream per store that keeps the mirror current, wakes
// blocking queries through OnCommit and acknowledges the writer (see etcd_store.h).
#include <algorithm>
#include <chrono>
#include <thread>

#include "beacon/core/thread_name.h"
#include "etcd_store.h"

namespace beacon::kv::internal {

Status EtcdStore::Resync(EtcdConn& conn, int64_t timeout_ms) {
  std::vector<EtcdKv> kvs;
  int64_t rev = 0;
  Status st = RangeGeneration(conn, timeout_ms, &kvs, &rev);
  if (!st.ok()) return st;
  staging_.clear();  // events may have been missed
  MirrorChanges ch;
  std::function<void(bool, bool)> notify;
  {
    WriterLock l(&mu_);
    m_.Reset(kvs, rev, &ch);
    loaded_.store(true, std::memory_order_release);
    notify = on_commit_;
    MutexLock p(&pend_mu_);
    pending_.clear();
    reload_ = true;
  }
  Publish(ch, notify, rev);
  return Status::Ok();
}

void EtcdStore::ApplyEvents(const std::vector<EtcdKv>& events) {
  MirrorChanges ch;
  std::function<void(bool, bool)> notify;
  int64_t rev = 0;
  {
    WriterLock l(&mu_);
    m_.Apply(events, &ch);
    rev = m_.rev;
    notify = on_commit_;
    MutexLock p(&pend_mu_);
    pending_.insert(pending_.end(), ch.moves.begin(), ch.moves.end());
    // A delay runs from when this agent learns of the invalidation (never ending before it
    // does on the agent that invalidated the session), and is in place before the freed key is
    // visible to a writer here: both happen under this lock.
    const uint64_t now = ch.delays.empty() ? 0 : now_ms_();
    for (const auto& [key, ms] : ch.delays) pending_delays_.emplace_back(key, now + ms);
  }
  Publish(ch, notify, rev);
}

void EtcdStore::Publish(const MirrorChanges& ch, const std::function<void(bool, bool)>& notify,
                        int64_t rev) {
  if ((ch.kv || ch.sessions) && notify) notify(ch.kv, ch.sessions);
  for (const std::string& id : ch.lapsed) {
    log_.Log(LogLevel::kInfo, "kv", "etcd lease of session %s expired: invalidating", id.c_str());
    DestroyLapsed(id);
  }
  SetApplied(rev);
}

void EtcdStore::WatchLoop() {
  core::SetThreadName("beacon-etcdwat");
  bool resync = !loaded_.load(std::memory_order_acquire);  // opened with no member answering
  while (!stopping_) {
    if (resync) {
      Status st = Resync(watch_conn_, eo_.request_timeout_ms);
      if (!st.ok()) {
        log_.Log(LogLevel::kWarn, "kv", "etcd resync: %s", st.message().c_str());
        if (!loaded_.load(std::memory_order_acquire)) {
          WriterLock l(&mu_);
          load_error_ = st.message();
        }
        watch_conn_.Next();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      resync = false;
    }
    int64_t from = 0;
    {
      ReaderLock l(&mu_);
      from = m_.rev + 1;
    }
    std::string why;
    bool regen = false;
    Status st =
        watch_conn_.Watch(eo_.prefix, WatchEnd(eo_.prefix), from, [&](EtcdConn::WatchMsg& m) {
          if (m.canceled) {  // compacted past our revision (or the member is leaving)
            why = "watch canceled (compact revision " + std::to_string(m.compact_rev) + ")";
            resync = true;
            return false;
          }
          if (!m.events.empty() && !ApplyWatched(m.events)) {
            why = "a snapshot restore switched the data generation: reloading";
            resync = regen = true;  // the mirror swaps to the new generation in one step
            return false;
          }
          return !stopping_.load();
        });
    if (stopping_) break;
    if (regen) {  // not a failure: reload at once from the same member
      log_.Log(LogLevel::kInfo, "kv", "etcd: %s", why.c_str());
      continue;
    }
    if (!st.ok()) why = st.message();
    log_.Log(LogLevel::kWarn, "kv", "etcd watch on %s ended: %s", watch_conn_.endpoint().c_str(),
             why.empty() ? "closed" : why.c_str());
    watch_conn_.Next();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace beacon::kv::internal

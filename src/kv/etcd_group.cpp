// Group commit of etcd write units (see etcd_group.h).
#include "etcd_group.h"

#include <algorithm>
#include <utility>

namespace beacon::kv::internal {
namespace {

bool Writes(const TxnUnit& u, const std::string& key) {
  return std::any_of(u.success.begin(), u.success.end(),
                     [&](const TxnWrite& w) { return w.key == key; });
}

bool Reads(const TxnUnit& u, const std::string& key) {
  return std::any_of(u.compares.begin(), u.compares.end(),
                     [&](const auto& c) { return c.first == key; });
}

}  // namespace

bool EtcdGroup::Fits(const Pending& p, const std::vector<Pending*>& batch) {
  if (batch.size() >= kMaxUnits) return false;
  for (const Pending* o : batch) {
    for (const TxnWrite& w : p.unit->success) {
      if (Writes(*o->unit, w.key) || Reads(*o->unit, w.key)) return false;
    }
    for (const auto& [key, rev] : p.unit->compares) {
      if (Writes(*o->unit, key)) return false;
    }
  }
  return true;
}

void EtcdGroup::SendGroup(EtcdConn& conn, const std::vector<Pending*>& batch, int64_t attempt_ms) {
  if (batch.size() == 1) {  // a plain txn: cheaper at etcd than one nested txn
    Pending& p = *batch.front();
    std::vector<TxnWrite> ops = p.unit->success;
    ops.insert(ops.end(), p.after->begin(), p.after->end());
    auto r = conn.Txn(p.unit->compares, ops, p.unit->failure_reads, 0, attempt_ms);
    if (r.ok()) {
      p.answer = std::move(r.value());
    } else {
      p.status = r.status();
    }
    return;
  }
  std::vector<const TxnUnit*> units;
  std::vector<TxnWrite> after;
  for (const Pending* p : batch) {
    units.push_back(p->unit);
    for (const TxnWrite& w : *p->after) {
      const bool have = std::any_of(after.begin(), after.end(),
                                    [&](const TxnWrite& a) { return a.key == w.key; });
      if (!have) after.push_back(w);
    }
  }
  int64_t rev = 0;
  std::vector<UnitAnswer> answers;
  const Status st = conn.BatchTxn(units, after, 0, attempt_ms, &rev, &answers);
  for (size_t i = 0; i < batch.size(); ++i) {
    Pending& p = *batch[i];
    if (!st.ok()) {
      p.status = st;
      continue;
    }
    p.answer.succeeded = answers[i].succeeded;
    p.answer.rev = rev;
    p.answer.kvs = std::move(answers[i].kvs);
  }
}

Result<EtcdConn::TxnAnswer> EtcdGroup::Send(EtcdConn& conn, const TxnUnit& u,
                                            const std::vector<TxnWrite>& after, bool alone,
                                            int64_t attempt_ms) {
  Pending me;
  me.unit = &u;
  me.after = &after;
  alone = alone || !conn.batching() || u.success.size() > kMaxUnitOps ||
          u.compares.size() > kMaxUnitOps;
  if (alone) {
    SendGroup(conn, {&me}, attempt_ms);
  } else {
    UniqueLock l(&mu_);
    queue_.push_back(&me);
    cv_.wait(l.native(), [&]() NO_THREAD_SAFETY_ANALYSIS { return me.done || !sending_; });
    // Not done: nobody is sending, so this writer sends groups (its own unit among the first
    // that fit) until its unit is through, then hands over to the next queued writer.
    if (!me.done) {
      sending_ = true;
      while (!me.done) {
        std::vector<Pending*> batch;
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (batch.empty() || Fits(**it, batch)) {
            batch.push_back(*it);
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
        l.Unlock();
        SendGroup(conn, batch, attempt_ms);
        l.Lock();
        for (Pending* p : batch) p->done = true;
        cv_.notify_all();
      }
      sending_ = false;
      cv_.notify_all();
    }
  }
  if (!me.status.ok()) return me.status;
  return std::move(me.answer);
}

}  // namespace beacon::kv::internal

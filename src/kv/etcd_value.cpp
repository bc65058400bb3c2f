// EtcdValue: one shared etcd key, watched and written with a compare on its revision. See
// include/beacon/kv/etcd.h.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"
#include "beacon/kv/etcd.h"
#include "etcd_codec.h"
#include "etcd_conn.h"

namespace beacon::kv {

struct EtcdValue::Impl {
  struct Write {
    std::string value;
    int64_t expected = 0;
    std::function<void(PutResult)> done;
  };

  Impl(const EtcdOptions& o, std::string k, const Logger& l, std::function<void(Seen)> on_change)
      : opts(o), key(std::move(k)), log(l), changed(std::move(on_change)) {}

  bool Stopping() const { return stopping.load(); }

  // The key's value now and the store revision it was read at.
  Status Read(internal::EtcdConn& c, Seen* out, int64_t* header_rev) {
    auto r = c.Call("/v3/kv/range", internal::RangeRequest(key, ""), opts.request_timeout_ms);
    if (!r.ok()) return r.status();
    std::vector<internal::EtcdKv> kvs;
    std::string err;
    if (!internal::ParseRange(r.value(), &kvs, header_rev, &err)) {
      return Status::Error("etcd range " + key + ": " + err);
    }
    *out = Seen{};
    for (internal::EtcdKv& kv : kvs) {
      if (kv.key != key) continue;
      *out = Seen{true, std::move(kv.value), kv.mod_rev};
    }
    return Status::Ok();
  }

  void WatchLoop() {
    core::SetThreadName("beacon-etcdval");
    internal::EtcdConn c(opts, [this] { return Stopping(); });
    const std::string end = key + std::string(1, '\0');  // exactly this key
    bool first = true;
    int64_t reported = -1;  // the mod_revision last handed to `changed` (0: absent)
    while (!Stopping()) {
      Seen now;
      int64_t rev = 0;
      if (Status st = Read(c, &now, &rev); !st.ok()) {
        log.Log(LogLevel::kWarn, "kv", "etcd value %s: %s", key.c_str(), st.message().c_str());
        c.Next();
        Pause(500);
        continue;
      }
      if (first || now.rev != reported) {
        reported = now.rev;
        changed(now);
      }
      first = false;
      std::string why;
      Status st = c.Watch(key, end, rev + 1, [&](internal::EtcdConn::WatchMsg& m) {
        if (m.canceled) {  // compacted past rev + 1: read again
          why = "watch canceled (compact revision " + std::to_string(m.compact_rev) + ")";
          return false;
        }
        for (internal::EtcdKv& kv : m.events) {
          if (kv.key != key) continue;
          Seen s = kv.deleted ? Seen{} : Seen{true, std::move(kv.value), kv.mod_rev};
          if (s.rev == reported) continue;
          reported = s.rev;
          changed(std::move(s));
        }
        return !Stopping();
      });
      if (Stopping()) break;
      if (!st.ok()) why = st.message();
      log.Log(LogLevel::kWarn, "kv", "etcd watch of %s on %s ended: %s", key.c_str(),
              c.endpoint().c_str(), why.empty() ? "closed" : why.c_str());
      c.Next();
      Pause(100);
    }
  }

  PutResult Put(internal::EtcdConn& c, const Write& w) {
    PutResult out;
    auto r = c.Txn({{key, w.expected}}, {internal::TxnWrite{key, false, w.value, 0}}, {key},
                   opts.request_timeout_ms);
    if (!r.ok()) {
      out.status = Status::Error("etcd txn on " + key + ": " + r.status().message());
      return out;
    }
    if (r.value().succeeded) {
      out.now = Seen{true, w.value, r.value().rev};
      return out;
    }
    for (internal::EtcdKv& kv : r.value().kvs) {
      if (kv.key != key) continue;
      out.now = Seen{true, std::move(kv.value), kv.mod_rev};
    }
    // Our own earlier attempt of this very write committed (a retry after a lost answer).
    out.conflict = !(out.now.exists && out.now.value == w.value);
    return out;
  }

  void WriteLoop() {
    core::SetThreadName("beacon-etcdval");
    internal::EtcdConn c(opts, [this] { return Stopping(); });
    for (;;) {
      Write w;
      {
        UniqueLock l(&mu);
        cv.wait(l.native(),
                [this]() NO_THREAD_SAFETY_ANALYSIS { return closing || !queue.empty(); });
        if (queue.empty()) return;
        w = std::move(queue.front());
        queue.pop_front();
      }
      if (Stopping()) {
        PutResult r;
        r.status = Status::Error("etcd value " + key + ": the agent is stopping");
        w.done(std::move(r));
        continue;
      }
      w.done(Put(c, w));
    }
  }

  void Pause(int ms) {
    UniqueLock l(&mu);
    cv.wait_for(l.native(), std::chrono::milliseconds(ms),
                [this]() NO_THREAD_SAFETY_ANALYSIS { return closing; });
  }

  const EtcdOptions opts;
  const std::string key;
  const Logger& log;
  const std::function<void(Seen)> changed;
  std::atomic<bool> stopping{false};
  Mutex mu;
  std::condition_variable cv;
  bool closing GUARDED_BY(mu) = false;
  std::deque<Write> queue GUARDED_BY(mu);
  std::thread watcher, writer;
};

EtcdValue::EtcdValue(const EtcdOptions& o, std::string key, const Logger& log,
                     std::function<void(Seen)> on_change)
    : impl_(std::make_unique<Impl>(o, std::move(key), log, std::move(on_change))) {}

void EtcdValue::Start() {
  impl_->watcher = std::thread([i = impl_.get()] { i->WatchLoop(); });
  impl_->writer = std::thread([i = impl_.get()] { i->WriteLoop(); });
}

EtcdValue::~EtcdValue() {
  {
    MutexLock l(&impl_->mu);
    impl_->closing = true;
  }
  impl_->stopping = true;
  impl_->cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  if (impl_->watcher.joinable()) impl_->watcher.join();
  // Never started: the queued writes are answered here.
  std::deque<Impl::Write> left;
  {
    MutexLock l(&impl_->mu);
    left.swap(impl_->queue);
  }
  for (Impl::Write& w : left) {
    PutResult r;
    r.status = Status::Error("etcd value " + impl_->key + ": the agent is stopping");
    w.done(std::move(r));
  }
}

void EtcdValue::Put(std::string value, int64_t expected, std::function<void(PutResult)> done) {
  {
    MutexLock l(&impl_->mu);
    if (!impl_->closing) {
      impl_->queue.push_back(Impl::Write{std::move(value), expected, std::move(done)});
      impl_->cv.notify_one();
      return;
    }
  }
  PutResult r;
  r.status = Status::Error("etcd value " + impl_->key + ": the agent is stopping");
  done(std::move(r));
}

}  // namespace beacon::kv

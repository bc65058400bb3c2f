// GET/PUT /v1/snapshot. See snapshot_api.h.
#include "beacon/api/snapshot_api.h"

#include <strings.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "beacon/api/index_headers.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"
#include "beacon/kv/snapshot.h"

namespace beacon::http {

namespace {

bool OtherDc(const Request& req, const SnapshotApiOptions& o) {
  const std::string* dc = req.Query("dc");
  if (dc == nullptr) dc = req.Query("datacenter");
  return dc != nullptr && !dc->empty() && !o.datacenter.empty() &&
         strcasecmp(dc->c_str(), o.datacenter.c_str()) != 0;
}

// The store's file with the agent's prepared queries added (same header, so the same index).
Result<std::string> WithQueries(const std::string& file, const std::vector<std::string>& pqs) {
  Result<kv::SnapshotData> d = kv::ParseSnapshot(file);
  if (!d.ok()) return d.status();
  std::string out;
  kv::SnapshotWriter w(d->header, [&out](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  Status st = w.AddIndex(d->kv_index, d->sessions_index);
  for (const kv::Session& s : d->sessions) st = st.ok() ? w.Add(s) : st;
  for (const kv::Entry& e : d->entries) st = st.ok() ? w.Add(e) : st;
  for (const kv::Tombstone& t : d->tombstones) st = st.ok() ? w.Add(t) : st;
  for (const std::string& q : pqs) st = st.ok() ? w.AddPreparedQuery(q) : st;
  if (st.ok()) st = w.Finish();
  if (!st.ok()) return st;
  return out;
}

Response SaveResponse(kv::Store& s, const SnapshotApiOptions& o) {
  Response resp;
  std::string file;
  uint64_t index = 0;
  Status st = s.SaveSnapshot(
      [&file](std::string_view chunk) {
        file.append(chunk);
        return Status::Ok();
      },
      &index);
  if (st.ok() && o.prepared_queries) {
    std::vector<std::string> pqs = o.prepared_queries();
    if (!pqs.empty()) {
      Result<std::string> with = WithQueries(file, pqs);
      if (with.ok()) {
        file = std::move(with.value());
      } else {
        st = with.status();
      }
    }
  }
  if (!st.ok()) {
    resp.Text(500, st.message());
    return resp;
  }
  SetIndexHeaders(resp, index);
  resp.status = 200;
  resp.SetHeader("Content-Type", "application/octet-stream");
  resp.body = std::move(file);
  return resp;
}

Response ErrorText(int code, std::string_view text) {
  Response r;
  r.Text(code, text);
  return r;
}

void Restore(kv::Store& s, const std::shared_ptr<const SnapshotApiOptions>& o, std::string body,
             const DeferredPtr& d) {
  auto pqs = std::make_shared<std::vector<std::string>>();
  if (o->restore_prepared_queries) {
    Result<kv::SnapshotData> parsed = kv::ParseSnapshot(body);
    if (!parsed.ok()) {
      d->Reply(ErrorText(400, parsed.status().message()));
      return;
    }
    *pqs = std::move(parsed->prepared_queries);
  }
  s.RestoreSnapshot(std::move(body), [d, o, pqs](const Status& st, uint64_t index) {
    auto answer = [d, index](const Status& st) {
      Response r;
      if (!st.ok()) {
        // A file that failed verification is the client's error; anything else is ours.
        const bool bad = st.message().starts_with("invalid snapshot");
        r.Text(bad ? 400 : 500, st.message());
      } else {
        SetIndexHeaders(r, index);
        r.status = 200;
      }
      d->Reply(std::move(r));
    };
    if (!st.ok() || !o->restore_prepared_queries) return answer(st);
    o->restore_prepared_queries(std::move(*pqs), answer);
  });
}

// One thread that runs saves and restore verification off the HTTP loop, in arrival order.
// Destroyed with the router's handlers (when the server goes): finishes the queued jobs first.
class Worker {
 public:
  Worker()
      : thread_([this] {
          core::SetThreadName("beacon-snapshot");
          Run();
        }) {}
  ~Worker() {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Post(std::function<void()> job) {
    {
      MutexLock lock(&mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> job;
      {
        UniqueLock lock(&mu_);
        cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stop_ and drained
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

void AddSnapshotRoutes(Router& router, kv::Store& store, const SnapshotApiOptions& opts) {
  auto o = std::make_shared<const SnapshotApiOptions>(opts);
  std::shared_ptr<Worker> worker = opts.background ? std::make_shared<Worker>() : nullptr;
  kv::Store* s = &store;
  router.Handle("GET", "/v1/snapshot", [s, o, worker](const Request& req, Response& resp) {
    if (OtherDc(req, *o)) {
      resp.Text(500, "No path to datacenter");
      return;
    }
    if (!worker) {
      Response r = SaveResponse(*s, *o);  // only what a handler may set, not the connection
      resp.status = r.status;
      resp.headers = std::move(r.headers);
      resp.body = std::move(r.body);
      return;
    }
    DeferredPtr d = resp.Defer();
    worker->Post([s, o, d] { d->Reply(SaveResponse(*s, *o)); });
  });
  router.Handle("PUT", "/v1/snapshot", [s, o, worker](const Request& req, Response& resp) {
    if (OtherDc(req, *o)) {
      resp.Text(500, "No path to datacenter");
      return;
    }
    if (req.body.empty()) {
      resp.Text(400, "Missing snapshot: the request body is empty");
      return;
    }
    DeferredPtr d = resp.Defer();
    if (!worker) {
      Restore(*s, o, req.body, d);
      return;
    }
    worker->Post([s, o, d, body = req.body]() mutable { Restore(*s, o, std::move(body), d); });
  });
}

}  // namespace beacon::http

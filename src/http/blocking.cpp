// Deferred responses and blocking queries (spec 2.2): the loop side of Response::Defer(),
// http::Block() and HttpServer::Notify(). See server.h.
#include <algorithm>
#include <string>

#include "beacon/core/duration.h"
#include "beacon/core/thread_annotations.h"
#include "loop.h"

namespace beacon::http {

namespace {

constexpr uint64_t kDefaultWaitMs = 300000;  // default_query_time
constexpr uint64_t kMaxWaitMs = 600000;      // max_query_time

// Reply() from any thread: queues the response in the loop's mailbox and wakes the loop.
class LoopDeferred final : public Deferred {
 public:
  LoopDeferred(std::shared_ptr<Mailbox> mb, uint64_t conn_id)
      : mb_(std::move(mb)), conn_id_(conn_id) {}
  void Reply(Response r) override {
    MutexLock lock(&mb_->mu);
    if (replied_ || !mb_->open) return;
    replied_ = true;
    mb_->replies.emplace_back(conn_id_, std::move(r));
    uv_async_send(mb_->wake);
  }

 private:
  std::shared_ptr<Mailbox> mb_;
  uint64_t conn_id_;
  bool replied_ = false;  // guarded by mb_->mu
};

// Outside a server: the reply lands in the Response the handler was given.
class DirectDeferred final : public Deferred {
 public:
  explicit DirectDeferred(Response* target) : target_(target) {}
  void Reply(Response r) override {
    MutexLock lock(&mu_);
    if (target_ == nullptr) return;
    *target_ = std::move(r);
    target_ = nullptr;
  }

 private:
  Mutex mu_;
  Response* target_ GUARDED_BY(mu_);  // null once replied
};

}  // namespace

DeferredPtr Response::Defer(std::function<void()> on_abandon) {
  deferred_ = true;
  if (loop_ != nullptr) return loop_->MakeDeferred(conn_id_, std::move(on_abandon));
  return std::make_shared<DirectDeferred>(this);
}

DeferredPtr HttpLoop::MakeDeferred(uint64_t conn_id, std::function<void()> on_abandon) {
  if (auto it = by_id_.find(conn_id); it != by_id_.end()) {
    it->second->on_abandon = std::move(on_abandon);
  }
  return std::make_shared<LoopDeferred>(mailbox_, conn_id);
}

void Block(const Request& req, Response& resp, Topic topic, std::function<uint64_t()> probe,
           uint64_t min_index, uint64_t wait_ms,
           std::function<void(const Request&, Response&)> compute) {
  if (min_index == 0 || resp.loop_ == nullptr) {
    compute(req, resp);
    return;
  }
  // Counted before the probe: a Notify() for a change the probe missed then finds a watcher
  // (both under the mailbox's mutex) and wakes the loop, which probes again.
  resp.loop_->Watching(topic, +1);
  if (probe() != min_index) {
    resp.loop_->Watching(topic, -1);
    compute(req, resp);
    return;
  }
  resp.deferred_ = true;
  resp.loop_->Park(resp.conn_id_, req, topic, std::move(probe), min_index, wait_ms,
                   std::move(compute));
}

bool ParseBlocking(const Request& req, Response& resp, BlockingParams* out) {
  *out = BlockingParams();
  if (const std::string* idx = req.Query("index"); idx != nullptr && !idx->empty()) {
    uint64_t v = 0;
    for (char ch : *idx) {
      if (ch < '0' || ch > '9' || v > (UINT64_MAX - 9) / 10) {
        resp.Text(400, "Invalid index");
        return false;
      }
      v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    out->index = v;
  }
  out->wait_ms = kDefaultWaitMs;
  if (const std::string* w = req.Query("wait"); w != nullptr && !w->empty()) {
    uint64_t ms = 0;
    if (!core::ParseDurationMs(*w, &ms)) {
      resp.Text(400, "Invalid wait time");
      return false;
    }
    if (ms > 0) out->wait_ms = std::min(ms, kMaxWaitMs);
  }
  return true;
}

void HttpLoop::Park(uint64_t conn_id, const Request& req, Topic topic,
                    std::function<uint64_t()> probe, uint64_t min_index, uint64_t wait_ms,
                    std::function<void(const Request&, Response&)> compute) {
  auto it = by_id_.find(conn_id);
  if (it == by_id_.end()) {
    Watching(topic, -1);
    return;
  }
  auto* p = new Parked;
  p->loop = this;
  p->conn_id = conn_id;
  p->topic = topic;
  p->min_index = min_index;
  p->req = req;
  p->probe = std::move(probe);
  p->compute = std::move(compute);
  auto& list = parked_[static_cast<size_t>(topic)];
  p->slot = list.size();
  list.push_back(p);
  it->second->parked = p;
  PublishOpen();
  // Spec 2.2: a random extra of up to wait/16 spreads the timeouts of many watchers.
  const uint64_t jitter =
      wait_ms >= 16 ? std::uniform_int_distribution<uint64_t>(0, wait_ms / 16)(rng_) : 0;
  uv_timer_init(&loop_, &p->timer);
  p->timer.data = p;
  uv_timer_start(
      &p->timer,
      [](uv_timer_t* t) {
        static_cast<Parked*>(t->data)->loop->FinishParked(static_cast<Parked*>(t->data));
      },
      wait_ms + jitter, 0);
}

void HttpLoop::Watching(Topic topic, int delta) {
  MutexLock lock(&mailbox_->mu);
  mailbox_->watching[static_cast<size_t>(topic)] += static_cast<uint32_t>(delta);
}

void HttpLoop::Unpark(Parked* p) {
  Watching(p->topic, -1);
  auto& list = parked_[static_cast<size_t>(p->topic)];
  list[p->slot] = list.back();
  list[p->slot]->slot = p->slot;
  list.pop_back();
  PublishOpen();
  if (auto it = by_id_.find(p->conn_id); it != by_id_.end() && it->second->parked == p) {
    it->second->parked = nullptr;
  }
  uv_timer_stop(&p->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&p->timer),
           [](uv_handle_t* h) { delete static_cast<Parked*>(h->data); });
}

void HttpLoop::FinishParked(Parked* p) {
  Response resp;  // no loop_: compute() answers at once
  try {
    p->compute(p->req, resp);
  } catch (const std::exception& e) {
    resp = Response();
    resp.Text(500, std::string("internal error: ") + e.what());
  }
  const uint64_t conn_id = p->conn_id;
  Unpark(p);
  Deliver(conn_id, resp);
}

void HttpLoop::OnWake(uv_async_t* a) {
  auto* self = static_cast<HttpLoop*>(a->data);
  std::vector<std::pair<uint64_t, Response>> replies;
  std::vector<std::pair<uint64_t, bool>> kicks;
  std::vector<std::function<void()>> tasks;
  uint32_t topics = 0;
  {
    MutexLock lock(&self->mailbox_->mu);
    replies.swap(self->mailbox_->replies);
    kicks.swap(self->mailbox_->kicks);
    tasks.swap(self->mailbox_->tasks);
    topics = self->mailbox_->topics;
    self->mailbox_->topics = 0;
  }
  for (auto& [id, resp] : replies) self->Deliver(id, resp);
  for (const auto& [id, finish] : kicks) self->PumpStream(id, finish);
  for (auto& task : tasks) task();  // before the topics: a task may Notify() one
  for (int t = 0; t < kTopics; ++t) {
    if ((topics & (1U << t)) == 0) continue;
    // Probe every watcher of the topic; answer those whose result index moved.
    std::vector<Parked*> ready;
    for (Parked* p : self->parked_[static_cast<size_t>(t)]) {
      if (p->probe() != p->min_index) ready.push_back(p);
    }
    for (Parked* p : ready) self->FinishParked(p);
  }
}

void HttpLoop::Deliver(uint64_t conn_id, const Response& resp) {
  auto it = by_id_.find(conn_id);
  if (it == by_id_.end()) return;  // the client left meanwhile
  Conn* c = it->second;
  if (!c->busy || c->closing) return;
  c->busy = false;
  c->on_abandon = nullptr;
  Send(c, resp, !c->keep_after);
  if (!c->keep_after) return;
  Arm(c, opts_.idle_timeout_ms);
  Resume(c);  // not while the response just queued leaves too much unsent
}

}  // namespace beacon::http

// KV and session reads over a replicated backend: X-Consul-KnownLeader and ?consistent. See
// kv_api.h (KvApiOptions::cluster, kvapi::ReadBlock).
//
// ?max_stale=<d> reads like ?consistent once the cluster has had no known leader for longer
// than d (X-Consul-LastContact says for how long), else like ?stale.
//
// A ?consistent read parks as a blocking query while the barrier runs (its probe answers the
// "hold" index), so nothing blocks the loop thread: the barrier's callback wakes the parked
// reads, and the store's own commits wake them again until its mirror has reached the barrier's
// index. Then the read goes on as an ordinary one (parked on the client's ?index if it gave one).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "beacon/api/index_headers.h"
#include "beacon/api/kv_api.h"
#include "beacon/core/duration.h"

namespace beacon::http::kvapi {
namespace {

// Longest a ?consistent read without ?index waits for its barrier and the store.
constexpr uint64_t kBarrierWaitMs = 30000;

struct BarrierWait {
  std::atomic<int> state{0};  // 0 running, 1 done (point set), 2 failed (error set)
  kv::BarrierPoint point;
  std::string error;
};

// X-Consul-KnownLeader and X-Consul-LastContact as the cluster sees them now.
void Staleness(const kv::ClusterView* cl, Response& out) {
  if (cl == nullptr) return;
  if (!cl->KnownLeader()) out.SetHeader("X-Consul-KnownLeader", "false");
  const uint64_t ms = cl->LastContactMs();
  if (ms != 0) out.SetHeader("X-Consul-LastContact", std::to_string(ms));
}

// ?max_stale=<duration> (Consul: a stale read unless the server has been out of contact with
// the leader for longer; then the read goes to the leader): true when it must be consistent.
bool TooStale(const Request& req, const kv::ClusterView& cl) {
  const std::string* max = req.Query("max_stale");
  if (max == nullptr || max->empty()) return false;
  int64_t ns = 0;
  if (!core::ParseGoDuration(*max, &ns) || ns < 0) return false;  // as Consul: ignored
  return cl.LastContactMs() > static_cast<uint64_t>(ns / 1000000);
}

}  // namespace

void ReadBlock(const Request& req, Response& resp, const KvApiOptions& opts, const kv::Store& store,
               Topic topic, std::function<uint64_t()> probe, const BlockingParams& bp,
               std::function<void(const Request&, Response&)> compute) {
  const kv::ClusterView* cl = opts.cluster;
  auto finish = [cl, compute = std::move(compute)](const Request& r, Response& out) {
    compute(r, out);
    Staleness(cl, out);
  };
  if (opts.cluster == nullptr || !(req.HasQuery("consistent") || TooStale(req, *cl))) {
    Block(req, resp, topic, std::move(probe), bp.index, bp.wait_ms, std::move(finish));
    return;
  }
  auto w = std::make_shared<BarrierWait>();
  opts.cluster->Barrier([w, wake = opts.wake](Result<kv::BarrierPoint> r) {
    if (r.ok()) {
      w->point = r.value();
      w->state.store(1, std::memory_order_release);
    } else {
      w->error = r.status().message();
      w->state.store(2, std::memory_order_release);
    }
    if (wake) wake();
  });
  const kv::Store* st = &store;
  // Has the store reached the barrier (the index this topic's reads see)?
  auto caught_up = [w, st, topic] {
    return topic == Topic::kSession ? st->SessionsIndex() >= w->point.sessions_index
                                    : st->KvIndex() >= w->point.kv_index;
  };
  const uint64_t hold = bp.index != 0 ? bp.index : UINT64_MAX;
  auto held = [w, caught_up, hold, probe = std::move(probe)]() -> uint64_t {
    const int s = w->state.load(std::memory_order_acquire);
    if (s == 2) return hold - 1;  // differs: answer the error now
    if (s == 0 || !caught_up()) return hold;
    return probe();
  };
  auto answer = [w, cl, st, caught_up, finish = std::move(finish)](const Request& r,
                                                                   Response& out) {
    const int s = w->state.load(std::memory_order_acquire);
    if (s == 1 && caught_up()) return finish(r, out);
    SetIndexHeaders(out, st->Index());
    Staleness(cl, out);
    out.Text(500, s == 2 ? w->error : "timed out waiting for a consistent read");
  };
  const uint64_t wait = bp.index != 0 ? bp.wait_ms : std::min(bp.wait_ms, kBarrierWaitMs);
  Block(req, resp, topic, std::move(held), hold, wait, std::move(answer));
}

}  // namespace beacon::http::kvapi

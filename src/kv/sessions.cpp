// Session lifecycle (Consul agent/consul/state/session.go and session_ttl.go, re-derived):
// create, renew, and invalidation by destroy, TTL expiry or a dead node/check. Invalidation
// releases or deletes the session's locks and starts their lock-delay.
#include <algorithm>

#include "beacon/core/uuid.h"
#include "engine.h"

namespace beacon::kv::internal {

SessionResult Engine::CreateSession(Backend& b, Session s, Effects* fx) {
  fx->meta = meta_;
  const uint64_t idx = meta_.index + 1;
  Session existing;
  do {
    s.id = core::NewUuidV4(rng_);
  } while (b.GetSession(s.id, &existing));
  s.create_index = idx;
  s.modify_index = idx;
  b.PutSession(s);
  fx->meta.index = idx;
  fx->meta.sessions_index = idx;
  b.PutMeta(fx->meta);
  fx->sessions = true;
  fx->renews.emplace_back(s.id, Now());
  SessionResult r;
  r.found = true;
  r.session = std::move(s);
  r.index = idx;
  return r;
}

void Engine::Invalidate(Backend& b, const Session& s, uint64_t idx, Effects* fx) {
  const uint64_t now = Now();
  auto it = held_.find(s.id);
  if (it != held_.end()) {
    for (const std::string& key : it->second) {
      Entry e;
      if (!b.GetEntry(key, &e) || e.session != s.id) continue;
      if (s.behavior == Session::Behavior::kDelete) {
        b.DelEntry(key);
        b.PutTombstone(key, idx);
      } else {
        e.session.clear();  // LockIndex is kept
        e.modify_index = idx;
        b.PutEntry(e);
      }
      fx->moves.push_back({key, s.id, ""});
      if (s.lock_delay_ms > 0) fx->delays.emplace_back(key, now + s.lock_delay_ms);
      fx->kv = true;
      fx->meta.kv_index = idx;
    }
  }
  b.DelSession(s.id);
  fx->dropped.push_back(s.id);
  fx->sessions = true;
  fx->meta.index = idx;
  fx->meta.sessions_index = idx;
}

SessionResult Engine::DestroySession(Backend& b, const std::string& id, Effects* fx) {
  fx->meta = meta_;
  SessionResult r;
  Session s;
  if (!b.GetSession(id, &s)) {
    r.index = AtLeastOne(meta_.index);
    return r;
  }
  Invalidate(b, s, meta_.index + 1, fx);
  b.PutMeta(fx->meta);
  r.found = true;
  r.session = std::move(s);
  r.index = fx->meta.index;
  return r;
}

SessionResult Engine::RenewSession(Backend& b, const std::string& id, Effects* fx) {
  fx->meta = meta_;
  SessionResult r;
  r.index = AtLeastOne(meta_.index);
  if (!b.GetSession(id, &r.session)) return r;
  r.found = true;
  fx->renews.emplace_back(id, Now());
  return r;
}

size_t Engine::ExpireSessions(Backend& b, uint64_t now_ms, Effects* fx, size_t max) {
  fx->meta = meta_;
  for (auto it = lock_delay_.begin(); it != lock_delay_.end();) {
    it = it->second <= now_ms ? lock_delay_.erase(it) : std::next(it);
  }
  std::vector<Session> expired;
  b.ScanSessions([&](const Session& s) {
    if (s.ttl_ms == 0) return;
    auto it = renewed_.find(s.id);
    if (it == renewed_.end()) {
      fx->renews.emplace_back(s.id, now_ms);  // unknown clock: start it now
      return;
    }
    // Consul reaps between TTL and 2*TTL: the timer runs for TTL * SessionTTLMultiplier (2).
    if (now_ms >= it->second + 2 * s.ttl_ms && expired.size() < max) expired.push_back(s);
  });
  if (expired.empty()) return 0;
  const uint64_t idx = meta_.index + 1;
  for (const Session& s : expired) Invalidate(b, s, idx, fx);
  b.PutMeta(fx->meta);
  return expired.size();
}

size_t Engine::InvalidateSessions(Backend& b, const std::function<bool(const Session&)>& dead,
                                  Effects* fx, size_t max) {
  fx->meta = meta_;
  std::vector<Session> victims;
  b.ScanSessions([&](const Session& s) {
    if (victims.size() < max && dead(s)) victims.push_back(s);
  });
  if (victims.empty()) return 0;
  const uint64_t idx = meta_.index + 1;
  for (const Session& s : victims) Invalidate(b, s, idx, fx);
  b.PutMeta(fx->meta);
  return victims.size();
}

}  // namespace beacon::kv::internal

// Consul's KV semantics (agent/consul/state/kvs.go and txn.go, re-derived): ops of one Apply run
// against an Overlay so a failing op leaves the backend untouched; the Overlay is flushed only
// when every op succeeded.
#include "engine.h"

#include <algorithm>
#include <utility>
#include "beacon/core/clock.h"

namespace beacon::kv::internal {
namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

// Consul's DirEntry.Equal: everything a client wrote, not the indexes it was given.
bool SameContent(const Entry& a, const Entry& b) {
  return a.key == b.key && a.flags == b.flags && a.value == b.value && a.session == b.session &&
         a.lock_index == b.lock_index;
}

bool SameAll(const Entry& a, const Entry& b) {
  return SameContent(a, b) && a.create_index == b.create_index && a.modify_index == b.modify_index;
}

// Pending KV writes of one Apply on top of the backend.
class Overlay {
 public:
  explicit Overlay(Backend& b) : b_(b) {}

  bool Get(std::string_view key, Entry* out) {
    const Slot& s = Touch(key);
    if (!s.cur) return false;
    *out = *s.cur;
    return true;
  }
  void Put(const Entry& e) { Touch(e.key).cur = e; }
  void Del(std::string_view key) { Touch(key).cur.reset(); }

  std::vector<Entry> Tree(std::string_view prefix) {
    std::map<std::string, Entry, std::less<>> merged;
    b_.ScanEntries(prefix, [&](const Entry& e) {
      merged.emplace(e.key, e);
      return true;
    });
    for (auto it = slots_.lower_bound(prefix); it != slots_.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      if (it->second.cur) {
        merged[it->first] = *it->second.cur;
      } else {
        merged.erase(it->first);
      }
    }
    std::vector<Entry> out;
    out.reserve(merged.size());
    for (auto& [k, e] : merged) out.push_back(std::move(e));
    return out;
  }

  // Writes every net change to the backend at index idx; true if anything changed.
  bool Flush(uint64_t idx, Effects* fx) {
    bool changed = false;
    for (auto& [key, s] : slots_) {
      if (s.had == s.cur.has_value() && (!s.had || SameAll(s.orig, *s.cur))) continue;
      changed = true;
      std::string from = s.had ? s.orig.session : std::string();
      std::string to = s.cur ? s.cur->session : std::string();
      if (s.cur) {
        b_.PutEntry(*s.cur);
        if (!s.had) b_.DelTombstone(key);
      } else {
        b_.DelEntry(key);
        b_.PutTombstone(key, idx);
      }
      if (from != to) fx->moves.push_back({key, std::move(from), std::move(to)});
    }
    return changed;
  }

 private:
  struct Slot {
    bool had = false;
    Entry orig;
    std::optional<Entry> cur;
  };
  Slot& Touch(std::string_view key) {
    auto it = slots_.find(key);
    if (it != slots_.end()) return it->second;
    Slot s;
    s.had = b_.GetEntry(key, &s.orig);
    if (s.had) s.cur = s.orig;
    return slots_.emplace(std::string(key), std::move(s)).first->second;
  }

  Backend& b_;
  std::map<std::string, Slot, std::less<>> slots_;
};

// Consul's kvsSetTxn: keeps CreateIndex, keeps the holder unless update_session, and moves
// ModifyIndex only when the content changed.
Entry SetTxn(Overlay& ov, uint64_t idx, Entry e, bool update_session) {
  Entry ex;
  bool had = ov.Get(e.key, &ex);
  e.create_index = had ? ex.create_index : idx;
  if (!update_session) e.session = had ? ex.session : std::string();
  if (had && SameContent(ex, e)) {
    e.modify_index = ex.modify_index;
    return e;
  }
  e.modify_index = idx;
  ov.Put(e);
  return e;
}

Entry NoValue(Entry e) {
  e.value.clear();
  return e;
}

bool WritesValue(Verb v) {
  return v == Verb::kSet || v == Verb::kCas || v == Verb::kLock || v == Verb::kUnlock;
}

bool TakesPrefix(Verb v) {
  return v == Verb::kGetTree || v == Verb::kDeleteTree;
}

}  // namespace

Engine::Engine(StoreOptions opts) : opts_(std::move(opts)), rng_(std::random_device{}()) {
  if (!opts_.now_ms) opts_.now_ms = [] { return core::RealClock().MonotonicMs(); };
}

void Engine::Load(Backend& b, const Meta& m) {
  meta_ = m;
  held_.clear();
  renewed_.clear();
  b.ScanEntries("", [&](const Entry& e) {
    if (!e.session.empty()) held_[e.session].insert(e.key);
    return true;
  });
  uint64_t now = Now();
  b.ScanSessions([&](const Session& s) { renewed_[s.id] = now; });
}

WriteResult Engine::Apply(Backend& b, std::vector<Op>& ops, Effects* fx) {
  fx->meta = meta_;
  WriteResult r;
  const uint64_t idx = meta_.index + 1;
  const uint64_t now = Now();
  Overlay ov(b);
  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    auto fail = [&](OpError::Kind k, std::string what) {
      r.errors.push_back(OpError{i, k, std::move(what)});
    };
    if (op.key.size() > kMaxKeyBytes) {
      fail(OpError::Kind::kInvalid, "key too long (" + std::to_string(op.key.size()) +
                                        " bytes, max " + std::to_string(kMaxKeyBytes) + ")");
      continue;
    }
    if (op.key.empty() && !TakesPrefix(op.verb)) {
      fail(OpError::Kind::kInvalid, "missing key name");
      continue;
    }
    if (WritesValue(op.verb) && op.value.size() > kMaxValueBytes) {
      fail(OpError::Kind::kInvalid, "value too large (" + std::to_string(op.value.size()) +
                                        " bytes, max " + std::to_string(kMaxValueBytes) + ")");
      continue;
    }
    Entry cur;
    const bool had = ov.Get(op.key, &cur);
    Entry req;
    req.key = op.key;
    req.value = std::move(op.value);
    req.flags = op.flags;
    switch (op.verb) {
      case Verb::kSet:
        r.results.push_back(NoValue(SetTxn(ov, idx, std::move(req), false)));
        break;
      case Verb::kCas:
        if ((op.index == 0 && had) || (op.index != 0 && (!had || cur.modify_index != op.index))) {
          fail(OpError::Kind::kConflict, "failed to set key " + Quote(op.key) + ", index is stale");
          break;
        }
        r.results.push_back(NoValue(SetTxn(ov, idx, std::move(req), false)));
        break;
      case Verb::kLock: {
        if (op.session.empty()) {
          fail(OpError::Kind::kInvalid, "missing session");
          break;
        }
        Session s;
        if (!b.GetSession(op.session, &s)) {
          fail(OpError::Kind::kInvalid, "invalid session " + Quote(op.session));
          break;
        }
        // Consul checks the lock-delay before anything else (kvsPreApply).
        auto d = lock_delay_.find(op.key);
        if (d != lock_delay_.end() && d->second > now) {
          fail(OpError::Kind::kConflict,
               "failed to lock key " + Quote(op.key) + " due to lock delay");
          break;
        }
        if (had && cur.session == op.session) {
          req.lock_index = cur.lock_index;
        } else if (had && !cur.session.empty()) {
          fail(OpError::Kind::kConflict,
               "failed to lock key " + Quote(op.key) + ", lock is already held");
          break;
        } else {
          req.lock_index = had ? cur.lock_index + 1 : 1;
        }
        req.session = op.session;
        r.results.push_back(NoValue(SetTxn(ov, idx, std::move(req), true)));
        break;
      }
      case Verb::kUnlock:
        if (op.session.empty()) {
          fail(OpError::Kind::kInvalid, "missing session");
          break;
        }
        if (!had || cur.session != op.session) {
          fail(OpError::Kind::kConflict, "failed to unlock key " + Quote(op.key) +
                                             ", lock isn't held, or is held by another session");
          break;
        }
        req.lock_index = cur.lock_index;
        r.results.push_back(NoValue(SetTxn(ov, idx, std::move(req), true)));
        break;
      case Verb::kGet:
        if (!had) {
          fail(OpError::Kind::kConflict, "key " + Quote(op.key) + " doesn't exist");
          break;
        }
        r.results.push_back(std::move(cur));
        break;
      case Verb::kGetTree:
        for (Entry& e : ov.Tree(op.key)) r.results.push_back(std::move(e));
        break;
      case Verb::kCheckIndex:
        if (!had) {
          fail(OpError::Kind::kConflict,
               "failed to check index, key " + Quote(op.key) + " doesn't exist");
        } else if (cur.modify_index != op.index) {
          fail(OpError::Kind::kConflict,
               "failed index check for key " + Quote(op.key) + ", current modify index " +
                   std::to_string(cur.modify_index) + " != " + std::to_string(op.index));
        } else {
          r.results.push_back(NoValue(std::move(cur)));
        }
        break;
      case Verb::kCheckSession:
        if (!had) {
          fail(OpError::Kind::kConflict,
               "failed to check session, key " + Quote(op.key) + " doesn't exist");
        } else if (cur.session != op.session) {
          fail(OpError::Kind::kConflict, "failed session check for key " + Quote(op.key) +
                                             ", current session " + Quote(cur.session) +
                                             " != " + Quote(op.session));
        } else {
          r.results.push_back(NoValue(std::move(cur)));
        }
        break;
      case Verb::kCheckNotExists:
        if (had) fail(OpError::Kind::kConflict, "key " + Quote(op.key) + " exists");
        break;
      case Verb::kDelete:
        if (had) ov.Del(op.key);
        break;
      case Verb::kDeleteTree:
        for (const Entry& e : ov.Tree(op.key)) ov.Del(e.key);
        break;
      case Verb::kDeleteCas:
        if (!had) break;  // Consul: a cas delete of a missing key succeeds
        if (cur.modify_index != op.index) {
          fail(OpError::Kind::kConflict,
               "failed to delete key " + Quote(op.key) + ", index is stale");
          break;
        }
        ov.Del(op.key);
        break;
    }
  }
  if (!r.errors.empty()) {
    r.ok = false;
    r.results.clear();
    r.index = AtLeastOne(meta_.index);
    return r;
  }
  if (ov.Flush(idx, fx)) {
    fx->meta.index = idx;
    fx->meta.kv_index = idx;
    fx->kv = true;
    b.PutMeta(fx->meta);
  }
  r.ok = true;
  r.index = AtLeastOne(fx->meta.index);
  return r;
}

void Engine::Finish(const Effects& fx) {
  meta_ = fx.meta;
  for (const Effects::LockMove& m : fx.moves) {
    if (!m.from.empty()) {
      auto it = held_.find(m.from);
      if (it != held_.end()) {
        it->second.erase(m.key);
        if (it->second.empty()) held_.erase(it);
      }
    }
    if (!m.to.empty()) held_[m.to].insert(m.key);
  }
  for (const auto& [key, until] : fx.delays) {
    uint64_t& d = lock_delay_[key];
    d = std::max(d, until);
  }
  for (const auto& [id, at] : fx.renews) renewed_[id] = at;
  for (const std::string& id : fx.dropped) {
    renewed_.erase(id);
    held_.erase(id);
  }
}

void AppendKeyName(std::string_view key, std::string_view prefix, std::string_view sep,
                   std::vector<std::string>* out) {
  std::string_view name = key;
  if (!sep.empty()) {
    size_t pos = key.find(sep, prefix.size());
    if (pos != std::string_view::npos) name = key.substr(0, pos + sep.size());
  }
  if (!out->empty() && out->back() == name) return;
  out->emplace_back(name);
}

}  // namespace beacon::kv::internal

namespace beacon::kv {

const char* VerbName(Verb v) {
  static constexpr const char* kNames[StoreStats::kVerbs] = {
      "set",         "cas",         "lock",          "unlock",           "get",
      "get-tree",    "check-index", "check-session", "check-not-exists", "delete",
      "delete-tree", "delete-cas"};
  const auto i = static_cast<size_t>(v);
  return i < StoreStats::kVerbs ? kNames[i] : "unknown";
}

}  // namespace beacon::kv

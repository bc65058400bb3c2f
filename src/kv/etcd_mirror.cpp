// EtcdMirror and EtcdRecorder (see etcd_mirror.h).
#include "etcd_mirror.h"

#include <algorithm>

namespace beacon::kv::internal {

void EtcdMirror::Reset(const std::vector<EtcdKv>& kvs, int64_t at, MirrorChanges* ch) {
  entries.clear();
  tombs.clear();
  sessions.clear();
  leases.clear();
  live.clear();
  pinned.clear();
  pinned_create.clear();
  pinned_sessions.clear();
  kv_index = 0;
  sessions_index = 0;
  kv_rev = sessions_rev = 0;
  gen = FindGeneration(kvs, root_);
  prefix_ = root_ + gen.path;
  std::vector<std::string> gone;
  for (const EtcdKv& kv : kvs) One(kv, ch, &gone);
  rev = at;
  ch->moves.clear();
  ch->reset = ch->kv = ch->sessions = true;
  // A TTL session whose lease key is already gone lapsed while nobody watched.
  for (const auto& [id, lease] : leases) {
    if (lease != 0 && !live.contains(id)) ch->lapsed.push_back(id);
  }
}

void EtcdMirror::Apply(const std::vector<EtcdKv>& events, MirrorChanges* ch) {
  std::vector<std::string> gone;
  const size_t first_move = ch->moves.size();
  std::vector<int64_t> move_revs;  // the revision of each move of this batch
  // Sessions deleted in this batch: id -> (the deleting revision, their LockDelay).
  std::map<std::string, std::pair<int64_t, uint64_t>, std::less<>> ended;
  const std::string session_prefix = prefix_ + "s/";
  for (const EtcdKv& ev : events) {
    if (ev.deleted && std::string_view(ev.key).starts_with(session_prefix)) {
      auto s = sessions.find(std::string_view(ev.key).substr(session_prefix.size()));
      if (s != sessions.end()) ended[s->first] = {ev.mod_rev, s->second.lock_delay_ms};
    }
    const size_t before = ch->moves.size();
    One(ev, ch, &gone);
    move_revs.resize(move_revs.size() + (ch->moves.size() - before), ev.mod_rev);
    rev = std::max(rev, ev.mod_rev);
  }
  for (size_t i = first_move; i < ch->moves.size(); ++i) {
    const Effects::LockMove& m = ch->moves[i];
    auto e = ended.find(m.from);
    if (e != ended.end() && e->second.first == move_revs[i - first_move] && e->second.second > 0) {
      ch->delays.emplace_back(m.key, e->second.second);
    }
  }
  for (const std::string& id : gone) {
    if (sessions.contains(id) && !live.contains(id)) ch->lapsed.push_back(id);
  }
}

void EtcdMirror::One(const EtcdKv& kv, MirrorChanges* ch, std::vector<std::string>* gone) {
  std::string_view k(kv.key);
  if (!k.starts_with(prefix_) || k.size() < prefix_.size() + 2) return;
  k.remove_prefix(prefix_.size());
  const std::string_view kind = k.substr(0, 2);
  const std::string name(k.substr(2));
  if (kind == "e/") {
    ch->kv = true;
    auto it = entries.find(name);
    std::string from = it != entries.end() ? it->second.session : std::string();
    std::string to;
    pinned.erase(name);
    pinned_create.erase(name);
    if (kv.deleted) {
      if (it != entries.end()) entries.erase(it);
    } else {
      Entry e;
      e.key = name;
      uint8_t mask = 0;
      if (!DecodeEntryAny(kv.value, &e, &mask)) e.value = kv.value;  // written by someone else
      if (mask & kRestored) {  // the snapshot's indexes (etcd_generation.h)
        e.modify_index = gen.Keep(e.modify_index);
        e.create_index = std::min(e.create_index, e.modify_index);
        pinned[name] = kv.mod_rev;
      } else {
        if (!(mask & kPinnedCreate)) e.create_index = gen.Index(kv.create_rev);
        e.modify_index = gen.Index(kv.mod_rev);
      }
      if (mask != 0) pinned_create.insert(name);
      to = e.session;
      entries[name] = std::move(e);
    }
    if (from != to) ch->moves.push_back({name, std::move(from), std::move(to)});
  } else if (kind == "t/") {
    ch->kv = true;
    if (kv.deleted) {
      tombs.erase(name);
    } else {
      uint64_t raw = 0;
      tombs[name] = DecodeRestoredTomb(kv.value, &raw) ? gen.Keep(raw) : gen.Index(kv.mod_rev);
    }
  } else if (kind == "s/") {
    ch->sessions = true;
    pinned_sessions.erase(name);
    if (kv.deleted) {
      sessions.erase(name);
      leases.erase(name);
      return;
    }
    Session s;
    int64_t lease = 0;
    if (!DecodeSession(kv.value, &s, &lease)) return;
    s.id = name;
    if (DecodeRestoredSession(kv.value, &s.create_index, &s.modify_index)) {
      pinned_sessions[name] = kv.mod_rev;  // restored sessions keep the snapshot's indexes
    } else {
      s.create_index = gen.Index(kv.create_rev);
      s.modify_index = gen.Index(kv.mod_rev);
    }
    sessions[name] = std::move(s);
    leases[name] = lease;
  } else if (kind == "l/") {
    if (kv.deleted) {
      live.erase(name);
      gone->push_back(name);
    } else {
      live.insert(name);
    }
  } else if (k == "m/kv") {
    kv_rev = kv.deleted ? 0 : kv.mod_rev;
    kv_index = kv.deleted ? 0 : gen.Index(kv.mod_rev);
  } else if (k == "m/sessions") {
    sessions_rev = kv.deleted ? 0 : kv.mod_rev;
    sessions_index = kv.deleted ? 0 : gen.Index(kv.mod_rev);
  }
}

uint64_t EtcdMirror::SubIndex(std::string_view prefix) const {
  uint64_t idx = 0;
  for (auto it = entries.lower_bound(prefix); it != entries.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    idx = std::max(idx, it->second.modify_index);
  }
  for (auto it = tombs.lower_bound(prefix); it != tombs.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    idx = std::max(idx, it->second);
  }
  return idx;
}

Meta EtcdMirror::meta() const {
  Meta m;
  m.kv_index = AtLeastOne(kv_index);
  m.sessions_index = AtLeastOne(sessions_index);
  m.index = std::max(m.kv_index, m.sessions_index);
  return m;
}

// ---- EtcdRecorder ----

bool EtcdRecorder::GetEntry(std::string_view key, Entry* out) {
  auto p = entries_.find(key);
  if (p != entries_.end()) {
    if (!p->second) return false;
    *out = *p->second;
    return true;
  }
  auto it = m_.entries.find(key);
  const bool found = it != m_.entries.end();
  reads_.emplace(m_.EntryKey(key), found ? m_.EntryRev(it->first, it->second) : 0);
  if (!found) return false;
  *out = it->second;
  return true;
}

void EtcdRecorder::ScanEntries(std::string_view prefix,
                               const std::function<bool(const Entry&)>& fn) {
  scan_kv_ = true;
  EtcdSortedMap<const Entry*> merged;
  for (auto it = m_.entries.lower_bound(prefix); it != m_.entries.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    merged[it->first] = &it->second;
  }
  for (auto it = entries_.lower_bound(prefix); it != entries_.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    if (it->second) {
      merged[it->first] = &*it->second;
    } else {
      merged.erase(it->first);
    }
  }
  for (const auto& [k, e] : merged) {
    if (!fn(*e)) break;
  }
}

void EtcdRecorder::PutEntry(const Entry& e) {
  kv_changed_ = true;
  // A restored entry keeps its CreateIndex across updates (etcd_generation.h).
  auto it = m_.pinned_create.contains(e.key) ? m_.entries.find(e.key) : m_.entries.end();
  const bool pin = it != m_.entries.end() && it->second.create_index == e.create_index;
  writes_[m_.EntryKey(e.key)] = TxnWrite{
      m_.EntryKey(e.key), false, pin ? EncodeEntryV2(e, kPinnedCreate) : EncodeEntryValue(e), 0};
  entries_[e.key] = e;
}

void EtcdRecorder::DelEntry(std::string_view key) {
  kv_changed_ = true;
  writes_[m_.EntryKey(key)] = TxnWrite{m_.EntryKey(key), true, {}, 0};
  entries_[std::string(key)] = std::nullopt;
}

void EtcdRecorder::PutTombstone(std::string_view key, uint64_t) {
  kv_changed_ = true;
  writes_[m_.TombKey(key)] = TxnWrite{m_.TombKey(key), false, {}, 0};
}

void EtcdRecorder::DelTombstone(std::string_view key) {
  const std::string tk = m_.TombKey(key);
  writes_.erase(tk);
  if (m_.tombs.contains(key)) writes_[tk] = TxnWrite{tk, true, {}, 0};
}

bool EtcdRecorder::GetSession(std::string_view id, Session* out) {
  auto p = sessions_.find(id);
  if (p != sessions_.end()) {
    if (!p->second) return false;
    *out = *p->second;
    return true;
  }
  auto it = m_.sessions.find(id);
  const bool found = it != m_.sessions.end();
  reads_.emplace(m_.SessionKey(id), found ? m_.SessionRev(it->first, it->second) : 0);
  if (!found) return false;
  *out = it->second;
  return true;
}

void EtcdRecorder::ScanSessions(const std::function<void(const Session&)>& fn) {
  scan_sessions_ = true;
  for (const auto& [id, s] : m_.sessions) {
    if (sessions_.contains(id)) continue;
    if (!scan_filter || scan_filter(s)) fn(s);
  }
  for (const auto& [id, s] : sessions_) {
    if (s && (!scan_filter || scan_filter(*s))) fn(*s);
  }
}

void EtcdRecorder::PutSession(const Session& s) {
  sessions_changed_ = true;
  sessions_[s.id] = s;
  new_sessions_[s.id] = s;  // the engine only puts sessions when creating them
}

void EtcdRecorder::DelSession(std::string_view id) {
  sessions_changed_ = true;
  sessions_[std::string(id)] = std::nullopt;
  if (new_sessions_.erase(std::string(id)) > 0) return;
  writes_[m_.SessionKey(id)] = TxnWrite{m_.SessionKey(id), true, {}, 0};
  if (m_.live.contains(id)) writes_[m_.LeaseKey(id)] = TxnWrite{m_.LeaseKey(id), true, {}, 0};
}

std::vector<TxnWrite> EtcdRecorder::Ops(const EtcdSortedMap<int64_t>& leases) const {
  std::vector<TxnWrite> ops;
  ops.reserve(writes_.size() + 2 * new_sessions_.size() + 2);
  for (const auto& [k, w] : writes_) ops.push_back(w);
  for (const auto& [id, s] : new_sessions_) {
    auto l = leases.find(id);
    const int64_t lease = l == leases.end() ? 0 : l->second;
    ops.push_back(TxnWrite{m_.SessionKey(id), false, EncodeSession(s, lease), 0});
    if (lease != 0) ops.push_back(TxnWrite{m_.LeaseKey(id), false, {}, lease});
  }
  return ops;
}

std::vector<std::pair<std::string, int64_t>> EtcdRecorder::Compares() const {
  std::vector<std::pair<std::string, int64_t>> out(reads_.begin(), reads_.end());
  if (scan_kv_) out.emplace_back(m_.KvMetaKey(), m_.kv_rev);
  if (scan_sessions_) out.emplace_back(m_.SessionsMetaKey(), m_.sessions_rev);
  // No write lands in a generation a restore has replaced (etcd_generation.h).
  if (!out.empty() || !empty()) out.emplace_back(m_.PointerKey(), m_.gen.pointer_rev);
  return out;
}

std::vector<int64_t> EtcdRecorder::RevokedLeases() const {
  std::vector<int64_t> out;
  for (const auto& [id, s] : sessions_) {
    if (s) continue;
    auto l = m_.leases.find(id);
    if (l != m_.leases.end() && l->second != 0) out.push_back(l->second);
  }
  return out;
}

}  // namespace beacon::kv::internal

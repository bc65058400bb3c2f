// CatalogSync: deltas, records and announcements on gossip, and the pulls that fill gaps (see
// catalog_sync.h; digests and anti-entropy: catalog_sync_ae.cpp).
#include "beacon/gossip/catalog_sync.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "beacon/core/strings.h"
#include "beacon/gossip/membership.h"

namespace beacon::gossip {

using catalog::Liveness;

CatalogSync::CatalogSync(CatalogSyncConfig cfg, std::function<catalog::SnapshotPtr()> snapshot,
                         std::function<void(catalog::Change)> submit, std::uint64_t seed)
    : cfg_(std::move(cfg)),
      self_key_(core::Lower(cfg_.self)),
      snapshot_(std::move(snapshot)),
      submit_(std::move(submit)),
      rng_(seed) {
  cfg_.anti_entropy_interval_ms = std::max<std::uint64_t>(cfg_.anti_entropy_interval_ms, 1);
}

std::size_t CatalogSync::queued() const {
  std::size_t n = 0;
  for (const auto& [origin, q] : queue_) n += q.size();
  return n;
}

std::uint64_t CatalogSync::NextDeadline() const {
  std::uint64_t d = next_ae_ms_;
  for (const auto& [origin, gap] : gaps_) d = std::min(d, gap.deadline_ms);
  for (const auto& [key, at] : expect_) d = std::min(d, at);
  return d;
}

std::uint64_t CatalogSync::RecordWaitMs() const {
  return kRecordWaitMs * static_cast<std::uint64_t>(RetransmitLimit(1, 1 + live_members_));
}

void CatalogSync::PullMissingRecords() {
  catalog::SnapshotPtr snap;
  for (auto it = expect_.begin(); it != expect_.end();) {
    if (it->second > now_ms_) {
      ++it;
      continue;
    }
    if (!snap) snap = snapshot_();
    auto m = members_.find(it->first);
    if (m != members_.end() && m->second.live() && Held(snap.get(), it->first) == 0) {
      ++stats_.missing_pulls;
      RequestPull(m->second.name, it->first, 1, false);
    }
    it = expect_.erase(it);
  }
}

// --- versions ----------------------------------------------------------------------------------

std::uint64_t CatalogSync::Known(const std::string& origin) {
  auto it = known_.find(origin);
  if (it != known_.end()) return it->second;
  std::uint64_t v = 0;
  if (catalog::SnapshotPtr snap = snapshot_()) {
    if (const catalog::NodeServices* ns = snap->node_services.Find(origin)) v = ns->version;
  }
  known_.emplace(origin, v);
  return v;
}

std::uint64_t CatalogSync::Held(const catalog::Snapshot* snap, const std::string& origin) {
  if (snap != nullptr) {
    if (const catalog::NodeServices* ns = snap->node_services.Find(origin)) return ns->version;
  }
  auto it = known_.find(origin);  // removed or left: the version it went at
  return it != known_.end() ? it->second : 0;
}

void CatalogSync::NoteOp(const catalog::Change& change) {
  if (std::holds_alternative<catalog::op::RemoveNode>(change.op)) {
    removed_[change.origin] = change.version;
  } else {
    removed_.erase(change.origin);
  }
}

void CatalogSync::Resync() {
  catalog::SnapshotPtr snap = snapshot_();
  if (!snap) return;
  snap->node_services.ForEach(
      [&](const catalog::NodeServices& ns) { known_[ns.key.str()] = ns.version; });
}

bool CatalogSync::IsLeft(const std::string& origin) const {
  auto it = members_.find(origin);
  return it != members_.end() && it->second.state == Liveness::kLeft;
}

// --- membership and timers ---------------------------------------------------------------------

void CatalogSync::TrackLive(const std::string& key, bool was_live, bool was_peer,
                            const MemberView& now) {
  live_members_ += now.live() ? (was_live ? 0 : 1) : 0;
  live_members_ -= (!now.live() && was_live) ? 1 : 0;
  const bool peer = now.beacon && now.live();
  if (peer && was_peer) {
    live_peers_[live_peer_at_.at(key)] = now.name;
  } else if (peer) {
    live_peer_at_[key] = live_peers_.size();
    live_peers_.push_back(now.name);
  } else if (was_peer) {
    auto it = live_peer_at_.find(key);
    const std::size_t at = it->second;
    live_peer_at_.erase(it);
    if (at + 1 != live_peers_.size()) {
      live_peers_[at] = std::move(live_peers_.back());
      live_peer_at_[core::Lower(live_peers_[at])] = at;
    }
    live_peers_.pop_back();
  }
}

int CatalogSync::TransmitLimit() const {
  return RetransmitLimit(cfg_.retransmit_mult, 1 + live_members_);  // with this agent
}

void CatalogSync::OnMember(std::uint64_t now_ms, const std::string& node, Liveness state,
                           bool beacon_peer) {
  now_ms_ = std::max(now_ms_, now_ms);
  const std::string key = core::Lower(node);
  auto it = members_.find(key);
  const bool known = it != members_.end();
  const bool was_live = known && it->second.live();
  const bool was_live_peer = was_live && it->second.beacon;
  const bool changed = !known || it->second.state != state;
  const bool back_from_left =
      known && it->second.state == Liveness::kLeft && state != Liveness::kLeft;
  MemberView& m = members_[key];
  m = MemberView{node, state, beacon_peer};
  if (key == self_key_) return;  // the agent keeps its own node's health
  TrackLive(key, was_live, was_live_peer, m);
  if (changed) submit_(catalog::LocalChange(catalog::op::SetLiveness{node, state}));
  if (state == Liveness::kLeft) {
    queue_.erase(key);
    pulls_.erase(key);
    gaps_.erase(key);
    return;
  }
  if (back_from_left && key != self_key_) {
    // Alive again after left (a refuted force-leave, a rejoin without a restart): the writer
    // took its record out but kept the version, so accept that record once more and pull it.
    std::uint64_t& k = known_[key];
    if (k > 0) --k;
    if (beacon_peer) RequestPull(node, key, k + 1, false);
  }
  if (!m.live() || !beacon_peer) expect_.erase(key);
  if (beacon_peer && m.live() && !was_live_peer) {
    expect_[key] = now_ms_ + RecordWaitMs();
    const double peers = static_cast<double>(live_peers_.size());
    const bool go =
        !exchanged_ || std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < 2.0 / peers;
    if (go) SendDigest(node);
  }
}

void CatalogSync::ResubmitLiveness(const std::string& origin) {
  auto it = members_.find(origin);
  if (it == members_.end() || it->second.state == Liveness::kLeft || origin == self_key_) return;
  submit_(catalog::LocalChange(catalog::op::SetLiveness{it->second.name, it->second.state}));
}

void CatalogSync::Tick(std::uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  std::erase_if(pulls_, [&](const auto& p) { return now_ms_ - p.second.at_ms >= kPullRetryMs; });
  PullGaps();
  PullMissingRecords();
  if (next_ae_ms_ == 0) {
    // The first round a stagger plus one interval from now (as memberlist's push-pull): joining
    // already exchanges digests with the first peers seen (OnMember), so nothing is due sooner.
    next_ae_ms_ =
        now_ms_ + 1 + rng_() % cfg_.anti_entropy_interval_ms + cfg_.anti_entropy_interval_ms;
    return;
  }
  if (now_ms_ < next_ae_ms_) return;
  next_ae_ms_ = now_ms_ + cfg_.anti_entropy_interval_ms;
  if (live_peers_.empty()) return;  // alone: nothing to compare (and no 20 MB map at 300,000 nodes)
  Resync();
  const std::string peer = live_peers_[rng_() % live_peers_.size()];
  const std::uint64_t every = std::max<std::uint64_t>(1, cfg_.full_digest_every);
  // Rounds every, 2*every, ...: the first periodic rounds send sums, since joining has just
  // exchanged full digests (OnMember) and a differing sum still brings the full one back.
  if (++ae_rounds_ % every == 0) {
    SendDigest(peer);
  } else {
    SendDigestSum(peer);
  }
}

// --- broadcasts --------------------------------------------------------------------------------

void CatalogSync::OnLocalChanges(std::uint64_t now_ms,
                                 const std::vector<catalog::AppliedChange>& changes) {
  now_ms_ = std::max(now_ms_, now_ms);
  for (const catalog::AppliedChange& a : changes) {
    std::uint64_t& k = known_[a.change.origin];
    k = std::max(k, a.change.version);
    NoteOp(a.change);
    QueueDelta(a.from_version, a.change);
  }
}

void CatalogSync::QueueItem(const std::string& origin, Item item, bool replace) {
  item.id = next_id_++;
  std::vector<Item>& q = queue_[origin];
  if (replace) q.clear();
  q.push_back(std::move(item));
}

void CatalogSync::QueueDelta(std::uint64_t from, const catalog::Change& change) {
  Bytes msg = catsync::Encode(catsync::Delta{cfg_.self, from, change});
  if (msg.size() > cfg_.max_delta_bytes) {
    QueueRecordOrAnnounce(change.origin, change.version, nullptr);
    return;
  }
  ++stats_.deltas_queued;
  QueueItem(change.origin, Item{std::move(msg), change.version, Kind::kDelta}, false);
  if (queue_[change.origin].size() > kMaxChain) Compact(change.origin);
}

void CatalogSync::QueueRecordOrAnnounce(const std::string& origin, std::uint64_t version,
                                        const catalog::NodeRecord* rec) {
  if (rec != nullptr && rec->version >= version) {
    Bytes msg = catsync::Encode(catsync::RecordMsg{cfg_.self, *rec});
    if (msg.size() <= cfg_.max_delta_bytes) {
      ++stats_.records_broadcast;
      QueueItem(origin, Item{std::move(msg), rec->version, Kind::kRecord}, true);
      return;
    }
  }
  ++stats_.announces;
  Bytes msg = catsync::Encode(catsync::Announce{cfg_.self, origin, version});
  QueueItem(origin, Item{std::move(msg), version, Kind::kAnnounce}, true);
}

void CatalogSync::AnnounceSelf(std::uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  catalog::SnapshotPtr snap = snapshot_();
  if (!snap) return;
  std::optional<catalog::NodeRecord> rec = catalog::RecordOf(*snap, self_key_);
  if (!rec || rec->version == 0) return;
  QueueRecordOrAnnounce(self_key_, rec->version, &*rec);
}

void CatalogSync::Compact(const std::string& origin) {
  catalog::SnapshotPtr snap = snapshot_();
  if (!snap) return;
  std::optional<catalog::NodeRecord> rec = catalog::RecordOf(*snap, origin);
  if (!rec) return;  // removed (or not yet published): the chain itself says so
  QueueRecordOrAnnounce(origin, queue_[origin].back().version, &*rec);
}

std::vector<Bytes> CatalogSync::GetBroadcasts(std::size_t overhead, std::size_t limit) {
  std::vector<Item*> order;
  for (auto& [origin, q] : queue_) {
    for (Item& i : q) order.push_back(&i);
  }
  std::sort(order.begin(), order.end(), [](const Item* a, const Item* b) {
    return a->transmits != b->transmits ? a->transmits < b->transmits : a->id < b->id;
  });
  std::vector<Item*> picked;
  std::size_t used = 0;
  for (Item* i : order) {
    const std::size_t need = overhead + i->msg.size();
    if (used + need > limit) continue;
    used += need;
    picked.push_back(i);
  }
  // In queue order, so a chain arrives in order within one packet.
  std::sort(picked.begin(), picked.end(),
            [](const Item* a, const Item* b) { return a->id < b->id; });
  std::vector<Bytes> out;
  out.reserve(picked.size());
  for (Item* i : picked) {
    out.push_back(i->msg);
    ++i->transmits;
    stats_.deltas_sent += i->kind == Kind::kDelta;
  }
  const int max_transmits = TransmitLimit();
  for (auto it = queue_.begin(); it != queue_.end();) {
    std::erase_if(it->second, [&](const Item& i) { return i.transmits >= max_transmits; });
    it = it->second.empty() ? queue_.erase(it) : std::next(it);
  }
  return out;
}

// --- receiving ---------------------------------------------------------------------------------

void CatalogSync::NotifyMsg(ByteView msg) {
  Result<catsync::Message> m = catsync::Decode(msg);
  if (!m.ok()) {
    ++stats_.decode_errors;
    return;
  }
  if (const auto* x = std::get_if<catsync::Delta>(&*m)) {
    OnDelta(*x);
  } else if (const auto* x = std::get_if<catsync::RecordMsg>(&*m)) {
    OnRecord(x->record, false, true);
  } else if (const auto* x = std::get_if<catsync::Announce>(&*m)) {
    OnAnnounce(*x);
  } else if (const auto* x = std::get_if<catsync::Digest>(&*m)) {
    OnDigest(*x);
  } else if (const auto* x = std::get_if<catsync::Pull>(&*m)) {
    OnPull(*x);
  } else if (const auto* x = std::get_if<catsync::Records>(&*m)) {
    const std::string sender = core::Lower(x->sender);
    for (const catalog::NodeRecord& r : x->records) {
      // A node's own record sent by that node (a joiner's digest exchange, a pull from the
      // origin) spreads on like a broadcast: otherwise the few members a joiner exchanges
      // digests with learn its record without telling anyone, and the rest wait for gossip
      // luck or the next anti-entropy round.
      OnRecord(r, true, core::Lower(r.node.name) == sender);
    }
    for (const auto& [origin, version] : x->removed) OnTombstone(origin, version);
  } else if (const auto* x = std::get_if<catsync::DigestSum>(&*m)) {
    OnDigestSum(*x);
  }
}

void CatalogSync::OnDelta(const catsync::Delta& d) {
  if (std::holds_alternative<catalog::op::SetLiveness>(d.change.op)) {
    ++stats_.decode_errors;  // liveness is each observer's own view: never taken from others
    return;
  }
  const std::string& origin = d.change.origin;
  if (origin == self_key_ || d.change.version == 0 || IsLeft(origin) ||
      d.change.version <= Known(origin)) {
    ++stats_.deltas_stale;
    return;
  }
  if (d.from_version == Known(origin)) {
    ApplyDelta(d);
    return;
  }
  ++stats_.deltas_gap;
  if (cfg_.gap_wait_ms == 0) {
    RequestPull(d.sender, origin, d.change.version, true);
    return;
  }
  Gap& g = gaps_[origin];
  if (g.by_from.empty()) g.deadline_ms = now_ms_ + cfg_.gap_wait_ms;
  if (g.by_from.size() < kMaxGap) g.by_from.emplace(d.from_version, d);
}

void CatalogSync::ApplyDelta(const catsync::Delta& first) {
  const std::string origin = first.change.origin;
  catsync::Delta d = first;
  for (;;) {
    const std::uint64_t before = Known(origin);
    submit_(d.change);
    known_[origin] = d.change.version;
    NoteOp(d.change);
    ++stats_.deltas_applied;
    QueueDelta(d.from_version, d.change);  // spread it on, with this agent as the sender
    if (before == 0) ResubmitLiveness(origin);
    auto g = gaps_.find(origin);
    if (g == gaps_.end()) break;
    std::erase_if(g->second.by_from, [&](const auto& e) { return e.first < d.change.version; });
    auto next = g->second.by_from.find(d.change.version);
    if (next == g->second.by_from.end()) {
      if (g->second.by_from.empty()) gaps_.erase(g);
      break;
    }
    d = std::move(next->second);
    g->second.by_from.erase(next);
  }
  auto p = pulls_.find(origin);
  if (p != pulls_.end() && p->second.version <= Known(origin)) pulls_.erase(p);
}

void CatalogSync::PullGaps() {
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (it->second.deadline_ms > now_ms_) {
      ++it;
      continue;
    }
    const catsync::Delta& newest = it->second.by_from.rbegin()->second;
    RequestPull(newest.sender, it->first, newest.change.version, true);
    // The gap stays until a record or the missing deltas fill it: a pull that brings nothing
    // (lost, or answered with an older record) is sent again after kPullRetryMs.
    it->second.deadline_ms = now_ms_ + kPullRetryMs;
    ++it;
  }
}

void CatalogSync::RequestPull(const std::string& sender, const std::string& origin,
                              std::uint64_t version, bool spread) {
  // Ask the sender, if it is a live Beacon member we can reach; else the origin; else any live
  // peer. A message can come from a node this agent's membership has not heard of yet (a new
  // node's first broadcasts can outrun its alive message), and a pull to an unknown name would
  // go nowhere.
  auto reachable = [&](const std::string& name) {
    auto m = members_.find(core::Lower(name));
    return m != members_.end() && m->second.live() && m->second.beacon;
  };
  std::string peer = sender;
  if (!reachable(peer)) {
    auto o = members_.find(origin);
    if (o != members_.end() && reachable(o->second.name)) {
      peer = o->second.name;
    } else if (!live_peers_.empty()) {
      peer = live_peers_[rng_() % live_peers_.size()];
    } else {
      return;  // nobody to ask yet: a held gap asks again later, anti-entropy repairs the rest
    }
  }
  if (peer.empty() || core::Lower(peer) == self_key_) return;
  auto it = pulls_.find(origin);
  if (it != pulls_.end() && it->second.version >= version &&
      now_ms_ - it->second.at_ms < kPullRetryMs) {
    it->second.spread |= spread;
    return;
  }
  pulls_[origin] = PendingPull{version, now_ms_, spread};
  ++stats_.pulls_sent;
  sends_.emplace_back(peer, catsync::Encode(catsync::Pull{cfg_.self, {origin}}), true);
}

void CatalogSync::OnRecord(const catalog::NodeRecord& rec, bool via_pull, bool from_origin) {
  const std::string origin = core::Lower(rec.node.name);
  if (origin == self_key_ || rec.version == 0 || IsLeft(origin)) {
    ++stats_.records_stale;
    return;
  }
  // A broadcast record spreads on, and so does one from its origin; a pulled one if a broadcast
  // asked for it.
  bool spread = !via_pull || from_origin;
  if (auto p = pulls_.find(origin); p != pulls_.end()) {
    if (via_pull) spread = spread || p->second.spread;
    if (p->second.version <= rec.version) pulls_.erase(p);
  }
  if (rec.version <= Known(origin)) {
    ++stats_.records_stale;
    return;
  }
  submit_(catalog::ToChange(rec));
  known_[origin] = rec.version;
  removed_.erase(origin);
  ++stats_.records_applied;
  ResubmitLiveness(origin);
  if (auto g = gaps_.find(origin); g != gaps_.end()) {  // held deltas may now be contiguous
    std::erase_if(g->second.by_from, [&](const auto& e) { return e.first < rec.version; });
    auto next = g->second.by_from.find(rec.version);
    if (next != g->second.by_from.end()) {
      catsync::Delta d = std::move(next->second);
      g->second.by_from.erase(next);
      if (spread) QueueRecordOrAnnounce(origin, rec.version, &rec);
      ApplyDelta(d);
      return;
    }
    if (g->second.by_from.empty()) gaps_.erase(g);
  }
  if (spread) QueueRecordOrAnnounce(origin, rec.version, &rec);
}

void CatalogSync::OnTombstone(const std::string& origin, std::uint64_t version) {
  pulls_.erase(origin);
  if (origin == self_key_ || version <= Known(origin)) {
    ++stats_.records_stale;
    return;
  }
  gaps_.erase(origin);
  catalog::Change c;
  c.origin = origin;
  c.version = version;
  c.op = catalog::op::RemoveNode{origin};
  submit_(std::move(c));
  known_[origin] = version;
  removed_[origin] = version;
  ++stats_.records_applied;
}

void CatalogSync::OnAnnounce(const catsync::Announce& a) {
  if (a.origin == self_key_ || IsLeft(a.origin)) return;
  if (a.version > Known(a.origin)) RequestPull(a.sender, a.origin, a.version, true);
}

}  // namespace beacon::gossip

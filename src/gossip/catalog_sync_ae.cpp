// CatalogSync, anti-entropy: digest sums (own rounds and in Serf's push-pull), full digests, and
// the pulls and record sends they lead to (see catalog_sync.h).
#include <algorithm>
#include <utility>

#include "beacon/core/strings.h"
#include "beacon/gossip/catalog_sync.h"

namespace beacon::gossip {

// --- anti-entropy ------------------------------------------------------------------------------

std::vector<std::pair<std::string, std::uint64_t>> CatalogSync::DigestVersions() {
  std::vector<std::pair<std::string, std::uint64_t>> v;
  catalog::SnapshotPtr snap = snapshot_();
  if (snap) {
    snap->node_services.ForEach([&](const catalog::NodeServices& ns) {
      if (ns.version != 0) v.emplace_back(ns.key.str(), ns.version);
    });
  }
  // Nodes not held: removed by their origin (tombstones) or left (so nobody resends them).
  for (const auto& [key, version] : known_) {
    if (version == 0 || (snap && snap->node_services.Find(key) != nullptr)) continue;
    if (removed_.count(key) != 0 || IsLeft(key)) v.emplace_back(key, version);
  }
  std::sort(v.begin(), v.end());
  return v;
}

void CatalogSync::SendDigest(const std::string& peer) {
  catsync::Digest d;
  d.sender = cfg_.self;
  d.versions = DigestVersions();
  exchanged_ = true;
  ++stats_.digests_sent;
  sends_.emplace_back(peer, catsync::Encode(d), true);
}

catsync::DigestSum CatalogSync::OwnSum() {
  const auto versions = DigestVersions();
  return catsync::DigestSum{cfg_.self, catsync::SumOf(versions), versions.size()};
}

bool CatalogSync::SameAsOwn(const catsync::DigestSum& d) {
  const catsync::DigestSum own = OwnSum();
  return own.count == d.count && own.hash == d.hash;
}

void CatalogSync::SendDigestSum(const std::string& peer) {
  ++stats_.digest_sums_sent;
  sends_.emplace_back(peer, catsync::Encode(OwnSum()), false);
}

void CatalogSync::OnDigestSum(const catsync::DigestSum& d) {
  ++stats_.digest_sums_received;
  if (SameAsOwn(d)) {
    ++stats_.digest_sums_matched;
    return;
  }
  SendDigest(d.sender);  // the sender answers with what we lack and pulls what it lacks
}

Bytes CatalogSync::PushPullState() {
  return catsync::Encode(OwnSum());
}

void CatalogSync::MergePushPullState(ByteView state, bool join) {
  Result<catsync::Message> m = catsync::Decode(state);
  const auto* d = m.ok() ? std::get_if<catsync::DigestSum>(&*m) : nullptr;
  if (d == nullptr) {
    ++stats_.decode_errors;
    return;
  }
  const std::string sender_key = core::Lower(d->sender);
  // A join exchanges full digests already (OnMember).
  if (join || sender_key == self_key_) return;
  ++stats_.pushpull_sums_received;
  if (next_ae_ms_ != 0) {
    const std::uint64_t interval = cfg_.anti_entropy_interval_ms;
    next_ae_ms_ = std::max(next_ae_ms_, now_ms_ + interval + interval / 2);
  }
  if (SameAsOwn(*d)) {
    ++stats_.pushpull_sums_matched;
    return;
  }
  // Both sides compare; one full digest repairs both, so only the lower name sends it.
  if (self_key_ < sender_key) SendDigest(d->sender);
}

void CatalogSync::OnDigest(const catsync::Digest& d) {
  ++stats_.digests_received;
  catalog::SnapshotPtr snap = snapshot_();
  const std::string sender_key = core::Lower(d.sender);
  std::unordered_map<std::string, std::uint64_t> theirs(d.versions.begin(), d.versions.end());
  std::vector<catalog::NodeRecord> give;
  if (snap) {
    snap->node_services.ForEach([&](const catalog::NodeServices& ns) {
      if (ns.version == 0 || ns.key == sender_key) return;  // the sender owns its own record
      auto it = theirs.find(ns.key.str());
      if (it != theirs.end() && it->second >= ns.version) return;
      if (auto rec = catalog::RecordOf(*snap, ns.key.view())) give.push_back(std::move(*rec));
    });
  }
  catsync::Pull pull;
  pull.sender = cfg_.self;
  for (const auto& [origin, version] : d.versions) {
    if (origin == self_key_ || IsLeft(origin) || version <= Held(snap.get(), origin)) continue;
    pull.origins.push_back(origin);
    PendingPull& p = pulls_[origin];
    p = PendingPull{version, now_ms_, p.spread};
  }
  std::vector<std::pair<std::string, std::uint64_t>> removed;
  for (const auto& [origin, version] : removed_) {
    auto it = theirs.find(origin);
    if (it != theirs.end() && it->second < version) removed.emplace_back(origin, version);
  }
  SendRecords(d.sender, give, std::move(removed));
  if (!pull.origins.empty()) {
    ++stats_.pulls_sent;
    sends_.emplace_back(d.sender, catsync::Encode(pull), true);
  }
}

void CatalogSync::OnPull(const catsync::Pull& p) {
  ++stats_.pulls_served;
  catalog::SnapshotPtr snap = snapshot_();
  if (!snap) return;
  std::vector<catalog::NodeRecord> out;
  std::vector<std::pair<std::string, std::uint64_t>> removed;
  for (const std::string& origin : p.origins) {
    auto rec = catalog::RecordOf(*snap, origin);
    if (rec && rec->version != 0) {
      out.push_back(std::move(*rec));
    } else if (auto it = removed_.find(origin); it != removed_.end()) {
      removed.emplace_back(origin, it->second);
    }
  }
  SendRecords(p.sender, out, std::move(removed));
}

void CatalogSync::SendRecords(const std::string& peer,
                              const std::vector<catalog::NodeRecord>& records,
                              std::vector<std::pair<std::string, std::uint64_t>> removed) {
  catsync::Records batch;
  batch.sender = cfg_.self;
  batch.removed = std::move(removed);
  std::size_t size = 0;
  auto flush = [&] {
    if (batch.records.empty() && batch.removed.empty()) return;
    stats_.records_sent += batch.records.size();
    sends_.emplace_back(peer, catsync::Encode(batch), true);
    batch.records.clear();
    batch.removed.clear();
    size = 0;
  };
  for (const catalog::NodeRecord& r : records) {
    const std::size_t n = catsync::Encode(catsync::RecordMsg{{}, r}).size();
    if (size + n > kMaxReliableBytes) flush();
    batch.records.push_back(r);
    size += n;
  }
  flush();
}

}  // namespace beacon::gossip

// CatalogSync: spreads this agent's catalog records over gossip and repairs what gossip loses
// (spec cluster-design 3.2-3.3): each agent is the single writer of its own node record (and of
// the nodes registered through it); changes travel as versioned deltas piggybacked on Serf's
// gossip; digest anti-entropy over reliable sends repairs the rest.
//
// Contract:
// - Sans-I/O and single-threaded: one thread (the gossip thread) calls everything, including the
//   SerfExtension callbacks. No clocks: time enters as now_ms (NotifyMsg and GetBroadcasts use
//   the latest now_ms seen). Randomness comes from the seed, so the same inputs give the same
//   outputs.
// - Reads the catalog only through `snapshot` (the latest published snapshot; may return null
//   before the first publish) and changes it only through `submit` (a thread-safe queue to the
//   agent's catalog::Writer): remote deltas as they came, full records as ToChange(record),
//   membership as op::SetLiveness. Outputs: GetBroadcasts (piggybacked by Serf) and TakeSends
//   (the owner passes each to Serf::SendToMember(now, node, bytes, reliable)).
// - Versions: CatalogSync keeps its own map origin -> version (seeded from the snapshot's
//   NodeServices versions, advanced as it submits, re-synced from the snapshot every
//   anti-entropy round). A delta is submitted only when that version is exactly its
//   from_version; a newer, non-contiguous one is held for gap_wait_ms (applied as soon as the
//   chain before it arrives, since gossip can reorder), then makes it pull the full record from
//   its sender (reliable). Deltas about this agent's own node are never taken from others.
// - Broadcast queue, per origin: deltas are a chain, so a newer one does not replace an older
//   one. When an origin has more than kMaxChain queued, they become one full record broadcast
//   (when it encodes within max_delta_bytes) or an announcement {origin, version} that makes
//   receivers pull; a delta bigger than max_delta_bytes is announced the same way. Each message
//   is sent retransmit_mult * ceil(log10(n + 1)) times (n: live members, memberlist's rule).
//   Receivers re-broadcast what they applied (deltas; records and announcements they pulled
//   because of a broadcast), so changes spread epidemically.
// - Anti-entropy: every anti_entropy_interval_ms (the first periodic round a random stagger plus
//   one interval after the first Tick, as memberlist's push-pull), and when a new beacon peer
//   becomes alive (always the first time this agent sees one, so a joining agent pulls everything;
//   otherwise with probability min(1, 2 / live peers), so a joiner gets about two exchanges, not
//   one per member), a digest {origin -> version} of every record held is sent to one live beacon
//   peer (reliable). The receiver replies with the full records where it is newer and a pull for
//   those where the sender is newer. Periodic rounds send only a DigestSum (hash and count of that
//   digest, one UDP packet) except every full_digest_every-th round (not the first: a join has just
//   exchanged full digests): a peer whose own sum differs answers with its full digest, so an
//   in-sync cluster opens no TCP stream for anti-entropy three rounds out of four, and a lost sum
//   only delays repair to the next round (a full digest at least every full_digest_every rounds,
//   even with every UDP packet lost). Push-pull carries the sum too (PushPullState, in Serf's
//   push-pull message, both directions): a peer's differing sum there makes the side with the
//   lower name send its full digest (one exchange repairs both), and any sum compared there
//   (not a join's) puts the next periodic round off to 1.5 intervals later, so in a Beacon-only
//   cluster whose push-pull interval is the anti-entropy interval (up to 32 nodes) no separate
//   round goes out at all; push-pulls with stock Serf nodes carry no sum and put nothing off.
//   Any agent serves any record it holds. A node its origin
//   removed is carried as a tombstone {origin, version} (digests, Records), so removals are
//   repaired like changes; a left node's last version is in digests too, so nobody resends it.
// - Liveness: OnMember turns each membership change of another node into op::SetLiveness
//   through submit (this observer's view; the agent's own node is left to the agent), and
//   re-submits it after a record arrives for a node, so serfHealth exists once the node does.
//   Left also drops that origin's queued broadcasts. A SetLiveness op arriving in a delta is
//   refused (counted as a decode error): liveness is never taken from others.
// - Known limit: a node that leaves and comes back with the same record version stays out of
//   other catalogs until its next change (the Writer keeps a left node's version and only a
//   newer record brings it back); its agent should take a new version when it rejoins.
// Wire messages: catalog_sync_wire.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/record.h"
#include "beacon/catalog/snapshot.h"
#include "beacon/gossip/catalog_sync_wire.h"
#include "beacon/gossip/serf_extension.h"

namespace beacon::gossip {

struct CatalogSyncConfig {
  std::string self;  // this agent's node name
  std::uint64_t anti_entropy_interval_ms = 30000;
  int retransmit_mult = 4;
  std::size_t max_delta_bytes = 1024;  // largest broadcast; bigger changes are announced
  // A non-contiguous delta waits this long for the deltas before it (they may be on their way
  // from another peer) before the record is pulled from its sender; 0 pulls at once.
  std::uint64_t gap_wait_ms = 500;
  // Every n-th periodic round sends the full digest; the others a DigestSum. 1: always full.
  std::uint64_t full_digest_every = 4;
};

struct CatalogSyncStats {
  std::uint64_t deltas_queued = 0;      // local or re-broadcast deltas put in the queue
  std::uint64_t deltas_sent = 0;        // delta transmissions handed to GetBroadcasts
  std::uint64_t deltas_applied = 0;     // remote deltas submitted (contiguous)
  std::uint64_t deltas_stale = 0;       // at or below the known version (duplicates, echoes)
  std::uint64_t deltas_gap = 0;         // newer but not contiguous: pulled instead
  std::uint64_t records_broadcast = 0;  // chains compacted into a full record broadcast
  std::uint64_t announces = 0;          // announcements queued
  std::uint64_t records_sent = 0;       // records served (digest replies and pulls)
  std::uint64_t records_applied = 0;    // records submitted
  std::uint64_t records_stale = 0;
  std::uint64_t pulls_sent = 0;
  std::uint64_t pulls_served = 0;
  std::uint64_t digests_sent = 0;
  std::uint64_t digests_received = 0;
  std::uint64_t digest_sums_sent = 0;
  std::uint64_t digest_sums_received = 0;
  std::uint64_t digest_sums_matched = 0;     // received ones equal to our own digest
  std::uint64_t pushpull_sums_received = 0;  // sums carried in a peer's push-pull state
  std::uint64_t pushpull_sums_matched = 0;   // ... equal to our own digest
  std::uint64_t decode_errors = 0;
  std::uint64_t missing_pulls = 0;  // live members' records still absent after the wait
};

class CatalogSync : public SerfExtension {
 public:
  static constexpr std::size_t kMaxChain = 3;  // queued deltas per origin before compaction
  static constexpr std::size_t kMaxReliableBytes =
      std::size_t{256} * 1024;                         // Records messages are split
  static constexpr std::uint64_t kPullRetryMs = 5000;  // one pull per origin in flight
  // A member alive this long (times ceil(log10(members + 1)), gossip's dissemination scale)
  // whose record this agent still lacks: pull it from that member.
  static constexpr std::uint64_t kRecordWaitMs = 2000;

  using Send = std::tuple<std::string, Bytes, bool>;  // (node, message, reliable)

  CatalogSync(CatalogSyncConfig cfg, std::function<catalog::SnapshotPtr()> snapshot,
              std::function<void(catalog::Change)> submit, std::uint64_t seed);

  // Deltas this agent originated (catalog::Writer::TakeApplied), to spread.
  void OnLocalChanges(std::uint64_t now_ms, const std::vector<catalog::AppliedChange>& changes);
  // Membership view of `node`. beacon_peer: it speaks these messages (plain Serf nodes don't).
  void OnMember(std::uint64_t now_ms, const std::string& node, catalog::Liveness state,
                bool beacon_peer);
  // Anti-entropy rounds and held deltas whose wait ran out. Call at NextDeadline() (0 before the
  // first Tick: call Tick soon); re-read NextDeadline after every input (NotifyMsg may hold a
  // delta with an earlier deadline).
  void Tick(std::uint64_t now_ms);
  // This agent just joined (or rejoined) the cluster: gossip its own record (or an announcement
  // of its version) so every member learns it within a dissemination time, not only the few a
  // digest exchange reaches.
  void AnnounceSelf(std::uint64_t now_ms);
  std::uint64_t NextDeadline() const;
  // Messages to send to one member each; the owner passes them to Serf::SendToMember.
  std::vector<Send> TakeSends() { return std::exchange(sends_, {}); }

  // SerfExtension.
  void NotifyMsg(ByteView msg) override;
  std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) override;
  std::uint64_t BroadcastsQueued() const override { return next_id_; }
  Bytes PushPullState() override;  // a DigestSum message
  void MergePushPullState(ByteView state, bool join) override;

  const CatalogSyncStats& stats() const { return stats_; }
  // Broadcasts waiting (all origins), for tests and metrics.
  std::size_t queued() const;

 private:
  enum class Kind : std::uint8_t { kDelta, kRecord, kAnnounce };
  struct Item {
    Bytes msg;
    std::uint64_t version = 0;
    Kind kind = Kind::kDelta;
    int transmits = 0;
    std::uint64_t id = 0;  // queue order
  };
  struct MemberView {
    std::string name;  // as Serf names it
    catalog::Liveness state = catalog::Liveness::kAlive;
    bool beacon = false;
    bool live() const {
      return state == catalog::Liveness::kAlive || state == catalog::Liveness::kSuspect;
    }
  };
  struct PendingPull {
    std::uint64_t version = 0;
    std::uint64_t at_ms = 0;
    bool spread = false;  // re-broadcast the record once it arrives (a broadcast asked for it)
  };

  struct Gap {  // deltas of one origin waiting for their predecessors
    std::map<std::uint64_t, catsync::Delta> by_from;
    std::uint64_t deadline_ms = 0;  // then pull
  };
  static constexpr std::size_t kMaxGap = 16;  // held deltas per origin

  void OnDelta(const catsync::Delta& d);
  // Submits a contiguous delta (and then any held ones it unblocks).
  void ApplyDelta(const catsync::Delta& d);
  void PullGaps();            // gaps past their deadline
  void PullMissingRecords();  // live members whose record never came (expect_)
  std::uint64_t RecordWaitMs() const;
  // from_origin: the record's own node sent it (it spreads on even when pulled).
  void OnRecord(const catalog::NodeRecord& rec, bool via_pull, bool from_origin);
  void OnAnnounce(const catsync::Announce& a);
  void OnDigest(const catsync::Digest& d);
  void OnDigestSum(const catsync::DigestSum& d);
  void OnPull(const catsync::Pull& p);

  // Known version of an origin (seeding from the snapshot on first sight).
  std::uint64_t Known(const std::string& origin);
  // The version the catalog actually holds for origin (snapshot; for removed nodes, Known).
  std::uint64_t Held(const catalog::Snapshot* snap, const std::string& origin);
  void Resync();  // known_ from the snapshot (every anti-entropy round)
  void QueueDelta(std::uint64_t from, const catalog::Change& change);
  void QueueItem(const std::string& origin, Item item, bool replace);
  void QueueRecordOrAnnounce(const std::string& origin, std::uint64_t version,
                             const catalog::NodeRecord* rec);
  void Compact(const std::string& origin);
  void RequestPull(const std::string& peer, const std::string& origin, std::uint64_t version,
                   bool spread);
  // Every record and tombstone held, sorted: what a digest carries.
  std::vector<std::pair<std::string, std::uint64_t>> DigestVersions();
  void SendDigest(const std::string& peer);
  void SendDigestSum(const std::string& peer);
  // This agent's digest sum, and whether a peer's sum equals it (DigestSum rounds, push-pull).
  catsync::DigestSum OwnSum();
  bool SameAsOwn(const catsync::DigestSum& d);
  void SendRecords(const std::string& peer, const std::vector<catalog::NodeRecord>& records,
                   std::vector<std::pair<std::string, std::uint64_t>> removed);
  void OnTombstone(const std::string& origin, std::uint64_t version);
  void NoteOp(const catalog::Change& change);  // keeps removed_ up to date
  void ResubmitLiveness(const std::string& origin);
  // Keeps live_peers_ / live_members_ in step with one member's change (not for ourselves).
  void TrackLive(const std::string& key, bool was_live, bool was_peer, const MemberView& now);
  bool IsLeft(const std::string& origin) const;
  int TransmitLimit() const;

  CatalogSyncConfig cfg_;
  std::string self_key_;  // lower-case cfg_.self
  std::function<catalog::SnapshotPtr()> snapshot_;
  std::function<void(catalog::Change)> submit_;
  std::mt19937_64 rng_;
  std::uint64_t now_ms_ = 0;
  std::uint64_t next_ae_ms_ = 0;
  std::uint64_t ae_rounds_ = 0;  // periodic anti-entropy rounds so far
  bool exchanged_ = false;       // a digest went out at least once
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::string, std::uint64_t> known_;  // origin key -> version
  std::map<std::string, MemberView> members_;             // by node key
  // Live beacon peers (names as Serf gives them) as an array to pick from at random without a
  // scan, with each one's place by key for swap-removal; live_members_ counts live members
  // other than us (the transmit limit).
  std::vector<std::string> live_peers_;
  std::unordered_map<std::string, std::size_t> live_peer_at_;
  std::size_t live_members_ = 0;
  std::map<std::string, std::vector<Item>> queue_;      // origin key -> its chain, oldest first
  std::unordered_map<std::string, PendingPull> pulls_;  // origin key -> pull in flight
  std::map<std::string, Gap> gaps_;                     // origin key -> held deltas
  // Members that became live peers -> when their record must be here (else pull it).
  std::unordered_map<std::string, std::uint64_t> expect_;
  // Nodes their origin removed (RemoveNode), at that version: tombstones that digests carry,
  // so anti-entropy spreads removals too.
  std::unordered_map<std::string, std::uint64_t> removed_;
  std::vector<Send> sends_;
  CatalogSyncStats stats_;
};

}  // namespace beacon::gossip

// The memberlist membership state machine (SWIM + Lifeguard), sans-I/O, speaking memberlist's
// wire format through memberlist_wire.h / envelope.h.
//
// Contract: no clocks, sockets, threads or global state. Time enters only as the `now_ms`
// argument of every input (any monotonic millisecond clock, never going backwards); randomness
// comes from the seed given to the constructor, so the same seed and the same inputs give the
// same outputs. Inputs: Tick, OnPacket (one UDP datagram), OnStream (a whole TCP request this node
// serves; returns the reply), OnStreamReply (the reply, or a failure, to one of our own stream
// requests), Join, Leave. Outputs are drained by the caller: TakePackets (UDP datagrams to send),
// TakeStreams (TCP requests to make; answer each with OnStreamReply by its token), TakeEvents
// (member changes). NextDeadline tells the caller when to call Tick again. Not thread-safe: one
// owner calls everything from one thread. Behaviour follows hashicorp/memberlist 0.2 (see
// /work/shared/spec/cluster-design.md part 2).
//
// Driving it (the I/O adapter's loop): after every input, send TakePackets() as UDP datagrams;
// for each TakeStreams() request open TCP to `to`, write `bytes`, read one reply frame (sized
// with stream_frame_size) and call OnStreamReply(token, reply), or OnStreamReply(token, nullopt)
// (or OnStreamError with the reason) on refusal, error or after cfg.tcp_timeout_ms; a kUser
// stream expects no reply: write it and close; serve accepted TCP connections by reading one
// frame and writing OnStream()'s reply (close without writing when it is empty); arm a timer
// for NextDeadline() and call Tick(now) when it fires; hand TakeEvents() to the catalog.
// Serf rides on top through MembershipDelegate (user messages, push-pull state, ack payload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "beacon/gossip/envelope.h"
#include "beacon/gossip/member_table.h"
#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

// memberlist's DefaultLANConfig, times in milliseconds.
struct MembershipConfig {
  std::uint64_t probe_interval_ms = 1000;
  std::uint64_t probe_timeout_ms = 500;
  int indirect_checks = 3;
  int suspicion_mult = 4;
  int suspicion_max_timeout_mult = 6;
  int retransmit_mult = 4;
  std::uint64_t gossip_interval_ms = 200;
  int gossip_nodes = 3;
  // Beacon, not memberlist: when a broadcast is queued (ours or a delegate's: a state change, a
  // user event, a catalog delta, each also when received and relayed), the next gossip round
  // comes at once instead of at the next tick, and rounds follow each other this far apart for
  // as long as they find broadcasts to send; then the regular interval resumes. Never two rounds
  // closer than this. Each hop costs a network trip instead of half a gossip interval on
  // average, and a broadcast's retransmits finish in a few gaps. Idle traffic is unchanged (no
  // broadcasts, no early rounds) and every broadcast is sent as many times as before; only
  // while broadcasts keep coming do they share fewer packets (at most interval/gap times the
  // packets of the regular rounds). 0: memberlist's behaviour.
  std::uint64_t eager_gossip_gap_ms = 50;
  // Beacon, not memberlist: ring probes. memberlist has each node probe its members in its own
  // shuffled order, so a given member is probed by the cluster at random moments, about once a
  // second: after a crash the first probe comes 0.5 s later on average but over 4 s later for
  // 1% of crashes, and every probe interval that wait lasts delays the crash's suspicion and so
  // its leaving DNS answers. With ring probes, in probe round k (round_clock_ms / interval) the
  // node at position p of the name-sorted member list probes position p + 1 + hash(k) mod
  // (M - 1): a permutation, so when the members agree on the list every member is probed
  // exactly once per round (by a node that changes at random from round to round) and the first
  // probe after a crash comes within two intervals (0.6 s on average). A dead or left entry
  // passes to the next live one. false: memberlist's shuffled order.
  bool ring_probes = true;
  // The clock that numbers ring-probe rounds; it must agree across nodes (wall time, NTP).
  // Empty: the inputs' now_ms (a simulator's virtual clock is shared by all its nodes).
  std::function<std::uint64_t()> round_clock_ms;
  std::uint64_t gossip_to_the_dead_ms = 30000;
  std::uint64_t push_pull_interval_ms = 30000;  // 0 disables periodic push-pull
  int awareness_max_multiplier = 8;
  std::size_t udp_buffer_size = 1400;
  std::uint64_t dead_node_reclaim_ms = 0;  // 0: a dead name is never reclaimed by a new address
  std::uint64_t tcp_timeout_ms = 10000;    // for the caller: fail a stream request after this
  bool tcp_pings = true;                   // TCP fallback ping while indirect probes run
  bool compress = true;                    // LZW-wrap outgoing packets and streams
  std::optional<Keyring> keyring;          // encrypt everything with its primary key when set
  // memberlist's GossipVerifyIncoming / GossipVerifyOutgoing, for rolling encryption onto a
  // running cluster (they matter only with a keyring): incoming false also accepts plaintext
  // packets and streams; outgoing false sends plaintext.
  bool verify_incoming = true;
  bool verify_outgoing = true;
  std::string label;  // cluster label (memberlist >= 0.3), empty for none
  Versions vsn;       // protocol versions advertised in alive messages
  // A finer monotonic clock (microseconds) for the RTT of probes, handed to
  // MembershipDelegate::NotifyPingComplete (Serf's network coordinates). Empty: RTTs are
  // measured with the inputs' now_ms (a simulator's virtual clock).
  std::function<std::uint64_t()> clock_us;
  // Shares equal member metas among every Membership given the same pool (a simulator's
  // thousands of agents); null: each member entry holds its own copy. See member_table.h.
  std::shared_ptr<MetaPool> meta_pool;
};

// A UDP/TCP peer address: 4 or 16 address bytes and a port.
struct Endpoint {
  Bytes ip;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  // Shorter addresses first, then bytewise (written out: gcc 12 at -O3 warns falsely,
  // -Wstringop-overread, on std::vector's <=>).
  bool operator<(const Endpoint& o) const {
    if (ip.size() != o.ip.size()) return ip.size() < o.ip.size();
    for (size_t i = 0; i < ip.size(); ++i) {
      if (ip[i] != o.ip[i]) return ip[i] < o.ip[i];
    }
    return port < o.port;
  }
};
std::string to_string(const Endpoint& e);  // "10.0.0.1:7946", "[::1]:7946"

struct Member {
  std::string name;
  Bytes addr;
  std::uint16_t port = 0;
  Bytes meta;  // Serf: encoded tags
  std::uint32_t incarnation = 0;
  NodeState state = NodeState::kAlive;
  Versions vsn;
  std::uint64_t state_change_ms = 0;  // when `state` last changed
  Endpoint endpoint() const { return {addr, port}; }
};

struct MemberEvent {
  enum class Kind {
    kJoin,      // new, or back from dead/left
    kUpdate,    // alive member's meta or address changed
    kSuspect,   // suspected of failure
    kAlive,     // a suspect refuted its suspicion
    kDead,      // declared failed
    kLeft,      // left gracefully
    kReaped,    // dead/left entry dropped from the table
    kConflict,  // another address claimed an alive member's name; refused (member = claimant)
  };
  Kind kind;
  Member member;
  bool operator==(const MemberEvent& o) const {
    return kind == o.kind && member.name == o.member.name &&
           member.incarnation == o.member.incarnation && member.state == o.member.state;
  }
};

struct OutPacket {
  Endpoint to;
  Bytes bytes;  // one whole datagram
};

struct OutStream {
  // kUser: a one-way user message (memberlist's SendReliable): write it, close, expect no reply.
  enum class Kind { kPushPull, kPing, kUser };
  std::uint64_t token = 0;  // pass back to OnStreamReply
  Kind kind = Kind::kPushPull;
  Endpoint to;
  Bytes bytes;  // the whole request; read the reply with StreamFrameSize (envelope.h)
};

// The outcome of one Join(): how many seeds answered the push-pull, and memberlist's multierror
// text ("1 error occurred:\n\t* Failed to join 10.0.0.1: ...\n\n") when none did (empty when
// joined > 0, and for a Join with no seeds).
struct JoinResult {
  std::uint64_t token = 0;
  std::size_t joined = 0;
  std::string error;
};

// memberlist's TransmitLimitedQueue: broadcasts sent fewest-transmits first, then largest first;
// a new broadcast about a node replaces the queued one about the same node. Ordered and indexed
// (as memberlist's btree + map): Queue and each message Get takes cost O(log n), not O(n).
class BroadcastQueue {
 public:
  // Returns an id that Pending() answers about.
  std::uint64_t Queue(const std::string& node, Bytes msg);
  // True while the broadcast `id` is queued (not yet sent its transmit limit, nor replaced).
  bool Pending(std::uint64_t id) const;
  // The bytes all queued messages take, each with `overhead`.
  std::size_t PendingBytes(std::size_t overhead) const;
  // Takes messages whose encoded size plus `overhead` each fits in `limit` bytes in total,
  // counting a transmit for each; drops those sent `transmit_limit` times.
  std::vector<Bytes> Get(std::size_t overhead, std::size_t limit, int transmit_limit);
  std::size_t size() const { return items_.size(); }
  std::uint64_t queued() const { return next_id_; }  // messages ever queued
  void Clear() {
    items_.clear();
    by_node_.clear();
    bytes_ = 0;
  }

 private:
  struct Key {
    int transmits = 0;
    std::size_t size = 0;
    std::uint64_t id = 0;  // insertion order, newest highest
  };
  struct Order {  // fewest transmits, then largest, then newest first
    bool operator()(const Key& a, const Key& b) const {
      if (a.transmits != b.transmits) return a.transmits < b.transmits;
      if (a.size != b.size) return a.size > b.size;
      return a.id > b.id;
    }
  };
  struct Item {
    std::string node;  // empty: never invalidated
    Bytes msg;
  };
  std::map<Key, Item, Order> items_;
  std::unordered_map<std::string, Key> by_node_;
  std::uint64_t next_id_ = 0;
  std::size_t bytes_ = 0;  // of all queued messages
};

// Lifeguard's suspicion timer: `k` independent confirmations shrink the timeout from max toward
// min as max - (max-min) * log(n+1)/log(k+1).
struct Suspicion {
  std::uint64_t start_ms = 0, min_ms = 0, max_ms = 0;
  int k = 0, n = 0;
  std::set<std::string> confirmers;  // includes the first accuser, who does not count
  std::uint64_t Deadline() const;
  bool Confirm(const std::string& from);  // true when it counted (new, and n < k)
};
std::uint64_t SuspicionTimeoutMs(int mult, std::size_t n, std::uint64_t interval_ms);
int RetransmitLimit(int mult, std::size_t n);

// What Serf plugs into memberlist (memberlist's Delegate and PingDelegate). Called
// synchronously from Membership's inputs, on the caller's thread; never re-enter Membership from
// these calls. Every method has a do-nothing default.
class MembershipDelegate {
 public:
  virtual ~MembershipDelegate() = default;
  // A user message (type 8) arrived in a packet.
  virtual void NotifyMsg(ByteView payload) { (void)payload; }
  // User broadcasts to piggyback; each costs `overhead` bytes beyond its size, all within `limit`.
  virtual std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) {
    (void)overhead;
    (void)limit;
    return {};
  }
  // How many broadcasts the delegate has queued since it started (only ever grows): a change
  // brings the next gossip round forward (MembershipConfig::eager_gossip_gap_ms).
  virtual std::uint64_t BroadcastsQueued() { return 0; }
  // The user state sent with a push-pull, and the peer's state received with one.
  virtual Bytes LocalState(bool join) {
    (void)join;
    return {};
  }
  virtual void MergeRemoteState(ByteView state, bool join) {
    (void)state;
    (void)join;
  }
  // Every MemberEvent, as it happens (also queued for TakeEvents). Serf's event delegate.
  virtual void NotifyEvent(const MemberEvent& e) { (void)e; }
  // Serf: a version byte and this node's Vivaldi coordinate, carried by our acks.
  virtual Bytes AckPayload() { return {}; }
  // One of our probes was acked after `rtt_us` microseconds, with the acker's payload.
  virtual void NotifyPingComplete(const Member& node, std::uint64_t rtt_us, ByteView payload) {
    (void)node;
    (void)rtt_us;
    (void)payload;
  }
};

class Membership {
 public:
  // `addr` is 4 or 16 bytes; `meta` at most kMetaMaxSize bytes.
  Membership(MembershipConfig cfg, std::string name, const Bytes& addr, std::uint16_t port,
             const Bytes& meta, std::uint64_t seed, std::uint64_t now_ms = 0);

  void Tick(std::uint64_t now_ms);
  void OnPacket(std::uint64_t now_ms, const Endpoint& from, ByteView bytes);
  // Serves a whole TCP request (push-pull or ping); returns the reply (empty: close silently).
  Bytes OnStream(std::uint64_t now_ms, const Endpoint& from, ByteView request);
  // The reply to our stream request `token`, or nullopt when it failed or timed out.
  void OnStreamReply(std::uint64_t now_ms, std::uint64_t token, std::optional<Bytes> reply);
  // Our stream request `token` failed; `error` (e.g. "dial tcp 10.0.0.2:8301: connect:
  // connection refused") goes into a Join's error text.
  void OnStreamError(std::uint64_t now_ms, std::uint64_t token, const std::string& error);
  // Starts a push-pull (join flag set) with each seed; the outcome comes out of TakeJoinResults()
  // under the returned token once every seed answered or failed.
  std::uint64_t Join(std::uint64_t now_ms, const std::vector<Endpoint>& seeds);
  std::vector<JoinResult> TakeJoinResults();
  // A user message to one address: over UDP alone (memberlist's SendBestEffort, no piggybacked
  // broadcasts), or as a one-way kUser stream (SendReliable).
  void SendBestEffort(std::uint64_t now_ms, const Endpoint& to, Bytes payload);
  void SendReliable(std::uint64_t now_ms, const Endpoint& to, Bytes payload);
  // Broadcasts that this node left (a dead message about itself); stops probing.
  void Leave(std::uint64_t now_ms);
  // Changes this node's meta (Serf tags) and broadcasts it with a new incarnation.
  void UpdateMeta(std::uint64_t now_ms, const Bytes& meta);
  // Not owned; must outlive this object or be reset to nullptr. nullptr: no delegate.
  void SetDelegate(MembershipDelegate* d) { delegate_ = d; }

  std::vector<OutPacket> TakePackets();
  std::vector<OutStream> TakeStreams();
  std::vector<MemberEvent> TakeEvents();
  std::uint64_t NextDeadline() const;

  std::vector<Member> Members() const;  // by name, this node included
  std::optional<Member> Find(const std::string& name) const;
  // Adds members a settled cluster's node would already know, as alive, without broadcasting
  // them (a warm start for simulators of large clusters; memberlist has no such input). Each
  // new one emits a kJoin event; ourselves and already known names are skipped.
  void Preload(std::uint64_t now_ms, const std::vector<Alive>& members);
  const std::string& name() const { return name_; }
  int health_score() const { return awareness_; }
  // How many Join() push-pulls were answered and merged (memberlist's Join result).
  std::size_t joined() const { return joined_; }
  std::size_t queued_broadcasts() const { return queue_.size(); }
  // memberlist's NumMembers: the members not dead or left, this node included.
  std::size_t NumAlive() const;
  // The live keyring (nullptr without encryption). Changes apply to the next packet sent or
  // received, as memberlist's Keyring does; never empties it (Keyring refuses that).
  Keyring* keyring() { return cfg_.keyring ? &*cfg_.keyring : nullptr; }
  const Keyring* keyring() const { return cfg_.keyring ? &*cfg_.keyring : nullptr; }
  // Failure-detector counters (memberlist's probeNode, degraded probes and msg.suspect).
  struct ProbeStats {
    std::uint64_t probes = 0;          // probes finished
    std::uint64_t probe_failures = 0;  // ... neither acked nor reached over TCP
    std::uint64_t suspicions = 0;      // members this node began to suspect (ours or rumoured)
  };
  const ProbeStats& probe_stats() const { return probe_stats_; }
  // True once a Leave()'s broadcast went out at least once (or nobody was there to hear it).
  bool leave_sent() const { return leaving_ && queue_.size() == 0; }

 private:
  struct Probe {
    std::uint32_t seq = 0;
    std::string target;
    std::uint64_t sent_ms = 0, timeout_ms = 0, end_ms = 0;
    std::uint64_t sent_us = 0;  // cfg_.clock_us at the ping, or sent_ms * 1000
    bool indirect_sent = false;
    int expected_nacks = 0, nacks = 0;
    std::optional<std::uint64_t> tcp_token;
    bool tcp_ok = false;
  };
  struct Relay {  // an indirect ping we forward for someone else
    std::uint32_t their_seq = 0;
    Endpoint origin;
    bool nack = false;
    std::uint64_t deadline_ms = 0;
  };
  struct PendingStream {
    OutStream::Kind kind;
    bool join = false;
    std::uint32_t seq = 0;
    std::uint64_t join_token = 0;  // the Join() this push-pull belongs to, 0 for none
    Endpoint to;
  };
  struct PendingJoin {
    std::size_t outstanding = 0, joined = 0;
    std::vector<std::string> errors;
  };

  // membership.cpp: plumbing
  void SendMsg(const Endpoint& to, Bytes msg);  // piggybacks broadcasts
  void SendRaw(const Endpoint& to, const std::vector<Bytes>& msgs);
  // memberlist's broadcasts first, then the delegate's user messages in the room left.
  std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit);
  Bytes SealStream(const Bytes& msg);
  // The keyring to decrypt with, or to encrypt with (nullptr: plaintext).
  const Keyring* RxKeyring() const { return cfg_.keyring ? &*cfg_.keyring : nullptr; }
  const Keyring* TxKeyring() const {
    return cfg_.keyring && cfg_.verify_outgoing ? &*cfg_.keyring : nullptr;
  }
  Bytes Nonce();
  std::size_t Rand(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }
  void Emit(MemberEvent::Kind kind, const Member& m);
  void Emit(MemberEvent::Kind kind, const MemberEntry& m) { Emit(kind, ToMember(m)); }
  static Member ToMember(const MemberEntry& e);
  static Endpoint EndpointOf(const MemberEntry& e) { return {e.Addr(), e.port}; }
  MetaPtr MakeMeta(const Bytes& meta);
  MemberEntry& Self() { return *nodes_.Find(name_); }
  const MemberEntry& Self() const { return *nodes_.Find(name_); }
  // Suspicion timers with their deadlines indexed, so the earliest is found without a scan.
  void SetSuspicion(const std::string& node, Suspicion s);
  bool ConfirmSuspicion(const std::string& node, const std::string& from, bool* exists);
  void DropSuspicion(const std::string& node);
  void HandleMessage(std::uint64_t now, const Endpoint& from, ByteView msg);
  // Up to k distinct random members (indices into nodes_) other than us and `exclude`: alive
  // ones, or for gossip also suspect and recently dead ones. Rejection sampling on the array,
  // with a full scan only when most members do not qualify.
  std::vector<std::uint32_t> RandomNodes(std::uint64_t now, int k, const std::string& exclude,
                                         bool for_gossip);
  void Gossip(std::uint64_t now);
  int TransmitLimit() const { return RetransmitLimit(cfg_.retransmit_mult, nodes_.size()); }
  Alive SelfAlive() const;

  // membership_probe.cpp: failure detection and health
  void StartProbe(std::uint64_t now);
  void ProbeTimeouts(std::uint64_t now);
  void FinishProbe(std::uint64_t now, bool ok);
  void OnPing(const Endpoint& from, const Ping& p);
  void OnIndirectPing(std::uint64_t now, const Endpoint& from, const IndirectPing& p);
  void OnAck(std::uint64_t now, const Ack& a);
  void OnNack(const Nack& n);
  void ResetProbeList(std::uint64_t now);
  void ApplyAwareness(int delta);
  std::uint64_t ScaledProbeInterval() const;

  // membership_state.cpp: alive / suspect / dead rumours
  void AliveNode(std::uint64_t now, const Alive& a, bool bootstrap);
  void SuspectNode(std::uint64_t now, const Suspect& s);
  void DeadNode(std::uint64_t now, const Dead& d);
  void Refute(std::uint64_t now, std::uint32_t accused);
  void SuspicionTimeouts(std::uint64_t now);

  // membership_pushpull.cpp: anti-entropy and join
  void StartPushPull(std::uint64_t now, const Endpoint& to, bool join,
                     std::uint64_t join_token = 0);
  PushPull LocalState(bool join) const;
  void MergeState(std::uint64_t now, const PushPull& remote, bool join);
  void JoinOutcome(std::uint64_t join_token, const Endpoint& to, const std::string& error);
  std::uint64_t PushPullInterval() const;

  MembershipConfig cfg_;
  MembershipDelegate* delegate_ = nullptr;
  std::string name_;
  std::mt19937_64 rng_;
  MemberTable nodes_;
  std::map<std::string, Suspicion> suspicions_;
  std::set<std::pair<std::uint64_t, std::string>> suspicion_deadlines_;
  std::vector<std::uint32_t> probe_list_;  // shuffled indices into nodes_, round robin
  std::size_t probe_index_ = 0;
  // Ring probes: indices into nodes_ sorted by name (rebuilt when nodes_.changes() moves), this
  // node's round phase on round_clock_ms, and probes since dead entries were last reaped.
  std::vector<std::uint32_t> ring_;
  std::uint64_t ring_changes_ = ~std::uint64_t{0}, ring_phase_ms_ = ~std::uint64_t{0};
  std::size_t probes_since_reap_ = 0;
  const MemberEntry* RingTarget(std::uint64_t now);
  const MemberEntry* ShuffledTarget(std::uint64_t now);
  void ReapDead(std::uint64_t now);
  std::optional<Probe> probe_;
  ProbeStats probe_stats_;
  std::map<std::uint32_t, Relay> relays_;  // by our seq
  std::map<std::uint64_t, PendingStream> streams_;
  std::map<std::uint64_t, PendingJoin> joins_;
  std::vector<JoinResult> join_results_;
  BroadcastQueue queue_;
  std::uint32_t seq_ = 0;
  std::uint64_t next_token_ = 1;
  int awareness_ = 0;
  std::size_t joined_ = 0;
  bool leaving_ = false;
  std::uint64_t next_probe_ms_ = 0, next_gossip_ms_ = 0, next_push_pull_ms_ = 0;
  // Eager gossip: when the last round ran, and the broadcasts queued (ours + the delegate's)
  // that it had seen.
  std::uint64_t last_gossip_ms_ = 0, gossiped_queued_ = 0;
  std::uint64_t QueuedTotal() const;
  bool EagerDue() const {
    return cfg_.eager_gossip_gap_ms > 0 && (bursting_ || QueuedTotal() != gossiped_queued_);
  }
  bool bursting_ = false;  // the last round sent broadcasts
  std::vector<OutPacket> packets_;
  std::vector<OutStream> out_streams_;
  std::vector<MemberEvent> events_;
};

}  // namespace beacon::gossip

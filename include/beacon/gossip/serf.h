// HashiCorp Serf's membership layer on top of Membership (memberlist), sans-I/O: Lamport
// clocks, join/leave intents, member status (alive, leaving, left, failed), tags in the node
// meta, user events, the reaper and reconnects, force-leave, and Serf's push-pull state. Speaks
// Serf's wire format (serf_wire.h) inside memberlist user messages, so stock Serf and Consul
// agents see a Serf node. Behaviour follows hashicorp/serf's serf.go and delegate.go.
//
// Contract: like Membership, no clocks, sockets, threads or global state; time enters only as
// `now_ms` (monotonic, never going backwards) and randomness from the constructor's seed. Not
// thread-safe: one owner calls everything from one thread. The I/O inputs and outputs are
// exactly Membership's (see membership.h for how an adapter drives them), plus TakeEvents (Serf
// member and user events, in order) and TakeJoinResults. Serf owns its Membership.
//
// Events: the constructor queues a kMemberJoin for this node (as Serf does at start). A member
// that memberlist declares dead is kMemberFailed, or kMemberLeave when it announced a leave
// intent first (or was force-left). kMemberReap when a failed member passes reconnect_timeout
// or a left one tombstone_timeout (checked every reap_interval), or on a force-leave with prune.
// kConflict for every name memberlist saw claimed by a second address, our own name included
// (then the agent should refuse to run: Serf would start its conflict resolution).
//
// Queries (serf_query.cpp, Serf's query.go and internal_query.go): Query() originates one (it is
// handled here too, then broadcast); acks and responses come back as UDP user messages to our
// address and are handed out by TakeQueryResults() until the timeout. Queries from others are
// deduplicated by (ltime, id) in Serf's query buffer, rebroadcast, acked when asked, and either
// answered by Serf itself (internal "_serf_*" names: ping, conflict, and the keyring operations
// install-key, use-key, remove-key, list-keys on memberlist's live keyring) or delivered as a
// kQuery event that RespondQuery() answers. Relay factors are ignored (responses go direct);
// a query carrying node or tag filters is rebroadcast but neither acked nor answered here. The
// originator gets its own ack and response too (as Serf, which sends them to itself).
//
// Network coordinates (serf_coordinates.cpp, Serf's ping_delegate.go): our acks carry this node's
// Vivaldi coordinate (version byte 1 + msgpack, as Serf); each ack to one of our probes updates
// our coordinate from its RTT and the peer's, and caches the peer's (by member name, ourselves
// included), so Coordinates() holds every probed member. A member's entry goes when it is
// reaped. Delivery is memberlist's: gossip reaches
// everyone with high probability, push-pull (every push_pull_interval) repairs the rest; e.g. a
// node that missed a leave intent but heard the dead message reports kMemberFailed, then
// kMemberLeave after the next push-pull, exactly like Serf.
//
// Extensions: Beacon's own messages are memberlist user messages whose first byte is
// >= kExtensionTypeMin; stock Serf logs and ignores them. They go to the SerfExtension (never
// through Serf's handling), and its broadcasts share the piggyback room with Serf's own. Its
// PushPullState rides in our push-pull messages under the key "Beacon" (stock Serf skips
// unknown keys), and a peer's reaches its MergePushPullState.
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
#include <vector>

#include "beacon/core/status.h"
#include "beacon/gossip/coordinate.h"
#include "beacon/gossip/membership.h"
#include "beacon/gossip/serf_extension.h"
#include "beacon/gossip/serf_wire.h"

namespace beacon::gossip {

enum class MemberStatus : int { kNone = 0, kAlive = 1, kLeaving = 2, kLeft = 3, kFailed = 4 };
const char* to_string(MemberStatus s);  // "none", "alive", "leaving", "left", "failed"

struct SerfConfig {
  MembershipConfig memberlist;  // LAN defaults; its vsn.dcur is set to protocol_version
  std::uint64_t reap_interval_ms = 15000;
  std::uint64_t reconnect_interval_ms = 30000;
  std::uint64_t reconnect_timeout_ms = 24ull * 3600 * 1000;
  std::uint64_t tombstone_timeout_ms = 24ull * 3600 * 1000;
  std::uint64_t leave_propagate_delay_ms = 1000;
  std::uint64_t recent_intent_timeout_ms = std::uint64_t{5} * 60 * 1000;
  std::uint64_t broadcast_timeout_ms = 5000;  // longest wait for a leave broadcast to go out
  std::size_t event_buffer = 512;
  std::size_t query_buffer = 512;
  // Runs (on the owner's thread) after a keyring query changed memberlist's keyring, as Serf
  // writes its keyring file; its error becomes this node's response message. Empty: none.
  std::function<Status(const Keyring&)> keyring_saver;
  std::uint8_t protocol_version = 4;  // Serf delegate version advertised
  bool disable_coordinates = false;   // Serf's DisableCoordinates: no ack payload, no cache
};

struct SerfMemberInfo {
  std::string name;
  Bytes addr;
  std::uint16_t port = 0;
  Tags tags;
  MemberStatus status = MemberStatus::kNone;
  Versions vsn;  // memberlist + delegate protocol versions as seen in alive messages
};

struct SerfEvent {
  enum class Kind {
    kMemberJoin,
    kMemberLeave,
    kMemberFailed,
    kMemberUpdate,
    kMemberReap,
    kUser,
    kConflict,
    // Beacon additions (Serf has no such events): memberlist suspects an alive member, or the
    // member refuted the suspicion. Its status stays alive; DNS prefers other nodes meanwhile.
    kMemberSuspect,
    kMemberUnsuspect,
    kQuery,  // a query from anyone (ourselves included) whose name is not internal
  };
  Kind kind;
  SerfMemberInfo member;  // member events (kConflict: the claimant; name may equal ours)
  // kUser:
  std::string name;
  Bytes payload;
  std::uint64_t ltime = 0;
  bool coalesce = false;
  // kQuery (name, payload and ltime above too): answer with RespondQuery(query_id, ...).
  std::uint64_t query_id = 0;
  std::string source_node;
};

struct QueryParams {
  std::uint64_t timeout_ms = 0;  // 0: Serf's DefaultQueryTimeout
  bool request_ack = false;
};
struct QueryNodeResponse {
  std::string from;
  Bytes payload;
};
// What arrived for one of our queries since the last TakeQueryResults(); `done` once (timeout).
struct QueryResult {
  std::uint64_t handle = 0;  // Query()'s return value
  std::vector<std::string> acks;
  std::vector<QueryNodeResponse> responses;
  bool done = false;
};

// Serf's internal query names and nodeKeyResponse handling.
inline constexpr const char* kInternalQueryPrefix = "_serf_";
inline constexpr std::size_t kQuerySizeLimit = 1024, kQueryResponseSizeLimit = 1024;

class Serf {
 public:
  // `tags` must encode to at most kMetaMaxSize bytes (else they are sent empty).
  Serf(SerfConfig cfg, std::string name, Bytes addr, std::uint16_t port, Tags tags,
       std::uint64_t seed, std::uint64_t now_ms = 0);
  ~Serf();
  Serf(const Serf&) = delete;
  Serf& operator=(const Serf&) = delete;

  void SetExtension(SerfExtension* ext) { ext_ = ext; }  // not owned; nullptr for none

  // I/O, exactly as Membership's.
  void Tick(std::uint64_t now_ms);
  void OnPacket(std::uint64_t now_ms, const Endpoint& from, ByteView bytes);
  Bytes OnStream(std::uint64_t now_ms, const Endpoint& from, ByteView request);
  void OnStreamReply(std::uint64_t now_ms, std::uint64_t token, std::optional<Bytes> reply);
  void OnStreamError(std::uint64_t now_ms, std::uint64_t token, const std::string& error);
  std::vector<OutPacket> TakePackets() { return ml_->TakePackets(); }
  std::vector<OutStream> TakeStreams() { return ml_->TakeStreams(); }
  std::uint64_t NextDeadline() const;
  std::vector<SerfEvent> TakeEvents();

  // Push-pull with each seed; the outcome arrives in TakeJoinResults() under the returned token
  // (joined = seeds that answered; memberlist's "1 error occurred: ..." when none did). On
  // success our join intent is broadcast. ignore_old_events: user events the seeds already had
  // are not delivered. After Leave(), the result is an immediate error.
  std::uint64_t Join(std::uint64_t now_ms, const std::vector<Endpoint>& seeds,
                     bool ignore_old_events = true);
  std::vector<JoinResult> TakeJoinResults();

  // Graceful leave as Serf's Leave(): broadcasts our leave intent and waits until it has been
  // sent (at most broadcast_timeout), then memberlist's leave (a dead message about ourselves)
  // until it has been sent (same bound), then leave_propagate_delay so we still answer probes.
  // leave_done() is true after that (at once when nobody else is alive). Safe to call twice.
  void Leave(std::uint64_t now_ms);
  bool leave_done() const { return leave_phase_ == LeavePhase::kDone; }

  // Consul's force-leave: broadcasts a leave intent for `node`; a failed member becomes left, and
  // with `prune` a left (or leaving) one is erased (kMemberReap). Always ok: Serf's only error is
  // a timeout waiting for the broadcast, which a sans-I/O state machine does not wait for.
  Status ForceLeave(std::uint64_t now_ms, const std::string& node, bool prune);
  // Error "Encoded length of tags exceeds limit of 512 bytes" as Serf; else gossips the new tags.
  Status SetTags(std::uint64_t now_ms, Tags tags);
  // Serf's size rules (name + payload at most 512 bytes, encoded too) and error texts.
  Status UserEvent(std::uint64_t now_ms, const std::string& name, Bytes payload, bool coalesce);
  // An extension message (first byte >= kExtensionTypeMin) to one member: reliable = a one-way
  // TCP user message (an OutStream of kind kUser, no reply), else one UDP datagram. Dropped when
  // the member is unknown.
  void SendToMember(std::uint64_t now_ms, const std::string& node, Bytes msg, bool reliable);

  // Serf's Query(): errors as Serf's ("query exceeds limit of 1024 bytes"). Returns a handle for
  // TakeQueryResults(); the query ends at now + timeout (Tick delivers done).
  Result<std::uint64_t> Query(std::uint64_t now_ms, const std::string& name, Bytes payload,
                              QueryParams params = {});
  std::vector<QueryResult> TakeQueryResults();
  // Answers a kQuery event (once, before its deadline), as Serf's Query.Respond.
  Status RespondQuery(std::uint64_t now_ms, std::uint64_t query_id, Bytes payload);
  // Serf's DefaultQueryTimeout: gossip interval * 16 * ceil(log10(alive members + 1)).
  std::uint64_t DefaultQueryTimeoutMs() const;
  // memberlist's NumMembers (alive and suspect, ourselves included): Consul's NumNodes.
  std::size_t NumAliveMembers() const { return ml_->NumAlive(); }
  // Keyring: nullptr without encryption. The saver runs after every change a keyring query made
  // (Serf's keyring file); its error becomes the node's response message.
  const Keyring* keyring() const { return ml_->keyring(); }
  void SetKeyringSaver(std::function<Status(const Keyring&)> f) {
    cfg_.keyring_saver = std::move(f);
  }

  std::vector<SerfMemberInfo> Members() const;  // by name, ourselves included
  const SerfMemberInfo* FindMember(const std::string& name) const;
  const std::string& name() const { return name_; }
  std::uint64_t clock() const { return clock_.t; }
  std::uint64_t event_clock() const { return event_clock_.t; }
  std::uint64_t query_clock() const { return query_clock_.t; }
  int health_score() const { return ml_->health_score(); }
  // Vivaldi (serf_coordinates.cpp): this node's coordinate, and the cached ones by member name
  // (this node's included).
  const Coordinate& coordinate() const { return coord_client_.coordinate(); }
  const std::map<std::string, Coordinate>& coordinates() const { return coord_cache_; }
  std::uint64_t coordinate_resets() const { return coord_client_.resets(); }
  // The memberlist underneath (read-only: its state, suspicion, incarnations).
  const Membership& memberlist() const { return *ml_; }

 private:
  struct Lamport {
    std::uint64_t t = 0;
    void Witness(std::uint64_t v) {
      if (v >= t) t = v + 1;
    }
  };
  struct MemberState {
    SerfMemberInfo info;
    std::uint64_t status_ltime = 0;
    std::uint64_t leave_ms = 0;  // when it became failed or left
  };
  struct Intent {
    SerfMsgType type;
    std::uint64_t ltime = 0;
    std::uint64_t at_ms = 0;
  };
  enum class LeavePhase { kNone, kIntent, kMemberlist, kPropagate, kDone };
  struct UserJoin {
    bool ignore_old_events = false;
    bool refused = false;  // asked after Leave()
  };
  // What Serf plugs into memberlist; forwards to the private methods below.
  class Hooks : public MembershipDelegate {
   public:
    explicit Hooks(Serf* s) : s_(s) {}
    void NotifyMsg(ByteView payload) override { s_->NotifyMsg(payload); }
    std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) override {
      return s_->GetBroadcasts(overhead, limit);
    }
    std::uint64_t BroadcastsQueued() override {
      return s_->broadcasts_.queued() + s_->event_broadcasts_.queued() +
             s_->query_broadcasts_.queued() +
             (s_->ext_ != nullptr ? s_->ext_->BroadcastsQueued() : 0);
    }
    Bytes LocalState(bool join) override {
      (void)join;
      return s_->LocalState();
    }
    void MergeRemoteState(ByteView state, bool join) override { s_->MergeRemoteState(state, join); }
    void NotifyEvent(const MemberEvent& e) override { s_->OnMemberEvent(e); }
    Bytes AckPayload() override { return s_->AckPayload(); }
    void NotifyPingComplete(const Member& node, std::uint64_t rtt_us, ByteView payload) override {
      s_->OnPingComplete(node, rtt_us, payload);
    }

   private:
    Serf* s_;
  };

  // serf.cpp
  void AfterInput(std::uint64_t now);  // drains memberlist's join results, advances the leave
  void AdvanceLeave(std::uint64_t now);
  bool HasAliveMembers() const;
  int TransmitLimit() const;
  void Emit(SerfEvent::Kind kind, const SerfMemberInfo& m);

  // serf_members.cpp: member events from memberlist, intents, reaper, reconnect
  void OnMemberEvent(const MemberEvent& e);
  void HandleNodeJoin(const Member& n);
  void HandleNodeLeave(const Member& n);
  void HandleNodeUpdate(const Member& n);
  bool HandleLeaveIntent(const SerfLeave& msg);
  bool HandleJoinIntent(const SerfJoin& msg);
  void BroadcastJoin(std::uint64_t ltime);
  void Prune(const std::string& node, bool leaving);
  void Erase(const std::string& node);
  void Reap(std::uint64_t now);
  void Reconnect(std::uint64_t now);
  bool UpsertIntent(const std::string& node, SerfMsgType type, std::uint64_t ltime);

  // serf_delegate.cpp: what memberlist asks of Serf
  void NotifyMsg(ByteView msg);
  std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit);
  Bytes LocalState() const;
  void MergeRemoteState(ByteView state, bool join);
  bool HandleUserEvent(const SerfUserEvent& e);

  // serf_coordinates.cpp
  Bytes AckPayload() const;
  void OnPingComplete(const Member& node, std::uint64_t rtt_us, ByteView payload);
  void ForgetCoordinate(const std::string& node);

  // serf_query.cpp
  struct OutQuery {  // one of ours, collecting
    std::uint64_t handle = 0;
    std::uint32_t id = 0;
    std::uint64_t deadline_ms = 0;
    std::set<std::string> acks, responses;
    QueryResult pending;
  };
  struct InQuery {  // someone's query we may still answer
    SerfQuery q;
    std::uint64_t deadline_ms = 0;
  };
  bool HandleQuery(const SerfQuery& q);  // true: rebroadcast
  void HandleQueryResponse(const SerfQueryResponse& r);
  void SendQueryResponse(const SerfQuery& q, const SerfQueryResponse& r);
  void HandleInternalQuery(const SerfQuery& q);
  void AnswerKeyQuery(const SerfQuery& q, const std::string& op);
  void QueryTimeouts(std::uint64_t now);
  std::uint64_t QueryDeadline() const;

  SerfConfig cfg_;
  std::string name_;
  std::mt19937_64 rng_;
  Hooks hooks_{this};
  std::unique_ptr<Membership> ml_;
  SerfExtension* ext_ = nullptr;
  std::uint64_t now_ = 0;  // of the input being handled

  Lamport clock_, event_clock_, query_clock_;
  std::map<std::string, MemberState> members_;
  std::map<std::string, Intent> intents_;
  std::map<std::string, std::uint64_t> prunes_;  // leaving members to erase at this time
  std::vector<std::optional<SerfEvents>> event_buffer_;
  std::uint64_t event_min_time_ = 0;
  BroadcastQueue broadcasts_, event_broadcasts_;

  std::map<std::uint64_t, UserJoin> user_joins_;  // by memberlist's join token
  std::size_t ignoring_joins_ = 0;                // user joins pending with ignore_old_events
  std::vector<JoinResult> join_results_;
  std::vector<SerfEvent> events_;
  std::uint64_t next_reap_ms_ = 0, next_reconnect_ms_ = 0;

  BroadcastQueue query_broadcasts_;
  struct SeenQueries {
    std::uint64_t ltime = 0;
    std::vector<std::uint32_t> ids;
  };
  std::vector<std::optional<SeenQueries>> query_buffer_;
  std::map<std::uint64_t, OutQuery> out_queries_;  // by ltime (one query per ltime of ours)
  std::uint64_t next_query_handle_ = 1;
  std::map<std::uint64_t, InQuery> in_queries_;  // by our own query_id for RespondQuery
  std::uint64_t next_in_query_ = 1;
  std::vector<QueryResult> query_results_;

  CoordinateClient coord_client_;
  std::map<std::string, Coordinate> coord_cache_;

  LeavePhase leave_phase_ = LeavePhase::kNone;
  std::uint64_t leave_deadline_ms_ = 0;
  std::uint64_t leave_intent_id_ = 0;
};

}  // namespace beacon::gossip

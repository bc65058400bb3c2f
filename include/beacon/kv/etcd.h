// kv::Store on etcd 3.4, spoken to through its v3 JSON gateway (HTTP/1.1, libcurl) and, for
// the txn of every write, gRPC (HTTP/2 cleartext, nghttp2; see EtcdOptions::grpc).
//
// Contract: the same as kv::Store (store.h), with the data held by an etcd cluster so that
// several Beacon servers share one KV/session store and an acknowledged write survives the loss
// of any etcd minority. Consul semantics come from the shared engine (engine.h) run against a
// local mirror of the store's etcd keys; the mirror follows etcd through ONE watch stream per
// store; every write (an Apply, i.e. a PUT or a whole /v1/txn, or a session change) is ONE etcd
// txn whose compares check that every key the unit read still has the mod_revision it saw (and
// m/kv or m/sessions for a scan), so writers on all agents serialize exactly where they
// conflict and run concurrently where they do not (a lost race re-runs the unit). Units the
// store's writers finish while another's txn is in flight are sent together as ONE etcd txn of
// nested txns when their keys are disjoint (group commit, src/kv/etcd_group.h): they share its
// revision, and etcd's watch delivers a revision whole, so every reader sees all or none.
//
// Layout under `prefix` (default "/beacon/"; base64 in JSON like every etcd key). The data keys
// below live right under the prefix until the first snapshot restore, then under the current
// generation `g/<id>/` that `gen` names (src/kv/etcd_generation.h):
//   gen           JSON {Gen, Prev, PrevBase, Index}: the current generation, the one it replaced
//                 and its base, the restored snapshot's index. Written only by a restore's flip;
//                 every Beacon txn compares its mod_revision.
//   e/<key>       KV entry. CreateIndex = create_revision + base, ModifyIndex = mod_revision +
//                 base (base = 0 before any restore).
//                 Value = envelope: byte 'B', byte version 1, u64 Flags (LE), u64 LockIndex (LE),
//                 u16 len (LE) + Session id, then the raw value bytes. Version 2 (written by a
//                 restore) adds u8 mask + indexes after the session (etcd_generation.h).
//   t/<key>       tombstone of a deleted key (empty value; mod_revision = the delete's index), so
//                 a prefix's index never drops; removed when the key is written again.
//   s/<id>        session as JSON (Name, Node, NodeChecks, ServiceChecks, LockDelay ms,
//                 Behavior, TTL ms, Lease); create/mod_revision = CreateIndex/ModifyIndex.
//   l/<id>        empty key bound to the lease of a TTL session (lease TTL = 2*TTL, kept alive by
//                 RenewSession). When etcd expires the lease, every agent sees l/<id> go and
//                 destroys the session (releasing/deleting its locks per Behavior).
//   m/kv          rewritten by every KV change: its mod_revision + base is KvIndex().
//   m/sessions    rewritten by every session change: its mod_revision + base is SessionsIndex().
//                 (The replaced generation's m/ keys stay until the next restore: a mirror
//                 loading the current one derives the restore's index from them.)
//   ~w/<store>/<n> (right under the prefix) request id of writer n's last txn (lets a retry
//                 recognise its own commit); deleted when the store closes. The watch follows
//                 [prefix, prefix + "~"), so these writes, one per commit, reach no watcher
//                 (under r/ until 2026-12-03, they were a third of every commit's watch events).
//   ~q/queries    (right under the prefix, outside the watch too) the servers' shared
//                 prepared-query set (EtcdValue below; agent/agent_queries.cpp).
// Index() = max(KvIndex, SessionsIndex): etcd's revision of Beacon's last change + base (equal
// to the header revision when the etcd keyspace is Beacon's alone and nothing was restored;
// unrelated etcd writes do not wake blocking queries). Lock-delays and TTL renew clocks live in the
// agent's memory, as in the embedded store (each agent starts the delay of an invalidation its
// watch sees: a lock freed in the revision that deleted its session); a TTL session is expired by
// the agent that last renewed it, or by etcd's lease. Large delete-trees need etcd's --max-txn-ops
// above 2*keys+2 (etcd's default is 128); expiring and invalidating sessions goes a few sessions
// per txn.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/kv/store.h"

namespace beacon::kv {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // http(s)://host:port (the client URLs of the members)
  int64_t dial_timeout_ms = 5000;
  int64_t request_timeout_ms = 10000;  // one write, including retries over a leader change
  std::string prefix = "/beacon/";
  // TLS for https:// endpoints: the CA that signed the members' certificates (default: the
  // system's CAs) and a client certificate + key for members run with --client-cert-auth.
  std::string ca_file, cert_file, key_file;
  // Writes (one etcd txn each) go over gRPC (HTTP/2 cleartext) when every endpoint is http://;
  // false, or https:// endpoints: the JSON gateway (config `etcd { transport: gateway }`).
  bool grpc = true;
  // true (the agent): when no member answers within dial_timeout, open anyway and keep trying
  // in the background (Store::Ready() says why until the first full read lands; writes fail
  // with that message meanwhile), so a server restarted during an etcd outage still serves DNS
  // and the catalog. false: OpenEtcdStore fails.
  bool start_unreachable = false;
};

// Connects (reads the whole prefix, starts the watch); fails with a message naming the endpoints
// when no member answers within dial_timeout (unless start_unreachable).
Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& eopts, const Logger& log,
                                             const StoreOptions& opts = {});

// One etcd key that every server shares, outside the KV keyspace: the servers' prepared-query set
// lives in one (agent/agent_queries.cpp). A watch thread reports the key's value when it starts
// and after every change; a writer thread writes it with a compare on the revision the caller
// last saw, so concurrent writers on several servers serialize (the loser learns the value that
// won and runs its change again).
class EtcdValue {
 public:
  struct Seen {
    bool exists = false;
    std::string value;
    int64_t rev = 0;  // the key's mod_revision (0: absent)
  };
  struct PutResult {
    Status status;          // transport or etcd error (request_timeout passed)
    bool conflict = false;  // the revision moved: `now` is what is there instead
    Seen now;               // after a success: our value at its new revision
  };
  // on_change runs on the watch thread: once when the first read lands (also when the key is
  // absent), then for every change (ours too), in revision order. A broken watch is reopened on
  // the next endpoint and re-reads the key, so no change is missed. Nothing runs before Start().
  EtcdValue(const EtcdOptions& o, std::string key, const Logger& log,
            std::function<void(Seen)> on_change);
  ~EtcdValue();  // stops both threads; queued writes get an error
  // Starts the watch and writer threads (Puts made before wait for it). Once.
  void Start();
  EtcdValue(const EtcdValue&) = delete;
  EtcdValue& operator=(const EtcdValue&) = delete;
  // Writes `value` if the key's mod_revision is still `expected` (0: the key is absent). done
  // runs on the writer thread. A retry that finds its own value already there (its first attempt
  // committed, the answer lost in a leader change) succeeds.
  void Put(std::string value, int64_t expected, std::function<void(PutResult)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Membership of a supervised member (agent/agent_etcd.cpp): joining a cluster that already runs
// and leaving it. Each call goes through the endpoints of `o` (EtcdConn: the next endpoint on a
// transport error, within request_timeout).
struct EtcdJoin {
  std::string initial_cluster;  // --initial-cluster: "name=peer_url,..." (this member included)
  bool existing = false;        // --initial-cluster-state existing (false: new, see below)
};
// Whether a member answers the member list with at least one member.
bool EtcdClusterAnswers(const EtcdOptions& o);
// Adds member `name` at `peer_url` (etcd MemberAdd) unless a member with that peer URL is listed
// already: unnamed (an earlier attempt added it and the member never started) it is reused;
// named `name` it belongs to the cluster's first configuration, and the answer is that
// configuration with existing = false (the member bootstraps with the others).
Result<EtcdJoin> EtcdJoinCluster(const EtcdOptions& o, const std::string& name,
                                 const std::string& peer_url);
// Removes the member named `name` (MemberRemove); Ok when it is not listed (already gone).
Status EtcdLeaveCluster(const EtcdOptions& o, const std::string& name);

}  // namespace beacon::kv

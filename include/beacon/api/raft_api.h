// /v1/status/{leader,peers} and /v1/operator/raft/{configuration,peer} of a server agent, from
// its KV backend's cluster view (kv/cluster.h): the etcd members, or this agent alone on the
// embedded backend.
//
// Contract:
// - GET /v1/status/leader -> "host:port" ("" with no leader); GET /v1/status/peers -> the
//   voters' host:port. etcd: each member's first peer URL (its Raft transport).
// - GET /v1/operator/raft/configuration -> {"Servers":[{ID,Node,Address,Leader,ProtocolVersion,
//   Voter}],"Index":n} (Consul's RaftConfigurationResponse; ProtocolVersion "3").
// - DELETE /v1/operator/raft/peer?address=host:port | ?id=<member id> -> 200 with an empty body;
//   neither or both -> 400 with Consul's text; an unknown peer or an etcd error -> 500.
// - Registered after the catalog's status routes (they replace them); a client agent's
//   forwarding routes replace these in turn. `cluster` must outlive the server.
#pragma once

#include "beacon/http/server.h"
#include "beacon/kv/cluster.h"

namespace beacon::http {

void AddRaftRoutes(Router& router, kv::ClusterView& cluster, bool pretty);

}  // namespace beacon::http

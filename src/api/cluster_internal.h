// Internals shared by agent_api.cpp and cluster_api.cpp: the member JSON and the cluster routes.
#pragma once

#include "beacon/api/agent_api.h"
#include "beacon/core/json_writer.h"

namespace beacon::http::detail {

// This agent alone, as a member (no gossip, and /v1/agent/self's Member).
ClusterMember SelfMember(const AgentSelf& s);
// Hands `resp` to a write that answers later: 200 with an empty body, or the error as text.
AgentDone Later(Response& resp);
// Consul's serf.Member JSON.
void MemberJson(core::JsonWriter& w, const ClusterMember& m);
// /v1/agent/{members,join/,leave,force-leave/} (see AddAgentRoutes).
void AddClusterRoutes(Router& router, AgentApi& api, ClusterApi* cluster);

}  // namespace beacon::http::detail

// Agent::FireEvent: user events fired over /v1/event/fire (spec 2.8).
#include "beacon/agent/agent.h"
#include "beacon/agent/cluster.h"
#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "local_agent_internal.h"

namespace beacon::agent {

Status Agent::FireEvent(gossip::UserEvent* e) {
  if (Status st = gossip::ValidateUserEvent(*e); !st.ok()) return st;
  e->id = core::NewUuidV4(event_ids_);
  e->version = gossip::kUserEventMaxVersion;
  // Delivery: each receiving agent keeps the events its filters match (Consul's
  // shouldProcessUserEvent); gossip carries it to the others.
  if (cluster_) cluster_->FireEvent(*e);
  std::vector<gossip::LocalService> services;
  catalog::SnapshotPtr snap = hub_.Current();
  detail::ForEachLocalInstance(*snap, core::Lower(cfg_.node_name),
                               [&](const catalog::Instance& in) {
                                 services.push_back({in.service.id.str(), in.tags()});
                               });
  if (gossip::ShouldProcess(*e, cfg_.node_name, services)) {
    events_.Add(*e);
    BEACON_LOG(log_, kInfo, "agent", "user event %s (%s) received", e->name.c_str(), e->id.c_str());
    if (http_) http_->Notify(http::Topic::kEvents);
  }
  return Status::Ok();
}

}  // namespace beacon::agent

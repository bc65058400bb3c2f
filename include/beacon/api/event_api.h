// User event endpoints (spec 2.8): PUT /v1/event/fire/<name> and GET /v1/event/list.
//
// Contract:
// - Fire: the name is the rest of the path ("Missing name", 400, when empty); ?node, ?service and
//   ?tag are the filters; the body, when not empty, is the payload. opts.fire validates and
//   sends the event (it assigns the ID and version) and returns its error as a 500 with the
//   text; on success the answer is the event as Consul returns it (Payload base64 or null,
//   LTime 0).
// - List: the events in opts.events, oldest first, only ?name's when given, each with the
//   Lamport time it arrived at. X-Consul-Index is the last listed event's ID folded to 64 bits
//   (1 when none). ?index blocks while that index EQUALS the client's (the index is not
//   monotonic), on Topic::kEvents: whoever adds an event must Notify it.
// - Handlers run on the HTTP loop thread; opts.events must outlive the server.
#pragma once

#include <functional>
#include <string>

#include "beacon/core/status.h"
#include "beacon/gossip/user_event.h"
#include "beacon/http/server.h"

namespace beacon::http {

struct EventApiOptions {
  std::string datacenter = "dc1";  // ?dc naming another one -> 500 "No path to datacenter"
  bool pretty = false;             // -dev: JSON indented as with ?pretty
  std::function<Status(gossip::UserEvent* e)> fire;
  const gossip::EventBuffer* events = nullptr;
};

void AddEventRoutes(Router& router, EventApiOptions opts);

}  // namespace beacon::http

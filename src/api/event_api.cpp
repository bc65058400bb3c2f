// PUT /v1/event/fire/<name> and GET /v1/event/list (spec 2.8).
#include "beacon/api/event_api.h"

#include <strings.h>

#include <memory>
#include <utility>
#include <vector>

#include "beacon/api/index_headers.h"
#include "beacon/core/base64.h"
#include "beacon/core/json_writer.h"

namespace beacon::http {
namespace {

using core::JsonWriter;
using gossip::UserEvent;

void EventObject(JsonWriter& w, const UserEvent& e) {
  w.BeginObject();
  w.Key("ID").String(e.id);
  w.Key("Name").String(e.name);
  w.Key("Payload");
  if (e.has_payload) {
    w.String(core::Base64Encode(e.payload));
  } else {
    w.Null();
  }
  w.Key("NodeFilter").String(e.node_filter);
  w.Key("ServiceFilter").String(e.service_filter);
  w.Key("TagFilter").String(e.tag_filter);
  w.Key("Version").Int(e.version);
  w.Key("LTime").Uint(e.ltime);
  w.EndObject();
}

void Send(Response& resp, JsonWriter& w, bool pretty) {
  if (!w.done()) {
    resp.Text(500, "internal error: response encoding");
    return;
  }
  resp.Json(pretty ? JsonWriter::Pretty(w.str()) : w.Take());
}

// ?dc naming another datacenter: 500, as every Consul endpoint.
bool OtherDc(const Request& req, Response& resp, const EventApiOptions& opts) {
  const std::string* dc = req.Query("dc");
  if (dc != nullptr && !dc->empty() && strcasecmp(dc->c_str(), opts.datacenter.c_str()) != 0) {
    resp.Text(500, "No path to datacenter");
    return true;
  }
  return false;
}

std::string QueryOr(const Request& req, std::string_view name) {
  const std::string* v = req.Query(name);
  return v != nullptr ? *v : std::string();
}

}  // namespace

void AddEventRoutes(Router& router, EventApiOptions opts) {
  auto o = std::make_shared<const EventApiOptions>(std::move(opts));
  router.Handle("PUT", "/v1/event/fire/", [o](const Request& req, Response& resp) {
    if (OtherDc(req, resp, *o)) return;
    UserEvent e;
    e.name = req.path.substr(std::string_view("/v1/event/fire/").size());
    if (e.name.empty()) return resp.Text(400, "Missing name");
    e.node_filter = QueryOr(req, "node");
    e.service_filter = QueryOr(req, "service");
    e.tag_filter = QueryOr(req, "tag");
    e.has_payload = !req.body.empty();
    e.payload = req.body;
    if (!o->fire) return resp.Text(500, "User events are not available on this agent");
    Status st = o->fire(&e);
    if (!st.ok()) return resp.Text(500, st.message());
    e.ltime = 0;  // the Lamport time is the receivers' (Consul answers 0)
    JsonWriter w;
    EventObject(w, e);
    Send(resp, w, o->pretty || req.HasQuery("pretty"));
  });

  router.Handle("GET", "/v1/event/list", [o](const Request& req, Response& resp) {
    if (OtherDc(req, resp, *o)) return;
    BlockingParams bp;
    if (!ParseBlocking(req, resp, &bp)) return;
    const std::string name = QueryOr(req, "name");
    const gossip::EventBuffer* events = o->events;
    if (events == nullptr) return resp.Text(500, "User events are not available on this agent");
    const bool pretty = o->pretty || req.HasQuery("pretty");
    // Blocks while the index equals the client's: Block's own rule (answer when it differs).
    Block(
        req, resp, Topic::kEvents, [events, name] { return events->Index(name); }, bp.index,
        bp.wait_ms,
        [events, name, pretty](const Request&, Response& out) {
          const std::vector<UserEvent> list = events->List(name);
          JsonWriter w;
          w.BeginArray();
          for (const UserEvent& e : list) EventObject(w, e);
          w.EndArray();
          Send(out, w, pretty);
          const uint64_t index = list.empty() ? 0 : gossip::EventIndex(list.back().id);
          out.SetHeader("X-Consul-Index", std::to_string(index != 0 ? index : 1));
        });
  });
}

}  // namespace beacon::http
